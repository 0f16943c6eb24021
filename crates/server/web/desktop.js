// The agent desktop: the agent's state (ready, not ready with a reason, wrap-up with its
// timer) mirrored with the routing core; the screen pop pushed when a contact is offered,
// with "who is calling" (find or create the customer) when the number matched none; a
// ticket made from the pop and the wrap-up (disposition, notes, a callback), their drafts
// kept over a lost session; the knowledge base with one-click copy; the callbacks due with
// a dial button.
"use strict";

const DRAFT_KEY = "hotline.draft.ticket";
// The state is pushed (`state` events on the pop stream); the look every 10 s is for what
// is not a routing event (the phone registering or not) and a stream that was down.
const STATE_POLL_MS = 10000;
let agent = null;
let status = null;

async function loadState() {
  try {
    const before = status && status.state;
    status = await api("GET", "/api/v1/agents/" + encodeURIComponent(agent) + "/state");
    renderState();
    // A contact just ended (talk or wrap-up over): today's figures moved. The switch may say
    // so a moment before the event log has it: look again shortly.
    if ((before === "on_contact" || before === "wrap_up") && before !== status.state) {
      loadToday();
      setTimeout(loadToday, 1500);
    }
  } catch (e) {
    stateError(e);
  }
}

function stateError(e) {
  const box = document.getElementById("state-error");
  box.textContent = e.message;
  box.className = "notice bad";
}

function renderState() {
  const box = document.getElementById("state-error");
  box.textContent = "";
  box.className = "";
  const label = document.getElementById("state");
  const name = status.registered ? status.state : (status.state === "logged_out" ? "no_phone" : status.state);
  label.textContent = t("state." + name) +
    (status.state === "not_ready" && status.reason && status.reason !== "logged_in" ? " · " + status.reason : "");
  label.className = "state " + status.state;
  label.dataset.state = status.state;
  const reason = document.getElementById("reason");
  if (reason.options.length === 0) {
    reason.append(el("option", t("reason.none"), { value: "" }));
    for (const r of status.reasons) reason.append(el("option", r, { value: r }));
  }
  document.getElementById("ready").disabled = !status.registered || status.state === "ready";
  document.getElementById("not-ready").disabled = status.state === "logged_out" || status.state === "not_ready";
  document.getElementById("end-wrap-up").disabled = status.state !== "wrap_up";
  tickWrapUp();
}

function tickWrapUp() {
  const left = document.getElementById("wrap-left");
  if (status && status.state === "wrap_up" && status.wrap_up_until_ms) {
    left.textContent = t("wrap.left") + " " + duration(status.wrap_up_until_ms - Date.now());
  } else {
    left.textContent = "";
  }
}

async function change(body) {
  try {
    status = await api("POST", "/api/v1/agents/" + encodeURIComponent(agent) + "/state", body);
    renderState();
  } catch (e) {
    stateError(e);
  }
}

// ---- The screen pop ----

function section(title, children) {
  const box = el("div");
  box.append(el("h3", title, { class: "muted" }));
  children.forEach((c) => box.append(c));
  return box;
}

function renderPop(offer) {
  const pop = document.getElementById("pop");
  pop.replaceChildren();
  pop.dataset.contact = offer.contact_id;
  pop.append(el("p", t("pop.queue") + ": " + (offer.queue || "–"), { class: "muted" }));
  const data = offer.pop;
  let customer = null;
  if (data) {
    pop.append(el("p", data.number, { class: "pop-number" }));
    if (data.matched === "none") pop.append(el("p", t("pop.unknown"), { class: "notice" }));
    if (data.matched === "several") pop.append(el("p", t("pop.several"), { class: "notice" }));
    for (const card of data.cards) {
      const c = card.customer;
      if (data.cards.length === 1) customer = c;
      const box = el("div", null, { class: "customer", "data-customer": c.id });
      const name = el("h3", c.name || ("#" + c.id), { class: "customer-name" });
      box.append(name);
      if (data.cards.length > 1) box.append(pickButton(offer, c));
      const level = el("span", c.level, { class: "tag" + (c.level === "vip" ? " vip" : "") });
      box.append(el("span", t("pop.level") + ": ", { class: "muted" }), level);
      if (c.tags.length) {
        const tags = el("div");
        tags.append(el("span", t("pop.tags") + ": ", { class: "muted" }));
        c.tags.forEach((tag) => tags.append(el("span", tag, { class: "tag" })));
        box.append(tags);
      }
      const p = c.preferences || {};
      const prefs = [p.language, p.style, p.prefer_human ? "prefer_human" : null, p.dedicated_agent]
        .filter(Boolean).join(" · ");
      if (prefs) box.append(el("div", t("pop.prefs") + ": " + prefs, { class: "muted" }));
      if (card.recent.length) {
        const list = el("ul", null, { class: "list" });
        card.recent.slice(0, 5).forEach((i) => list.append(el("li",
          new Date(i.at_ms).toLocaleString(language()) + " · " + i.kind +
          (i.disposition ? " · " + dispositionLabel(i.disposition) : "") + (i.summary ? " · " + i.summary : ""))));
        box.append(section(t("pop.recent"), [list]));
      }
      const tickets = el("ul", null, { class: "list", "data-tickets": c.id });
      box.append(section(t("pop.tickets"), [tickets]));
      loadTickets(c.id, tickets);
      pop.append(box);
    }
    if (data.suggestions && data.suggestions.length) {
      const list = el("ul", null, { class: "list" });
      data.suggestions.forEach((h) => list.append(kbItem(h)));
      pop.append(section(t("pop.suggestions"), [list]));
    }
  }
  const request = offer.callback_request;
  if (request) {
    const lines = [request.reason, request.channel, (request.need_tags || []).join(", ")]
      .filter(Boolean).map((x) => el("div", x));
    if (request.payload) lines.push(el("pre", JSON.stringify(request.payload, null, 2)));
    pop.append(section(t("pop.request"), lines));
  }
  if (data && data.matched === "none") pop.append(whoIsCalling(offer));
  current = { offer, customer };
  prefillTicket(offer, customer);
  openWrapUp(offer, customer);
}

// ---- Who is calling (a number with no customer, or several) ----

let current = null; // the offer on screen and its customer, once known

function pickButton(offer, customer) {
  const button = el("button", t("who.pick"), { type: "button", "data-pick": customer.id });
  button.addEventListener("click", () => identify(offer, customer));
  return button;
}

async function identify(offer, customer) {
  const pop = document.getElementById("pop");
  const add = document.getElementById("who-add-number");
  try {
    await api("POST", "/api/v1/contacts/" + offer.contact_id + "/customer",
      { customer_id: customer.id, add_caller_number: !!(add && add.checked) });
  } catch (e) {
    pop.prepend(el("p", e.message, { class: "notice bad" }));
    return;
  }
  current = { offer, customer };
  const who = pop.querySelector(".who");
  if (who) who.remove();
  pop.querySelectorAll("[data-customer]").forEach((box) => {
    if (String(box.dataset.customer) !== String(customer.id)) box.remove();
  });
  pop.querySelectorAll("[data-pick]").forEach((b) => b.remove());
  pop.append(el("p", t("who.linked") + (customer.name || "#" + customer.id),
    { class: "notice ok", "data-linked": customer.id }));
  const ticket = ticketForm();
  ticket.elements.customer_id.value = customer.id;
  if (customer.name && !ticket.elements.title.value.includes(customer.name)) {
    ticket.elements.title.value = (ticket.elements.title.value + " " + customer.name).trim();
  }
  saveDraft();
  document.getElementById("wrap").elements.customer_id.value = customer.id;
}

function whoIsCalling(offer) {
  const box = el("div", null, { class: "who" });
  box.append(el("h3", t("who.title")));
  // The caller's number is shown masked; the server adds the real one to the customer.
  const add = el("label", null, { class: "check" });
  add.append(el("input", null, { type: "checkbox", id: "who-add-number", checked: "" }),
    el("span", t("who.add_number") + (offer.pop ? " " + offer.pop.number : "")));
  box.append(add);
  const find = el("form", null, { class: "row", id: "who-find" });
  const query = el("input", null, { name: "q", "aria-label": t("who.query"), placeholder: t("who.query") });
  find.append(query, el("button", t("who.find"), { type: "submit" }));
  const found = el("ul", null, { class: "list", id: "who-found" });
  find.addEventListener("submit", async (event) => {
    event.preventDefault();
    found.replaceChildren();
    const q = query.value.trim();
    if (!q) return;
    let customers = [];
    try {
      if (/^#?\d{1,9}$/.test(q) && !/^1\d{10}$/.test(q)) {
        customers = [await api("GET", "/api/v1/customers/" + q.replace("#", ""))];
      } else {
        const pop = await api("GET", "/api/v1/screen-pop?number=" + encodeURIComponent(q));
        customers = pop.cards.map((c) => c.customer);
      }
    } catch (e) {
      if (e.status !== 404) { found.append(el("li", e.message, { class: "notice bad" })); return; }
    }
    if (customers.length === 0) found.append(el("li", t("who.none"), { class: "muted" }));
    for (const c of customers) {
      const item = el("li", (c.name || "#" + c.id) + " · " + (c.phones || []).map((p) => p.number).join(", "));
      item.append(pickButton(offer, c));
      found.append(item);
    }
  });
  const form = el("form", null, { id: "who-new", novalidate: "" });
  form.append(el("h3", t("who.new"), { class: "muted" }),
    el("label", t("who.name"), { for: "who-name" }),
    el("input", null, { id: "who-name", name: "name", maxlength: "100" }),
    el("div", null, { class: "field-error", "data-field": "name" }),
    el("label", t("who.other_number"), { for: "who-number" }),
    el("input", null, { id: "who-number", name: "number", inputmode: "tel" }),
    el("div", null, { class: "field-error", "data-field": "phones[0].number" }));
  const create = el("button", t("who.create"), { type: "submit", class: "primary", id: "who-create" });
  form.append(el("p", null), create);
  const general = el("div", null, { role: "status" });
  form.append(general);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: form.elements.name.value.trim() || null };
    const number = form.elements.number.value.trim();
    if (number) body.phones = [{ number }];
    try {
      const customer = await api("POST", "/api/v1/customers", body);
      await identify(offer, customer);
    } catch (e) {
      if (e.status !== 401) showError(form, e, general);
    }
  });
  box.append(find, found, form);
  return box;
}

// ---- The wrap-up: disposition, notes, a callback ----

let dispositions = []; // the center's outcomes, [{ code, zh, en }] (GET /api/v1/dispositions)

function dispositionLabel(code) {
  const d = dispositions.find((x) => x.code === code);
  return d ? (language() === "en" ? d.en : d.zh) : code;
}

async function loadDispositions() {
  try {
    dispositions = await api("GET", "/api/v1/dispositions");
  } catch (e) {
    return;
  }
  document.getElementById("wrap-disposition").replaceChildren(
    ...dispositions.map((d) => el("option", dispositionLabel(d.code), { value: d.code })));
}

const WRAP_KEY = "hotline.draft.wrap";
let wrapCallback = null; // the callback already scheduled for the contact in the form

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function openWrapUp(offer, customer) {
  const form = document.getElementById("wrap");
  if (form.elements.contact_id.value === String(offer.contact_id)) return;
  form.elements.contact_id.value = offer.contact_id;
  form.elements.customer_id.value = customer ? customer.id : "";
  form.elements.notes.value = "";
  form.elements.callback.checked = false;
  document.getElementById("wrap-window").classList.add("hidden");
  // An hour from now on the half hour, or tomorrow 10:00 when that falls in the evening or
  // the night (the server checks the legal calling hours and says if the window misses them).
  let start = Math.ceil((Date.now() + 3600000) / 1800000) * 1800000;
  const hour = new Date(start).getHours();
  if (hour < 9 || hour >= 20) {
    const next = new Date(start);
    if (hour >= 20) next.setDate(next.getDate() + 1);
    next.setHours(10, 0, 0, 0);
    start = next.getTime();
  }
  form.elements.from.value = localInput(start);
  form.elements.to.value = localInput(start + 3600000);
  wrapCallback = null;
  document.getElementById("wrap-none").classList.add("hidden");
  document.getElementById("wrap-save").disabled = false;
  const notice = document.getElementById("wrap-notice");
  notice.textContent = "";
  notice.className = "";
  saveWrapDraft();
}

function saveWrapDraft() {
  const form = document.getElementById("wrap");
  const draft = { number: current && current.offer.pop ? current.offer.pop.number : "" };
  for (const name of ["contact_id", "customer_id", "disposition", "notes", "from", "to"]) {
    draft[name] = form.elements[name].value;
  }
  draft.callback = form.elements.callback.checked;
  localStorage.setItem(WRAP_KEY, JSON.stringify(draft));
}

function restoreWrapDraft() {
  const text = localStorage.getItem(WRAP_KEY);
  if (!text) return;
  const draft = JSON.parse(text);
  const form = document.getElementById("wrap");
  for (const name of ["contact_id", "customer_id", "disposition", "notes", "from", "to"]) {
    form.elements[name].value = draft[name] || "";
  }
  form.elements.callback.checked = !!draft.callback;
  document.getElementById("wrap-window").classList.toggle("hidden", !draft.callback);
  if (draft.contact_id) {
    current = { offer: { contact_id: Number(draft.contact_id), pop: { number: draft.number } }, customer: null };
    document.getElementById("wrap-none").classList.add("hidden");
    document.getElementById("wrap-save").disabled = false;
  }
}

async function saveWrapUp(event) {
  event.preventDefault();
  const form = document.getElementById("wrap");
  const notice = document.getElementById("wrap-notice");
  notice.textContent = "";
  notice.className = "";
  form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  const contact = form.elements.contact_id.value;
  if (!contact) return;
  const customerId = form.elements.customer_id.value ? Number(form.elements.customer_id.value) : null;
  const notes = form.elements.notes.value.trim();
  const button = document.getElementById("wrap-save");
  button.disabled = true;
  try {
    if (form.elements.callback.checked && !wrapCallback) {
      const start = new Date(form.elements.from.value).getTime();
      const end = new Date(form.elements.to.value).getTime();
      if (!Number.isFinite(start)) throw new ApiError(422, { error: { field: "window.start_ms", message: t("wrap.from") + "?" } });
      if (!Number.isFinite(end)) throw new ApiError(422, { error: { field: "window.end_ms", message: t("wrap.to") + "?" } });
      const body = {
        channel: "agent",
        reason: notes || dispositionLabel(form.elements.disposition.value),
        window: { start_ms: start, end_ms: end },
      };
      if (customerId) body.customer_id = customerId;
      else body.number = current && current.offer.pop ? current.offer.pop.number : "";
      const ticket = document.getElementById("ticket-notice").dataset.ticket;
      if (ticket && current && String(current.offer.contact_id) === contact) body.ticket_id = Number(ticket);
      wrapCallback = await api("POST", "/api/v1/callbacks", body,
        { "idempotency-key": "wrap-" + contact + "-callback-" + start + "-" + end });
    }
    const body = { disposition: form.elements.disposition.value };
    if (notes) body.notes = notes;
    if (customerId) body.customer_id = customerId;
    await api("POST", "/api/v1/contacts/" + contact + "/wrap-up", body);
    notice.textContent = t("wrap.saved") + (wrapCallback
      ? " · " + t("wrap.callback_saved") + wrapCallback.promised_local : "");
    notice.className = "notice ok";
    if (wrapCallback) { notice.dataset.callback = wrapCallback.id; loadMine(); }
    notice.dataset.saved = contact;
    form.elements.contact_id.value = "";
    form.elements.notes.value = "";
    form.elements.callback.checked = false;
    document.getElementById("wrap-window").classList.add("hidden");
    document.getElementById("wrap-none").classList.remove("hidden");
    localStorage.removeItem(WRAP_KEY);
  } catch (e) {
    button.disabled = false;
    if (e.status !== 401) showError(form, e, notice);
  }
}

async function loadTickets(customer, list) {
  try {
    const page = await api("GET", "/api/v1/tickets?customer_id=" + customer + "&limit=20");
    page.items.filter((x) => x.status !== "closed" && x.status !== "resolved")
      .forEach((x) => list.append(ticketItem(x, customer, list)));
  } catch (e) { /* the pop stands without them */ }
}

const NEXT_STATUSES = ["", "in_progress", "waiting_on_customer", "resolved"];

// An open ticket of the caller, with "update from this call": a note said to the customer
// (it counts as the ticket's response) and, if wanted, its next status.
function ticketItem(ticket, customer, list) {
  const item = el("li", null, { "data-ticket": ticket.id });
  item.append(el("span", "#" + ticket.id + " " + ticket.title + " · " + t("status." + ticket.status)));
  const open = el("button", t("ticket.update"), { type: "button", "data-update": ticket.id });
  item.append(open);
  open.addEventListener("click", () => {
    open.remove();
    const form = el("form", null, { class: "ticket-update", novalidate: "" });
    const note = el("textarea", null, { name: "note", maxlength: "4000", "aria-label": t("ticket.note") });
    const status = el("select", null, { name: "status", "aria-label": t("ticket.next_status") });
    NEXT_STATUSES.forEach((s) => status.append(el("option", s ? t("status." + s) : t("ticket.keep_status"), { value: s })));
    const error = el("div", null, { class: "field-error", "data-field": "note" });
    const statusError = el("div", null, { class: "field-error", "data-field": "status" });
    const save = el("button", t("ticket.save_update"), { type: "submit", class: "primary" });
    form.append(el("label", t("ticket.note")), note, error, el("label", t("ticket.next_status")),
      status, statusError, save);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { note: note.value.trim(), answered_customer: true };
      if (status.value) body.status = status.value;
      try {
        await api("PATCH", "/api/v1/tickets/" + ticket.id, body);
        list.replaceChildren();
        loadTickets(customer, list);
        const notice = document.getElementById("ticket-notice");
        notice.textContent = t("ticket.updated") + "#" + ticket.id;
        notice.className = "notice ok";
      } catch (e) {
        if (e.status !== 401) showError(form, e, error);
      }
    });
    item.append(form);
    note.focus();
  });
  return item;
}

function popEnded(data) {
  const pop = document.getElementById("pop");
  if (String(pop.dataset.contact) === String(data.contact_id) && status && status.state !== "on_contact") {
    pop.prepend(el("p", t("pop.ended"), { class: "notice" }));
  }
}

function listen() {
  const source = new EventSource("/api/v1/agents/" + encodeURIComponent(agent) + "/pops");
  source.addEventListener("offer", (e) => { renderPop(JSON.parse(e.data)); loadState(); });
  source.addEventListener("offer_ended", (e) => { popEnded(JSON.parse(e.data)); loadState(); loadToday(); });
  source.addEventListener("state", () => loadState());
  source.addEventListener("open", () => loadState());
  source.onerror = () => { /* EventSource reconnects by itself */ };
}

// ---- The ticket ----

function ticketForm() { return document.getElementById("ticket"); }

function prefillTicket(offer, customer) {
  const form = ticketForm();
  if (form.elements.title.value.trim() !== "" && localStorage.getItem(DRAFT_KEY)) return;
  const request = offer.callback_request;
  form.elements.title.value = request && request.reason ? request.reason
    : (offer.pop ? offer.pop.number : "") + (customer && customer.name ? " " + customer.name : "");
  form.elements.customer_id.value = customer ? customer.id : "";
  form.elements.contact_id.value = offer.contact_id || "";
  saveDraft();
}

function saveDraft() {
  const form = ticketForm();
  const draft = {};
  for (const name of ["title", "category", "priority", "description", "customer_id", "contact_id"]) {
    draft[name] = form.elements[name].value;
  }
  localStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
}

function restoreDraft() {
  const text = localStorage.getItem(DRAFT_KEY);
  if (!text) return;
  const draft = JSON.parse(text);
  const form = ticketForm();
  for (const [name, value] of Object.entries(draft)) {
    if (form.elements[name]) form.elements[name].value = value;
  }
  if (draft.title || draft.description) {
    const notice = document.getElementById("ticket-notice");
    notice.textContent = t("ticket.draft");
    notice.className = "notice";
  }
}

async function saveTicket(event) {
  event.preventDefault();
  const form = ticketForm();
  const notice = document.getElementById("ticket-notice");
  notice.textContent = "";
  notice.className = "";
  const body = {
    title: form.elements.title.value,
    category: form.elements.category.value,
    priority: form.elements.priority.value,
  };
  if (form.elements.description.value.trim()) body.description = form.elements.description.value;
  if (form.elements.customer_id.value) body.customer_id = Number(form.elements.customer_id.value);
  try {
    const ticket = await api("POST", "/api/v1/tickets", body);
    form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
    notice.textContent = t("ticket.saved") + "#" + ticket.id;
    notice.className = "notice ok";
    notice.dataset.ticket = ticket.id;
    localStorage.removeItem(DRAFT_KEY);
    const list = body.customer_id && document.querySelector('[data-tickets="' + body.customer_id + '"]');
    if (list) { list.replaceChildren(); loadTickets(body.customer_id, list); }
    form.elements.title.value = "";
    form.elements.description.value = "";
  } catch (e) {
    if (e.status !== 401) showError(form, e, notice);
  }
}

// ---- Knowledge base ----

function kbItem(hit) {
  const item = el("li");
  item.append(el("strong", hit.title), el("div", hit.snippet, { class: "muted" }));
  const copy = el("button", t("kb.copy"), { type: "button" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(hit.snippet);
      copy.textContent = t("kb.copied");
    } catch (e) {
      copy.textContent = "✗";
    }
  });
  item.append(copy);
  return item;
}

async function searchKb(event) {
  event.preventDefault();
  const q = document.getElementById("kb-q").value.trim();
  const list = document.getElementById("kb-results");
  list.replaceChildren();
  if (!q) return;
  try {
    const hits = await api("GET", "/api/v1/kb/search?q=" + encodeURIComponent(q));
    if (hits.length === 0) list.append(el("li", t("kb.none"), { class: "muted" }));
    hits.forEach((h) => list.append(kbItem(h)));
  } catch (e) {
    list.append(el("li", e.message, { class: "notice bad" }));
  }
}

// ---- My day ----

async function loadToday() {
  try {
    const day = await api("GET", "/api/v1/agents/" + encodeURIComponent(agent) + "/today");
    const tile = (name, value, id) => {
      const box = el("div", null, { class: "tile", "data-tile": id });
      box.append(el("div", value, { class: "value" }), el("div", t(name), { class: "name" }));
      return box;
    };
    document.getElementById("today").replaceChildren(
      tile("today.handled", day.handled, "handled"),
      tile("today.aht", day.aht_ms === null ? "–" : duration(day.aht_ms), "aht"),
      tile("today.csat", day.csat_average === null ? "–"
        : day.csat_average.toFixed(1) + " (" + day.csat_answers + ")", "csat"),
    );
  } catch (e) { /* the figures come back at the next round */ }
}

// ---- Callbacks due (preview) ----

async function loadPreview() {
  const list = document.getElementById("preview");
  try {
    const cards = await api("GET", "/api/v1/callbacks/preview?limit=20");
    list.replaceChildren();
    if (cards.length === 0) list.append(el("li", t("preview.none"), { class: "muted" }));
    for (const c of cards) {
      const item = el("li", null, { "data-callback": c.id });
      item.append(el("div", c.reason), el("div", c.number + " · " + c.channel, { class: "muted" }));
      const dial = el("button", t("preview.dial"), { type: "button", class: "primary" });
      dial.addEventListener("click", () => dialCallback(c.id, dial));
      item.append(dial);
      list.append(item);
    }
  } catch (e) {
    list.replaceChildren(el("li", e.message, { class: "muted" }));
  }
}

// The callbacks this agent scheduled, newest first, with how they went.
async function loadMine() {
  const list = document.getElementById("my-callbacks");
  try {
    const tasks = await api("GET", "/api/v1/callbacks?requested_by=me&limit=20");
    list.replaceChildren();
    if (tasks.length === 0) list.append(el("li", t("mine.none"), { class: "muted" }));
    for (const c of tasks) {
      const item = el("li", null, { "data-callback": c.id, "data-state": c.state });
      item.append(el("div", c.reason),
        el("div", [c.promised_local, t("cb." + c.state), c.number].join(" · "), { class: "muted" }));
      list.append(item);
    }
  } catch (e) {
    list.replaceChildren(el("li", e.message, { class: "muted" }));
  }
}

async function dialCallback(id, button) {
  const notice = document.getElementById("preview-notice");
  button.disabled = true;
  try {
    const task = await api("POST", "/api/v1/callbacks/" + id + "/dial", { agent });
    notice.textContent = t("preview.dialled") + task.number;
    notice.className = "notice ok";
  } catch (e) {
    notice.textContent = e.message;
    notice.className = "notice bad";
  }
  loadPreview();
}

document.addEventListener("DOMContentLoaded", async () => {
  translate();
  let user;
  try {
    user = await me();
  } catch (e) {
    return;
  }
  agent = user.name;
  header(user);
  document.getElementById("ready").addEventListener("click", () => change({ state: "ready" }));
  document.getElementById("not-ready").addEventListener("click", () => {
    const reason = document.getElementById("reason").value;
    change(reason ? { state: "not_ready", reason } : { state: "not_ready" });
  });
  document.getElementById("end-wrap-up").addEventListener("click", () => change({ state: "end_wrap_up" }));
  const form = ticketForm();
  restoreDraft();
  form.addEventListener("input", saveDraft);
  form.addEventListener("submit", saveTicket);
  document.getElementById("kb").addEventListener("submit", searchKb);
  const wrap = document.getElementById("wrap");
  await loadDispositions();
  restoreWrapDraft();
  wrap.addEventListener("input", saveWrapDraft);
  wrap.addEventListener("submit", saveWrapUp);
  wrap.elements.callback.addEventListener("change", () => {
    document.getElementById("wrap-window").classList.toggle("hidden", !wrap.elements.callback.checked);
  });
  await loadState();
  listen();
  loadPreview();
  loadMine();
  loadToday();
  setInterval(loadState, STATE_POLL_MS);
  setInterval(loadToday, 30000);
  setInterval(tickWrapUp, 1000);
  setInterval(loadPreview, 15000);
  setInterval(loadMine, 30000);
});

// The simple admin: the configuration file's queues, agents and business hours as written,
// each row saved on its own (`PUT /api/v1/admin/...`): the server checks the whole file,
// writes it and runs it at once without dropping a call; a refusal is shown on the row.
"use strict";

let version = null; // the file's version this page shows (sent as If-Match)
let isAdmin = false; // adding agents and setting phone accounts needs the admin role

const DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function list(text) {
  return text.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
}

function input(value, attrs) {
  const e = el("input", null, attrs);
  e.value = value === null || value === undefined ? "" : String(value);
  return e;
}

// The answer of a change: a reload report, or (agents, phones) one with the password made.
function said(answer) {
  const report = answer.report || answer;
  const notice = document.getElementById("notice");
  notice.textContent = t("admin.saved") + (report.restart_needed.length
    ? " · " + t("admin.restart") + report.restart_needed.join(", ") : "");
  if (answer.password) {
    notice.append(el("br"), t("admin.made_password"),
      el("code", answer.password, { class: "password", id: "made-password" }));
  }
  notice.className = "notice ok";
}

// A refusal as said: its field first, unless the message (the file's check) names it already.
function refusal(e) {
  return (e.field && !e.message.includes(e.field) ? e.field + ": " : "") + e.message;
}

function send(method, path, body) {
  return api(method, path, body, version ? { "if-match": '"' + version + '"' } : {});
}

// Saves one row: `body()` makes the request; the answer or the refusal is shown.
function saver(path, body, error, button, method) {
  return async () => {
    error.textContent = "";
    button.disabled = true;
    try {
      said(await send(method || "PUT", path, body()));
      await load();
    } catch (e) {
      if (e.status !== 401) {
        error.textContent = refusal(e);
        document.getElementById("notice").className = "";
        document.getElementById("notice").textContent = "";
      }
    } finally {
      button.disabled = false;
    }
  };
}

function saveButton(id) {
  return el("button", t("admin.save"), { type: "button", class: "primary", id });
}

function renderQueues(queues) {
  const body = document.querySelector("#queues tbody");
  body.replaceChildren();
  for (const q of queues) {
    const row = el("tr", null, { "data-queue": q.name });
    const sl = input(q.service_level, { "aria-label": q.name + " " + t("admin.sl"), name: "service_level", placeholder: "80/20" });
    const max = input(q.max_waiting, { "aria-label": q.name + " " + t("admin.max_waiting"), name: "max_waiting", inputmode: "numeric", placeholder: "1000" });
    const wrap = input(q.wrap_up, { "aria-label": q.name + " " + t("admin.wrap_up"), name: "wrap_up", placeholder: "0s" });
    const error = el("div", null, { class: "row-error", role: "alert" });
    const save = saveButton("save-queue-" + q.name);
    save.addEventListener("click", saver("/api/v1/admin/queues/" + encodeURIComponent(q.name), () => {
      const edit = {};
      if (sl.value.trim()) edit.service_level = sl.value.trim();
      // Not a number: sent as written, so the server says what is wrong by its field.
      const most = max.value.trim();
      if (most) edit.max_waiting = /^\d+$/.test(most) ? Number(most) : most;
      if (wrap.value.trim()) edit.wrap_up = wrap.value.trim();
      return edit;
    }, error, save));
    const name = el("td", q.name);
    name.append(error);
    const cells = [name, el("td"), el("td"), el("td"), el("td", null, { class: "actions" })];
    cells[1].append(sl); cells[2].append(max); cells[3].append(wrap); cells[4].append(save);
    row.append(...cells);
    body.append(row);
  }
}

function renderAgents(agents) {
  const body = document.querySelector("#agents tbody");
  body.replaceChildren();
  for (const a of agents) {
    const row = el("tr", null, { "data-agent": a.name });
    const name = el("td", a.name + (a.count ? " × " + a.count : ""));
    const skills = input(a.skills.join(", "), { "aria-label": a.name + " " + t("admin.skills"), name: "skills" });
    const queues = input(a.queues.join(", "), { "aria-label": a.name + " " + t("admin.agent_queues"), name: "queues" });
    const actions = el("td", null, { class: "actions" });
    if (a.count) {
      skills.disabled = true;
      queues.disabled = true;
      actions.append(el("span", t("admin.group"), { class: "muted" }));
    } else {
      const error = el("div", null, { class: "row-error", role: "alert" });
      const save = saveButton("save-agent-" + a.name);
      save.addEventListener("click", saver("/api/v1/admin/agents/" + encodeURIComponent(a.name),
        () => ({ skills: list(skills.value), queues: list(queues.value) }), error, save));
      actions.append(save);
      name.append(error);
    }
    const s = el("td"), q = el("td");
    s.append(skills);
    q.append(queues);
    row.append(name, s, q, actions, phoneCell(a));
    body.append(row);
  }
}

// The agent's phone account: whether there is one, and (admins) a new password or removal.
function phoneCell(a) {
  const cell = el("td", null, { class: "actions" });
  cell.append(el("span", t(a.phone ? "admin.phone_yes" : "admin.phone_no"), { class: a.phone ? "" : "muted" }));
  if (!isAdmin || a.count) return cell;
  const path = "/api/v1/admin/agents/" + encodeURIComponent(a.name) + "/phone";
  const error = el("div", null, { class: "row-error", role: "alert" });
  // A phone that works stops working at its next registration: both ask first.
  const reset = el("button", t("admin.new_password"), { type: "button", id: "phone-password-" + a.name });
  twoStep(reset, saver(path, () => ({}), error, reset));
  cell.append(" ", reset);
  if (a.phone) {
    const remove = el("button", t("admin.remove_phone"), { type: "button", id: "phone-remove-" + a.name });
    twoStep(remove, saver(path, () => undefined, error, remove, "DELETE"));
    cell.append(" ", remove);
  }
  cell.append(error);
  return cell;
}

// Two presses instead of a dialog: the first asks, the second (within 5 s) does it; the
// button goes back to its word after 5 s, or when the action fails.
function twoStep(button, action) {
  const word = button.textContent;
  let timer = null;
  const disarm = () => {
    clearTimeout(timer);
    delete button.dataset.armed;
    button.textContent = word;
  };
  button.addEventListener("click", async () => {
    if (button.dataset.armed) {
      clearTimeout(timer);
      await action();
      if (button.isConnected) disarm();
      return;
    }
    button.dataset.armed = "1";
    button.textContent = t("admin.confirm");
    timer = setTimeout(disarm, 5000);
  });
}

const ROUTE_KEYS = ["queue", "menu", "hours", "closed_queue", "closed_menu"];

// A number's route from inputs named by ROUTE_KEYS: only those filled.
function route(inputs) {
  const body = {};
  for (const key of ROUTE_KEYS) if (inputs[key].value.trim()) body[key] = inputs[key].value.trim();
  return body;
}

function renderNumbers(numbers) {
  const body = document.querySelector("#numbers tbody");
  body.replaceChildren();
  for (const n of numbers) {
    const row = el("tr", null, { "data-number": n.number });
    const name = el("td", n.number);
    const inputs = {};
    const cells = [name];
    for (const key of ROUTE_KEYS) {
      inputs[key] = input(n[key], { name: key, "aria-label": n.number + " " + t(key === "queue" ? "wall.queue" : "admin." + key) });
      const cell = el("td");
      cell.append(inputs[key]);
      cells.push(cell);
    }
    const path = "/api/v1/admin/numbers/" + encodeURIComponent(n.number);
    const error = el("div", null, { class: "row-error", role: "alert" });
    const save = saveButton("save-number-" + n.number);
    save.addEventListener("click", saver(path, () => route(inputs), error, save));
    const remove = el("button", t("admin.remove"), { type: "button", id: "remove-number-" + n.number });
    twoStep(remove, saver(path, () => undefined, error, remove, "DELETE"));
    const actions = el("td", null, { class: "actions" });
    actions.append(save, " ", remove);
    name.append(error);
    cells.push(actions);
    row.append(...cells);
    body.append(row);
  }
}

function renderSkills(skills) {
  const box = document.getElementById("skills");
  box.replaceChildren();
  if (skills.length === 0) box.append(el("span", t("admin.no_skills"), { class: "muted" }));
  for (const name of skills) box.append(el("span", name));
}

// A form that adds something (`POST`): its fields make the body; the refusal is shown under it.
function adder(id, path, body) {
  const form = document.getElementById(id);
  const error = form.querySelector(".row-error");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      said(await send("POST", path, body(form.elements)));
      form.reset();
      await load();
    } catch (e) {
      if (e.status !== 401) error.textContent = refusal(e);
    } finally {
      button.disabled = false;
    }
  });
}

function renderCalendars(calendars) {
  const box = document.getElementById("calendars");
  box.replaceChildren();
  if (calendars.length === 0) box.append(el("p", t("admin.no_calendars"), { class: "muted" }));
  for (const c of calendars) {
    const card = el("section", null, { class: "card", "data-calendar": c.name });
    card.append(el("h3", c.name));
    const days = el("div", null, { class: "days" });
    const inputs = {};
    for (const d of DAY_KEYS) {
      const label = el("label", t("day." + d));
      inputs[d] = input(c.weekly[d], { name: d, placeholder: "09:00-18:00" });
      label.append(inputs[d]);
      days.append(label);
    }
    const holidays = input(c.holidays.join(", "), { name: "holidays", "aria-label": t("admin.holidays") });
    const error = el("div", null, { class: "row-error", role: "alert" });
    const save = saveButton("save-calendar-" + c.name);
    save.addEventListener("click", saver("/api/v1/admin/calendars/" + encodeURIComponent(c.name), () => {
      const weekly = {};
      for (const d of DAY_KEYS) if (inputs[d].value.trim()) weekly[d] = inputs[d].value.trim();
      return { weekly, holidays: list(holidays.value) };
    }, error, save));
    const h = el("label", t("admin.holidays"));
    h.append(holidays);
    card.append(days, h, error, el("p"), save);
    box.append(card);
  }
}

async function load() {
  let view;
  try {
    view = await api("GET", "/api/v1/admin/config");
  } catch (e) {
    if (e.status === 503) {
      const notice = document.getElementById("notice");
      notice.textContent = t("admin.nofile");
      notice.className = "notice bad";
    }
    return;
  }
  version = view.version;
  renderQueues(view.queues);
  renderNumbers(view.numbers);
  renderSkills(view.skills);
  renderAgents(view.agents);
  renderCalendars(view.calendars);
}

document.addEventListener("DOMContentLoaded", async () => {
  translate();
  let user;
  try {
    user = await me();
  } catch (e) {
    return;
  }
  header(user);
  isAdmin = user.role === "admin";
  document.getElementById("new-agent").hidden = !isAdmin;
  document.getElementById("admin-only").hidden = isAdmin;
  adder("new-queue", "/api/v1/admin/queues", (f) => {
    const queue = { name: f.name.value.trim(), skills: list(f.skills.value), agents: list(f.agents.value) };
    if (f.service_level.value.trim()) queue.service_level = f.service_level.value.trim();
    return queue;
  });
  adder("new-skill", "/api/v1/admin/skills", (f) => ({ name: f.name.value.trim() }));
  // A new number is a PUT on its own path: the form's adder sends it there.
  const numberForm = document.getElementById("new-number");
  numberForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const error = numberForm.querySelector(".row-error");
    const button = numberForm.querySelector("button[type=submit]");
    const number = numberForm.elements.number.value.trim();
    if (!number) {
      error.textContent = t("admin.number") + "?";
      return;
    }
    saver("/api/v1/admin/numbers/" + encodeURIComponent(number), () => route(numberForm.elements),
      error, button)().then(() => { if (!error.textContent) numberForm.reset(); });
  });
  adder("new-agent", "/api/v1/admin/agents", (f) => {
    const agent = { name: f.name.value.trim(), skills: list(f.skills.value), queues: list(f.queues.value) };
    if (f.password.value) agent.password = f.password.value;
    return agent;
  });
  load();
});

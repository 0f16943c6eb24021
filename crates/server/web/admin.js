// The simple admin: the configuration file's queues, agents and business hours as written,
// each row saved on its own (`PUT /api/v1/admin/...`): the server checks the whole file,
// writes it and runs it at once without dropping a call; a refusal is shown on the row.
"use strict";

let version = null; // the file's version this page shows (sent as If-Match)

const DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function list(text) {
  return text.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
}

function input(value, attrs) {
  const e = el("input", null, attrs);
  e.value = value === null || value === undefined ? "" : String(value);
  return e;
}

function said(report) {
  const notice = document.getElementById("notice");
  notice.textContent = t("admin.saved") + (report.restart_needed.length
    ? " · " + t("admin.restart") + report.restart_needed.join(", ") : "");
  notice.className = "notice ok";
}

// Saves one row: `body()` makes the request; the answer or the refusal is shown.
function saver(path, body, error, button) {
  return async () => {
    error.textContent = "";
    button.disabled = true;
    try {
      said(await api("PUT", path, body(), version ? { "if-match": '"' + version + '"' } : {}));
      await load();
    } catch (e) {
      if (e.status !== 401) {
        error.textContent = (e.field ? e.field + ": " : "") + e.message;
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
    row.append(name, s, q, actions);
    body.append(row);
  }
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
  load();
});

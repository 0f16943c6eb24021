// The supervisors' live wall: the whole report once, then only what changed, pushed by
// `/api/v1/metrics/wall/stream`; time in state is counted here from each agent's `since_ms`.
"use strict";

const agents = new Map();
let skew = 0; // server clock minus ours

function tile(name, value, id) {
  const box = el("div", null, { class: "tile", "data-tile": id });
  box.append(el("div", value, { class: "value" }), el("div", t(name), { class: "name" }));
  return box;
}

function renderCenter(c) {
  document.getElementById("center").replaceChildren(
    tile("wall.waiting", c.waiting, "waiting"),
    tile("wall.longest", duration(c.longest_wait_ms), "longest"),
    tile("wall.sl", percent(c.service_level), "sl"),
    tile("wall.asa", duration(c.asa_ms), "asa"),
    tile("wall.abandon", percent(c.abandonment_rate), "abandon"),
    tile("wall.connect", percent(c.connect_rate), "connect"),
    tile("wall.callbacks", c.callbacks_pending, "callbacks"),
    tile("wall.timeliness", percent(c.callback_timeliness), "timeliness"),
  );
}

function renderQueues(queues) {
  const body = document.querySelector("#queues tbody");
  body.replaceChildren();
  for (const q of queues) {
    const row = el("tr", null, { "data-queue": q.name });
    row.append(
      el("td", q.name),
      el("td", q.waiting, { class: "num", "data-cell": "waiting" }),
      el("td", duration(q.longest_wait_ms), { class: "num" }),
      el("td", percent(q.service_level), { class: "num" }),
      el("td", duration(q.asa_ms), { class: "num" }),
      el("td", percent(q.abandonment_rate), { class: "num" }),
      el("td", percent(q.connect_rate), { class: "num" }),
      el("td", q.callbacks_pending, { class: "num" }),
      el("td", percent(q.callback_timeliness), { class: "num" }),
      el("td", q.offered, { class: "num" }),
      el("td", q.answered, { class: "num" }),
    );
    body.append(row);
  }
}

function renderAlerts(alerts) {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  document.querySelectorAll("#queues tr").forEach((r) => r.classList.remove("alerting"));
  for (const a of alerts) {
    let text;
    if (a.kind === "service_level") {
      text = t("alert.service_level") + ": " + percent(a.value) + " < " + percent(a.limit);
    } else if (a.kind === "longest_wait") {
      text = t("alert.longest_wait") + ": " + duration(a.value) + " > " + duration(a.limit);
    } else {
      text = t("alert.callback_promise") + ": " + a.value;
    }
    const item = el("li", (a.queue ? a.queue + " · " : "") + text,
      { class: "alert", "data-alert": a.kind });
    list.append(item);
    if (a.queue) {
      const row = document.querySelector('#queues tr[data-queue="' + CSS.escape(a.queue) + '"]');
      if (row) row.classList.add("alerting");
    }
  }
}

function stateKey(state) {
  const base = state.split(":")[0];
  return base === "ringing" ? "ringing" : base;
}

function renderAgents() {
  const body = document.querySelector("#agents tbody");
  const now = Date.now() + skew;
  body.replaceChildren();
  for (const a of agents.values()) {
    const key = stateKey(a.state);
    const reason = a.state.includes(":") ? " · " + a.state.split(":")[1] : "";
    const row = el("tr", null, { "data-agent": a.name });
    row.append(
      el("td", a.name),
      el("td", t("state." + key) + reason, { class: "state " + key, "data-cell": "state" }),
      el("td", a.since_ms ? duration(now - a.since_ms) : "–", { class: "num" }),
      el("td", a.contact_id || "–", { class: "num" }),
      el("td", a.handled_today, { class: "num" }),
      el("td", duration(a.talk_ms_today), { class: "num" }),
    );
    body.append(row);
  }
}

function stamp(at) {
  skew = at - Date.now();
  document.getElementById("updated").textContent =
    t("wall.updated") + " " + new Date(at).toLocaleTimeString(language());
}

function connect() {
  const source = new EventSource("/api/v1/metrics/wall/stream");
  const notice = document.getElementById("connection");
  source.addEventListener("wall", (e) => {
    const wall = JSON.parse(e.data);
    notice.textContent = "";
    notice.className = "";
    renderCenter(wall.center);
    renderQueues(wall.queues);
    renderAlerts(wall.alerts);
    agents.clear();
    wall.agents.forEach((a) => agents.set(a.name, a));
    renderAgents();
    stamp(wall.at_ms);
  });
  source.addEventListener("changes", (e) => {
    const changes = JSON.parse(e.data);
    if (changes.center) renderCenter(changes.center);
    if (changes.queues) renderQueues(changes.queues);
    if (changes.alerts) renderAlerts(changes.alerts);
    changes.agents.forEach((a) => agents.set(a.name, a));
    renderAgents();
    stamp(changes.at_ms);
  });
  source.onerror = async () => {
    notice.textContent = t("wall.lost");
    notice.className = "notice bad";
    // A lost session reconnects forever: check it, and go to the login page if it ended.
    try { await me(); } catch (err) { source.close(); }
  };
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
  connect();
  setInterval(renderAgents, 1000);
});

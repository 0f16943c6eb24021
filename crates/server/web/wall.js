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

function renderOutbound(o) {
  const section = document.getElementById("outbound-section");
  section.classList.toggle("hidden", !o);
  if (!o) return;
  const seconds = (ms) => (ms === null || ms === undefined ? "–" : (ms / 1000).toFixed(1) + " s");
  document.getElementById("outbound").replaceChildren(
    tile("out.requested", o.requested, "requested"),
    tile("out.first_dial", seconds(o.trigger_to_first_dial_ms.p50), "first-dial"),
    tile("out.first_dial_p95", seconds(o.trigger_to_first_dial_ms.p95), "first-dial-p95"),
    tile("out.connect", percent(o.connect_rate), "connect"),
    tile("out.timeliness", percent(o.timeliness), "timeliness"),
    tile("out.pending", o.pending, "pending"),
  );
}

// Campaigns: their live figures from `/api/v1/campaigns`, every few seconds.
const CAMPAIGNS_EVERY_MS = 3000;

async function loadCampaigns() {
  let campaigns;
  try {
    campaigns = await api("GET", "/api/v1/campaigns");
  } catch (e) {
    return;
  }
  const shown = campaigns.filter((c) => c.state !== "stopped" || (c.live && c.live.active > 0));
  document.getElementById("campaigns-section").classList.toggle("hidden", shown.length === 0);
  const body = document.querySelector("#campaigns tbody");
  body.replaceChildren();
  for (const c of shown) {
    const live = c.live || {};
    const row = el("tr", null, { "data-campaign": c.name });
    const state = t("campaign." + c.state) + (live.capped ? " · " + t("campaign.capped") : "");
    row.append(
      el("td", c.name), el("td", c.queue),
      el("td", state, { class: live.capped ? "alert" : "" }),
      el("td", live.ringing ?? "–", { class: "num" }),
      el("td", live.waiting ?? "–", { class: "num" }),
      el("td", c.numbers.pending, { class: "num" }),
      el("td", live.since_start ? live.since_start.connected : "–", { class: "num" }),
      el("td", percent(live.abandonment_24h), { class: "num" }),
      el("td", percent(live.abandonment_30d), { class: "num" }),
    );
    body.append(row);
  }
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

// Charts of the last hours, drawn as inline SVG from `/api/v1/metrics/wall/history`.
const SVG = "http://www.w3.org/2000/svg";
const CHART = { w: 360, h: 130, left: 44, right: 6, top: 8, bottom: 18 };
const CHART_EVERY_MS = 15000;
let chartFetched = 0;

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
}

// One chart: `bars` (a value per point, or null) and `line` (a value per point, null leaves
// a gap), on a 0..max scale; `goal` a dashed level; `label` formats the axis and the summary.
function drawChart(id, points, spec) {
  const n = points.length;
  const { w, h, left, right, top, bottom } = CHART;
  const plotW = w - left - right, plotH = h - top - bottom;
  const values = points.flatMap((p) => [spec.bar ? spec.bar(p) : null, spec.line(p)])
    .filter((v) => v !== null && v !== undefined);
  const max = spec.max || Math.max(1, ...values) * 1.1;
  const x = (i) => left + (n <= 1 ? plotW / 2 : (i + 0.5) * (plotW / n));
  const y = (v) => top + plotH - (Math.min(v, max) / max) * plotH;
  const latest = n ? spec.line(points[n - 1]) : null;
  const chart = svg("svg", {
    viewBox: "0 0 " + w + " " + h, role: "img", "data-points": n,
    "aria-label": t(spec.name) + " · " + t("chart.latest") + ": " + spec.label(latest),
  });
  chart.append(
    svg("line", { class: "axis", x1: left, y1: top + plotH, x2: w - right, y2: top + plotH }),
    svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: top + plotH }),
    svg("text", { x: left - 4, y: top + 8, "text-anchor": "end" }, spec.label(max)),
    svg("text", { x: left - 4, y: top + plotH, "text-anchor": "end" }, spec.label(0)),
  );
  if (spec.bar) {
    const width = Math.max(1, plotW / Math.max(n, 1) - 2);
    points.forEach((p, i) => {
      const v = spec.bar(p) || 0;
      if (v > 0) {
        chart.append(svg("rect", { class: "bar", x: x(i) - width / 2, y: y(v), width,
          height: top + plotH - y(v) }));
      }
    });
  }
  if (spec.goal !== null && spec.goal !== undefined) {
    chart.append(svg("line", { class: "goal", x1: left, x2: w - right, y1: y(spec.goal), y2: y(spec.goal) }),
      svg("text", { x: w - right, y: y(spec.goal) - 2, "text-anchor": "end" },
        t("chart.goal") + " " + spec.label(spec.goal)));
  }
  let run = [];
  const flush = () => {
    if (run.length > 1) chart.append(svg("polyline", { class: spec.bar ? "peak" : "line", points: run.join(" ") }));
    run = [];
  };
  points.forEach((p, i) => {
    const v = spec.line(p);
    if (v === null || v === undefined) { flush(); return; }
    run.push(x(i).toFixed(1) + "," + y(v).toFixed(1));
    if (!spec.bar) chart.append(svg("circle", { class: "dot", cx: x(i), cy: y(v), r: 2 }));
  });
  flush();
  if (n) {
    chart.append(
      svg("text", { x: left, y: h - 4 }, clock(points[0].start_ms)),
      svg("text", { x: w - right, y: h - 4, "text-anchor": "end" }, clock(points[n - 1].start_ms)),
    );
  }
  document.getElementById(id).replaceChildren(chart);
}

async function loadCharts() {
  chartFetched = Date.now();
  const queue = document.getElementById("chart-queue").value;
  let history;
  try {
    history = await api("GET", "/api/v1/metrics/wall/history?hours=8" +
      (queue ? "&queue=" + encodeURIComponent(queue) : ""));
  } catch (e) {
    return;
  }
  const points = history.points;
  const fraction = (v) => percent(v);
  drawChart("chart-waiting", points, {
    name: "chart.waiting", bar: (p) => p.waiting_average, line: (p) => p.waiting_peak,
    label: (v) => (v === null ? "–" : Number(v).toFixed(v >= 10 ? 0 : 1)),
  });
  drawChart("chart-sl", points, {
    name: "wall.sl", line: (p) => p.service_level, max: 1, goal: history.service_level_goal,
    label: fraction,
  });
  drawChart("chart-abandon", points, {
    name: "wall.abandon", line: (p) => p.abandonment_rate,
    max: Math.max(0.1, ...points.map((p) => p.abandonment_rate || 0)), label: fraction,
  });
}

function chartQueues(queues) {
  const select = document.getElementById("chart-queue");
  const names = queues.map((q) => q.name);
  const have = Array.from(select.options).slice(1).map((o) => o.value);
  if (names.join("\n") === have.join("\n")) return;
  const chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  names.forEach((n) => select.append(el("option", n, { value: n })));
  select.value = names.includes(chosen) ? chosen : "";
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
    renderOutbound(wall.outbound);
    chartQueues(wall.queues);
    loadCharts();
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
    if ("outbound" in changes) renderOutbound(changes.outbound);
    // The interval under way moves with the figures: redraw, at most every 5 s.
    if (changes.center && Date.now() - chartFetched > 5000) loadCharts();
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
  setInterval(() => { if (Date.now() - chartFetched >= CHART_EVERY_MS) loadCharts(); }, 1000);
  document.getElementById("chart-queue").addEventListener("change", loadCharts);
  loadCampaigns();
  setInterval(loadCampaigns, CAMPAIGNS_EVERY_MS);
});

// hotline's pages share this: the words in Simplified Chinese and English, the API calls
// (the session cookie, the CSRF header, a lost session sent back to the login page with the
// page's draft kept), and small helpers that never put data into HTML as markup.
"use strict";

const WORDS = {
  "zh-CN": {
    "app": "hotline 呼叫中心", "login.title": "登录", "login.name": "用户名",
    "login.password": "密码", "login.submit": "登录", "login.failed": "用户名或密码错误，或账号已锁定",
    "logout": "退出", "lang": "English",
    "nav.desktop": "坐席工作台", "nav.wall": "监控大屏", "nav.admin": "管理",
    "admin.title": "管理：队列、坐席、营业时间", "admin.queues": "队列", "admin.agents": "坐席",
    "admin.calendars": "营业时间", "admin.skills": "技能（如 billing:3）", "admin.agent_queues": "队列（如 general:1）",
    "admin.sl": "服务水平（如 80/20）", "admin.max_waiting": "最多排队", "admin.wrap_up": "话后整理",
    "admin.holidays": "节假日（如 2026-10-01..2026-10-07）", "admin.save": "保存并生效",
    "admin.saved": "已保存并立即生效，通话不中断", "admin.restart": "以下部分需重启后生效：",
    "admin.group": "坐席组（count），请在配置文件中修改", "admin.nofile": "此中心没有配置文件（演示），无法在此修改",
    "admin.no_calendars": "配置文件中没有营业时间日历（[[calendars]]）",
    "admin.note": "修改写入配置文件（保留注释），先整体校验，立即生效，进行中的通话不受影响。",
    "admin.numbers": "号码", "admin.number": "号码", "admin.menu": "语音菜单", "admin.hours": "营业时间日历",
    "admin.closed_queue": "下班后：队列", "admin.closed_menu": "下班后：菜单", "admin.new_number": "新号码",
    "admin.remove": "删除",
    "admin.add": "添加", "admin.name": "名称", "admin.new_queue": "新队列", "admin.new_agent": "新坐席",
    "admin.queue_agents": "接听坐席（如 ann, bob）", "admin.skill_list": "技能", "admin.new_skill": "新技能",
    "admin.no_skills": "尚无技能", "admin.phone": "话机账号", "admin.phone_yes": "已开通", "admin.phone_no": "未开通",
    "admin.password": "话机密码（留空则自动生成）", "admin.new_password": "重置密码", "admin.remove_phone": "停用话机",
    "admin.confirm": "确定吗？再按一次", "admin.made_password": "话机密码（仅显示这一次，请配置到话机）：",
    "admin.admin_only": "添加坐席与设置话机账号需管理员权限。",
    "day.mon": "周一", "day.tue": "周二", "day.wed": "周三", "day.thu": "周四", "day.fri": "周五",
    "day.sat": "周六", "day.sun": "周日",
    "state": "状态", "state.ready": "就绪", "state.not_ready": "未就绪", "state.reserved": "振铃",
    "state.ringing": "振铃", "state.on_contact": "通话中", "state.wrap_up": "话后整理",
    "state.logged_out": "未登录", "state.no_phone": "话机未注册",
    "do.ready": "就绪", "do.not_ready": "未就绪", "do.end_wrap_up": "结束整理",
    "reason.none": "忙碌", "wrap.left": "整理剩余",
    "pop.title": "来电弹屏", "pop.waiting": "等待来电…", "pop.unknown": "未识别的号码：请新建或选择客户",
    "pop.several": "多个客户使用此号码：请选择", "pop.recent": "最近联系", "pop.tickets": "未结工单",
    "pop.request": "回拨请求", "pop.suggestions": "推荐知识", "pop.queue": "队列",
    "pop.ended": "来电已结束振铃", "pop.level": "等级", "pop.tags": "标签", "pop.prefs": "偏好",
    "ticket.title": "新建工单", "ticket.subject": "标题", "ticket.description": "描述",
    "ticket.category": "类别", "ticket.priority": "优先级", "ticket.save": "保存工单",
    "ticket.saved": "工单已创建：", "ticket.draft": "已恢复未保存的草稿",
    "ticket.update": "本次通话更新", "ticket.note": "告知客户的处理说明", "ticket.next_status": "下一状态",
    "ticket.keep_status": "（不变）", "ticket.save_update": "保存更新", "ticket.updated": "工单已更新：",
    "status.new": "新建", "status.assigned": "已分派", "status.in_progress": "处理中",
    "status.waiting_on_customer": "等待客户", "status.resolved": "已解决", "status.closed": "已关闭",
    "priority.normal": "普通", "priority.high": "高", "priority.urgent": "紧急", "priority.low": "低",
    "kb.title": "知识库", "kb.search": "搜索知识库", "kb.copy": "复制", "kb.copied": "已复制",
    "kb.none": "没有找到", "preview.title": "待拨回拨", "preview.dial": "拨打", "preview.none": "没有到期的回拨",
    "preview.dialled": "正在为您接通：", "today.title": "我的今日", "today.handled": "已处理",
    "today.talk": "通话时长", "today.aht": "平均处理时长", "today.csat": "满意度",
    "wall.title": "实时监控大屏", "wall.center": "全中心", "wall.waiting": "排队中",
    "wall.longest": "最长等待", "wall.sl": "服务水平", "wall.asa": "平均应答",
    "wall.abandon": "放弃率", "wall.connect": "接通率", "wall.callbacks": "待回拨",
    "wall.timeliness": "回拨及时率", "wall.offered": "今日来电", "wall.answered": "今日接通",
    "wall.queues": "队列", "wall.queue": "队列", "wall.agents": "坐席", "wall.agent": "坐席", "wall.since": "持续",
    "wall.contact": "当前联系", "wall.handled": "今日处理", "wall.talk": "今日通话",
    "wall.updated": "更新于", "wall.lost": "连接中断，正在重连…",
    "alert.service_level": "服务水平低于目标", "alert.longest_wait": "等待时间过长",
    "alert.callback_promise": "即将超时的回拨",
    "wall.outbound": "今日回拨", "out.requested": "回拨请求", "out.first_dial": "触发→首拨 中位",
    "out.first_dial_p95": "触发→首拨 P95", "out.connect": "回拨接通率", "out.timeliness": "承诺内拨出",
    "out.pending": "进行中", "wall.campaigns": "外呼活动", "campaign.name": "活动",
    "campaign.ringing": "振铃中", "campaign.waiting": "已接听待坐席", "campaign.pending": "剩余号码",
    "campaign.connected": "已接通", "campaign.abandon24": "放弃率（24 小时）",
    "campaign.abandon30": "放弃率（30 天）", "campaign.capped": "已限速",
    "campaign.running": "运行中", "campaign.paused": "已暂停", "campaign.stopped": "已停止",
    "chart.title": "最近 8 小时（每 15 分钟）", "chart.waiting": "排队数（平均 / 峰值）",
    "chart.latest": "当前时段", "chart.goal": "目标",
    "mine.title": "我预约的回拨", "mine.none": "还没有预约回拨",
    "cb.pending": "待拨", "cb.dialling": "拨打中", "cb.done": "已接通", "cb.failed": "未接通",
    "cb.cancelled": "已取消",
    "wrap.title": "通话小结", "wrap.none": "接到来电后可填写小结", "wrap.disposition": "处理结果",
    "wrap.notes": "备注", "wrap.callback": "预约回拨", "wrap.from": "回拨时间从", "wrap.to": "到",
    "wrap.save": "保存小结", "wrap.saved": "小结已保存", "wrap.callback_saved": "已预约回拨，承诺时间：",
    "who.title": "来电客户是谁？", "who.find": "查找", "who.query": "号码或客户编号 #",
    "who.pick": "就是此客户", "who.new": "新建客户", "who.name": "姓名", "who.other_number": "其他电话（可选）",
    "who.add_number": "把来电号码加到客户资料：",
    "who.create": "创建并关联", "who.linked": "已关联到客户：", "who.none": "没有找到",
    "error.network": "网络错误，请重试", "error.session": "登录已过期，请重新登录",
  },
  "en": {
    "app": "hotline contact center", "login.title": "Log in", "login.name": "User name",
    "login.password": "Password", "login.submit": "Log in", "login.failed": "Wrong name or password, or the account is locked",
    "logout": "Log out", "lang": "中文",
    "nav.desktop": "Agent desktop", "nav.wall": "Live wall", "nav.admin": "Admin",
    "admin.title": "Admin: queues, agents, business hours", "admin.queues": "Queues", "admin.agents": "Agents",
    "admin.calendars": "Business hours", "admin.skills": "Skills (billing:3)", "admin.agent_queues": "Queues (general:1)",
    "admin.sl": "Service level (80/20)", "admin.max_waiting": "Most waiting", "admin.wrap_up": "Wrap-up",
    "admin.holidays": "Holidays (2026-10-01..2026-10-07)", "admin.save": "Save and run",
    "admin.saved": "Saved and running now; no call was dropped", "admin.restart": "A restart is needed for: ",
    "admin.group": "A group of agents (count): edit it in the configuration file", "admin.nofile": "This center has no configuration file (the demo): nothing to edit here",
    "admin.no_calendars": "The configuration file has no business-hours calendar ([[calendars]])",
    "admin.note": "Changes are written to the configuration file (comments kept), checked whole, and run at once; calls in progress go on.",
    "admin.numbers": "Numbers", "admin.number": "Number", "admin.menu": "Menu", "admin.hours": "Hours (calendar)",
    "admin.closed_queue": "Closed: queue", "admin.closed_menu": "Closed: menu", "admin.new_number": "New number",
    "admin.remove": "Remove",
    "admin.add": "Add", "admin.name": "Name", "admin.new_queue": "New queue", "admin.new_agent": "New agent",
    "admin.queue_agents": "Taken by (ann, bob)", "admin.skill_list": "Skills", "admin.new_skill": "New skill",
    "admin.no_skills": "No skills yet", "admin.phone": "Phone account", "admin.phone_yes": "Set", "admin.phone_no": "None",
    "admin.password": "Phone password (empty: one is made)", "admin.new_password": "New password", "admin.remove_phone": "Remove phone",
    "admin.confirm": "Sure? Press again", "admin.made_password": "Phone password (shown this once; set it in the phone): ",
    "admin.admin_only": "Adding agents and setting phone accounts needs the admin role.",
    "day.mon": "Mon", "day.tue": "Tue", "day.wed": "Wed", "day.thu": "Thu", "day.fri": "Fri",
    "day.sat": "Sat", "day.sun": "Sun",
    "state": "State", "state.ready": "Ready", "state.not_ready": "Not ready", "state.reserved": "Ringing",
    "state.ringing": "Ringing", "state.on_contact": "On a call", "state.wrap_up": "Wrap-up",
    "state.logged_out": "Logged out", "state.no_phone": "No phone registered",
    "do.ready": "Ready", "do.not_ready": "Not ready", "do.end_wrap_up": "End wrap-up",
    "reason.none": "Busy", "wrap.left": "Wrap-up left",
    "pop.title": "Screen pop", "pop.waiting": "Waiting for a call…", "pop.unknown": "Unknown number: create or pick a customer",
    "pop.several": "Several customers have this number: pick one", "pop.recent": "Recent contacts", "pop.tickets": "Open tickets",
    "pop.request": "Callback request", "pop.suggestions": "Suggested articles", "pop.queue": "Queue",
    "pop.ended": "The call stopped ringing", "pop.level": "Level", "pop.tags": "Tags", "pop.prefs": "Preferences",
    "ticket.title": "New ticket", "ticket.subject": "Title", "ticket.description": "Description",
    "ticket.category": "Category", "ticket.priority": "Priority", "ticket.save": "Save ticket",
    "ticket.saved": "Ticket created: ", "ticket.draft": "Your unsaved draft was restored",
    "ticket.update": "Update from this call", "ticket.note": "What the customer was told", "ticket.next_status": "Next status",
    "ticket.keep_status": "(unchanged)", "ticket.save_update": "Save update", "ticket.updated": "Ticket updated: ",
    "status.new": "New", "status.assigned": "Assigned", "status.in_progress": "In progress",
    "status.waiting_on_customer": "Waiting on the customer", "status.resolved": "Resolved", "status.closed": "Closed",
    "priority.normal": "Normal", "priority.high": "High", "priority.urgent": "Urgent", "priority.low": "Low",
    "kb.title": "Knowledge base", "kb.search": "Search the knowledge base", "kb.copy": "Copy", "kb.copied": "Copied",
    "kb.none": "Nothing found", "preview.title": "Callbacks due", "preview.dial": "Dial", "preview.none": "No callback is due",
    "preview.dialled": "Connecting you: ", "today.title": "My day", "today.handled": "Handled",
    "today.talk": "Talk time", "today.aht": "Average handle time", "today.csat": "CSAT",
    "wall.title": "Live wall", "wall.center": "Whole center", "wall.waiting": "Waiting",
    "wall.longest": "Longest wait", "wall.sl": "Service level", "wall.asa": "ASA",
    "wall.abandon": "Abandonment", "wall.connect": "Connect rate", "wall.callbacks": "Callbacks pending",
    "wall.timeliness": "Callback timeliness", "wall.offered": "Offered today", "wall.answered": "Answered today",
    "wall.queues": "Queues", "wall.queue": "Queue", "wall.agents": "Agents", "wall.agent": "Agent", "wall.since": "For",
    "wall.contact": "Contact", "wall.handled": "Handled today", "wall.talk": "Talk today",
    "wall.updated": "Updated", "wall.lost": "Connection lost, reconnecting…",
    "alert.service_level": "Service level under its goal", "alert.longest_wait": "A caller waits too long",
    "alert.callback_promise": "Callbacks about to miss their promise",
    "wall.outbound": "Callbacks today", "out.requested": "Requested", "out.first_dial": "Trigger → first dial, median",
    "out.first_dial_p95": "Trigger → first dial, p95", "out.connect": "Connect rate", "out.timeliness": "Dialled within promise",
    "out.pending": "Under way", "wall.campaigns": "Campaigns", "campaign.name": "Campaign",
    "campaign.ringing": "Ringing", "campaign.waiting": "Answered, waiting", "campaign.pending": "Numbers left",
    "campaign.connected": "Connected", "campaign.abandon24": "Abandoned (24 h)",
    "campaign.abandon30": "Abandoned (30 d)", "campaign.capped": "capped",
    "campaign.running": "Running", "campaign.paused": "Paused", "campaign.stopped": "Stopped",
    "chart.title": "Last 8 hours, per 15 minutes", "chart.waiting": "In queue (average, peak)",
    "chart.latest": "this interval", "chart.goal": "goal",
    "mine.title": "My callbacks", "mine.none": "No callback scheduled yet",
    "cb.pending": "Waiting", "cb.dialling": "Dialling", "cb.done": "Reached", "cb.failed": "Not reached",
    "cb.cancelled": "Cancelled",
    "wrap.title": "Wrap-up", "wrap.none": "The wrap-up opens with a call", "wrap.disposition": "Outcome",
    "wrap.notes": "Notes", "wrap.callback": "Schedule a callback", "wrap.from": "Call back from", "wrap.to": "until",
    "wrap.save": "Save wrap-up", "wrap.saved": "Wrap-up saved", "wrap.callback_saved": "Callback scheduled, promised for ",
    "who.title": "Who is calling?", "who.find": "Find", "who.query": "Number or customer #",
    "who.pick": "This is the caller", "who.new": "New customer", "who.name": "Name", "who.other_number": "Another phone (optional)",
    "who.add_number": "Add the caller's number to the customer:",
    "who.create": "Create and link", "who.linked": "Linked to customer: ", "who.none": "Nothing found",
    "error.network": "Network error, try again", "error.session": "Your session ended: log in again",
  },
};

function language() {
  const chosen = localStorage.getItem("hotline.lang");
  if (chosen === "zh-CN" || chosen === "en") return chosen;
  return (navigator.language || "zh-CN").toLowerCase().startsWith("en") ? "en" : "zh-CN";
}

function t(key) {
  return (WORDS[language()] || WORDS["zh-CN"])[key] || WORDS["zh-CN"][key] || key;
}

// Fills every [data-i18n] element's text and [data-i18n-placeholder] placeholder.
function translate(root) {
  const scope = root || document;
  document.documentElement.lang = language();
  scope.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
  scope.querySelectorAll("[data-i18n-placeholder]").forEach((e) => {
    e.placeholder = t(e.dataset.i18nPlaceholder);
  });
  document.title = t(document.body.dataset.title || "app");
}

function switchLanguage() {
  localStorage.setItem("hotline.lang", language() === "en" ? "zh-CN" : "en");
  location.reload();
}

// An element with text (never markup) and optional attributes.
function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  return e;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || ("HTTP " + status));
    this.status = status;
    this.field = body && body.error && body.error.field;
  }
}

// Calls the API with the session cookie; a lost session goes back to the login page with
// this page to return to (drafts are kept by the pages in localStorage).
async function api(method, path, body, headers) {
  const options = { method, headers: Object.assign({ "x-hotline-csrf": "1" }, headers || {}),
    credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new ApiError(0, { error: { message: t("error.network") } });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, { error: { message: t("error.session") } });
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function toLogin() {
  const back = location.pathname + location.search;
  location.href = "/login?next=" + encodeURIComponent(back);
}

async function me() {
  return api("GET", "/api/v1/me");
}

async function logout() {
  try { await api("POST", "/api/v1/logout"); } catch (e) { /* gone already */ }
  location.href = "/login";
}

// Shows an API error next to its field (`data-field` on the error holder), else in `general`.
function showError(form, error, general) {
  form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  const holder = error.field && form.querySelector('.field-error[data-field="' + error.field + '"]');
  if (holder) {
    holder.textContent = error.message;
    const input = form.querySelector('[name="' + error.field + '"]');
    if (input) input.focus();
  } else if (general) {
    general.textContent = error.message;
    general.className = "notice bad";
  }
}

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h > 0 ? h + ":" + two(m) + ":" + two(r) : m + ":" + two(r);
}

function percent(x) {
  return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%";
}

function header(user) {
  document.getElementById("who").textContent = user.display_name || user.name;
  document.getElementById("lang").addEventListener("click", switchLanguage);
  document.getElementById("logout").addEventListener("click", logout);
}

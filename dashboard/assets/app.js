// devcluster dashboard: draws the state the live feed (Server-Sent Events at
// "events") sends, and posts the buttons' actions to "api/action". Every value
// from the cluster (paths, log lines) goes through textContent, never HTML.
"use strict";

const palette = ["#0b4f9c", "#c2410c", "#0a6b2c", "#7e22ce", "#b00020", "#0e7490", "#854d0e", "#be185d"];
const historyMS = 60000; // the charts show the last minute
const history = []; // {t: ms since the epoch, rate: {id: n}, p50: {id: ms}}, oldest first
const colours = new Map();
let actionsKey = "";

// The run's token comes in the URL's fragment (#token=…), which the browser
// never sends to a server; it is kept in sessionStorage (this origin, port
// included, and this tab only: never a cookie, which every port of 127.0.0.1
// would get), taken out of the address bar, and sent as X-Devcluster-Token.
const tokenKey = "devcluster_token";
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("token")) {
  sessionStorage.setItem(tokenKey, fragment.get("token"));
  window.history.replaceState(null, "", location.pathname + location.search);
}
const token = sessionStorage.getItem(tokenKey) || "";
let canAct = false; // the token held was accepted by api/state

async function checkToken() {
  if (!token) return;
  try {
    const r = await fetch("api/state", { headers: { "X-Devcluster-Token": token } });
    canAct = r.ok && (await r.json()).can_act === true;
    if (!canAct) sessionStorage.removeItem(tokenKey); // another run's
  } catch (e) {
    canAct = false;
  }
  actionsKey = ""; // draw the buttons again
}

function colourOf(id) {
  if (!colours.has(id)) colours.set(id, palette[colours.size % palette.length]);
  return colours.get(id);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function fmtDuration(s) {
  if (!s) return "–";
  s = Math.floor(s);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
}

function fmtBytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + " MiB";
  return (n / (1 << 30)).toFixed(1) + " GiB";
}

function fmtMS(v, count) {
  if (!count) return "–";
  return v < 10 ? v.toFixed(1) + " ms" : Math.round(v) + " ms";
}

// stateClass: the colour of a state; the word itself is always shown too.
function stateClass(s) {
  if (s === "ready" || s === "running" || s === "up") return "ok";
  if (s === "draining" || s === "drained" || s === "maint" || s === "paused" || s === "starting" || s === "waiting" || s === "stopping") return "warn";
  return "bad";
}

function badge(text) {
  return el("span", { class: "badge " + stateClass(text) }, text || "–");
}

function cell(col, ...content) {
  return el("td", { "data-col": col }, ...content);
}

function renderInstances(st) {
  const body = document.querySelector("#instances tbody");
  const rows = st.instances.map((i) => {
    const t = i.traffic;
    const sw = el("span", { class: "swatch" });
    sw.style.background = colourOf(i.id);
    const health = i.health.time
      ? el("span", { class: i.health.ok ? "ok" : "bad", title: i.health.time }, (i.health.ok ? "✓ " : "✗ "), el("span", { class: "nowrap" }, i.health.result), " ", el("span", { class: "sub" }, (i.health_seconds * 1000).toFixed(0) + "ms"))
      : "–";
    const faults = el("span", { class: "faults" }, ...i.faults.map((f) => el("span", { class: "badge", title: f.until || "" }, f.kind + " " + f.detail)));
    const fivexx = t.classes[5];
    return el("tr", { "data-id": i.id },
      el("td", { class: "id", "data-col": "id" }, sw, i.id),
      cell("state", badge(i.state)),
      cell("balancer", i.balancer ? badge(i.balancer) : "–"),
      cell("pid", i.pid ? (i.standby_pid ? el("span", { title: "its warm standby, the next start (reload.standby)" }, i.pid + " ", el("span", { class: "sub" }, el("span", { class: "nowrap" }, "+ standby"), " " + i.standby_pid)) : i.pid) : "–"),
      cell("port", i.port || "–"),
      cell("uptime", fmtDuration(i.uptime_seconds)),
      cell("restarts", i.restarts + " / " + i.reloads),
      cell("health", health),
      cell("active", i.active),
      cell("total", t.total),
      cell("rate", t.window.Count ? i.rate.toFixed(1) : "0"),
      cell("p50", fmtMS(i.p50_ms, t.window.Count)),
      cell("p99", fmtMS(i.p99_ms, t.window.Count)),
      cell("errors", i.connect_errors + " / " + fivexx + " / " + t.timeouts),
      cell("retries", i.retries),
      cell("bytes", fmtBytes(t.bytes_in) + " / ", el("span", { class: "sub" }, fmtBytes(t.bytes_out))),
      cell("weight", i.weight),
      cell("faults", faults));
  });
  body.replaceChildren(...rows);
}

function actionButton(kind, target, label, extra, cls) {
  const b = el("button", { "data-action": kind, "data-target": target, type: "button" }, label || kind);
  if (cls) b.className = cls;
  b.addEventListener("click", () => act(Object.assign({ kind, target }, extra ? extra() : {})));
  return b;
}

// numberInput is an action's input inside its visible label (the words
// above the box), which is also its accessible name.
function numberInput(field, target, value, label, title) {
  const input = el("input", { type: "number", "data-field": field, "data-target": target, value });
  if (title) input.title = title;
  return el("label", { class: "field" }, el("span", {}, label), input);
}

function fieldValue(field, target) {
  const e = document.querySelector(`input[data-field="${field}"][data-target="${CSS.escape(target)}"]`);
  return e && e.value !== "" ? Number(e.value) : undefined;
}

// renderHosts shows each host of proxy.hosts as a link to its URL, beside
// the proxy's address; they only change with the manifest.
let hostsKey = "";
function renderHosts(hosts) {
  const key = JSON.stringify(hosts);
  if (key === hostsKey) return;
  hostsKey = key;
  document.getElementById("hosts").replaceChildren(...hosts.map((h) =>
    el("a", { href: h.url, class: "host", title: "requests with Host " + h.name + " go to " + h.process }, h.url + " → " + h.process)));
}

function renderActions(st) {
  const key = JSON.stringify([st.can_act, st.processes.map((p) => p.name + p.instances), st.instances.map((i) => i.id)]);
  if (key === actionsKey) return; // keep what the user is typing
  actionsKey = key;
  document.getElementById("readonly").hidden = st.can_act;
  const box = document.getElementById("actions");
  const procs = st.processes.map((p) => el("div", { class: "inst-actions", "data-process": p.name },
    el("span", { class: "label" }, p.name),
    el("span", { class: "group" },
      actionButton("scale", p.name, "− scale", () => ({ n: Math.max(0, p.instances - 1) })),
      el("span", { "data-col": "count" }, p.instances),
      actionButton("scale", p.name, "+ scale", () => ({ n: p.instances + 1 }))),
    el("span", { class: "group" }, actionButton("reload", p.name), actionButton("restart", p.name, "restart all"))));
  const insts = st.instances.map((i) => el("div", { class: "inst-actions", "data-id": i.id },
    el("span", { class: "label" }, i.id),
    actionButton("restart", i.id), actionButton("stop", i.id), actionButton("start", i.id),
    actionButton("kill", i.id, "kill", null, "danger"), actionButton("pause", i.id, "pause", null, "danger"), actionButton("resume", i.id),
    el("span", { class: "group" }, actionButton("drain", i.id), actionButton("ready", i.id), actionButton("maint", i.id)),
    el("span", { class: "group" },
      numberInput("delay_ms", i.id, 300, "delay ms"), numberInput("jitter_ms", i.id, 0, "± jitter ms"), numberInput("delay_percent", i.id, 100, "% of requests"),
      actionButton("delay", i.id, "set delay", () => ({ duration_ms: fieldValue("delay_ms", i.id), jitter_ms: fieldValue("jitter_ms", i.id) || 0, percent: fieldValue("delay_percent", i.id) }))),
    el("span", { class: "group" },
      numberInput("fail_percent", i.id, 50, "% of requests"), numberInput("fail_status", i.id, 503, "status"),
      actionButton("fail", i.id, "set fail", () => ({ percent: fieldValue("fail_percent", i.id), status: fieldValue("fail_status", i.id) }))),
    el("span", { class: "group" },
      numberInput("reset_percent", i.id, 100, "% reset", "percent of requests reset"),
      actionButton("reset", i.id, "set reset", () => ({ percent: fieldValue("reset_percent", i.id) }), "danger")),
    el("span", { class: "group" },
      numberInput("timeout_percent", i.id, 100, "% no answer", "percent of requests never answered"),
      actionButton("timeout", i.id, "set timeout", () => ({ percent: fieldValue("timeout_percent", i.id) }), "danger")),
    el("span", { class: "group" },
      numberInput("weight", i.id, i.weight, "weight"),
      actionButton("weight", i.id, "set weight", () => ({ weight: fieldValue("weight", i.id) }))),
    actionButton("clear", i.id, "clear faults")));
  const all = el("div", { class: "inst-actions" }, el("span", { class: "label" }, "all"), actionButton("clear", "", "clear all faults"));
  box.replaceChildren(...procs, ...insts, all);
  for (const b of box.querySelectorAll("button")) b.disabled = !st.can_act;
}

async function act(a) {
  const msg = document.getElementById("message");
  const what = a.kind + (a.target ? " " + a.target : "");
  msg.className = "";
  msg.textContent = what + "…";
  try {
    const r = await fetch("api/action", {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", "X-Devcluster-Token": token }, body: JSON.stringify(a),
    });
    const text = (await r.text()).trim();
    if (!r.ok) throw new Error(text || r.statusText);
    msg.className = "ok";
    msg.textContent = what + ": done";
  } catch (e) {
    msg.className = "bad";
    msg.textContent = what + ": " + e.message;
  }
}

function renderRecent(st) {
  const rows = st.recent.map((r) => el("tr", {},
    el("td", {}, new Date(r.time).toLocaleTimeString()),
    el("td", {}, r.method),
    el("td", {}, r.path),
    el("td", {}, r.instance || "proxy"),
    el("td", { class: r.status >= 500 || !r.status ? "num bad" : "num" }, r.status || r.error || "–"),
    el("td", { class: "num" }, r.duration_ms.toFixed(1)),
    el("td", {}, r.id),
    el("td", {}, [r.decision, r.error].filter(Boolean).join(", "))));
  document.querySelector("#recent tbody").replaceChildren(...rows);
}

function renderLogs(st) {
  const box = document.getElementById("logs");
  const blocks = st.instances.map((i) => {
    const lines = (st.logs[i.id] || []).map((l) => l.text).join("\n");
    const err = st.errors && st.errors[i.id] ? "(" + st.errors[i.id] + ")" : "";
    const h = el("h3", {}, i.id);
    h.style.color = colourOf(i.id);
    return el("div", { "data-log": i.id }, h, el("pre", {}, lines || err || "(no output yet)"));
  });
  box.replaceChildren(...blocks);
}

// drawChart draws one line per instance over the history, labelled with the
// instance's name at its end, so that colour is not the only way to tell them.
function drawChart(canvas, series, unit) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 60, R = 90, T = 14, B = 26;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "18px system-ui, sans-serif";
  const ids = [...new Set(history.flatMap((h) => Object.keys(h[series])))];
  let maxV = 1;
  for (const h of history) for (const v of Object.values(h[series])) maxV = Math.max(maxV, v);
  maxV = niceCeil(maxV);
  ctx.strokeStyle = "#bbb"; ctx.fillStyle = "#111"; ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const y = T + (H - T - B) * (1 - k / 4);
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
    ctx.fillText(fmtAxis(maxV * k / 4) + (k === 4 ? " " + unit : ""), 4, y + 5);
  }
  ctx.fillText("last " + historyMS / 1000 + " s", L, H - 6);
  const newest = history.length ? history[history.length - 1].t : 0;
  const x = (t) => L + (W - L - R) * Math.max(0, 1 - (newest - t) / historyMS);
  const y = (v) => T + (H - T - B) * (1 - v / maxV);
  const labels = [];
  for (const id of ids) {
    ctx.strokeStyle = colourOf(id); ctx.lineWidth = 3; ctx.beginPath();
    let last = null;
    for (const h of history) {
      const v = h[series][id];
      if (v === undefined) continue;
      if (last === null) ctx.moveTo(x(h.t), y(v)); else ctx.lineTo(x(h.t), y(v));
      last = v;
    }
    ctx.stroke();
    if (last !== null) labels.push({ id, y: y(last) + 5 });
  }
  // Push the end labels apart, so equal lines (round robin!) stay readable.
  labels.sort((a, b) => a.y - b.y);
  for (let k = 1; k < labels.length; k++) labels[k].y = Math.max(labels[k].y, labels[k - 1].y + 18);
  for (const l of labels) {
    ctx.fillStyle = colourOf(l.id);
    ctx.fillText(l.id, W - R + 6, l.y);
  }
}

// drawSpread draws one bar per instance: its share of the requests of the
// rolling window, with the count and percentage written beside it.
function drawSpread(canvas, st) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 90, R = 130;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "bold 20px system-ui, sans-serif";
  const counts = st.instances.map((i) => i.traffic.window.Count || 0);
  const total = counts.reduce((a, b) => a + b, 0);
  const maxC = Math.max(1, ...counts);
  const n = Math.max(1, st.instances.length);
  const rowH = Math.min(40, (H - 10) / n);
  st.instances.forEach((i, k) => {
    const y = 5 + k * rowH;
    const w = (W - L - R) * (counts[k] / maxC);
    ctx.fillStyle = "#111";
    ctx.fillText(i.id, 6, y + rowH * 0.65);
    ctx.fillStyle = colourOf(i.id);
    ctx.fillRect(L, y + 4, w, rowH - 8);
    ctx.fillStyle = "#111";
    const pct = total ? Math.round((100 * counts[k]) / total) : 0;
    ctx.fillText(counts[k] + " (" + pct + "%)", L + w + 8, y + rowH * 0.65);
  });
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmtAxis(v) { return v >= 10 ? Math.round(v) : v.toFixed(1); }

function render(st) {
  st.can_act = canAct; // the feed cannot carry the header: the page's own check decides
  document.getElementById("proxy").textContent = "proxy " + (st.proxy || "–") + (st.strategy ? " · " + st.strategy : "") + (st.seed ? " · seed " + st.seed : "");
  renderHosts(st.hosts || []);
  const rate = {}, p50 = {};
  for (const i of st.instances) {
    rate[i.id] = i.rate;
    if (i.traffic.window.Count) p50[i.id] = i.p50_ms;
  }
  // The page's own load is its own series on the rate chart, "load".
  if (st.load && st.load.running) rate.load = st.load.rps;
  // The feed's first state brings the last minute (the server's record of
  // it), so the charts are full at load; later states add a point each.
  if (st.history) history.splice(0, history.length, ...st.history.map((h) => ({ t: Date.parse(h.time), rate: h.rate, p50: h.p50 })));
  const now = Date.parse(st.time);
  if (history.length && history[history.length - 1].t >= now) history.pop(); // the history's last point is this state
  history.push({ t: now, rate, p50 });
  while (history.length && history[0].t < now - historyMS) history.shift();
  renderInstances(st);
  renderActions(st);
  renderLoad(st);
  renderRecent(st);
  renderLogs(st);
  drawSpread(document.getElementById("spread"), st);
  drawChart(document.getElementById("rate"), "rate", "req/s");
  drawChart(document.getElementById("latency"), "p50", "ms");
}

// renderLoad draws the load panel once (its inputs keep what the user
// typed) and its status line on every state: devcluster load from a button,
// through this cluster's proxy, always bounded by its seconds.
let loadDrawn = false;
function renderLoad(st) {
  const box = document.getElementById("load");
  if (!loadDrawn) {
    const path = el("input", { type: "text", "data-field": "load_path", "data-target": "", value: "/" });
    box.replaceChildren(
      el("label", { class: "field" }, el("span", {}, "path"), path),
      numberInput("load_users", "", 10, "users", "virtual users, each with its own connection and cookies"),
      numberInput("load_seconds", "", 10, "seconds", "the load stops by itself after this long"),
      numberInput("load_rate", "", 0, "req/s (0: closed loop)", "open loop: requests due per second; 0: each user sends when answered"),
      actionButton("load", "", "start load", () => ({
        path: path.value, n: fieldValue("load_users", ""), duration_ms: 1000 * (fieldValue("load_seconds", "") || 0),
        rate: fieldValue("load_rate", "") || 0,
      })),
      actionButton("load-stop", "", "stop load", null, "danger"));
    loadDrawn = true;
  }
  for (const b of box.querySelectorAll("button")) b.disabled = !st.can_act;
  const l = st.load;
  const status = document.getElementById("load-status");
  if (!l) { status.textContent = "no load yet: it shows as the \"load\" series of the rate chart"; return; }
  const shares = Object.entries(l.instances || {}).sort().map(([id, n]) => id + " " + n).join(", ");
  status.textContent = (l.running ? "running: " : "done: ") + "GET " + l.path + " · " + l.users + " users · " +
    (l.rate ? l.rate + " req/s due · " : "") + (l.elapsed_ms / 1000).toFixed(1) + " s of " + (l.duration_ms / 1000).toFixed(0) + " s · " +
    l.requests + " requests, " + l.failed + " failed" + (l.running ? " · " + Math.round(l.rps) + " req/s" : "") +
    " · p50 " + l.p50_ms.toFixed(1) + " ms, p99 " + l.p99_ms.toFixed(1) + " ms" + (shares ? " · " + shares : "");
}

function connect() {
  const feed = document.getElementById("feed");
  const es = new EventSource("events");
  es.addEventListener("state", (e) => {
    feed.dataset.live = "yes";
    feed.textContent = "● live";
    render(JSON.parse(e.data));
  });
  es.addEventListener("failure", (e) => {
    feed.dataset.live = "no";
    feed.textContent = "✗ " + JSON.parse(e.data).error;
  });
  es.onerror = () => {
    feed.dataset.live = "no";
    feed.textContent = "✗ disconnected, retrying";
  };
}

checkToken().then(connect);

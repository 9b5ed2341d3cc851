// streamproc dashboard: polls /fleet and /fleet/hourly, listens to /live, triggers reports.
// No build step and no dependencies: plain DOM and a hand-written SVG chart.
"use strict";

const FLEET_EVERY_MS = 3000;
const HOURLY_EVERY_MS = 15000;
const FEED_MAX = 60;
const NS = "http://www.w3.org/2000/svg";

const state = { rows: [], sortKey: null, sortAsc: true, query: "", window: "week" };
const $ = (id) => document.getElementById(id);

function pct(x) { return x === null || x === undefined ? "-" : (100 * x).toFixed(2) + "%"; }
function hours(s) { return (s / 3600).toFixed(1) + " h"; }
function shortTime(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-"; }
function text(el, value) { el.textContent = value; }

// With tokens set, open the page as /#token=... (a fragment never reaches a server or its
// logs): the token is exchanged once (POST /session) for an HttpOnly, SameSite=Strict cookie
// and removed from the address bar; every request after that carries only the cookie.
async function startSession() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) return;
  history.replaceState(null, "", location.pathname + location.search);
  const resp = await fetch("/session", { method: "POST", headers: { Authorization: "Bearer " + token } });
  if (!resp.ok) console.warn("session refused: HTTP " + resp.status);
}
function authHeaders(extra) { return extra; }
function withToken(url) { return url; }

async function getJSON(url) {
  const resp = await fetch(url, { headers: authHeaders({ Accept: "application/json" }) });
  if (!resp.ok) throw new Error(url + " -> HTTP " + resp.status);
  return resp.json();
}

// ---------------------------------------------------------------------------- fleet figures

async function refreshFleet() {
  const params = new URLSearchParams({ limit: "50", sort: state.window });
  if (state.query) params.set("q", state.query);
  try {
    const fleet = await getJSON("/fleet?" + params);
    renderFleet(fleet);
  } catch (err) {
    console.warn("fleet refresh failed", err.message);
  }
}

function renderFleet(f) {
  text($("watermark"), shortTime(f.watermark));
  text($("stores"), f.stores.toLocaleString());
  for (const name of ["hour", "day", "week"]) {
    const w = f.windows[name];
    text($("uptime-" + name), pct(w.uptime));
    $("uptime-" + name).dataset.value = w.uptime === null ? "" : String(w.uptime);
    text($("detail-" + name), "up " + hours(w.up_s) + " / down " + hours(w.down_s));
  }
  text($("down-now"), String(f.down_now));
  text($("down-open"), f.down_open_now + " of them inside business hours now");
  state.rows = f.worst;
  text($("matching"), (state.query ? f.matching + " stores match, " : "") +
    "showing the " + f.worst.length + " worst" + (f.workers > 1 ? " (" + f.workers + " workers)" : ""));
  renderTable();
}

function renderTable() {
  const rows = state.rows.slice();
  if (state.sortKey) {
    const k = state.sortKey, dir = state.sortAsc ? 1 : -1;
    rows.sort((a, b) => {
      const x = a[k], y = b[k];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }
  const body = document.querySelector("#worst tbody");
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.dataset.store = r.store_id;
    tr.addEventListener("click", () => openStore(r.store_id));
    const cells = [
      [r.store_id, ""],
      [(r.status || "no data") + (r.open_now ? "" : " (closed)"), "status-" + (r.status || "none")],
      [pct(r.uptime_ratio_week), "num"],
      [r.downtime_last_hour.toFixed(2), "num"],
      [r.downtime_last_day.toFixed(2), "num"],
      [r.downtime_last_week.toFixed(2), "num"],
      [r.uptime_last_week.toFixed(2), "num"],
    ];
    for (const [value, cls] of cells) {
      const td = document.createElement("td");
      td.textContent = value;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    frag.appendChild(tr);
  }
  body.replaceChildren(frag);
}

// A click on a row, or Enter in the search, opens the store's page (static/store.html).
function openStore(id) {
  const q = new URLSearchParams({ id });  // the session cookie goes along, no token
  location.href = "/static/store.html?" + q;
}

function setupTable() {
  for (const th of document.querySelectorAll("#worst th")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      state.sortAsc = state.sortKey === key ? !state.sortAsc : true;
      state.sortKey = key;
      for (const other of document.querySelectorAll("#worst th")) {
        other.classList.toggle("sorted", other === th);
        other.classList.toggle("asc", other === th && state.sortAsc);
      }
      renderTable();
    });
  }
  let timer = null;
  $("search").addEventListener("input", (ev) => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.query = ev.target.value.trim(); refreshFleet(); }, 250);
  });
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    const id = ev.target.value.trim(), exact = state.rows.some((r) => r.store_id === id);
    if (id) openStore(!exact && state.rows.length === 1 ? state.rows[0].store_id : id);
  });
  $("window").addEventListener("change", (ev) => { state.window = ev.target.value; refreshFleet(); });
}

// ---------------------------------------------------------------------------- hourly chart

async function refreshHourly() {
  try {
    renderChart(await getJSON("/fleet/hourly"));
  } catch (err) {
    console.warn("hourly refresh failed", err.message);
  }
}

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function renderChart(h) {
  const box = $("chart");
  const W = 1000, H = 200, L = 34, B = 18, T = 6;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const n = h.up_s.length;
  for (const p of [0, 0.5, 1]) {
    const y = T + (1 - p) * (H - T - B);
    root.appendChild(svg("line", { x1: L, x2: W, y1: y, y2: y, class: "axis" }));
    const label = svg("text", { x: 2, y: y + 3 });
    label.textContent = (p * 100) + "%";
    root.appendChild(label);
  }
  if (n) {
    const bw = (W - L) / n;
    for (let i = 0; i < n; i++) {
      const total = h.up_s[i] + h.down_s[i];
      if (!total) continue;
      const ratio = h.up_s[i] / total;
      const x = L + i * bw;
      const full = H - T - B;
      const upH = ratio * full;
      const hour = new Date(h.start_hour_us / 1000 + i * 3600e3).toISOString().slice(0, 13);
      const up = svg("rect", { x, y: T + full - upH, width: Math.max(bw - 0.5, 0.5), height: upH,
                               class: "bar-up" });
      const tip = svg("title", {});
      tip.textContent = `${hour}:00Z uptime ${(ratio * 100).toFixed(1)}%`;
      up.appendChild(tip);
      root.appendChild(up);
      if (ratio < 1) {
        root.appendChild(svg("rect", { x, y: T, width: Math.max(bw - 0.5, 0.5),
                                       height: full - upH, class: "bar-down" }));
      }
      if (i % 24 === 0) {
        const label = svg("text", { x, y: H - 4 });
        label.textContent = hour.slice(5, 10);
        root.appendChild(label);
      }
    }
  }
  box.replaceChildren(root);
  box.dataset.hours = String(n);
}

// ---------------------------------------------------------------------------- live feed

function addFeedItem(ev) {
  const feed = $("feed");
  const empty = feed.querySelector(".empty");
  if (empty) empty.remove();
  const li = document.createElement("li");
  li.className = ev.kind;
  li.dataset.store = ev.store_id;
  const what = { down: "went down", up: "is back up", sustained: "down for a while" }[ev.kind] || ev.kind;
  const b = document.createElement("b");
  b.textContent = what;
  li.append(ev.store_id + " ", b);
  const extra = ev.kind === "up" && ev.down_business_s !== undefined
    ? " after " + (ev.down_business_s / 60).toFixed(0) + " business min"
    : ev.kind === "sustained" ? " (" + (ev.down_business_s / 60).toFixed(0) + " business min)" : "";
  if (extra) li.append(extra);
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = "since " + shortTime(ev.since);
  li.appendChild(when);
  feed.prepend(li);
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
}

function connectLive() {
  const source = new EventSource(withToken("/live"));
  source.addEventListener("ready", () => $("conn").classList.add("on"));
  source.addEventListener("outage", (msg) => {
    try { addFeedItem(JSON.parse(msg.data)); } catch (err) { console.warn("bad event", err); }
  });
  source.onerror = () => $("conn").classList.remove("on");  // EventSource reconnects itself
}

// ---------------------------------------------------------------------------- report button

async function triggerReport() {
  const btn = $("report-btn"), status = $("report-status");
  btn.disabled = true;
  status.textContent = "requesting...";
  try {
    const resp = await fetch("/trigger_report", { method: "POST", headers: authHeaders({ "Content-Type": "application/json" }), body: "{}" });
    if (!resp.ok) throw new Error("trigger_report -> HTTP " + resp.status);
    const { report_id: id } = await resp.json();
    status.textContent = "report " + id + " running...";
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const r = await fetch("/get_report/" + encodeURIComponent(id) + "?format=json", { headers: authHeaders({}) });
      const doc = await r.json();
      if (doc.status === "Complete") {
        const a = document.createElement("a");
        a.id = "report-link";
        a.href = withToken("/get_report/" + encodeURIComponent(id));
        a.download = "report-" + id + ".csv";
        a.textContent = "Download CSV (" + id + ")";
        status.replaceChildren(a);
        break;
      }
      if (doc.status !== "Running") throw new Error(doc.error || "report failed");
    }
  } catch (err) {
    status.textContent = "report failed: " + err.message;
  } finally {
    btn.disabled = false;
  }
}

// ---------------------------------------------------------------------------- start

setupTable();
$("report-btn").addEventListener("click", triggerReport);
startSession().finally(() => {
  refreshFleet();
  refreshHourly();
  connectLive();
});
setInterval(refreshFleet, FLEET_EVERY_MS);
setInterval(refreshHourly, HOURLY_EVERY_MS);

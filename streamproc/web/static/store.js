// streamproc store page: one store's last 7 days from /stores/{id}?week=1, redrawn when a new
// poll arrives (a light /stores/{id} check every 2 s, and at once on a /live event of the store).
// No build step and no dependencies: plain DOM and a hand-written SVG timeline.
"use strict";

const CHECK_EVERY_MS = 2000;
const NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const STORE = params.get("id") || "";
const seen = { lastPoll: undefined, watermark: undefined, busy: false };

// No token in URLs: the dashboard's session cookie (POST /session) goes with every request.
function authHeaders(extra) { return extra; }
function withToken(url) { return url; }
async function getJSON(url) {
  const resp = await fetch(url, { headers: authHeaders({ Accept: "application/json" }) });
  const doc = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(doc.error || url + " -> HTTP " + resp.status);
  return doc;
}
function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}
function el(tag, textValue, cls) {
  const e = document.createElement(tag);
  if (textValue !== undefined) e.textContent = textValue;
  if (cls) e.className = cls;
  return e;
}
function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

// Local wall time of the store, "YYYY-MM-DD HH:MM" (Intl does the zone rules).
let localFmt = null;
function localTime(us) {
  const parts = Object.fromEntries(localFmt.formatToParts(new Date(us / 1000)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour === "24" ? "00" : parts.hour}:${parts.minute}`;
}

// ---------------------------------------------------------------------------- figures

function renderHead(doc) {
  document.title = "streamproc - store " + doc.store_id;
  $("store-id").textContent = doc.store_id;
  $("status").textContent = (doc.status || "no data") + (doc.open_now === false ? " (closed)" : "");
  $("status").className = "status-" + (doc.status || "none");
  $("last-poll").textContent = doc.last_poll ? localTime(doc.last_poll_us) : "-";
  $("watermark").textContent = doc.watermark_us ? localTime(doc.watermark_us) : "-";
  $("tz").textContent = doc.timezone + (doc.timezone_is_default ? " (default)" : "");
}

function renderCards(doc) {
  const r = doc.report, f = doc.figures;
  for (const [w, unit] of [["hour", "min"], ["day", "h"], ["week", "h"]]) {
    const up = $("up-" + w), rest = $("rest-" + w);
    up.textContent = r["uptime_last_" + w].toFixed(2) + " " + unit + " up";
    up.dataset.value = String(r["uptime_last_" + w]);
    const down = el("b", r["downtime_last_" + w].toFixed(2));
    down.id = "down-" + w;
    const obs = el("b", String(f["observations_last_" + w]));
    obs.id = "obs-" + w;
    const out = el("b", String(f["outages_last_" + w]));
    out.id = "out-" + w;
    rest.replaceChildren("down ", down, " " + unit + " \u00b7 ", obs,
      f["observations_last_" + w] === 1 ? " observation \u00b7 " : " observations \u00b7 ",
      out, f["outages_last_" + w] === 1 ? " outage" : " outages");
  }
  $("fig-gap").textContent = f.longest_gap_minutes_last_week.toFixed(2);
  $("fig-longest").textContent = f.longest_outage_minutes_last_week.toFixed(2);
}

// "09:00:00" -> "09:00"; "23:59:59" stays as it is (it is one second short of midnight).
function clock(t) { return t.length === 8 && t.endsWith(":00") ? t.slice(0, 5) : t; }

function renderHours(doc) {
  const list = $("hours");
  const items = doc.hours === null ? [el("li", "open 24 hours, 7 days a week")]
    : doc.hours.map((h) => el("li", `${h.day_name} ${clock(h.start)}-${clock(h.end)}` +
                                     (h.overnight ? " (next day)" : "")));
  list.replaceChildren(...items);
  const special = doc.special_hours || [];  // shown once the worker knows special hours
  $("special-block").hidden = special.length === 0;
  $("special").replaceChildren(...special.map((s) => el("li",
    s.start === null || s.start === undefined ? `${s.date} closed` : `${s.date} ${s.start}-${s.end}`)));
}

function renderOutages(week) {
  const body = document.querySelector("#outages tbody");
  const rows = week.outages.slice().reverse().map((o) => {
    const tr = el("tr");
    tr.dataset.startUs = String(o.start_us);
    tr.dataset.endUs = String(o.end_us);
    tr.dataset.minutes = String(o.minutes);
    tr.append(el("td", (o.began_before_week ? "before " : "") + localTime(o.start_us)),
              el("td", o.ongoing ? "ongoing" : localTime(o.end_us)),
              el("td", o.minutes.toFixed(2), "num"),
              el("td", o.ongoing ? "still down" : "", "status-inactive"));
    return tr;
  });
  body.replaceChildren(...rows);
  $("no-outages").hidden = rows.length > 0;
}

// ---------------------------------------------------------------------------- timeline

const GEOM = { W: 1000, L: 92, R: 170, ROW: 34 };

function clipRect(root, s, e, day, y, h, cls) {
  const lo = Math.max(s, day.start_us), hi = Math.min(e, day.end_us);
  if (hi <= lo) return null;
  const span = day.next_midnight_us - day.midnight_us, width = GEOM.W - GEOM.L - GEOM.R;
  const x = GEOM.L + (lo - day.midnight_us) / span * width;
  const r = svg("rect", { x, y, height: h, class: cls,
                          width: Math.max((hi - lo) / span * width, 0.4) });
  r.dataset.us = String(hi - lo);
  root.appendChild(r);
  return r;
}

function renderDay(root, week, day, i) {
  const y = 18 + i * GEOM.ROW, h = GEOM.ROW - 8;
  const label = svg("text", { x: 2, y: y + h / 2 + 4 });
  label.textContent = day.date;
  root.appendChild(label);
  for (const [s, e] of week.business) clipRect(root, s, e, day, y, h, "open");
  for (const [s, e, status] of week.segments) clipRect(root, s, e, day, y + h / 3, h / 3, "seg-" + status);
  week.outages.forEach((o, k) => {
    const r = clipRect(root, o.start_us, o.end_us, day, y + 1, h - 2, "outage");
    if (r) r.dataset.outage = String(k);
  });
  const span = day.next_midnight_us - day.midnight_us, width = GEOM.W - GEOM.L - GEOM.R;
  const last = i === week.days.length - 1;  // a poll at now belongs to the last row
  for (const [ts, status, observed] of week.polls) {
    if (ts < day.start_us || ts > day.end_us || (ts === day.end_us && !last)) continue;
    const x = GEOM.L + (ts - day.midnight_us) / span * width;
    const cls = observed ? "poll-" + status : "poll-off";
    const line = svg("line", { x1: x, x2: x, y1: y - 2, y2: y + h + 2, class: "poll " + cls });
    line.dataset.ts = String(ts);
    const tip = svg("title", {});
    tip.textContent = `${localTime(ts)} ${status}${observed ? "" : " (outside business hours)"}`;
    line.appendChild(tip);
    root.appendChild(line);
  }
  const figure = svg("text", { x: GEOM.W - GEOM.R + 8, y: y + h / 2 + 4, class: "day-figure" });
  figure.textContent = day.uptime_ratio === null ? "no business time"
    : `${(100 * day.uptime_ratio).toFixed(1)}% \u00b7 up ${day.uptime_hours.toFixed(2)} h`;
  figure.dataset.date = day.date;
  figure.dataset.uptimeHours = String(day.uptime_hours);
  figure.dataset.downtimeHours = String(day.downtime_hours);
  root.appendChild(figure);
}

function renderTimeline(week) {
  const box = $("timeline");
  const H = 18 + week.days.length * GEOM.ROW;
  const root = svg("svg", { viewBox: `0 0 ${GEOM.W} ${H}`, role: "img", height: H });
  const width = GEOM.W - GEOM.L - GEOM.R;
  for (let hr = 0; hr <= 24; hr += 3) {
    const x = GEOM.L + hr / 24 * width;
    root.appendChild(svg("line", { x1: x, x2: x, y1: 12, y2: H, class: "grid" }));
    const t = svg("text", { x: x - 6, y: 10 });
    t.textContent = String(hr).padStart(2, "0");
    root.appendChild(t);
  }
  week.days.forEach((day, i) => renderDay(root, week, day, i));
  box.replaceChildren(root);
  box.dataset.polls = String(week.polls.length);
  box.dataset.endUs = String(week.end_us);
}

// ---------------------------------------------------------------------------- trend, alerts

// The last 8 weeks from /stores/{id} ("trend", oldest first, the current week to date): a
// bar per week (height = uptime %) and a table with the change against the week before.
function renderTrend(trend) {
  const W = 480, H = 120, gap = 8, bw = (W - gap * (trend.length + 1)) / Math.max(trend.length, 1);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H + 18}`, width: "100%", role: "img" });
  const body = $("trend").tBodies[0];
  body.replaceChildren();
  trend.forEach((w, i) => {
    const pct = w.uptime_percent, x = gap + i * (bw + gap), h = pct === null ? 0 : (H * pct) / 100;
    const bar = svg("rect", { x, y: H - h, width: bw, height: h,
      class: "trend-bar" + (w.partial ? " partial" : ""), "data-pct": pct === null ? "" : String(pct) });
    bar.append(svg("title", {}));
    bar.firstChild.textContent = w.week_start.slice(0, 10) + ": " + (pct === null ? "no data" : pct.toFixed(2) + " %");
    root.append(bar);
    const label = svg("text", { x: x + bw / 2, y: H + 14, "text-anchor": "middle", class: "trend-label" });
    label.textContent = w.week_start.slice(5, 10);
    root.append(label);
    const tr = el("tr");
    const change = w.change_points === null ? "-" : (w.change_points > 0 ? "+" : "") + w.change_points.toFixed(2);
    tr.append(el("td", w.week_start.slice(0, 10) + (w.partial ? " (so far)" : "")),
      el("td", pct === null ? "-" : pct.toFixed(2), "num"), el("td", change, "num"),
      el("td", w.up_hours.toFixed(2), "num"), el("td", w.down_hours.toFixed(2), "num"));
    body.prepend(tr);  // newest first
  });
  $("trend-chart").replaceChildren(root);
}

// The store's alert history (/stores/{id}/alerts): nothing shown when alerts are off.
async function renderAlerts() {
  let doc;
  try { doc = await getJSON("/stores/" + encodeURIComponent(STORE) + "/alerts"); } catch (err) { return; }
  const body = $("alerts").tBodies[0];
  body.replaceChildren();
  for (const a of doc.alerts) {
    const sent = a.deliveries.filter((d) => d.status === "sent").length;
    const tr = el("tr", undefined, "alert-" + a.type);
    tr.append(el("td", a.type.replace(/_/g, " ")), el("td", (a.at || "").replace("T", " ").slice(0, 16)),
      el("td", sent + "/" + a.deliveries.length));
    tr.title = a.deliveries.map((d) => `${d.audience} ${d.channel}: ${d.status} ${d.reason}`).join("\n");
    body.append(tr);
  }
  $("no-alerts").hidden = doc.alerts.length > 0;
}

// ---------------------------------------------------------------------------- live updates

async function refresh() {
  if (seen.busy) return;
  seen.busy = true;
  try {
    const doc = await getJSON("/stores/" + encodeURIComponent(STORE) + "?week=1");
    localFmt = localFmt || new Intl.DateTimeFormat("en-CA", { timeZone: doc.timezone,
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    renderHead(doc);
    renderCards(doc);
    renderHours(doc);
    if (doc.week) { renderTimeline(doc.week); renderOutages(doc.week); }
    if (doc.trend) renderTrend(doc.trend);
    $("alerts-panel").hidden = !doc.alerts_on;
    if (doc.alerts_on) renderAlerts();
    seen.lastPoll = doc.last_poll_us;
    seen.watermark = doc.watermark_us;
    $("error").hidden = true;
    $("conn").classList.add("on");
  } catch (err) {
    $("error").textContent = "store " + STORE + ": " + err.message;
    $("error").hidden = false;
    $("conn").classList.remove("on");
  } finally {
    seen.busy = false;
  }
}

async function check() {
  try {
    const doc = await getJSON("/stores/" + encodeURIComponent(STORE));
    if (doc.last_poll_us !== seen.lastPoll || doc.watermark_us !== seen.watermark) await refresh();
    $("conn").classList.add("on");
  } catch (err) {
    $("conn").classList.remove("on");
  }
}

function listen() {
  const source = new EventSource(withToken("/live"));
  source.addEventListener("outage", (msg) => {
    try { if (JSON.parse(msg.data).store_id === STORE) refresh(); } catch (err) { /* ignore */ }
  });
}

$("back").href = "/";
refresh().then(() => { listen(); setInterval(check, CHECK_EVERY_MS); });

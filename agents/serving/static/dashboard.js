"use strict";
// Polls the worker's read API every 2 s and draws the figures; no framework, no build step.
const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";

function grouped(n, digits) {
  const text = Math.abs(n).toFixed(digits);
  const [whole, frac] = text.split(".");
  const sign = n < 0 ? "-" : "";
  return sign + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? "." + frac : "");
}
// the same table as agents/serving/page.py, which writes the first paint's figures
const SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥" };
function money(v, currency, signed) {
  if (v === null || v === undefined) return "–";
  const n = Number(v);
  const sign = n < 0 ? "-" : signed && n > 0 ? "+" : "";
  return sign + (SYMBOLS[currency] ?? currency + " ") + grouped(Math.abs(n), 2);
}
const count = (v) => (v === null || v === undefined ? "–" : grouped(Number(v), 0));
const percent = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2) + " %");

function set(id, text, unit) {
  const el = document.getElementById(id);
  el.textContent = text;
  if (unit && text !== "–") {
    const span = document.createElement("span");
    span.className = "unit";
    span.textContent = unit;
    el.appendChild(span);
  }
}

function node(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function bars(m) {
  const currency = m.currency;
  const rows = [
    ["new", m.new_mrr, 1], ["expansion", m.expansion_mrr, 1],
    ["reactivation", m.reactivation_mrr, 1], ["contraction", m.contraction_mrr, -1],
    ["churned", m.churned_mrr, -1],
  ];
  const svg = document.getElementById("movements");
  svg.replaceChildren();
  const max = Math.max(1, ...rows.map((r) => Number(r[1] || 0)));
  rows.forEach(([name, value, sign], i) => {
    const y = 10 + i * 40;
    const width = (Number(value || 0) / max) * 230;
    svg.appendChild(node("text", { x: 0, y: y + 20 }, name));
    svg.appendChild(node("rect", { x: 95, y: y + 4, width: Math.max(width, 1), height: 24,
      rx: 3, fill: sign > 0 ? "#1f8a4c" : "#c2402f" }));
    svg.appendChild(node("text", { x: 100 + width, y: y + 21 },
      (sign > 0 ? "+" : "−") + money(value, currency)));
  });
}

function sparkline(days) {
  const svg = document.getElementById("dau-spark");
  svg.replaceChildren();
  const points = days.map((d, i) => [i, d.value]).filter((p) => p[1] !== null);
  if (!points.length) return;
  const max = Math.max(1, ...points.map((p) => p[1]));
  const step = 400 / Math.max(1, days.length - 1);
  const xy = points.map(([i, v]) => `${(10 + i * step).toFixed(1)},${(62 - (v / max) * 52).toFixed(1)}`);
  svg.appendChild(node("polyline", { points: xy.join(" "), fill: "none", stroke: "#2f5fb3",
    "stroke-width": 2 }));
  const [lx, ly] = xy[xy.length - 1].split(",");
  svg.appendChild(node("circle", { cx: lx, cy: ly, r: 3.5, fill: "#2f5fb3" }));
  svg.appendChild(node("text", { x: 10, y: 10 },
    `max ${count(max)} · ${points.length} of ${days.length} days recorded`));
}

function alerts(list) {
  const ul = document.getElementById("alerts");
  ul.replaceChildren();
  if (!list.length) {
    ul.appendChild(Object.assign(document.createElement("li"), { className: "muted", textContent: "none" }));
    return;
  }
  // newest first by the alert's own time; equal times, the later arrival first
  const newest = list.slice().reverse()
    .sort((a, b) => (Date.parse(b.as_of) || 0) - (Date.parse(a.as_of) || 0));
  for (const a of newest) {
    const li = document.createElement("li");
    const rule = Object.assign(document.createElement("span"),
      { className: a.severity === "critical" ? "critical" : "", textContent: a.rule });
    li.append(rule, ` · ${a.account_id} · ${a.as_of} · ${a.message}`);
    ul.appendChild(li);
  }
}

function show(m) {
  set("as-of", m.as_of || "–");
  set("window-day", m.day || "–");
  set("currency", m.currency || "–");
  set("mrr", money(m.mrr, m.currency), "/ month");
  set("arr", money(m.arr, m.currency), "/ year");
  set("paying_customers", count(m.paying_customers));
  set("arpa", money(m.arpa, m.currency));
  set("net_new_mrr", money(m.net_new_mrr, m.currency, true));
  for (const id of ["dau", "wau", "mau"]) set(id, count(m[id]));
  set("stickiness", m.stickiness === null ? "–" : (Number(m.stickiness) * 100).toFixed(1) + " %");
  for (const id of ["customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate",
    "retention_rate", "nrr", "grr"]) set(id, percent(m[id]));
  set("nps", m.nps === null ? "–" : Number(m.nps).toFixed(1) +
    (m.nps_margin === null ? "" : " ± " + Number(m.nps_margin).toFixed(1)));
  set("nps_responses", count(m.nps_responses));
  bars(m);
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const [m, series, recent] = await Promise.all([
      getJson("/metrics"), getJson("/metrics/dau/series?days=30"), getJson("/alerts?limit=20"),
    ]);
    show(m);
    sparkline(series.days);
    alerts(recent.alerts);
    status.textContent = "live, updated " + new Date().toISOString().slice(11, 19) + " UTC";
    status.className = "";
  } catch (error) {
    status.textContent = "not updating: " + error.message;
    status.className = "stale";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();

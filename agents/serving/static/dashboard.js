"use strict";
// Polls the worker's read API and draws the figures and charts (inline SVG); no framework, no
// build step. Figures and alerts every 2 s; the charts' tables and series, heavier to read,
// every 10 s, over ranges that end at the snapshot's stream day (`day` of /metrics).
const POLL_MS = 2000;
const CHART_POLL_MS = 10000;
const SVG = "http://www.w3.org/2000/svg";
const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
  "Dec"];

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
const num = (v) => (v === null || v === undefined ? 0 : Number(v));

/** Axis money: `$12.5k`, `-€1.2M`, `$250` (whole below 1,000, but for small ticks). */
function shortMoney(v, currency, digits = 2) {
  const n = Number(v);
  const a = Math.abs(n);
  const trim = (x, d = digits) => String(Number(x.toFixed(d)));
  const body = a >= 1e6 ? trim(a / 1e6) + "M" : a >= 1e3 ? trim(a / 1e3) + "k"
    : trim(a, a >= 10 ? 0 : 2);
  return (n < 0 ? "−" : "") + (SYMBOLS[currency] ?? currency + " ") + body;
}

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

/** `el` with a `<title>`: what the browser shows on hover. */
function titled(el, text) {
  el.appendChild(node("title", {}, text));
  return el;
}

// --- days and months (UTC, as the API's labels) ---
const DAY_MS = 86400000;
function addDays(day, n) {
  return new Date(Date.parse(day + "T00:00:00Z") + n * DAY_MS).toISOString().slice(0, 10);
}
function addMonths(month, n) {
  const [y, m] = month.split("-").map(Number);
  const i = y * 12 + (m - 1) + n;
  return `${String(Math.floor(i / 12)).padStart(4, "0")}-${String((i % 12) + 1).padStart(2, "0")}`;
}
const monthsEnding = (last, n) => Array.from({ length: n }, (_, i) => addMonths(last, i - n + 1));
const daysEnding = (last, n) => Array.from({ length: n }, (_, i) => addDays(last, i - n + 1));
const monthName = (month) => MONTH_NAMES[Number(month.slice(5, 7)) - 1];
const dayName = (day) => `${Number(day.slice(8))} ${monthName(day.slice(0, 7))}`;

// --- drawing ---
/** The chart's svg emptied, its viewBox as wide as it is shown (1 unit = 1 px). */
function canvas(id, height) {
  const svg = document.getElementById(id);
  const shown = Math.round(svg.getBoundingClientRect().width);
  const width = Math.max(300, shown || 560);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  return { svg, width };
}

function empty(id, height, text) {
  const { svg, width } = canvas(id, height);
  svg.appendChild(node("text", { x: width / 2, y: height / 2, class: "empty",
    "text-anchor": "middle" }, text));
}

/** Round axis ticks covering [lo, hi], about `n` intervals. */
function scale(lo, hi, n) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], ticks };
}

/** Horizontal grid lines and their labels left of the plot. */
function yAxis(svg, ticks, y, left, right, label) {
  for (const v of ticks) {
    svg.appendChild(node("line", { x1: left, x2: right, y1: y(v), y2: y(v),
      class: v === 0 ? "zero" : "grid" }));
    svg.appendChild(node("text", { x: left - 8, y: y(v) + 4, class: "tick",
      "text-anchor": "end" }, label(v)));
  }
}

/** Month labels under bands, the year under the first month and every January. */
function monthAxis(svg, months, cx, y) {
  months.forEach((m, i) => {
    svg.appendChild(node("text", { x: cx(i), y, class: "tick", "text-anchor": "middle" },
      monthName(m)));
    if (i === 0 || m.endsWith("-01")) {
      svg.appendChild(node("text", { x: cx(i), y: y + 14, class: "tick year",
        "text-anchor": "middle" }, m.slice(0, 4)));
    }
  });
}

/** Labels at the lines' ends, pushed apart so that they do not overlap. */
function endLabels(svg, labels, x) {
  labels.sort((a, b) => a.y - b.y);
  for (let i = 1; i < labels.length; i++) {
    labels[i].y = Math.max(labels[i].y, labels[i - 1].y + 13);
  }
  for (const l of labels) {
    svg.appendChild(node("text", { x, y: l.y + 4, class: "end " + l.cls }, l.text));
  }
}

function bars(m) {
  const currency = m.currency;
  const rows = [
    ["new", m.new_mrr, 1], ["expansion", m.expansion_mrr, 1],
    ["reactivation", m.reactivation_mrr, 1], ["contraction", m.contraction_mrr, -1],
    ["churned", m.churned_mrr, -1],
  ];
  const { svg, width } = canvas("movements", 166);
  const max = Math.max(1, ...rows.map((r) => Number(r[1] || 0)));
  const room = width - 100 - 110;
  rows.forEach(([name, value, sign], i) => {
    const y = 4 + i * 32;
    const w = (Number(value || 0) / max) * room;
    svg.appendChild(node("text", { x: 0, y: y + 19 }, name));
    svg.appendChild(titled(node("rect", { x: 95, y: y + 3, width: Math.max(w, 1), height: 24,
      rx: 3, class: "m-" + name }), `${name}, last 30 days: ${money(value, currency)}`));
    svg.appendChild(node("text", { x: 102 + w, y: y + 20 },
      (sign > 0 ? "+" : "−") + money(value, currency)));
  });
}

const MONTHS_HEIGHT = 360;
// MRR movements of a month: [amount, count, name, sign, what the count counts]
const MOVES = [
  ["new_mrr", "new_customers", "new", 1, "customers"],
  ["expansion_mrr", "expansion_count", "expansion", 1, "movements"],
  ["reactivation_mrr", "reactivated_customers", "reactivation", 1, "customers"],
  ["contraction_mrr", "contraction_count", "contraction", -1, "movements"],
  ["churned_mrr", "churned_customers", "churned", -1, "customers"],
];

function monthSummary(r, day) {
  const partial = r.month === day.slice(0, 7) ? ` (to ${day})` : "";
  const c = r.currency;
  const moves = MOVES.map(([key, n, name, sign]) =>
    `${name} ${sign > 0 ? "+" : "−"}${money(r[key], c)} (${count(r[n])})`);
  return [
    `${r.month}${partial}`,
    `MRR at month end ${money(r.mrr_at_end, c)} (start ${money(r.mrr_at_start, c)})`,
    ...moves,
    `net new ${money(r.net_new_mrr, c, true)}`,
    `paying customers ${count(r.customers_at_start)} → ${count(r.customers_at_end)}`,
  ].join("\n");
}

/** Chart 1: MRR at each month's end (top) and the month's movements (bottom). */
function drawMonths(months, rows, day) {
  const id = "mrr-months";
  const height = MONTHS_HEIGHT;
  if (!rows.length) return empty(id, height, "no months yet");
  const { svg, width } = canvas(id, height);
  const c = rows[rows.length - 1].currency;
  const left = 70;
  const right = width - 12;
  const band = (right - left) / months.length;
  const cx = (i) => left + band * (i + 0.5);
  const byMonth = new Map(rows.map((r) => [r.month, r]));

  const top = { y: 38, h: 92 };
  const mrr = scale(0, Math.max(1, ...rows.map((r) => num(r.mrr_at_end))), 3);
  const yM = (v) => top.y + top.h - ((v - mrr.lo) / (mrr.hi - mrr.lo)) * top.h;
  svg.appendChild(node("text", { x: left, y: 14, class: "panel" }, "MRR at month end"));
  yAxis(svg, mrr.ticks, yM, left, right, (v) => shortMoney(v, c));

  const low = { y: 172, h: 146 };
  const sums = (sign) => rows.map((r) => MOVES.filter((m) => m[3] === sign)
    .reduce((s, m) => s + num(r[m[0]]), 0));
  const moves = scale(-Math.max(0, ...sums(-1)), Math.max(1, ...sums(1)), 4);
  const yV = (v) => low.y + ((moves.hi - v) / (moves.hi - moves.lo)) * low.h;
  svg.appendChild(node("text", { x: left, y: low.y - 22, class: "panel" },
    "movements in the month: gained above zero, lost below"));
  yAxis(svg, moves.ticks, yV, left, right, (v) => shortMoney(v, c));
  monthAxis(svg, months, cx, low.y + low.h + 20);

  const points = months.map((m, i) => [i, byMonth.get(m)]).filter(([, r]) => r !== undefined)
    .map(([i, r]) => `${cx(i)},${yM(num(r.mrr_at_end))}`);
  svg.appendChild(node("polyline", { points: points.join(" "), class: "mrr-line" }));

  const barWidth = Math.min(46, band * 0.62);
  months.forEach((m, i) => {
    const r = byMonth.get(m);
    if (!r) return;
    const g = node("g", { "data-month": m, class: "month" });
    g.appendChild(titled(node("rect", { x: cx(i) - band / 2, y: top.y - 14, width: band,
      height: low.y + low.h - top.y + 14, class: "hover" }), monthSummary(r, day)));
    let gained = 0;
    let lost = 0;
    for (const [key, n, name, sign, what] of MOVES) {
      const v = num(r[key]);
      if (v <= 0) continue;
      const from = sign > 0 ? gained : -lost;
      const to = sign > 0 ? gained + v : -lost - v;
      if (sign > 0) gained += v;
      else lost += v;
      g.appendChild(titled(node("rect", { x: cx(i) - barWidth / 2, y: Math.min(yV(from), yV(to)),
        width: barWidth, height: Math.max(1, Math.abs(yV(from) - yV(to))), class: "m-" + name }),
      `${m} · ${name} ${sign > 0 ? "+" : "−"}${money(v, r.currency)} · ` +
        `${count(r[n])} ${what}`));
    }
    const y = yM(num(r.mrr_at_end));
    g.appendChild(titled(node("circle", { cx: cx(i), cy: y, r: 4, class: "mrr-dot" }),
      `MRR at the end of ${m}${m === day.slice(0, 7) ? ` (to ${day})` : ""}: ` +
      money(r.mrr_at_end, r.currency)));
    g.appendChild(node("text", { x: cx(i), y: y - 9, class: "dot-label", "text-anchor": "middle" },
      shortMoney(r.mrr_at_end, r.currency, 1)));
    svg.appendChild(g);
  });
}

const ACTIVITY = [["mau", "MAU"], ["wau", "WAU"], ["dau", "DAU"]];
const SMALL_HEIGHT = 230; // the activity and NPS charts, side by side

/** Chart 2: DAU, WAU and MAU per day over `days`; `series[name]` maps a day to its period. */
function drawActivity(days, series) {
  const id = "activity";
  const height = SMALL_HEIGHT;
  const at = (name, d) => series[name].get(d)?.value ?? null;
  const recorded = days.filter((d) => at("dau", d) !== null);
  set("activity-days", `${recorded.length} of ${days.length} days`);
  const all = ACTIVITY.flatMap(([name]) => days.map((d) => at(name, d))).filter((v) => v !== null);
  if (!all.length) return empty(id, height, "no active users yet");
  const { svg, width } = canvas(id, height);
  const left = 48;
  const right = width - 64;
  const plot = { y: 12, h: height - 12 - 34 };
  const s = scale(0, Math.max(4, ...all), 4);
  const step = (right - left) / Math.max(1, days.length - 1);
  const x = (i) => left + i * step;
  const y = (v) => plot.y + plot.h - ((v - s.lo) / (s.hi - s.lo)) * plot.h;
  yAxis(svg, s.ticks, y, left, right, (v) => grouped(v, 0));
  // the first of each month, and the range's ends where no first is near them
  const firsts = days.map((d, i) => (d.endsWith("-01") ? i : -1)).filter((i) => i >= 0);
  const ticks = firsts.map((i) => [i, "middle"]);
  if (!firsts.some((i) => x(i) - x(0) < 50)) ticks.push([0, "start"]);
  if (!firsts.some((i) => x(days.length - 1) - x(i) < 50)) ticks.push([days.length - 1, "end"]);
  for (const [i, anchor] of ticks) {
    if (anchor === "middle") {
      svg.appendChild(node("line", { x1: x(i), x2: x(i), y1: plot.y, y2: plot.y + plot.h,
        class: "grid" }));
    }
    svg.appendChild(node("text", { x: x(i), y: plot.y + plot.h + 18, class: "tick",
      "text-anchor": anchor }, dayName(days[i])));
  }
  const labels = [];
  for (const [name, label] of ACTIVITY) {
    let path = "";
    let pen = "M";
    let last = null;
    days.forEach((d, i) => {
      const v = at(name, d);
      if (v === null) {
        pen = "M"; // a day without a value breaks the line
        return;
      }
      path += `${pen}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = "L";
      last = { i, v };
    });
    if (last === null) continue;
    svg.appendChild(node("path", { d: path, class: "line a-" + name, "data-series": name }));
    svg.appendChild(node("circle", { cx: x(last.i), cy: y(last.v), r: 3, class: "a-" + name }));
    labels.push({ y: y(last.v), text: `${label} ${grouped(last.v, 0)}`, cls: "a-" + name });
  }
  endLabels(svg, labels, right + 8);
  days.forEach((d, i) => {
    const text = ACTIVITY.slice().reverse().map(([name, label]) => `${label} ${count(at(name, d))}`)
      .join(" · ");
    svg.appendChild(titled(node("rect", { x: x(i) - step / 2, y: plot.y, width: step,
      height: plot.h, class: "hover", "data-day": d }), `${d}: ${text}`));
  });
}

/** Chart 3: NPS at each month's end (the 90-day NPS as it stood on the month's last day)
 * with its margin as an error bar; `nps` and `margins` map a month to its period. */
function drawNps(months, nps, margins) {
  const id = "nps-months";
  const height = SMALL_HEIGHT;
  const points = months.map((m) => ({ month: m, day: nps.get(m)?.day, value: nps.get(m)?.value,
    margin: margins.get(m)?.value }));
  if (points.every((p) => p.value === null || p.value === undefined)) {
    return empty(id, height, "no NPS responses yet");
  }
  const { svg, width } = canvas(id, height);
  const left = 44;
  const right = width - 10;
  const plot = { y: 10, h: height - 10 - 44 };
  const band = (right - left) / months.length;
  const cx = (i) => left + band * (i + 0.5);
  const y = (v) => plot.y + ((100 - Math.max(-100, Math.min(100, v))) / 200) * plot.h;
  yAxis(svg, [-100, -50, 0, 50, 100], y, left, right, (v) => String(v));
  monthAxis(svg, months, cx, plot.y + plot.h + 18);
  const line = points.map((p, i) => (p.value === null || p.value === undefined ? null
    : `${cx(i)},${y(Number(p.value))}`)).filter((p) => p !== null);
  svg.appendChild(node("polyline", { points: line.join(" "), class: "nps-line" }));
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    const v = Number(p.value);
    const g = node("g", { class: "nps-month", "data-nps-month": p.month });
    const hasMargin = p.margin !== null && p.margin !== undefined;
    const text = `${p.month} (NPS of the 90 days to ${p.day}): ${v.toFixed(1)}` +
      (hasMargin ? ` ± ${Number(p.margin).toFixed(1)}` : ", margin unknown");
    g.appendChild(titled(node("rect", { x: cx(i) - band / 2, y: plot.y, width: band,
      height: plot.h, class: "hover" }), text));
    if (hasMargin) {
      const hi = y(v + Number(p.margin));
      const lo = y(v - Number(p.margin));
      const cap = Math.min(7, band / 4);
      const bar = node("g", { class: "nps-error" });
      bar.appendChild(node("line", { x1: cx(i), x2: cx(i), y1: hi, y2: lo }));
      bar.appendChild(node("line", { x1: cx(i) - cap, x2: cx(i) + cap, y1: hi, y2: hi }));
      bar.appendChild(node("line", { x1: cx(i) - cap, x2: cx(i) + cap, y1: lo, y2: lo }));
      g.appendChild(titled(bar, text));
    }
    g.appendChild(titled(node("circle", { cx: cx(i), cy: y(v), r: 4.5, class: "nps-point" }),
      text));
    svg.appendChild(g);
  });
}

/** The heat map's colour of a percentage: pale (0 %) to deep blue (100 %), steeper near the
 * top, where retention mostly lies; green above 100 % (the cohort grew: expansion). */
function heat(pct) {
  if (pct > 100) {
    return { fill: `hsl(152, 45%, ${Math.max(28, 40 - (pct - 100) / 20)}%)`, dark: true };
  }
  const t = Math.max(0, Math.min(1, pct / 100)) ** 1.5;
  return { fill: `hsl(214, ${50 + 15 * t}%, ${96 - 50 * t}%)`, dark: t > 0.6 };
}

/** Chart 4: a row per cohort (the last 12), a column per month since its first. */
function drawCohorts(body) {
  const id = "cohorts";
  const rows = body.cohorts;
  if (!rows.length) return empty(id, 120, "no cohorts yet");
  const byCohort = new Map();
  for (const r of rows) {
    if (!byCohort.has(r.cohort)) byCohort.set(r.cohort, new Map());
    byCohort.get(r.cohort).set(r.months_since, r);
  }
  const cohorts = [...byCohort.keys()].sort().slice(-12);
  const columns = 1 + Math.max(...cohorts.flatMap((k) => [...byCohort.get(k).keys()]));
  const head = 40;
  const cell = 25;
  const height = head + cohorts.length * cell + 4;
  const { svg, width } = canvas(id, height);
  const labelWidth = 170;
  const cellWidth = (width - labelWidth) / columns;
  const isMrr = body.metric === "mrr";
  const shown = (r) => (isMrr ? money(r.value, r.currency) : `${count(r.value)} customers`);
  svg.appendChild(node("text", { x: labelWidth, y: 13, class: "panel" },
    "months since the first payment"));
  svg.appendChild(node("text", { x: 0, y: head - 8, class: "panel" }, "cohort"));
  svg.appendChild(node("text", { x: labelWidth - 10, y: head - 8, class: "panel",
    "text-anchor": "end" }, isMrr ? "MRR" : "customers"));
  for (let k = 0; k < columns; k++) {
    svg.appendChild(node("text", { x: labelWidth + cellWidth * (k + 0.5), y: head - 8,
      class: "tick", "text-anchor": "middle" }, String(k)));
  }
  cohorts.forEach((cohort, row) => {
    const y = head + row * cell;
    const cells = byCohort.get(cohort);
    const first = cells.get(0);
    const size = first === undefined ? "" : isMrr ? shortMoney(first.value, first.currency, 1)
      : count(first.value);
    svg.appendChild(node("text", { x: 0, y: y + cell / 2 + 4 },
      `${monthName(cohort)} ${cohort.slice(0, 4)}`));
    svg.appendChild(node("text", { x: labelWidth - 10, y: y + cell / 2 + 4, class: "tick",
      "text-anchor": "end" }, size));
    for (const [k, r] of [...cells.entries()].sort((a, b) => a[0] - b[0])) {
      const x = labelWidth + k * cellWidth;
      const g = node("g", { class: "cell", "data-cohort": cohort, "data-months-since": k });
      const pct = r.pct === null || r.pct === undefined ? null : Number(r.pct);
      const colour = pct === null ? { fill: "#e5e8ec", dark: false } : heat(pct);
      g.appendChild(titled(node("rect", { x: x + 1, y: y + 1, width: Math.max(1, cellWidth - 2),
        height: cell - 2, rx: 3, style: `fill: ${colour.fill}` }),
      `cohort ${cohort}, month ${k} (end of ${r.month}): ${shown(r)}` +
        (pct === null ? "" : `, ${pct.toFixed(1)} % of month 0`)));
      if (cellWidth >= 26) {
        g.appendChild(node("text", { x: x + cellWidth / 2, y: y + cell / 2 + 4,
          class: colour.dark ? "pct on-dark" : "pct", "text-anchor": "middle" },
        pct === null ? "–" : `${Math.round(pct)}%`));
      }
      svg.appendChild(g);
    }
  });
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
  set("active_subscriptions", count(m.active_subscriptions));
  set("seats", count(m.seats));
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

class HttpError extends Error {
  constructor(path, status) {
    super(`${path}: HTTP ${status}`);
    this.status = status;
  }
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new HttpError(path, response.status);
  return response.json();
}

// --- the charts' poll ---
let streamDay = null; // the snapshot's `day`: the last day of every chart's range
let chartsPolling = false;
let cohortMetric = "customers";
const lastDrawn = {}; // chart -> redraws it with its last data (on resize)

/** Draws a chart from the bodies of its requests. Before data the tables answer 503 ("no
 * months yet": the aggregator has not written them), the series empty days: the chart shows
 * its empty state, `empty(null)`, or `empty(error)` for any other failure. A chart already
 * drawn stays as it was when a later poll fails; the figures' status line tells. */
async function chart(name, requests, draw, empty) {
  let redraw;
  try {
    const bodies = await Promise.all(requests.map(getJson));
    redraw = () => draw(...bodies);
  } catch (error) {
    if (lastDrawn[name]) return;
    const before = error instanceof HttpError && error.status === 503;
    const why = error instanceof HttpError ? `HTTP ${error.status}` : error.message;
    redraw = () => empty(before ? null : why);
  }
  lastDrawn[name] = redraw;
  redraw();
}

const values = (body, key) => new Map(body.periods.map((p) => [p[key], p]));
const unavailable = (what, why) =>
  (why === null ? `no ${what} yet` : `${what} unavailable (${why})`);

function monthCharts(day) {
  const months = monthsEnding(day.slice(0, 7), 12);
  const [from, to] = [months[0], months[months.length - 1]];
  return [
    chart("months", [`/months?from=${from}&to=${to}`],
      (body) => drawMonths(months, body.months, day),
      (why) => empty("mrr-months", MONTHS_HEIGHT, unavailable("months", why))),
    chart("nps", ["nps", "nps_margin"].map((name) =>
      `/metrics/${name}/series?granularity=month&from=${from}-01&to=${day}`),
    (score, margin) => drawNps(months, values(score, "period"), values(margin, "period")),
    (why) => empty("nps-months", SMALL_HEIGHT, unavailable("NPS responses", why))),
  ];
}

function activityChart(day) {
  const days = daysEnding(day, 90);
  return chart("activity", ACTIVITY.map(([name]) =>
    `/metrics/${name}/series?from=${days[0]}&to=${day}`),
  (...bodies) => drawActivity(days, Object.fromEntries(ACTIVITY.map(([name], i) =>
    [name, values(bodies[i], "day")]))),
  (why) => {
    set("activity-days", "–");
    empty("activity", SMALL_HEIGHT, unavailable("active users", why));
  });
}

function cohortChart() {
  return chart("cohorts", [`/cohorts?metric=${cohortMetric}`], drawCohorts,
    (why) => empty("cohorts", 120, unavailable("cohorts", why)));
}

async function pollCharts() {
  try {
    await Promise.all([...monthCharts(streamDay), activityChart(streamDay), cohortChart()]);
  } finally {
    setTimeout(pollCharts, CHART_POLL_MS);
  }
}

for (const button of document.querySelectorAll(".toggle button")) {
  button.addEventListener("click", () => {
    cohortMetric = button.dataset.metric;
    for (const b of document.querySelectorAll(".toggle button")) {
      b.setAttribute("aria-pressed", String(b === button));
    }
    cohortChart();
  });
}

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => Object.values(lastDrawn).forEach((redraw) => redraw()), 150);
});

async function poll() {
  const status = document.getElementById("status");
  try {
    const [m, recent] = await Promise.all([getJson("/metrics"), getJson("/alerts?limit=20")]);
    show(m);
    alerts(recent.alerts);
    status.textContent = "live, updated " + new Date().toISOString().slice(11, 19) + " UTC";
    status.className = "";
    streamDay = m.day || null;
    if (streamDay && !chartsPolling) {
      chartsPolling = true; // the first figures start the charts' own, slower poll
      pollCharts();
    }
  } catch (error) {
    status.textContent = "not updating: " + error.message;
    status.className = "stale";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();

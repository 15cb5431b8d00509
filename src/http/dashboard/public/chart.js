// Shared by the gateway's dashboard and the router's fleet page: formatting, DOM and
// fetch helpers, the device-list row, the #/d/<id> route, and the bucketed min/avg/max charts.
/* global uPlot */

export function fmtNum(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}
export function fmtBytes(b) {
  if (b === null || b === undefined) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
export function fmtAgo(ts) {
  if (ts === null || ts === undefined) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
export function fmtValue(v) {
  if (v === null) return 'null';
  // Four decimals are enough to read; the exact value is in the cell's title.
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4)));
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
/** A device list row (id, last seen) that opens the device's view when clicked. */
export function deviceRow(d) {
  const li = el('li');
  li.dataset.id = d.id;
  li.append(el('span', 'id', d.id), el('span', 'seen', fmtAgo(d.lastSeen)));
  li.addEventListener('click', () => { location.hash = `#/d/${encodeURIComponent(d.id)}`; });
  return li;
}
/** Inserts a device row into `list` in id order. */
export function insertById(list, li) {
  const next = [...list.children].find((c) => c.dataset.id > li.dataset.id);
  list.insertBefore(li, next ?? null);
}
export async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}
export function numericFields(values) {
  return Object.keys(values).filter((k) => typeof values[k] === 'number' || typeof values[k] === 'boolean').sort();
}
export function chartOpts(field, width) {
  return {
    width, height: 180,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    series: [
      {},
      { label: 'max', stroke: 'rgba(31,111,235,0.35)', width: 1, value: (u, v) => fmtNum(v, 2) },
      { label: 'avg', stroke: '#1f6feb', width: 2, value: (u, v) => fmtNum(v, 2) },
      { label: 'min', stroke: 'rgba(31,111,235,0.35)', width: 1, value: (u, v) => fmtNum(v, 2) },
    ],
    bands: [{ series: [1, 3], fill: 'rgba(31,111,235,0.10)' }],
    axes: [{ stroke: '#6b7787', grid: { stroke: '#eef1f5' } }, { stroke: '#6b7787', grid: { stroke: '#eef1f5' }, size: 55 }],
  };
}
export async function postJson(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json();
  if (!res.ok) throw new Error(answer?.error?.message ?? `HTTP ${res.status}`);
  return answer;
}

/** `#/d/<id>[?from=&to=&buckets=&fields=]` → the device and its custom window, or null. */
export function parseDeviceHash(hash) {
  const m = /^#\/d\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  const p = new URLSearchParams(m[2] ?? '');
  let custom = null;
  if (p.has('from') && p.has('to')) {
    custom = { from: Number(p.get('from')), to: Number(p.get('to')), buckets: Number(p.get('buckets') ?? 300) };
    if (p.has('fields')) custom.fields = p.get('fields').split(',');
  }
  return { id: decodeURIComponent(m[1]), custom };
}
/** The chart window: the custom one, or the chosen range ending now, one bucket per ~3 px of `box`. */
export function seriesWindow(state, box) {
  if (state.custom) return state.custom;
  const to = Date.now();
  const width = box.clientWidth || 600;
  return { from: to - state.range, to, buckets: Math.max(30, Math.min(600, Math.floor(width / 3))) };
}
/**
 * With no field to chart, destroys the charts in `box` and says so in `note`; true
 * then (the caller has nothing to fetch), false when there are fields.
 */
export function clearChartsWhenEmpty(fields, box, charts, note) {
  if (fields.length > 0) return false;
  for (const c of charts.values()) c.destroy();
  charts.clear();
  box.replaceChildren();
  note.textContent = 'No numeric values to chart.';
  return true;
}
/**
 * The device view's chart loader: fetches the selected device's series for its chosen
 * fields and window with `fetchSeries(id, window, fields)`, drops an answer that arrives
 * after another device was selected, and draws it; `note(series)` is the line under the
 * charts. The two pages differ only in how they fetch and what the note says.
 */
export function seriesLoader(state, $, fetchSeries, note) {
  return async function loadSeries() {
    const id = state.selected;
    if (id === null) return;
    const box = $('charts');
    if (clearChartsWhenEmpty(state.fields, box, state.charts, $('chart-note'))) return;
    const s = await fetchSeries(id, seriesWindow(state, box), state.fields);
    if (state.selected !== id) return;
    state.series = s;
    $('chart-note').textContent = note(s);
    drawCharts(box, state.charts, state.fields, s);
  };
}
/** Draws `series` (per field min/avg/max per bucket) into `box`, one uPlot per field, reusing `charts`. */
export function drawCharts(box, charts, fields, series) {
  const x = series.t.map((t) => (t + series.bucketMs / 2) / 1000);
  const width = box.clientWidth || 600;
  for (const [f, c] of charts) {
    if (!fields.includes(f)) { c.destroy(); charts.delete(f); }
  }
  box.replaceChildren(...fields.map((f) => {
    const fs = series.fields[f];
    const data = [x, fs.max, fs.avg, fs.min];
    let c = charts.get(f);
    if (c === undefined) {
      const wrap = el('div', 'chart');
      wrap.dataset.field = f;
      wrap.append(el('div', 'chart-title', f));
      c = new uPlot(chartOpts(f, width), data, wrap);
      charts.set(f, c);
    } else {
      c.setData(data);
    }
    return c.root.parentElement;
  }));
}

/**
 * The device view's controls, the same on both pages: the range buttons (`#ranges`),
 * the `#/d/<id>` route on hash changes, and chart widths on resize. Returns the route
 * function, for the page to call once its device list is loaded.
 */
export function wireDeviceView(state, $, selectDevice, loadSeries) {
  const route = () => {
    const r = parseDeviceHash(location.hash);
    void selectDevice(r === null ? null : r.id, r === null ? null : r.custom);
  };
  $('ranges').addEventListener('click', (e) => {
    const r = e.target?.dataset?.range;
    if (!r) return;
    state.range = Number(r);
    if (state.custom) { location.hash = `#/d/${encodeURIComponent(state.selected)}`; return; }
    for (const b of $('ranges').children) b.classList.toggle('sel', b.dataset.range === r);
    void loadSeries();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('resize', () => {
    const w = $('charts').clientWidth;
    for (const c of state.charts.values()) c.setSize({ width: w, height: 180 });
  });
  return route;
}

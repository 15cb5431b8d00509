// lmj-edge fleet page: plain browser JS (no build step), served by the router.
// Data: GET /fleet (gateways, data nodes), /devices (scatter-gathered, paged),
// /devices/:id/latest, and per chart either POST /query with time_bucket (bucketed on
// the server) or, where the router has no SQL, /devices/:id/readings bucketed here.
// Refreshed by polling every POLL_MS: one /fleet, one device page and, with a device
// open, its latest values per interval, whatever the fleet's size.
import { deviceRow, el, fmtAgo, fmtBytes, fmtNum, fmtValue, getJson, insertById, numericFields, postJson, seriesLoader, wireDeviceView } from './chart.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;
const PAGE = 500;
const MAX_CHART_FIELDS = 4;
const RAW_PAGE = 1000;
const MAX_RAW_PAGES = 5;
const state = {
  fleet: null,
  devices: new Map(), // id -> {id, lastSeen, li}
  next: null,
  listed: false,
  selected: null,
  range: 3600000,
  custom: null,
  fields: [],
  latest: {},
  charts: new Map(),
  series: null,
};
// The tests read the page's state through this object.
window.lmjFleet = state;

// ---- fleet: gateways and nodes ----
function cells(tr, list) {
  for (const [cls, text] of list) tr.append(el('td', cls, text));
  return tr;
}
function renderFleet(f) {
  state.fleet = f;
  $('kind').textContent = f.kind === 'cluster' ? 'cluster router' : 'router';
  const fresh = f.gateways.filter((g) => f.at - g.lastUploadAt < 60000).length;
  $('t-gw').textContent = fmtNum(f.gateways.length, 0);
  $('t-gw-fresh').textContent = `${fresh} in the last minute`;
  const alive = f.nodes.filter((n) => n.alive).length;
  $('t-nodes').textContent = `${alive}/${f.nodes.length}`;
  $('t-nodes-live').textContent = 'alive / known';
  $('t-nodes').parentElement.classList.toggle('bad', alive < f.nodes.length);
  $('t-readings').textContent = fmtNum(f.gateways.reduce((s, g) => s + g.readings, 0), 0);
  const writes = f.nodes.filter((n) => n.writesPerSec !== null);
  $('t-writes').textContent = writes.length === 0 ? '–' : fmtNum(writes.reduce((s, n) => s + n.writesPerSec, 0));
  if (f.devices !== null) $('t-devices').textContent = fmtNum(f.devices, 0);

  const gb = $('gateways').tBodies[0];
  if (f.gateways.length === 0) {
    const td = el('td', 'muted', 'no uploads since the router started'); td.colSpan = 6; gb.replaceChildren(el('tr')); gb.firstChild.append(td);
  } else {
    gb.replaceChildren(...f.gateways.map((g) => {
      const tr = cells(el('tr'), [['', g.id], ['', fmtAgo(g.lastUploadAt)], ['num', fmtNum(g.batches, 0)], ['num', fmtNum(g.readings, 0)], ['num', fmtNum(g.lastBatchDevices, 0)], ['num muted', '–']]);
      tr.dataset.id = g.id;
      return tr;
    }));
  }
  const nb = $('nodes').tBodies[0];
  nb.replaceChildren(...f.nodes.map((n) => {
    const tr = el('tr');
    tr.dataset.id = n.id;
    tr.append(el('td', '', n.id), el('td', n.alive ? 'ok' : 'down', n.alive ? 'alive' : 'down'));
    return cells(tr, [['', n.address ?? '–'], ['num', fmtNum(n.ranges, 0)], ['num', n.partitions === null ? '–' : fmtNum(n.partitions, 0)],
      ['num', n.devices === null ? '–' : fmtNum(n.devices, 0)], ['num', n.bytes === null ? '–' : fmtBytes(n.bytes)],
      ['num', n.writesPerSec === null ? '–' : fmtNum(n.writesPerSec)], ['num', n.readsPerSec === null ? '–' : fmtNum(n.readsPerSec)]]);
  }));
}

// ---- devices ----
function upsertDevice(id, lastSeen) {
  let d = state.devices.get(id);
  if (d === undefined) {
    d = { id, lastSeen, li: null };
    d.li = deviceRow(d);
    state.devices.set(id, d);
    insertById($('device-list'), d.li);
  } else if (lastSeen !== null && (d.lastSeen === null || lastSeen >= d.lastSeen)) {
    d.lastSeen = lastSeen;
  }
  d.li.querySelector('.seen').textContent = fmtAgo(d.lastSeen);
  d.li.classList.toggle('fresh', d.lastSeen !== null && Date.now() - d.lastSeen < 10000);
  d.li.classList.toggle('sel', id === state.selected);
}
function showPartial(body) {
  const failed = body.partial ? (body.failed ?? []) : [];
  $('partial').hidden = failed.length === 0;
  $('partial').textContent = failed.length === 0 ? '' : `partial: ${failed.length} node(s) did not answer (${failed.map((f) => f.node ?? f.id ?? JSON.stringify(f)).join(', ')})`;
}
async function loadDevicePage(cursor) {
  const q = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
  const body = await getJson(`/devices?limit=${PAGE}${q}`);
  for (const d of body.devices) upsertDevice(d.id, d.lastSeen ?? null);
  showPartial(body);
  // The first page is re-read on every poll (new devices, last-seen); the pager's place is kept.
  if (cursor !== null || !state.listed) state.next = body.next;
  state.listed = true;
  $('more').hidden = state.next === null;
  $('device-count').textContent = String(state.devices.size);
  if (state.fleet?.devices === null) $('t-devices').textContent = `${state.devices.size}${state.next === null ? '' : '+'}`;
  applySearch();
}
function applySearch() {
  const q = $('search').value.trim().toLowerCase();
  for (const d of state.devices.values()) d.li.hidden = q !== '' && !d.id.toLowerCase().includes(q);
}

// ---- device detail ----
function renderLatest(values) {
  const body = $('latest').tBodies[0];
  const rows = Object.keys(values).sort();
  if (rows.length === 0) {
    body.replaceChildren(el('tr')); body.firstChild.append(el('td', 'muted', 'no readings yet'));
    return;
  }
  body.replaceChildren(...rows.map((path) => {
    const tr = el('tr');
    tr.dataset.path = path;
    const cell = el('td', '', fmtValue(values[path]));
    cell.title = JSON.stringify(values[path]);
    tr.append(el('td', '', path), cell);
    return tr;
  }));
}
function renderFieldChips() {
  $('fields').replaceChildren(...numericFields(state.latest).map((f) => {
    const label = el('label', state.fields.includes(f) ? 'on' : '', f);
    label.addEventListener('click', () => {
      state.fields = state.fields.includes(f) ? state.fields.filter((x) => x !== f) : [...state.fields, f].slice(-MAX_CHART_FIELDS);
      renderFieldChips();
      void loadSeries();
    });
    return label;
  }));
}
function emptySeries(from, bucketMs, buckets, fields) {
  const s = { t: [], bucketMs, buckets, readings: 0, fields: {} };
  for (let i = 0; i < buckets; i++) s.t.push(from + i * bucketMs);
  for (const f of fields) s.fields[f] = { min: Array(buckets).fill(null), avg: Array(buckets).fill(null), max: Array(buckets).fill(null), count: Array(buckets).fill(0) };
  return s;
}
const quote = (f) => `"${f.replaceAll('"', '""')}"`;
// Buckets aligned to multiples of bucketMs, as time_bucket computes them.
async function sqlSeries(id, w, fields) {
  const bucketMs = Math.max(1, Math.ceil((w.to - w.from) / w.buckets));
  const from = Math.floor(w.from / bucketMs) * bucketMs;
  const buckets = Math.ceil((w.to - from) / bucketMs);
  const aggs = fields.map((f) => `min(${quote(f)}), avg(${quote(f)}), max(${quote(f)}), count(${quote(f)})`).join(', ');
  const sql = `SELECT time_bucket('${bucketMs} ms', ts) AS t, count(*) AS n, ${aggs} FROM readings WHERE device = $1 AND ts >= $2 AND ts < $3 GROUP BY 1 ORDER BY 1`;
  const ans = await postJson('/query', { sql, params: [id, from, w.to] });
  const s = emptySeries(from, bucketMs, buckets, fields);
  for (const row of ans.rows) {
    const i = Math.floor((row[0] - from) / bucketMs);
    if (i < 0 || i >= buckets) continue;
    s.readings += row[1];
    fields.forEach((f, k) => {
      const fs = s.fields[f];
      [fs.min[i], fs.avg[i], fs.max[i], fs.count[i]] = [row[2 + 4 * k], row[3 + 4 * k], row[4 + 4 * k], row[5 + 4 * k]];
    });
  }
  return s;
}
function pathValue(values, path) {
  if (path in values) return values[path];
  return path.split('.').reduce((v, k) => (v !== null && typeof v === 'object' ? v[k] : undefined), values);
}
// Without SQL (the cluster router, a cookie login): the window's raw readings, bucketed here, at most MAX_RAW_PAGES pages.
async function rawSeries(id, w, fields) {
  const bucketMs = Math.max(1, Math.ceil((w.to - w.from) / w.buckets));
  const s = emptySeries(w.from, bucketMs, w.buckets, fields);
  const readings = [];
  let cursor = null;
  for (let page = 0; page < MAX_RAW_PAGES; page++) {
    const q = cursor === null ? '' : `&cursor=${cursor}`;
    const body = await getJson(`/devices/${encodeURIComponent(id)}/readings?from=${w.from}&to=${w.to}&limit=${RAW_PAGE}${q}`);
    readings.push(...body.readings);
    cursor = body.next;
    if (cursor === null) break;
  }
  const sums = fields.map(() => Array(w.buckets).fill(0));
  for (const r of readings) {
    const i = Math.min(w.buckets - 1, Math.floor((r.ts - w.from) / bucketMs));
    if (i < 0) continue;
    s.readings++;
    fields.forEach((f, k) => {
      let v = pathValue(r.values, f);
      if (typeof v === 'boolean') v = v ? 1 : 0;
      if (typeof v !== 'number') return;
      const fs = s.fields[f];
      fs.count[i]++; sums[k][i] += v;
      fs.min[i] = fs.min[i] === null ? v : Math.min(fs.min[i], v);
      fs.max[i] = fs.max[i] === null ? v : Math.max(fs.max[i], v);
      fs.avg[i] = sums[k][i] / fs.count[i];
    });
  }
  s.truncated = cursor !== null;
  return s;
}
const loadSeries = seriesLoader(
  state,
  $,
  (id, w, fields) => (state.fleet?.sql === false ? rawSeries(id, w, fields) : sqlSeries(id, w, fields)),
  (s) => `${fmtNum(s.readings, 0)} readings in ${s.buckets} buckets of ${s.bucketMs < 1000 ? `${s.bucketMs} ms` : `${fmtNum(s.bucketMs / 1000, 1)} s`}${s.truncated ? ` (first ${RAW_PAGE * MAX_RAW_PAGES})` : ''}`,
);
async function loadLatest(first) {
  const id = state.selected;
  const v = await getJson(`/devices/${encodeURIComponent(id)}/latest`);
  if (state.selected !== id) return;
  const newNumeric = numericFields(v.values).some((f) => !(f in state.latest));
  state.latest = v.values;
  if (first) state.fields = (state.custom?.fields ?? numericFields(v.values)).slice(0, MAX_CHART_FIELDS);
  renderLatest(v.values);
  if (first || newNumeric) renderFieldChips();
  const d = state.devices.get(id);
  $('device-seen').textContent = `last seen ${fmtAgo(d?.lastSeen ?? v.ts ?? null)}`;
}
async function selectDevice(id, custom) {
  state.selected = id;
  state.custom = custom;
  state.latest = {};
  for (const c of state.charts.values()) c.destroy();
  state.charts.clear();
  $('charts').replaceChildren();
  for (const d of state.devices.values()) d.li.classList.toggle('sel', d.id === id);
  $('empty').hidden = id !== null;
  $('device').hidden = id === null;
  if (id === null) return;
  $('device-id').textContent = id;
  for (const b of $('ranges').children) b.classList.toggle('sel', !custom && Number(b.dataset.range) === state.range);
  try {
    await loadLatest(true);
    await loadSeries();
  } catch (err) {
    $('chart-note').textContent = String(err.message ?? err);
  }
}

// ---- polling ----
async function poll() {
  const live = $('live');
  try {
    renderFleet(await getJson('/fleet'));
    await loadDevicePage(null);
    if (state.selected !== null) {
      await loadLatest(false);
      if (!state.custom) await loadSeries();
    }
    live.textContent = 'live'; live.className = 'pill on';
  } catch (err) {
    live.textContent = 'retrying'; live.className = 'pill off';
    live.title = String(err.message ?? err);
  }
}

$('search').addEventListener('input', applySearch);
$('more').addEventListener('click', () => { if (state.next !== null) void loadDevicePage(state.next); });
const route = wireDeviceView(state, $, selectDevice, loadSeries);
await poll();
route();
setInterval(() => void poll(), POLL_MS);

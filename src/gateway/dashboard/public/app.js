// lmj-edge dashboard: plain browser JS (no build step), served by the daemon.
// Data: GET /devices (paged), /devices/:id/latest, /devices/:id/series, /dashboard/overview,
// and the SSE stream /events?watch=<id> for live values.
import { deviceRow, el, fmtAgo, fmtBytes, fmtNum, fmtValue, getJson, insertById, numericFields, seriesLoader, wireDeviceView } from './chart.js';

const $ = (id) => document.getElementById(id);
const MAX_DEVICE_PAGES = 50;
const MAX_CHART_FIELDS = 4;
const state = {
  devices: new Map(), // id -> {lastSeen, readings, li}
  selected: null,
  range: 3600000,
  custom: null, // {from, to, buckets} from the URL hash
  fields: [],
  latest: {},
  charts: new Map(), // field -> uPlot
  series: null,
  source: null,
  refetchTimer: null,
};
// The tests and the benchmark read the page's state through this object.
window.lmjDashboard = state;


// ---- device list ----
function upsertDevice(id, lastSeen) {
  let d = state.devices.get(id);
  if (d === undefined) {
    d = { id, lastSeen, li: null };
    d.li = deviceRow(d);
    state.devices.set(id, d);
    insertById($('device-list'), d.li);
    applySearch();
    $('device-count').textContent = String(state.devices.size);
  } else if (lastSeen !== null && (d.lastSeen === null || lastSeen >= d.lastSeen)) {
    d.lastSeen = lastSeen;
  }
  d.li.querySelector('.seen').textContent = fmtAgo(d.lastSeen);
  d.li.classList.toggle('fresh', d.lastSeen !== null && Date.now() - d.lastSeen < 10000);
  d.li.classList.toggle('sel', id === state.selected);
}
async function loadDevices() {
  let cursor = null;
  const frag = document.createDocumentFragment();
  for (let page = 0; page < MAX_DEVICE_PAGES; page++) {
    const q = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const body = await getJson(`/devices?limit=1000${q}`);
    for (const d of body.devices) {
      const entry = { id: d.id, lastSeen: d.lastSeen, li: null };
      entry.li = deviceRow(entry);
      state.devices.set(d.id, entry);
      frag.append(entry.li);
    }
    cursor = body.next;
    if (cursor === null) break;
  }
  $('device-list').replaceChildren(frag);
  $('device-count').textContent = String(state.devices.size);
  applySearch();
  markSelected();
  performance.mark('lmj-devices-rendered');
}
function applySearch() {
  const q = $('search').value.trim().toLowerCase();
  for (const d of state.devices.values()) d.li.hidden = q !== '' && !d.id.toLowerCase().includes(q);
}
function markSelected() {
  for (const d of state.devices.values()) d.li.classList.toggle('sel', d.id === state.selected);
}
function refreshAges() {
  for (const d of state.devices.values()) {
    d.li.querySelector('.seen').textContent = fmtAgo(d.lastSeen);
    d.li.classList.toggle('fresh', d.lastSeen !== null && Date.now() - d.lastSeen < 10000);
  }
  const cur = state.devices.get(state.selected);
  if (cur) $('device-seen').textContent = `last seen ${fmtAgo(cur.lastSeen)}`;
}

// ---- device detail ----
function renderLatest(values, changed) {
  const body = $('latest').tBodies[0];
  const rows = Object.keys(values).sort();
  if (rows.length === 0) {
    body.replaceChildren(el('tr', '', '')); body.firstChild.append(el('td', 'muted', 'no readings yet'));
    return;
  }
  const frag = document.createDocumentFragment();
  for (const path of rows) {
    const tr = el('tr');
    tr.dataset.path = path;
    const cell = el('td', '', fmtValue(values[path]));
    cell.title = JSON.stringify(values[path]);
    tr.append(el('td', '', path), cell);
    if (changed && changed.has(path)) tr.classList.add('flash');
    frag.append(tr);
  }
  body.replaceChildren(frag);
}
function renderFieldChips() {
  const box = $('fields');
  const all = numericFields(state.latest);
  box.replaceChildren(...all.map((f) => {
    const label = el('label', state.fields.includes(f) ? 'on' : '', f);
    label.addEventListener('click', () => {
      if (state.fields.includes(f)) state.fields = state.fields.filter((x) => x !== f);
      else state.fields = [...state.fields, f].slice(-MAX_CHART_FIELDS);
      renderFieldChips();
      void loadSeries();
    });
    return label;
  }));
}
const loadSeries = seriesLoader(
  state,
  $,
  (id, w, fields) => getJson(`/devices/${encodeURIComponent(id)}/series?fields=${encodeURIComponent(fields.join(','))}&from=${w.from}&to=${w.to}&buckets=${w.buckets}`),
  (s) => `${fmtNum(s.readings, 0)} readings in ${s.buckets} buckets of ${fmtNum(s.bucketMs / 1000, 1)} s`,
);
function scheduleRefetch() {
  // Relative ranges follow new readings, at most every 5 s.
  if (state.custom || state.refetchTimer !== null) return;
  state.refetchTimer = setTimeout(() => { state.refetchTimer = null; void loadSeries(); }, 5000);
}
async function selectDevice(id, custom) {
  state.selected = id;
  state.custom = custom;
  for (const c of state.charts.values()) c.destroy();
  state.charts.clear();
  $('charts').replaceChildren();
  markSelected();
  $('empty').hidden = id !== null;
  $('device').hidden = id === null;
  connectEvents();
  if (id === null) return;
  $('device-id').textContent = id;
  for (const b of $('ranges').children) b.classList.toggle('sel', !custom && Number(b.dataset.range) === state.range);
  try {
    const v = await getJson(`/devices/${encodeURIComponent(id)}/latest`);
    state.latest = v.values;
    state.fields = (custom?.fields ?? numericFields(v.values)).slice(0, MAX_CHART_FIELDS);
    renderLatest(v.values);
    renderFieldChips();
    refreshAges();
    await loadSeries();
  } catch (err) {
    $('chart-note').textContent = String(err.message ?? err);
  }
}
function onLatest(v) {
  if (v.id !== state.selected) return;
  const changed = new Set(Object.keys(v.values).filter((k) => JSON.stringify(v.values[k]) !== JSON.stringify(state.latest[k])));
  const newNumeric = numericFields(v.values).some((f) => !(f in state.latest));
  state.latest = v.values;
  renderLatest(v.values, changed);
  if (newNumeric) renderFieldChips();
  scheduleRefetch();
}

// ---- overview ----
function renderOverview(ov) {
  $('t-in').textContent = fmtNum(ov.rates.received);
  $('t-ack').textContent = fmtNum(ov.rates.acked);
  $('t-rej').textContent = fmtNum(ov.rates.rejected);
  $('t-rej-total').textContent = `/s · ${fmtNum(ov.counters.rejected, 0)} total`;
  $('t-rej').parentElement.classList.toggle('bad', ov.rates.rejected > 0);
  $('t-pending').textContent = fmtNum(ov.counters.pending, 0);
  $('t-open').textContent = fmtNum(ov.counters.openInstances, 0);
  if (ov.sync === null) {
    $('t-sync').textContent = 'off';
    $('t-sync-age').textContent = 'no upstream';
  } else {
    $('t-sync').textContent = fmtNum(ov.sync.backlogReadings, 0);
    $('t-sync-age').textContent = ov.sync.oldestUnsyncedAgeMs === null ? 'in sync' : `oldest ${fmtAgo(Date.now() - ov.sync.oldestUnsyncedAgeMs)}`;
  }
  if (ov.disk === null) {
    $('t-disk').textContent = '–';
  } else {
    $('t-disk').textContent = fmtBytes(ov.disk.freeBytes);
    $('t-disk-of').textContent = `of ${fmtBytes(ov.disk.totalBytes)}`;
    $('t-disk').parentElement.classList.toggle('bad', ov.disk.freeBytes < ov.disk.totalBytes * 0.05);
  }
  const reasons = Object.entries(ov.counters.rejectedByReason).sort((a, b) => b[1] - a[1]);
  const rb = $('rejects').tBodies[0];
  if (reasons.length === 0) {
    const tr = el('tr'); tr.append(el('td', 'muted', 'none'), el('td', 'num', '0')); rb.replaceChildren(tr);
  } else {
    rb.replaceChildren(...reasons.map(([r, n]) => { const tr = el('tr'); tr.append(el('td', 'code', r), el('td', 'num', fmtNum(n, 0))); return tr; }));
  }
  $('dl-total').textContent = `${ov.deadLetters.total} kept · ${ov.deadLetters.dropped} dropped`;
  const db = $('deadletters').tBodies[0];
  if (ov.deadLetters.recent.length === 0) {
    const tr = el('tr'); const td = el('td', 'muted', 'none'); td.colSpan = 5; tr.append(td); db.replaceChildren(tr);
  } else {
    db.replaceChildren(...ov.deadLetters.recent.map((d) => {
      const tr = el('tr');
      tr.append(el('td', '', new Date(d.at).toLocaleTimeString()), el('td', 'code', d.code), el('td', '', d.deviceId ?? '–'), el('td', 'msg', d.topic), el('td', 'msg', d.message));
      return tr;
    }));
  }
}

// ---- live events ----
function connectEvents() {
  if (state.source) state.source.close();
  const q = state.selected === null ? '' : `?watch=${encodeURIComponent(state.selected)}`;
  const src = new EventSource(`/events${q}`);
  state.source = src;
  const live = $('live');
  src.addEventListener('open', () => { live.textContent = 'live'; live.className = 'pill on'; });
  src.addEventListener('error', () => { live.textContent = 'reconnecting'; live.className = 'pill off'; });
  src.addEventListener('seen', (e) => {
    const d = JSON.parse(e.data);
    upsertDevice(d.id, d.ts);
    if (d.id === state.selected) refreshAges();
  });
  src.addEventListener('latest', (e) => onLatest(JSON.parse(e.data)));
  src.addEventListener('overview', (e) => renderOverview(JSON.parse(e.data)));
}

$('search').addEventListener('input', applySearch);
const route = wireDeviceView(state, $, selectDevice, loadSeries);
setInterval(refreshAges, 5000);
getJson('/dashboard/overview').then(renderOverview).catch(() => undefined);
await loadDevices();
route();

// Scanwire's page: plain JS against the server's web API (its routes are listed in docs/web.md).
// One module-level state object; each panel has a render function that draws it from that state.
'use strict';

const $ = (id) => document.getElementById(id);

const state = {
  info: null, // GET /api/devices
  device: null, // the chosen device's entry
  preview: null, // the last preview (POST /api/devices/{segment}/preview)
  region: null, // {x, y, w, h} in mm, or null for the whole area
  doc: null, // GET /api/documents/{id}
  scan: null, // {id, events, source, pass, document, preset}
  duplex: null, // manual duplex: {doc, fronts} after the fronts pass
  presets: [],
};

// Paper sizes in mm, offered when they fit the source.
const PAPERS = [
  ['a4', 'A4', 210, 297],
  ['letter', 'US Letter', 215.9, 279.4],
  ['legal', 'US Legal', 215.9, 355.6],
  ['a5', 'A5', 148, 210],
  ['b5', 'B5', 176, 250],
  ['a6', 'A6', 105, 148],
  ['photo', 'Photo 10×15 cm', 102, 152],
];
const SOURCE_LABELS = {
  flatbed: 'Flatbed (glass)',
  feeder: 'Document feeder',
  duplex: 'Feeder, both sides',
  manual: 'Feeder, manual duplex (turn the stack)',
};
const MODE_LABELS = { color: 'Colour', gray: 'Grey', lineart: 'Black & white' };
// The whole-document downloads the server makes (GET .../download.pdf and .../download.zip,
// a ZIP of PNGs), offered when the device's formats include them.
const FORMAT_LABELS = { pdf: 'PDF document', png: 'PNG images (ZIP)' };
// Device status codes that need the person to do something.
const TROUBLE = new Set(['paper_jam', 'feeder_empty', 'cover_open', 'offline', 'busy', 'multi_feed', 'error']);

// ---------- talking to the server ----------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `path` on this server. Built on `location.origin`, which never holds a user name or
 * password: a page opened as http://user:pass@host/ has them in its base URL, and fetch
 * refuses a URL with credentials (the browser sends the login it keeps for the origin). */
const here = (path) => new URL(path, location.origin).href;

/** A JSON request; every state-changing one carries the header the server requires. */
async function api(method, url, body) {
  const headers = {};
  if (method !== 'GET') headers['X-Scanwire-Request'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(here(url), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    setConn(false);
    throw new ApiError(0, 'network', 'The Scanwire server cannot be reached. Is it still running?');
  }
  setConn(true);
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = (data && data.message) || `${method} ${url} failed: HTTP ${res.status}`;
    throw new ApiError(res.status, (data && data.error) || 'http', msg);
  }
  return data;
}

function setConn(ok) {
  const el = $('conn');
  el.textContent = ok ? '' : 'Server unreachable';
  el.classList.toggle('bad', !ok);
}

function showAlert(msg, kind) {
  $('alert-text').textContent = msg;
  $('alert').className = 'alert' + (kind === 'ok' ? ' ok' : '');
  $('alert').hidden = false;
}

function hideAlert() {
  $('alert').hidden = true;
}

/** Runs an action; a failure shows its message (the server's sentence) instead of throwing. */
async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    showAlert(e.message || String(e));
    return undefined;
  }
}

// ---------- devices and settings ----------

async function loadDevices() {
  const info = await api('GET', '/api/devices');
  state.info = info;
  const sel = $('device');
  const keep = sel.value || localStorage.getItem('scanwire.device');
  sel.textContent = '';
  for (const d of info.devices) sel.append(new Option(deviceLabel(d), d.id));
  if (keep && info.devices.some((d) => d.id === keep)) sel.value = keep;
  $('f-ocr').hidden = !(info.ocr && info.ocr.available);
  $('preset-archive-wrap').hidden = !info.archive;
  $('archive-btn').hidden = !info.archive;
  const proc = info.processing || [];
  $('f-deskew').hidden = !proc.includes('deskew');
  $('f-crop').hidden = !proc.includes('crop') && !proc.includes('photos');
  for (const o of $('crop').options) {
    if (o.value === 'photos') o.hidden = !proc.includes('photos');
    if (o.value === 'paper') o.hidden = !proc.includes('crop');
  }
  $('f-blank').hidden = !proc.includes('blank');
  $('f-rotate').hidden = !proc.includes('rotate');
  $('proc').hidden = proc.length === 0 && $('f-ocr').hidden;
  onDevice();
}

function deviceLabel(d) {
  return d.state === 'idle' ? d.name : `${d.name} (${d.state === 'busy' ? 'busy' : 'not available'})`;
}

function updateDevice(entry) {
  if (!state.info) return;
  const i = state.info.devices.findIndex((d) => d.id === entry.id);
  if (i < 0) return;
  Object.assign(state.info.devices[i], entry);
  const opt = [...$('device').options].find((o) => o.value === entry.id);
  if (opt) opt.textContent = deviceLabel(state.info.devices[i]);
  if (state.device && state.device.id === entry.id) renderDeviceStatus();
}

function renderDeviceStatus() {
  const d = state.device;
  const el = $('device-status');
  el.textContent = d ? d.status || d.state : '';
  el.className = 'hint' + (d && d.state !== 'idle' ? ' warn' : '');
  const q = $('device-queue');
  q.textContent = d ? queueText(d.queue || []) : '';
}

// `serve --queue`: where the latest job's pages are across the workers (queued, in work,
// done), as the device events report it; nothing once its document is back.
function queueText(jobs) {
  const j = jobs.find((x) => !x.finished);
  if (!j) return '';
  const pages = `${j.queued} queued, ${j.in_work} in work, ${j.done}/${j.published} done`;
  return j.waiting_for_workers ? `Waiting for workers (queue full) · ${pages}` : `Workers: ${pages}`;
}

function onDevice() {
  const id = $('device').value;
  state.device = state.info.devices.find((d) => d.id === id) || null;
  if (!state.device) {
    $('device-status').textContent = 'This server shares no device.';
    $('preview-btn').disabled = true;
    $('scan-btn').disabled = true;
    return;
  }
  localStorage.setItem('scanwire.device', id);
  renderDeviceStatus();
  const caps = state.device.capabilities;
  const src = $('source');
  const keep = src.value || saved('source');
  src.textContent = '';
  const names = caps.sources.map((s) => s.source);
  for (const s of names) src.append(new Option(SOURCE_LABELS[s] || s, s));
  if (names.includes('feeder')) src.append(new Option(SOURCE_LABELS.manual, 'manual'));
  if (keep && [...src.options].some((o) => o.value === keep)) src.value = keep;
  const fmt = $('format');
  const keepF = fmt.value || saved('format');
  fmt.textContent = '';
  const formats = caps.formats.filter((f) => f in FORMAT_LABELS);
  if (formats.length === 0) formats.push('pdf');
  for (const f of formats) fmt.append(new Option(FORMAT_LABELS[f], f));
  if (keepF && formats.includes(keepF)) fmt.value = keepF;
  if (state.preview && state.preview.device !== id) clearPreview();
  onSource();
}

function sourceCaps() {
  const s = $('source').value === 'manual' ? 'feeder' : $('source').value;
  return state.device.capabilities.sources.find((c) => c.source === s);
}

function saved(key) {
  return localStorage.getItem('scanwire.' + key);
}

function onSource() {
  const caps = sourceCaps();
  if (!caps) return;
  fillSelect($('mode'), caps.modes.map((m) => [m, MODE_LABELS[m] || m]), saved('mode'));
  const res = caps.resolutions;
  const want = saved('resolution') || (res.includes(300) ? 300 : res[Math.floor(res.length / 2)]);
  fillSelect($('resolution'), res.map((r) => [String(r), `${r} dpi`]), String(want));
  const paper = $('paper');
  const keep = paper.value || saved('paper');
  paper.textContent = '';
  const flatbed = caps.source === 'flatbed';
  paper.append(new Option(flatbed ? 'Whole glass' : 'Whole page', ''));
  for (const [id, name, w, h] of PAPERS) {
    if (w <= caps.max_width_mm + 0.5 && h <= caps.max_height_mm + 0.5) paper.append(new Option(`${name} (${w}×${h} mm)`, id));
  }
  paper.append(new Option('Custom region', 'custom'));
  if (keep && [...paper.options].some((o) => o.value === keep)) paper.value = keep;
  const canPreview = flatbed;
  $('preview-btn').disabled = !canPreview;
  $('preview-btn').title = canPreview ? '' : 'A preview needs the flatbed (glass)';
  onPaper();
  renderAddTo();
}

function fillSelect(sel, pairs, prefer) {
  const keep = sel.value || prefer;
  sel.textContent = '';
  for (const [v, label] of pairs) sel.append(new Option(label, v));
  if (keep && pairs.some(([v]) => v === keep)) sel.value = keep;
}

function onPaper() {
  const v = $('paper').value;
  if (v === 'custom') {
    if (!state.region) {
      const c = sourceCaps();
      setRegion({ x: 0, y: 0, w: c.max_width_mm, h: c.max_height_mm }, false);
    }
  } else if (v === '') {
    state.region = null;
  } else {
    const p = PAPERS.find((x) => x[0] === v);
    state.region = { x: 0, y: 0, w: p[2], h: p[3] };
  }
  $('region').hidden = v !== 'custom';
  fillRegionInputs();
  drawOverlay();
  localStorage.setItem('scanwire.paper', v);
}

function setRegion(r, fromDrag) {
  const c = sourceCaps();
  const x = clamp(r.x, 0, c.max_width_mm);
  const y = clamp(r.y, 0, c.max_height_mm);
  state.region = {
    x: round1(x),
    y: round1(y),
    w: round1(clamp(r.w, 1, c.max_width_mm - x)),
    h: round1(clamp(r.h, 1, c.max_height_mm - y)),
  };
  if ($('paper').value !== 'custom') $('paper').value = 'custom';
  $('region').hidden = false;
  fillRegionInputs();
  if (!fromDrag) drawOverlay();
}

function fillRegionInputs() {
  const r = state.region;
  $('rx').value = r ? r.x : '';
  $('ry').value = r ? r.y : '';
  $('rw').value = r ? r.w : '';
  $('rh').value = r ? r.h : '';
  $('clear-region').hidden = !(state.preview && r);
}

function onRegionInput() {
  const v = (id) => parseFloat($(id).value);
  const r = { x: v('rx'), y: v('ry'), w: v('rw'), h: v('rh') };
  if ([r.x, r.y, r.w, r.h].some((n) => !Number.isFinite(n))) return;
  setRegion(r, false);
}

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), Math.max(lo, hi));
const round1 = (v) => Math.round(v * 10) / 10;

function settings() {
  const src = $('source').value;
  const proc = (state.info && state.info.processing) || [];
  return {
    source: src === 'manual' ? 'feeder' : src,
    mode: $('mode').value,
    resolution: Number($('resolution').value),
    area_mm: state.region ? { ...state.region } : null,
    processing: {
      deskew: proc.includes('deskew') && $('deskew').checked,
      crop: $('crop').value,
      blank: proc.includes('blank') ? $('blank').value : 'keep',
      sensitivity: clamp(Number($('sensitivity').value) || 50, 0, 100),
      rotate: proc.includes('rotate') ? Number($('rotate').value) : 0,
    },
    ocr: !$('f-ocr').hidden && $('ocr').checked,
  };
}

function rememberSettings() {
  for (const k of ['source', 'mode', 'resolution', 'format']) localStorage.setItem('scanwire.' + k, $(k).value);
}

// ---------- preview and region ----------

async function preview() {
  hideAlert();
  const d = state.device;
  const btn = $('preview-btn');
  btn.disabled = true;
  btn.textContent = 'Previewing…';
  $('scan-btn').disabled = true;
  $('preview-info').textContent = 'Scanning a quick preview of the whole glass…';
  try {
    const p = await api('POST', `/api/devices/${encodeURIComponent(d.segment)}/preview`, { source: 'flatbed' });
    p.device = d.id;
    state.preview = p;
    await new Promise((resolve, reject) => {
      const img = $('preview-img');
      img.onload = resolve;
      img.onerror = () => reject(new Error('The preview image could not be loaded.'));
      img.src = p.image;
    });
    const stage = $('stage');
    stage.classList.remove('empty');
    stage.style.aspectRatio = `${p.width_mm} / ${p.height_mm}`;
    stage.style.setProperty('--ar', String(p.width_mm / p.height_mm));
    $('preview-img').hidden = false;
    $('overlay').removeAttribute('hidden');
    $('stage-hint').hidden = true;
    $('use-paper').hidden = !p.paper;
    const found = [];
    if (p.paper) found.push('paper found');
    if (p.photos && p.photos.length) found.push(`${p.photos.length} photo${p.photos.length > 1 ? 's' : ''} found (click one to scan just it)`);
    $('preview-info').textContent = `Preview at ${p.dpi} dpi. ${found.join(', ')}${found.length ? '. ' : ''}Drag to choose the area to scan.`;
    fillRegionInputs();
    drawOverlay();
  } catch (e) {
    $('preview-info').textContent = '';
    showAlert(e.message);
  } finally {
    btn.textContent = 'Preview';
    btn.disabled = sourceCaps().source !== 'flatbed';
    $('scan-btn').disabled = !!state.scan;
  }
}

function clearPreview() {
  state.preview = null;
  $('preview-img').hidden = true;
  $('overlay').setAttribute('hidden', '');
  $('stage-hint').hidden = false;
  $('stage').classList.add('empty');
  $('stage').style.aspectRatio = '';
  $('use-paper').hidden = true;
  $('preview-info').textContent = '';
}

const SVG = 'http://www.w3.org/2000/svg';
function svgEl(name, attrs) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** The axis-aligned box around a found rectangle (x, y, w, h unturned, turned by angle_deg
 * counter-clockwise about its centre). */
function boundingBox(r) {
  const a = ((r.angle_deg || 0) * Math.PI) / 180;
  const c = Math.abs(Math.cos(a));
  const s = Math.abs(Math.sin(a));
  const w = r.w_mm * c + r.h_mm * s;
  const h = r.w_mm * s + r.h_mm * c;
  const cx = r.x_mm + r.w_mm / 2;
  const cy = r.y_mm + r.h_mm / 2;
  return { x: cx - w / 2, y: cy - h / 2, w, h };
}

function foundShape(r, cls) {
  const cx = r.x_mm + r.w_mm / 2;
  const cy = r.y_mm + r.h_mm / 2;
  return svgEl('rect', {
    x: r.x_mm,
    y: r.y_mm,
    width: r.w_mm,
    height: r.h_mm,
    class: cls,
    transform: `rotate(${-(r.angle_deg || 0)} ${cx} ${cy})`,
    'vector-effect': 'non-scaling-stroke',
  });
}

function drawOverlay() {
  const p = state.preview;
  const svg = $('overlay');
  svg.textContent = '';
  if (!p) return;
  svg.setAttribute('viewBox', `0 0 ${p.width_mm} ${p.height_mm}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  if (p.paper) svg.append(foundShape(p.paper, 'paper'));
  for (const ph of p.photos || []) svg.append(foundShape(ph, 'photo'));
  const r = state.region;
  if (r) {
    const W = p.width_mm;
    const H = p.height_mm;
    svg.append(
      svgEl('path', {
        d: `M0 0H${W}V${H}H0Z M${r.x} ${r.y}v${r.h}h${r.w}v${-r.h}Z`,
        class: 'shade',
        'fill-rule': 'evenodd',
      }),
    );
    svg.append(svgEl('rect', { x: r.x, y: r.y, width: r.w, height: r.h, class: 'sel', 'vector-effect': 'non-scaling-stroke' }));
  }
}

function pointToMm(ev) {
  const box = $('overlay').getBoundingClientRect();
  const p = state.preview;
  return {
    x: clamp(((ev.clientX - box.left) / box.width) * p.width_mm, 0, p.width_mm),
    y: clamp(((ev.clientY - box.top) / box.height) * p.height_mm, 0, p.height_mm),
  };
}

function setupDrag() {
  const svg = $('overlay');
  let start = null;
  svg.addEventListener('pointerdown', (ev) => {
    if (!state.preview || ev.button !== 0) return;
    start = pointToMm(ev);
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  svg.addEventListener('pointermove', (ev) => {
    if (!start) return;
    const q = pointToMm(ev);
    state.region = {
      x: round1(Math.min(start.x, q.x)),
      y: round1(Math.min(start.y, q.y)),
      w: round1(Math.abs(q.x - start.x)),
      h: round1(Math.abs(q.y - start.y)),
    };
    drawOverlay();
  });
  const end = (ev) => {
    if (!start) return;
    const q = pointToMm(ev);
    const s = start;
    start = null;
    if (Math.abs(q.x - s.x) < 3 && Math.abs(q.y - s.y) < 3) {
      // A click: a photo under it is chosen whole; elsewhere, the whole glass again.
      const hit = (state.preview.photos || []).map(boundingBox).find((b) => q.x >= b.x && q.x <= b.x + b.w && q.y >= b.y && q.y <= b.y + b.h);
      if (hit) setRegion(hit, false);
      else clearRegion();
      return;
    }
    setRegion({ x: Math.min(s.x, q.x), y: Math.min(s.y, q.y), w: Math.abs(q.x - s.x), h: Math.abs(q.y - s.y) }, false);
  };
  svg.addEventListener('pointerup', end);
  svg.addEventListener('pointercancel', () => {
    start = null;
    drawOverlay();
  });
}

function clearRegion() {
  $('paper').value = '';
  onPaper();
}

// ---------- scanning ----------

function renderAddTo() {
  $('add-to-wrap').hidden = !state.doc || $('source').value === 'manual';
}

async function scan(extra) {
  hideAlert();
  rememberSettings();
  const d = state.device;
  const manual = $('source').value === 'manual';
  const body = {
    device: d.id,
    ...settings(),
    document: !manual && state.doc && $('add-to').checked ? state.doc.id : null,
    duplex_pass: manual ? 'fronts' : null,
    preset: null,
    ...extra,
  };
  await startScan(body);
}

async function startScan(body) {
  setScanning(true);
  let r;
  try {
    r = await api('POST', '/api/scans', body);
  } catch (e) {
    setScanning(false);
    showAlert(e.message);
    if (e.status === 503) loadDevices().catch(() => {});
    return;
  }
  state.scan = { id: r.scan, document: r.document, pass: body.duplex_pass, preset: body.preset, done: false };
  $('scan-box').hidden = false;
  $('duplex-box').hidden = true;
  $('progress').textContent = '';
  $('h-progress').textContent = body.duplex_pass === 'backs' ? 'Scanning the backs' : body.duplex_pass === 'fronts' ? 'Scanning the fronts' : 'Scanning';
  $('scan-status').textContent = 'Starting…';
  $('scan-status').className = 'status';
  $('cancel-btn').hidden = false;
  $('cancel-btn').disabled = false;
  $('scan-box').scrollIntoView({ block: 'nearest' });
  listen(r.events);
  if (!state.doc || state.doc.id !== r.document) await loadDoc(r.document).catch((e) => showAlert(e.message));
}

function setScanning(on) {
  $('scan-btn').disabled = on;
  $('scan-btn').textContent = on ? 'Scanning…' : 'Scan';
  for (const b of document.querySelectorAll('.run-preset')) b.disabled = on;
  $('backs-btn').disabled = on;
  const c = state.device && sourceCaps();
  $('preview-btn').disabled = on || !c || c.source !== 'flatbed';
}

function pageRow(n) {
  let li = document.querySelector(`#progress li[data-page="${n}"]`);
  if (!li) {
    li = document.createElement('li');
    li.dataset.page = n;
    li.className = 'prog';
    const label = document.createElement('span');
    label.className = 'prog-label';
    label.id = `prog-label-${n}`;
    label.textContent = `Page ${n}`;
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-labelledby', label.id);
    const pct = document.createElement('span');
    pct.className = 'prog-pct';
    pct.textContent = '0 %';
    li.append(label, bar, pct);
    $('progress').append(li);
  }
  return li;
}

let docRefresh = null;
function refreshDocSoon() {
  clearTimeout(docRefresh);
  docRefresh = setTimeout(() => state.doc && loadDoc(state.doc.id).catch(() => {}), 150);
}

function listen(url) {
  const scan = state.scan;
  const es = new EventSource(here(url));
  scan.events = es;
  const on = (name, fn) =>
    es.addEventListener(name, (ev) => {
      if (state.scan !== scan) return;
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      fn(data);
    });
  on('status', (s) => {
    const li = pageRow(s.page);
    if (li.classList.contains('finished')) return;
    const bar = li.querySelector('progress');
    bar.value = Math.max(bar.value, s.percent);
    li.querySelector('.prog-pct').textContent = `${Math.round(bar.value)} %`;
    if ($('scan-status').dataset.trouble !== '1') $('scan-status').textContent = `Scanning page ${s.page}…`;
  });
  on('device', (d) => {
    const el = $('scan-status');
    el.textContent = d.message || d.code;
    const trouble = TROUBLE.has(d.code);
    if (trouble) scan.trouble = d.message || d.code;
    el.dataset.trouble = trouble ? '1' : '';
    el.className = 'status' + (trouble ? ' warn' : '');
  });
  on('page', (p) => {
    const li = pageRow(p.page);
    li.classList.add('finished');
    li.querySelector('progress').value = 100;
    li.querySelector('.prog-pct').textContent = '100 %';
    if (!li.querySelector('img')) {
      const img = document.createElement('img');
      img.className = 'prog-thumb';
      img.alt = `Page ${p.page}`;
      img.src = p.thumbnail;
      li.prepend(img);
    }
    refreshDocSoon();
  });
  on('discarded', (p) => {
    const li = pageRow(p.page);
    li.classList.add('finished', 'discarded');
    li.querySelector('.prog-pct').textContent = p.reason === 'blank' ? 'blank, left out' : `left out (${p.reason})`;
  });
  on('done', (d) => {
    es.close();
    scan.done = true;
    finished(scan, d);
  });
  es.onerror = () => {
    // The stream ends after `done`; an error before that is a lost connection, which
    // EventSource retries (the server replays what happened so far).
    if (!scan.done && es.readyState === EventSource.CLOSED) {
      finished(scan, { outcome: 'failed', pages: 0, message: 'The connection to the server was lost during the scan.' });
    }
  };
}

async function finished(scan, d) {
  if (state.scan !== scan) return;
  $('cancel-btn').hidden = true;
  $('h-progress').textContent = 'Last scan';
  const el = $('scan-status');
  const pages = `${d.pages} page${d.pages === 1 ? '' : 's'}`;
  if (d.outcome === 'completed') {
    el.textContent = d.message || `Done: ${pages}.`;
    el.className = 'status ok';
  } else if (d.outcome === 'cancelled') {
    el.textContent = d.message || `Cancelled after ${pages}.`;
    el.className = 'status';
  } else {
    // The device's own words (a jam, an empty feeder) first, when the end does not repeat them.
    const why = d.message || 'The scan failed.';
    el.textContent = scan.trouble && !why.includes(scan.trouble) ? `${scan.trouble}. ${why}` : why;
    el.className = 'status warn';
  }
  el.dataset.trouble = '';
  for (const li of document.querySelectorAll('#progress li:not(.finished)')) {
    li.classList.add('finished', 'stopped');
    li.querySelector('.prog-pct').textContent = d.outcome === 'cancelled' ? 'cancelled' : 'stopped';
  }
  // The scan counts as running until what follows it (interleaving, archiving) is done.
  try {
    await loadDoc(scan.document).catch(() => {});
    if (scan.pass === 'fronts' && d.outcome === 'completed' && d.pages > 0) {
      state.duplex = { doc: scan.document, fronts: d.pages };
      $('duplex-text').textContent = `Fronts done: ${pages}. Turn the stack over without changing its order, put it back in the feeder and scan the backs.`;
      $('duplex-box').hidden = false;
    } else if (scan.pass === 'backs' && d.outcome === 'completed') {
      state.duplex = null;
      await guarded(async () => {
        await api('POST', `/api/documents/${encodeURIComponent(scan.document)}/interleave`);
        await loadDoc(scan.document);
        el.textContent = `Done: fronts and backs put in order (${state.doc.pages.length} pages).`;
      });
    }
    if (d.archived) {
      showAlert(`Archived as ${d.archived}`, 'ok');
    } else if (scan.preset && d.outcome === 'completed') {
      // The server archives a preset's document itself when it says so in `done`; else the
      // page asks (the server writes a document it archived already only once).
      const p = state.presets.find((x) => x.name === scan.preset);
      if (p && p.archive && state.info.archive) await archive(scan.document);
    }
  } finally {
    state.scan = null;
    setScanning(false);
  }
  if (!$('duplex-box').hidden) $('backs-btn').focus();
  loadRecent().catch(() => {});
  loadDevices().catch(() => {});
}

async function cancelScan() {
  const s = state.scan;
  if (!s) return;
  $('cancel-btn').disabled = true;
  $('scan-status').textContent = 'Cancelling…';
  await guarded(() => api('DELETE', `/api/scans/${s.id}`));
}

async function scanBacks() {
  const dx = state.duplex;
  if (!dx) return;
  await startScan({
    device: state.device.id,
    ...settings(),
    source: 'feeder',
    document: dx.doc,
    duplex_pass: 'backs',
    preset: null,
  });
}

// ---------- the document ----------

// Loads overlap (a page event's refresh, the scan's end, an edit), and their answers may come
// back in any order: only the newest request's answer is shown, so an older, shorter page
// list never replaces a newer one.
let docLoads = 0;

async function loadDoc(id) {
  if (!id) return;
  const ticket = ++docLoads;
  const doc = await api('GET', `/api/documents/${encodeURIComponent(id)}`);
  if (ticket !== docLoads) return;
  state.doc = doc;
  renderDoc();
}

function renderDoc() {
  const doc = state.doc;
  $('doc').hidden = !doc;
  $('doc-empty').hidden = !!doc;
  $('new-doc').hidden = !doc;
  renderAddTo();
  if (!$('rename-form').hidden && (!doc || $('rename-form').dataset.doc !== doc.id)) {
    $('rename-form').hidden = true;
    $('rename-btn').hidden = false;
  }
  if (!doc) return;
  $('doc-name').textContent = `${doc.name} · ${doc.pages.length} page${doc.pages.length === 1 ? '' : 's'}`;
  $('rename-btn').setAttribute('aria-label', `Rename ${doc.name}`);
  const list = $('pages');
  list.textContent = '';
  doc.pages.forEach((p, i) => list.append(pageCard(p, i, doc.pages.length)));
  const fmt = $('format').value || 'pdf';
  const base = `/api/documents/${encodeURIComponent(doc.id)}`;
  const dl = $('dl-main');
  if (fmt === 'pdf') {
    dl.href = `${base}/download.pdf`;
    // Searchable when its pages were OCRed (each page says whether it has text).
    const searchable = doc.pages.length > 0 && doc.pages.every((p) => p.text);
    dl.textContent = searchable ? 'Download searchable PDF' : 'Download PDF';
  } else {
    dl.href = `${base}/download.zip`;
    dl.textContent = 'Download PNG images (ZIP)';
  }
  const zip = $('dl-zip');
  zip.href = `${base}/download.zip`;
  zip.hidden = fmt !== 'pdf';
  const none = doc.pages.length === 0;
  for (const a of [dl, zip]) a.classList.toggle('disabled', none);
  for (const a of [dl, zip]) a.setAttribute('aria-disabled', String(none));
  $('archive-btn').disabled = none;
}

function pageCard(p, i, n) {
  const li = document.createElement('li');
  li.className = 'page';
  li.draggable = true;
  li.dataset.id = p.id;
  const img = document.createElement('img');
  img.src = `${p.thumbnail}${p.thumbnail.includes('?') ? '&' : '?'}r=${p.rotation || 0}`;
  img.alt = `Page ${i + 1}`;
  img.loading = 'lazy';
  img.draggable = false;
  const cap = document.createElement('span');
  cap.className = 'page-no';
  cap.textContent = `${i + 1}${p.pass === 'fronts' ? ' · front' : p.pass === 'backs' ? ' · back' : ''}`;
  const tools = document.createElement('div');
  tools.className = 'page-tools';
  const btn = (text, label, fn, disabled) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'icon-btn';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.title = label;
    b.disabled = !!disabled;
    b.addEventListener('click', () => guarded(fn));
    tools.append(b);
    return b;
  };
  btn('←', `Move page ${i + 1} earlier`, () => movePage(i, i - 1), i === 0);
  btn('→', `Move page ${i + 1} later`, () => movePage(i, i + 1), i === n - 1);
  btn('⟳', `Rotate page ${i + 1} clockwise`, () => rotatePage(p.id));
  const dl = document.createElement('a');
  dl.className = 'icon-btn';
  dl.href = p.image;
  dl.download = '';
  dl.textContent = '↓';
  dl.setAttribute('aria-label', `Download page ${i + 1} as PNG`);
  dl.title = `Download page ${i + 1}`;
  tools.append(dl);
  btn('✕', `Delete page ${i + 1}`, () => deletePage(p.id));
  li.append(img, cap, tools);
  li.addEventListener('dragstart', (ev) => {
    ev.dataTransfer.setData('text/plain', String(i));
    ev.dataTransfer.effectAllowed = 'move';
    li.classList.add('dragging');
  });
  li.addEventListener('dragend', () => li.classList.remove('dragging'));
  li.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    li.classList.add('drop');
  });
  li.addEventListener('dragleave', () => li.classList.remove('drop'));
  li.addEventListener('drop', (ev) => {
    ev.preventDefault();
    li.classList.remove('drop');
    const from = Number(ev.dataTransfer.getData('text/plain'));
    if (Number.isInteger(from) && from !== i) guarded(() => movePage(from, i));
  });
  return li;
}

async function movePage(from, to) {
  const ids = state.doc.pages.map((p) => p.id);
  if (to < 0 || to >= ids.length) return;
  const [moved] = ids.splice(from, 1);
  ids.splice(to, 0, moved);
  // The answer is the whole document in its new order.
  ++docLoads; // an earlier load's answer would undo the new order on screen
  state.doc = await api('PUT', `/api/documents/${state.doc.id}/pages`, { order: ids });
  renderDoc();
  const b = document.querySelector(`#pages li[data-id="${moved}"] .icon-btn:not(:disabled)`);
  if (b) b.focus();
}

async function rotatePage(pid) {
  await api('POST', `/api/documents/${state.doc.id}/pages/${pid}/rotate`, { degrees: 90 });
  await loadDoc(state.doc.id);
}

async function deletePage(pid) {
  await api('DELETE', `/api/documents/${state.doc.id}/pages/${pid}`);
  await loadDoc(state.doc.id);
  loadRecent().catch(() => {});
}

async function archive(id) {
  const r = await guarded(() => api('POST', `/api/documents/${encodeURIComponent(id)}/archive`));
  if (r) {
    showAlert(`Archived as ${r.file}`, 'ok');
    loadRecent().catch(() => {});
  }
}

// ---------- recent documents ----------

async function loadRecent() {
  const r = await api('GET', '/api/documents');
  const list = $('recent');
  list.textContent = '';
  $('recent-empty').hidden = r.documents.length > 0;
  for (const d of r.documents) {
    const li = document.createElement('li');
    li.className = 'recent-item' + (state.doc && state.doc.id === d.id ? ' current' : '');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'link';
    open.textContent = d.name;
    open.setAttribute('aria-label', `Open ${d.name}`);
    open.addEventListener('click', () => guarded(() => loadDoc(d.id).then(loadRecent)));
    const meta = document.createElement('span');
    meta.className = 'meta';
    const when = new Date(d.created);
    const parts = [`${d.pages} page${d.pages === 1 ? '' : 's'}`, isNaN(when) ? '' : when.toLocaleString(), size(d.bytes)];
    if (d.archived) parts.push(`archived as ${d.archived}`);
    meta.textContent = parts.filter(Boolean).join(' · ');
    const pdf = document.createElement('a');
    pdf.className = 'btn small';
    pdf.href = `/api/documents/${encodeURIComponent(d.id)}/download.pdf`;
    pdf.download = '';
    pdf.textContent = 'PDF';
    pdf.setAttribute('aria-label', `Download ${d.name} as PDF`);
    const del = confirmButton('Delete', `Delete ${d.name}`, async () => {
      await api('DELETE', `/api/documents/${encodeURIComponent(d.id)}`);
      if (state.doc && state.doc.id === d.id) {
        state.doc = null;
        renderDoc();
      }
      await loadRecent();
    });
    const text = document.createElement('div');
    text.className = 'recent-text';
    text.append(open, meta);
    const acts = document.createElement('div');
    acts.className = 'inline small';
    acts.append(pdf, del);
    li.append(text, acts);
    list.append(li);
  }
}

/** A button that asks once more ("Really delete?") before it acts. */
function confirmButton(text, label, fn) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'btn small danger-quiet';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  let armed = null;
  b.addEventListener('click', () => {
    if (!armed) {
      b.textContent = 'Really?';
      b.setAttribute('aria-label', `${label}: press again to confirm`);
      armed = setTimeout(() => {
        armed = null;
        b.textContent = text;
        b.setAttribute('aria-label', label);
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    guarded(fn);
  });
  return b;
}

function size(bytes) {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// ---------- presets ----------

async function loadPresets() {
  const r = await api('GET', '/api/presets');
  state.presets = r.presets;
  const list = $('presets');
  list.textContent = '';
  for (const p of r.presets) {
    const li = document.createElement('li');
    li.className = 'preset';
    const text = document.createElement('div');
    const name = document.createElement('strong');
    name.textContent = p.name;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = presetSummary(p);
    text.append(name, meta);
    const run = document.createElement('button');
    run.type = 'button';
    run.className = 'btn small primary run-preset';
    run.textContent = 'Run';
    run.setAttribute('aria-label', `Run preset ${p.name}`);
    run.disabled = !!state.scan;
    run.addEventListener('click', () => runPreset(p));
    const del = confirmButton('Delete', `Delete preset ${p.name}`, async () => {
      await api('DELETE', `/api/presets/${encodeURIComponent(p.name)}`);
      await loadPresets();
    });
    const acts = document.createElement('div');
    acts.className = 'inline small';
    acts.append(run, del);
    li.append(text, acts);
    list.append(li);
  }
}

function presetSummary(p) {
  const s = p.settings || {};
  const parts = [];
  if (s.source) parts.push(SOURCE_LABELS[s.source] || s.source);
  if (s.mode) parts.push((MODE_LABELS[s.mode] || s.mode).toLowerCase());
  if (s.resolution) parts.push(`${s.resolution} dpi`);
  if (s.processing && s.processing.blank === 'skip') parts.push('skip blank');
  if (s.processing && s.processing.deskew) parts.push('deskew');
  if (s.ocr) parts.push('searchable');
  if (p.archive) parts.push('archive');
  return parts.join(', ');
}

async function runPreset(p) {
  hideAlert();
  await startScan({
    device: p.device || state.device.id,
    document: null,
    preset: p.name,
    duplex_pass: null,
  });
}

async function savePreset(ev) {
  ev.preventDefault();
  const name = $('preset-name').value.trim();
  if (!name) {
    showAlert('Give the preset a name.');
    $('preset-name').focus();
    return;
  }
  const body = {
    name,
    device: state.device.id,
    settings: { ...settings(), duplex_pass: null },
    archive: !$('preset-archive-wrap').hidden && $('preset-archive').checked,
  };
  const ok = await guarded(() => api('PUT', `/api/presets/${encodeURIComponent(name)}`, body));
  if (ok !== undefined) {
    $('preset-name').value = '';
    await guarded(loadPresets);
    showAlert(`Preset “${name}” saved.`, 'ok');
  }
}

// ---------- device events ----------

/** Device changes from the server's event stream; a server without one (the stream is
 * optional) gets its device list read again every 15 s while the page is visible (3 s while
 * a device is busy). */
function watchDevices() {
  // Sooner while a device is busy, so that it shows idle again soon after.
  const fallback = () => {
    const busy = state.info && state.info.devices.some((d) => d.state === 'busy');
    setTimeout(() => {
      if (document.visibilityState === 'visible' && !state.scan) loadDevices().catch(() => {});
      fallback();
    }, busy ? 3000 : 15000);
  };
  if (!('EventSource' in window)) return fallback();
  const es = new EventSource(here('/api/events'));
  let opened = false;
  es.onopen = () => {
    opened = true;
  };
  es.addEventListener('device', (ev) => {
    try {
      updateDevice(JSON.parse(ev.data));
    } catch (e) {
      /* a malformed event changes nothing */
    }
  });
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) return; // EventSource retries by itself
    if (opened) setTimeout(watchDevices, 5000);
    else fallback();
  };
}

// ---------- start ----------

function wire() {
  $('alert-close').addEventListener('click', hideAlert);
  $('device').addEventListener('change', onDevice);
  $('source').addEventListener('change', () => {
    onSource();
    localStorage.setItem('scanwire.source', $('source').value);
  });
  $('paper').addEventListener('change', onPaper);
  $('format').addEventListener('change', () => {
    rememberSettings();
    renderDoc();
  });
  for (const id of ['rx', 'ry', 'rw', 'rh']) $(id).addEventListener('change', onRegionInput);
  $('settings').addEventListener('submit', (ev) => {
    ev.preventDefault();
    scan();
  });
  $('preview-btn').addEventListener('click', preview);
  $('use-paper').addEventListener('click', () => state.preview && state.preview.paper && setRegion(boundingBox(state.preview.paper), false));
  $('clear-region').addEventListener('click', clearRegion);
  $('cancel-btn').addEventListener('click', cancelScan);
  $('backs-btn').addEventListener('click', scanBacks);
  $('duplex-skip').addEventListener('click', () => {
    state.duplex = null;
    $('duplex-box').hidden = true;
  });
  $('new-doc').addEventListener('click', () => {
    state.doc = null;
    renderDoc();
    loadRecent().catch(() => {});
  });
  $('archive-btn').addEventListener('click', () => state.doc && archive(state.doc.id));
  $('rename-btn').addEventListener('click', () => {
    $('rename-input').value = state.doc.name;
    $('rename-form').dataset.doc = state.doc.id;
    $('rename-form').hidden = false;
    $('rename-btn').hidden = true;
    $('rename-input').focus();
  });
  const endRename = () => {
    $('rename-form').hidden = true;
    $('rename-btn').hidden = false;
  };
  $('rename-cancel').addEventListener('click', endRename);
  $('rename-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('rename-input').value.trim();
    if (!name) return;
    const ok = await guarded(() => api('PUT', `/api/documents/${encodeURIComponent(state.doc.id)}`, { name }));
    if (ok !== undefined) {
      endRename();
      await guarded(() => loadDoc(state.doc.id));
      loadRecent().catch(() => {});
    }
  });
  $('preset-form').addEventListener('submit', savePreset);
  for (const a of [$('dl-main'), $('dl-zip')]) {
    a.addEventListener('click', (ev) => {
      if (a.classList.contains('disabled')) ev.preventDefault();
    });
  }
  setupDrag();
}

async function start() {
  wire();
  await guarded(loadDevices);
  await Promise.all([guarded(loadPresets), guarded(loadRecent)]);
  watchDevices();
  document.body.dataset.ready = '1';
}

start();

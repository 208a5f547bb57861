// The Beckon dashboard: sign in with the admin token, the action maps with status and version,
// activate and deactivate, each map's funnel, trend and blocked reasons from the reports API, and
// a live event console following the event stream. Every call carries the token as a bearer
// token (the stream too: it is read with fetch, since EventSource cannot send headers).
// Everything from configuration or events is set with textContent, never as HTML. No framework,
// no inline code: it runs under `script-src 'self'`. `$`, `el`, `say` and `call` are in common.js.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'beckon.admin';
const state = { token: sessionStorage.getItem(TOKEN_KEY), deployment: null, maps: [], selected: null, live: null };

/** An SVG element with attributes; `text` is set as text. */
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/** A call with the admin token; a 401 or 403 means it is not (or no longer) the admin token. */
async function api(method, path, body) {
  try {
    return await call(state.token, method, path, body);
  } catch (e) {
    if (e.status === 401 || e.status === 403) { signedOut('The token was refused; sign in again.'); throw new Error('signed out'); }
    throw e;
  }
}

function withDeployment(path, params = {}) {
  const q = new URLSearchParams({ deploymentId: state.deployment, ...params });
  return path + '?' + q.toString();
}

// ---- sign-in ----------------------------------------------------------------------------------

function signedOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  stopFollowing();
  $('board').hidden = true; $('bar').hidden = true; $('sign-in').hidden = false;
  $('sign-in-error').textContent = message || '';
}

async function signIn(event) {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  const token = $('token').value.trim();
  const r = await fetch('/api/v1/deployments', { headers: { Authorization: 'Bearer ' + token } });
  if (!r.ok) {
    const data = await r.json().catch(() => ({}));
    $('sign-in-error').textContent = 'Sign-in refused: ' + (data.detail || r.statusText);
    return;
  }
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  start();
}

async function start() {
  $('sign-in').hidden = true; $('board').hidden = false; $('bar').hidden = false;
  try {
    const deployments = (await api('GET', '/api/v1/deployments')).entities;
    const select = $('deployment');
    select.replaceChildren(...deployments.map((d) => {
      const o = el('option', d.name + ' (' + d.id + ')');
      o.value = d.id;
      return o;
    }));
    state.deployment = deployments.length ? deployments[0].id : null;
    await refresh();
  } catch (e) { say(e.message); }
}

// ---- action maps ------------------------------------------------------------------------------

async function loadMaps() {
  const maps = [];
  for (let page = 1; ; page++) {
    const r = await api('GET', withDeployment('/api/v2/journey/actionmaps', { pageSize: 500, pageNumber: page }));
    maps.push(...r.entities);
    if (page >= (r.pageCount || 1)) break;
  }
  state.maps = maps;
  if (!maps.some((m) => m.id === state.selected)) state.selected = maps.length ? maps[0].id : null;
}

function drawMaps() {
  const rows = state.maps.map((m) => {
    const tr = document.createElement('tr');
    tr.dataset.id = m.id;
    if (m.id === state.selected) tr.className = 'selected';
    const status = el('td', m.isActive ? 'Active' : 'Inactive', m.isActive ? 'status-active' : 'status-inactive');
    const button = el('button', m.isActive ? 'Deactivate' : 'Activate');
    button.type = 'button';
    button.addEventListener('click', (e) => { e.stopPropagation(); setActive(m, !m.isActive); });
    const action = el('td');
    action.append(button);
    tr.append(el('td', m.displayName), el('td', m.action && m.action.mediaType), status, el('td', m.version), action);
    tr.addEventListener('click', () => { state.selected = m.id; drawMaps(); loadReports().catch((e) => say(e.message)); });
    return tr;
  });
  $('maps').tBodies[0].replaceChildren(...rows);
  if (!rows.length) {
    const tr = document.createElement('tr');
    const td = el('td', 'No action maps in this deployment yet.', 'muted');
    td.colSpan = 5;
    tr.append(td);
    $('maps').tBodies[0].append(tr);
  }
}

/** PATCH with the version read, as the Genesys admin API requires; a stale version is reported. */
async function setActive(map, active) {
  say('');
  try {
    await api('PATCH', withDeployment('/api/v2/journey/actionmaps/' + encodeURIComponent(map.id)),
      { version: map.version, isActive: active });
  } catch (e) {
    say('Could not ' + (active ? 'activate' : 'deactivate') + ' "' + map.displayName + '": ' + e.message);
  }
  await loadMaps();
  drawMaps();
}

// ---- reports ----------------------------------------------------------------------------------

/** The report range: whole UTC hours or days ending with the current one. */
function range() {
  const [granularity, count] = $('range').value.split(':');
  const step = granularity === 'hour' ? 3600e3 : 86400e3;
  const to = Math.floor(Date.now() / step) * step + step;
  const from = to - Number(count) * step;
  return { granularity, step, from, to };
}

const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

async function loadReports() {
  const map = state.maps.find((m) => m.id === state.selected);
  $('funnel-map').textContent = map ? map.displayName : '';
  if (!map) { drawFunnel(null); drawTrend([], range()); drawBlocked([]); return; }
  const r = range();
  const params = { from: iso(r.from), to: iso(r.to), granularity: r.granularity, actionMapId: map.id };
  const [report, blocked] = await Promise.all([
    api('GET', withDeployment('/api/v1/reports/actionmaps', params)),
    api('GET', withDeployment('/api/v1/reports/blocked', params)),
  ]);
  const total = { qualified: 0, offered: 0, accepted: 0, engaged: 0 };
  for (const row of report.entities) for (const k of Object.keys(total)) total[k] += row[k] || 0;
  drawFunnel(total);
  drawTrend(report.entities, r);
  drawBlocked(blocked.reasons || []);
}

/** `part` as a percentage of `base` with one decimal, as the report computes it; none for 0. */
function percent(part, base) {
  return base ? (Math.round((part / base) * 1000) / 10).toFixed(1) + '%' : '—';
}

/** Horizontal bars: [label, value, note], scaled to the largest value. */
function bars(target, items, cls) {
  const rowHeight = 34;
  const height = Math.max(40, items.length * rowHeight + 10);
  target.setAttribute('viewBox', `0 0 600 ${height}`);
  const max = Math.max(1, ...items.map(([, v]) => v));
  const nodes = [];
  items.forEach(([label, value, note], i) => {
    const y = 8 + i * rowHeight;
    const g = svg('g', { 'data-label': label, 'data-value': value });
    g.append(
      svg('text', { x: 0, y: y + 17, class: 'label' }, label),
      svg('rect', { x: 195, y, width: Math.max(1, (value / max) * 240), height: 24, class: 'bar ' + (cls || '') }),
      svg('text', { x: 445, y: y + 17, class: 'value' }, note ? `${value} (${note})` : value),
    );
    nodes.push(g);
  });
  if (!items.length) nodes.push(svg('text', { x: 0, y: 24, class: 'label' }, 'Nothing in this range.'));
  target.replaceChildren(...nodes);
}

function drawFunnel(t) {
  if (!t) { bars($('funnel'), []); return; }
  bars($('funnel'), [
    ['Qualified', t.qualified, ''],
    ['Offered', t.offered, percent(t.offered, t.qualified)],
    ['Accepted', t.accepted, percent(t.accepted, t.offered)],
    ['Engaged', t.engaged, percent(t.engaged, t.accepted)],
  ]);
}

function drawBlocked(reasons) {
  bars($('blocked'), reasons.map((r) => [r.reason, r.count, r.sessions + (r.sessions === 1 ? ' session' : ' sessions')]), 'blocked');
}

const SERIES = ['qualified', 'offered', 'accepted'];

/** One line per series over every bucket of the range (buckets without events count 0). */
function drawTrend(rows, r) {
  const buckets = [];
  for (let t = r.from; t < r.to; t += r.step) buckets.push(t);
  const at = new Map(rows.map((row) => [Date.parse(row.bucket), row]));
  const max = Math.max(1, ...rows.flatMap((row) => SERIES.map((s) => row[s] || 0)));
  const left = 40, top = 10, width = 460, height = 170;
  const x = (i) => left + (buckets.length > 1 ? (i / (buckets.length - 1)) * width : width / 2);
  const y = (v) => top + height - (v / max) * height;
  const nodes = [
    svg('line', { x1: left, y1: top + height, x2: left + width, y2: top + height, class: 'axis' }),
    svg('line', { x1: left, y1: top, x2: left, y2: top + height, class: 'axis' }),
    svg('text', { x: 0, y: top + 10, class: 'label' }, max),
    svg('text', { x: 0, y: top + height, class: 'label' }, 0),
  ];
  const label = (t) => r.granularity === 'hour'
    ? new Date(t).toISOString().slice(11, 16) : new Date(t).toISOString().slice(5, 10);
  nodes.push(svg('text', { x: left, y: top + height + 20, class: 'label' }, label(buckets[0])));
  nodes.push(svg('text', { x: left + width - 40, y: top + height + 20, class: 'label' }, label(buckets[buckets.length - 1])));
  for (const s of SERIES) {
    const value = (t) => (at.get(t) || {})[s] || 0;
    const points = buckets.map((t, i) => `${x(i)},${y(value(t))}`).join(' ');
    nodes.push(svg('polyline', { points, class: 'series-' + s, 'data-series': s }));
    // A dot per bucket with events, its count on hover.
    buckets.forEach((t, i) => {
      if (!value(t)) return;
      const dot = svg('circle', { cx: x(i), cy: y(value(t)), r: 3, class: 'series-' + s });
      dot.append(svg('title', {}, `${s} ${label(t)}: ${value(t)}`));
      nodes.push(dot);
    });
  }
  $('trend').replaceChildren(...nodes);
  $('trend-legend').replaceChildren(...SERIES.map((s) => el('span', '■ ' + s, 'series-' + s)));
}

async function refresh() {
  say('');
  try {
    await loadMaps();
    drawMaps();
    await loadReports();
  } catch (e) { say(e.message); }
}

// ---- live events ------------------------------------------------------------------------------

function stopFollowing() {
  if (state.live) state.live.abort();
  state.live = null;
  $('follow-button').textContent = 'Follow';
  $('live-state').textContent = '';
}

/** A one-line summary of a stream message: what happened, to which map, on which page. */
function summary(topic, data) {
  const map = state.maps.find((m) => m.id === data.actionMapId);
  const parts = [];
  if (map) parts.push(map.displayName);
  else if (data.actionMapId) parts.push('map ' + data.actionMapId);
  if (data.reason) parts.push(data.reason);
  if (data.eventName) parts.push(data.eventName);
  if (data.page && data.page.url) parts.push(data.page.url);
  if (data.customerId) parts.push('customer ' + data.customerId);
  return parts.join(' · ');
}

function showEvent(topic, text) {
  let data = {};
  try { data = JSON.parse(text); } catch { /* shown raw below */ }
  const li = document.createElement('li');
  li.dataset.topic = topic;
  const details = document.createElement('details');
  const head = document.createElement('summary');
  head.append(el('span', topic, 'topic'), el('span', summary(topic, data)));
  details.append(head, el('pre', JSON.stringify(data, null, 2) === '{}' ? text : JSON.stringify(data, null, 2)));
  li.append(details);
  const list = $('live');
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
}

/** Reads server-sent events from a fetch body: blank-line separated `id:`, `event:` and `data:`
 * lines; `onId(id)` for each block with an id (the stream's opening one has no data), then
 * `onEvent(topic, data)` for each with data. */
async function readEvents(body, onId, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id = null;
      let topic = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('event:')) topic = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (id !== null) onId(id);
      if (data.length) onEvent(topic, data.join('\n'));
    }
  }
}

/** How long to wait before following again after the stream broke. */
const RETRY_MS = 2000;

/**
 * Follows the stream until stopped. When the connection breaks (the server restarted, the network
 * dropped) it reconnects with `Last-Event-ID` (the stream's opening id until an event came), so
 * nothing committed meanwhile is missed; a
 * refusal (a bad topic, a token that is not accepted) stops it with the server's reason.
 */
async function follow(event) {
  event.preventDefault();
  if (state.live) { stopFollowing(); return; }
  $('live-error').textContent = '';
  const q = new URLSearchParams();
  for (const t of $('topics').value.split(/[\s,]+/).filter(Boolean)) q.append('topic', t);
  if (state.deployment) q.append('deployment', state.deployment);
  const controller = new AbortController();
  state.live = controller;
  $('follow-button').textContent = 'Stop';
  let lastId = null;
  while (state.live === controller) {
    try {
      const headers = { Authorization: 'Bearer ' + state.token, Accept: 'text/event-stream' };
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const r = await fetch('/api/v1/events/stream?' + q.toString(), { headers, signal: controller.signal });
      if (!r.ok) {
        const data = await r.json().catch(() => ({}));
        if (r.status < 500) { $('live-error').textContent = data.detail || r.statusText; break; }
        throw new Error(data.detail || r.statusText);
      }
      $('live-state').textContent = 'following';
      $('live-error').textContent = '';
      await readEvents(r.body, (id) => { lastId = id; }, showEvent);
    } catch (e) {
      if (e.name === 'AbortError') break;
    }
    if (state.live !== controller) break;
    $('live-state').textContent = 'reconnecting…';
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  if (state.live === controller) stopFollowing();
}

// ---- wiring -----------------------------------------------------------------------------------

$('sign-in').addEventListener('submit', (e) => signIn(e).catch((err) => { $('sign-in-error').textContent = err.message; }));
$('sign-out').addEventListener('click', () => signedOut());
$('refresh').addEventListener('click', refresh);
$('range').addEventListener('change', () => loadReports().catch((e) => say(e.message)));
$('deployment').addEventListener('change', () => { state.deployment = $('deployment').value; state.selected = null; refresh(); });
$('follow').addEventListener('submit', follow);
if (state.token) start(); else signedOut();

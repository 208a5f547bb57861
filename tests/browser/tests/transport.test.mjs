// What the SDK sends without page code asking each time, in headless Chromium against real beckon
// servers: the transport's slow-down on 429 Retry-After (seconds or a date), the bounded
// localStorage outbox across an outage and a page change (stale events dropped, requests in flight
// not kept), backoff after a 5xx, a full queue, an answer whose body breaks off, sendBeacon when
// the page is hidden or left, typed custom attributes, `forms:track`, and each `load` auto-track
// module, checked by the web events the server stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import {
  startBeckon, page, ready, until, freePort, DEPLOYMENT, environment,
} from '../harness.mjs';

let pages, beckon, browser;
environment((started) => {
  ({ pages, beckon, browser } = started);
  pages.pages.set('/blank', { html: '<!doctype html><title>blank</title><p>no SDK here</p>' });
});

const unique = () => Math.random().toString(36).slice(2);

/** A page with the SDK pointed at `server` (the shared beckon by default). */
async function open({ server = beckon.url, body = '', extra = '', context } = {}) {
  const path = '/t-' + unique();
  pages.pages.set(path, { html: page({ init: `'${DEPLOYMENT}', { server: '${server}' }`, body, extra }) });
  const p = await (context || await browser.newContext()).newPage();
  await p.goto(pages.origin + path);
  await ready(p);
  return p;
}

/** The web events `server` stored whose name starts with `prefix`, oldest first. */
async function webEvents(server, prefix) {
  return (await server.events())
    .map((e) => e.event)
    .filter((e) => e && typeof e.eventName === 'string' && e.eventName.startsWith(prefix));
}

/** The page's outbox in localStorage (`{ left, at, events }`, events per route), or null. */
const outboxRecord = (p) => p.evaluate(() => {
  const key = Object.keys(localStorage).find((k) => k.startsWith('beckon_outbox_'));
  return key ? JSON.parse(localStorage.getItem(key)) : null;
});
const outbox = async (p) => (await outboxRecord(p))?.events ?? null;
const outboxes = (p) => p.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('beckon_outbox_')).length);

// Notes each POST of web events with the page's clock: when it was made and when its answer came.
const notePosts = `const pageFetch = window.fetch; window.__posts = [];
window.fetch = function (url, init) {
  if (!String(url).endsWith('/web-events')) return pageFetch.apply(this, arguments);
  const post = { at: performance.now() }; __posts.push(post);
  return pageFetch.apply(this, arguments).then((r) => { post.status = r.status; post.answered = performance.now(); return r; });
};`;

test('transport: a 429 with Retry-After holds sending for as long as the server asks, then all arrives in order', async () => {
  const limited = await startBeckon(pages.origin, { extra: '[limits]\nrequests_per_second = 1\nburst = 1' });
  try {
    const p = await open({ server: limited.url, extra: notePosts });
    const tag = 'slow_' + unique();
    // The second batch goes out right after the first is answered, while the bucket is empty
    // for a second: it is refused with Retry-After: 1.
    await p.evaluate((t) => { ac('record', t + '_1'); setTimeout(() => { ac('record', t + '_2'); ac('record', t + '_3'); }, 100); }, tag);
    await until(async () => (await webEvents(limited, tag)).length === 3, { timeout: 15000 });
    assert.deepEqual((await webEvents(limited, tag)).map((e) => e.eventName), [tag + '_1', tag + '_2', tag + '_3']);

    // The server stores the third event before the page has read the answer: wait for that too.
    await until(() => p.evaluate(() => __posts.filter((x) => x.status).length >= 3), { timeout: 5000 });
    const posts = await p.evaluate(() => window.__posts);
    const shown = JSON.stringify(posts);
    assert.deepEqual(posts.map((x) => x.status), [200, 429, 200], 'one refusal, no hammering: ' + shown);
    const waited = posts[2].at - posts[1].answered;
    assert.ok(waited >= 950, `the next request waited out Retry-After: 1 (${waited.toFixed(0)} ms): ${shown}`);
    const warnings = await p.evaluate(() => __console.filter((m) => m.startsWith('warn: ')));
    assert.deepEqual(warnings, ['warn: Beckon: the server asks to slow down; sending again in 1 s']);
  } finally {
    await limited.stop();
  }
});

for (const [when, offset, least, said] of [['that date', 3000, 1900, '[23]'], ['a second when the date is past', -60000, 900, '1']]) test(`transport: a 429 with Retry-After as an HTTP date holds sending until ${when}`, async () => {
  const p = await open({ extra: notePosts });
  const tag = 'dated_' + unique();
  let refused = 0;
  await p.route('**/web-events', async (route) => {
    if (refused++ > 0) return route.continue();
    // Three seconds on: the date has whole seconds, so from 2 to 3 s from now. Or a minute ago
    // (a skewed clock): still a pause, not a request straight back.
    await route.fulfill({ status: 429, body: '{}', headers: {
      'retry-after': new Date(Date.now() + offset).toUTCString(),
      'access-control-allow-origin': pages.origin, 'access-control-expose-headers': 'retry-after',
    } });
  });
  await p.evaluate((t) => ac('record', t), tag);
  await until(async () => (await webEvents(beckon, tag)).length === 1, { timeout: 10000 });
  await until(() => p.evaluate(() => __posts.filter((x) => x.status).length >= 2));
  const posts = await p.evaluate(() => window.__posts);
  assert.deepEqual(posts.map((x) => x.status), [429, 200], JSON.stringify(posts));
  const waited = posts[1].at - posts[0].answered;
  assert.ok(waited >= least, `the next request waited (${waited.toFixed(0)} ms)`);
  const warnings = await p.evaluate(() => __console.filter((m) => m.startsWith('warn: ')));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], new RegExp(`^warn: Beckon: the server asks to slow down; sending again in ${said} s$`));
});

test('transport: while the server is down, localStorage keeps the newest 100 events through a page change; the next page sends them', async () => {
  const port = await freePort();
  const context = await browser.newContext();
  const p = await open({ server: `http://127.0.0.1:${port}`, context });
  await p.evaluate(() => { for (let i = 1; i <= 130; i++) ac('record', 'down_' + i); });
  const names = (stored) => stored[0].map((text) => JSON.parse(text).eventName);
  const expected = Array.from({ length: 100 }, (_, i) => 'down_' + (i + 31));
  await until(async () => { const s = await outbox(p); return s && s[0].length === 100; });
  assert.deepEqual(names(await outbox(p)), expected, 'the oldest 30 were dropped');

  // Leaving while the server cannot be reached loses nothing to a beacon nobody receives: the
  // outbox is handed over to the next page.
  await p.goto(pages.origin + '/blank');
  assert.deepEqual(names(await outbox(p)), expected);
  assert.equal((await outboxRecord(p)).left, true);

  const later = await startBeckon(pages.origin, { port });
  try {
    const q = await open({ server: `http://127.0.0.1:${port}`, context });
    await until(async () => (await webEvents(later, 'down_')).length === 100, { timeout: 20000 });
    assert.deepEqual((await webEvents(later, 'down_')).map((e) => e.eventName), expected);
    await until(async () => (await outbox(q)) === null);
  } finally {
    await later.stop();
    await context.close();
  }
});

test('transport: an outbox handed over when the page was left is sent once, by the page that took it, not again by the page back from the back/forward cache', async () => {
  const port = await freePort();
  const context = await browser.newContext();
  const tag = 'handed_' + unique();
  const server = `http://127.0.0.1:${port}`;
  const a = await open({ server, context });
  await a.evaluate((t) => { for (let i = 1; i <= 3; i++) ac('record', t + '_' + i); }, tag);
  await until(async () => (await outbox(a))?.[0].length === 3);
  // Left for the back/forward cache (Playwright's Chromium never keeps a page there, so the
  // event is dispatched as the browser does then); the next page, a second tab here, takes it.
  await a.evaluate(() => dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
  assert.equal((await outboxRecord(a)).left, true);
  const b = await open({ server, context });
  await until(async () => (await outboxes(b)) === 1 && (await outboxRecord(b)).left === false);
  const later = await startBeckon(pages.origin, { port });
  try {
    await until(async () => (await webEvents(later, tag)).length === 3, { timeout: 20000 });
    await a.evaluate(() => dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
    await a.evaluate((t) => ac('record', t + '_4'), tag);
    await until(async () => (await webEvents(later, tag)).length >= 4, { timeout: 20000 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual((await webEvents(later, tag)).map((e) => e.eventName), [1, 2, 3, 4].map((i) => `${tag}_${i}`));
  } finally {
    await later.stop();
    await context.close();
  }
});

test('transport: two tabs during an outage keep an outbox each; one still open is not taken; each event arrives once', async () => {
  const port = await freePort();
  const context = await browser.newContext();
  const tag = 'tabs_' + unique();
  const server = `http://127.0.0.1:${port}`;
  const a = await open({ server, context });
  await a.evaluate((t) => ac('record', t + '_a'), tag);
  await until(async () => (await outboxes(a)) === 1);
  const b = await open({ server, context });
  await b.evaluate((t) => ac('record', t + '_b'), tag);
  await until(async () => (await outboxes(a)) === 2);
  await b.close({ runBeforeUnload: true });
  const later = await startBeckon(pages.origin, { port });
  try {
    // The open tab sends its own; the next page takes the closed tab's.
    await until(async () => (await webEvents(later, tag)).length === 1, { timeout: 20000 });
    await open({ server, context });
    await until(async () => (await webEvents(later, tag)).length >= 2, { timeout: 20000 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual((await webEvents(later, tag)).map((e) => e.eventName).sort(), [`${tag}_a`, `${tag}_b`]);
    await until(async () => (await outboxes(a)) === 0);
  } finally {
    await later.stop();
    await context.close();
  }
});

test('transport: events an earlier page kept that the server would refuse as too old are dropped; the rest and the new page view go through', async () => {
  const context = await browser.newContext();
  const tag = 'kept_' + unique();
  const p = await context.newPage();
  await p.goto(pages.origin + '/blank');
  // What an earlier page kept, in an earlier version's outbox (per route, the events' JSON texts,
  // under one key): one event from two hours ago, which alone would have the server refuse the whole batch, and one from ten minutes ago.
  await p.evaluate(({ key, tag }) => {
    const event = (name, minutes) => JSON.stringify({
      customerCookieId: crypto.randomUUID(), sessionId: crypto.randomUUID(), eventName: name,
      page: { url: location.origin + '/earlier', title: 'Earlier' },
      createdDate: new Date(Date.now() - minutes * 60000).toISOString(),
    });
    localStorage.setItem(key, JSON.stringify([[event(tag + '_stale', 120), event(tag + '_fresh', 10)], []]));
  }, { key: 'beckon_outbox_' + DEPLOYMENT, tag });
  // The new page's view and event are queued before the SDK is ready: the same batch as what was kept.
  const path = '/kept-' + unique();
  pages.pages.set(path, { html: page({ init: `'${DEPLOYMENT}', { server: '${beckon.url}' }`, extra: `ac('pageview'); ac('record', '${tag}_new');` }) });
  await p.goto(pages.origin + path);
  await ready(p);
  await until(async () => (await webEvents(beckon, tag)).length === 2);
  assert.deepEqual((await webEvents(beckon, tag)).map((e) => e.eventName), [tag + '_fresh', tag + '_new']);
  assert.ok((await webEvents(beckon, 'page_viewed')).some((e) => e.page.url.endsWith(path)), 'the page view reached the server');
  await until(async () => (await outbox(p)) === null);
  const warnings = await p.evaluate(() => __console.filter((m) => m.startsWith('warn: ')));
  assert.deepEqual(warnings, ['warn: Beckon: events an earlier page kept were too old for the server; dropped']);
  await context.close();
});

/**
 * A proxy to beckon for the requests whose body has `held` in it: holds each until `release()` (a
 * request the page has in flight for as long as the test wants), or with `cut`, answers the first
 * with beckon's status and headers and half its body, then breaks the connection.
 */
async function holdingProxy(held, { cut = false } = {}) {
  let release;
  const released = new Promise((r) => { release = r; });
  let holding = 0;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const matched = body.includes(held);
    const cutting = matched && cut && holding === 0;
    if (matched && !cut) { holding++; await released; }
    const headers = Object.fromEntries(Object.entries(req.headers)
      .filter(([k]) => !['host', 'connection', 'content-length'].includes(k)));
    const r = await fetch(beckon.url + req.url, { method: req.method, headers, body: body.length ? body : undefined });
    const answer = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, Object.fromEntries([...r.headers]
      .filter(([k]) => !['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k))
      .concat(cutting ? [['content-length', String(answer.length)]] : [])));
    if (cutting) {
      holding++;
      res.write(answer.subarray(0, answer.length >> 1), () => setTimeout(() => res.socket.destroy(), 50));
      return;
    }
    res.end(answer);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`, release,
    holding: () => holding,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

test('transport: a request in flight when the page is left is not kept for the next page: its events are stored once', async () => {
  const tag = 'flight_' + unique();
  const proxy = await holdingProxy(`"${tag}_1"`);
  const context = await browser.newContext();
  try {
    const p = await open({ server: proxy.url, context });
    await p.evaluate((t) => ac('record', t + '_1'), tag);
    await until(() => proxy.holding() === 1);
    // Queued behind the request in flight: it goes with a beacon when the page is left.
    await p.evaluate((t) => ac('record', t + '_2'), tag);
    await p.goto(pages.origin + '/blank');
    assert.equal(await outbox(p), null, 'nothing kept for the next page: the keepalive request finishes on its own');
    proxy.release();
    await until(async () => (await webEvents(beckon, tag)).length === 2);
    // The next page of the site sends whatever was kept: nothing.
    const q = await open({ server: proxy.url, context });
    await q.evaluate((t) => ac('record', t + '_3'), tag);
    await until(async () => (await webEvents(beckon, tag)).length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual((await webEvents(beckon, tag)).map((e) => e.eventName).sort(), [1, 2, 3].map((i) => `${tag}_${i}`));
  } finally {
    await context.close();
    await proxy.close();
  }
});

test('transport: a 5xx without Retry-After is retried with growing backoff; the events arrive once, in order', async () => {
  const p = await open({ extra: notePosts });
  const tag = 'retry_' + unique();
  let refused = 0;
  await p.route('**/web-events', async (route) => {
    if (refused++ >= 2) return route.continue();
    await route.fulfill({ status: 503, body: '{"title":"Service Unavailable"}',
      headers: { 'content-type': 'application/problem+json', 'access-control-allow-origin': pages.origin } });
  });
  await p.evaluate((t) => ac('record', t + '_1'), tag);
  // Recorded while the first is waiting to be sent again: queued behind it.
  await until(() => p.evaluate(() => __posts.some((x) => x.status === 503)));
  await p.evaluate((t) => ac('record', t + '_2'), tag);
  await until(async () => (await webEvents(beckon, tag)).length === 2, { timeout: 10000 });
  await until(() => p.evaluate(() => __posts.filter((x) => x.status).length >= 3));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual((await webEvents(beckon, tag)).map((e) => e.eventName), [tag + '_1', tag + '_2']);
  const posts = await p.evaluate(() => window.__posts);
  const shown = JSON.stringify(posts);
  assert.deepEqual(posts.map((x) => x.status), [503, 503, 200], shown);
  // Backoff: 1 s then 2 s, each times a jitter between 0.5 and 1. The lower bounds hold the
  // growth; the upper ones only catch a runaway wait (timers run late on a busy machine).
  const first = posts[1].at - posts[0].answered, second = posts[2].at - posts[1].answered;
  assert.ok(first >= 450 && first <= 6000, `first wait ${first.toFixed(0)} ms: ${shown}`);
  assert.ok(second >= 950 && second <= 8000, `second wait ${second.toFixed(0)} ms: ${shown}`);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
});

test('transport: a full queue drops the events already on their way first: when that request succeeds, nothing is lost', async () => {
  const own = await startBeckon(pages.origin);
  try {
    const p = await open({ server: own.url });
    const tag = 'full_' + unique();
    let release;
    const released = new Promise((r) => { release = r; });
    let posts = 0;
    await p.route('**/web-events', async (route) => {
      if (posts++ === 0) await released;
      await route.continue();
    });
    // One batch of 50 in flight, held; then 460 more: 10 over the 500 a route keeps in memory.
    await p.evaluate((t) => { for (let i = 0; i < 50; i++) ac('record', `${t}_${i}`); }, tag);
    await until(() => posts === 1);
    await p.evaluate((t) => { for (let i = 50; i < 510; i++) ac('record', `${t}_${i}`); }, tag);
    release();
    await until(async () => (await webEvents(own, tag)).some((e) => e.eventName === `${tag}_509`), { timeout: 20000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual((await webEvents(own, tag)).map((e) => e.eventName),
      Array.from({ length: 510 }, (_, i) => `${tag}_${i}`));
    const warnings = await p.evaluate(() => __console);
    assert.equal(warnings.length, 10, warnings.join('\n'));
    assert.ok(warnings.every((w) => w === 'warn: Beckon: the event queue is full; the oldest event was dropped'), warnings[0]);
  } finally {
    await own.stop();
  }
});

test('transport: an answer whose body breaks off is taken by its status; the route goes on sending', async () => {
  const tag = 'cut_' + unique();
  const proxy = await holdingProxy(`"${tag}_1"`, { cut: true });
  try {
    const p = await open({ server: proxy.url, extra: "addEventListener('unhandledrejection', (e) => __errors.push('unhandled: ' + e.reason));" });
    await p.evaluate((t) => ac('record', t + '_1'), tag);
    await until(() => proxy.holding() === 1);
    await new Promise((r) => setTimeout(r, 200));
    await p.evaluate((t) => ac('record', t + '_2'), tag);
    await until(async () => (await webEvents(beckon, tag)).length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    // The server had the first event: a 200 whose body was lost is not sent again.
    assert.deepEqual((await webEvents(beckon, tag)).map((e) => e.eventName), [tag + '_1', tag + '_2']);
    assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
  } finally {
    await proxy.close();
  }
});

test('transport: a page address or title longer than the server takes is cut to 4096 bytes, never mid-character; its events arrive', async () => {
  const path = '/long-' + unique();
  pages.pages.set(path, { html: page({ init: `'${DEPLOYMENT}', { server: '${beckon.url}' }` }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  // A fragment is the page's server's to ignore: the address is long only in the browser.
  await p.goto(pages.origin + path + '#' + 'x'.repeat(5000));
  await ready(p);
  const tag = 'long_' + unique();
  await p.evaluate((t) => {
    // Two-byte characters after one byte: a cut at 4096 bytes would split one.
    document.title = 'x' + 'ü'.repeat(3000);
    ac('pageview');
    ac('record', t);
  }, tag);
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  const [recorded] = await webEvents(beckon, tag);
  const viewed = (await webEvents(beckon, 'page_viewed')).find((e) => e.page.url.startsWith(pages.origin + path));
  const href = await p.evaluate(() => location.href);
  for (const e of [recorded, viewed]) {
    assert.equal(Buffer.byteLength(e.page.url), 4096);
    assert.ok(href.startsWith(e.page.url), 'the address is cut, not changed');
  }
  assert.equal(viewed.page.title, 'x' + 'ü'.repeat(2047), 'the title is cut before the character that would not fit');
  await context.close();
});

test('transport: a batch the server refuses for one event loses only that event; the rest go again and arrive once', async () => {
  const p = await open();
  const errors = [];
  p.on('console', (m) => { if (m.type() === 'error' && m.text().startsWith('Beckon:')) errors.push(m.text()); });
  const tag = 'blamed_' + unique();
  let first = true;
  await p.route('**/web-events', (route) => {
    const batch = JSON.parse(route.request().postData());
    if (!first || batch.length < 3) return route.continue();
    first = false;
    // The second event made into one the server refuses.
    batch[1].eventName = 'not a name!';
    return route.continue({ postData: JSON.stringify(batch) });
  });
  await p.evaluate((t) => { ac('record', t + '_a'); ac('record', t + '_b'); ac('record', t + '_c'); }, tag);
  await until(async () => (await webEvents(beckon, tag)).length === 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual((await webEvents(beckon, tag)).map((e) => e.eventName), [tag + '_a', tag + '_c']);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /refused 1 web-events \(422\).*\[1\]\.eventName/);
  await p.context().close();
});

test('transport: typed custom attributes are sent as the text the server reads; a value not of its dataType is refused with a console.error', async () => {
  const p = await open();
  const tag = 'typed_' + unique();
  // A page view in the same batch: a refused batch would have taken it too. (Named by its title:
  // one with a location of its own goes in a request of its own, answered there too.)
  await p.evaluate((t) => {
    ac('pageview', { title: t });
    ac('record', t, {
      count: { dataType: 'integer', value: 5 }, big: { dataType: 'integer', value: '-9223372036854775808' },
      price: { dataType: 'number', value: 12.5 }, rate: { dataType: 'number', value: '1e-3' },
      member: { dataType: 'boolean', value: true }, trial: { dataType: 'boolean', value: 'false' },
      plan: { dataType: 'string', value: 'pro' }, code: { dataType: 'string', value: 7 }, plain: 3,
    });
  }, tag);
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  assert.deepEqual((await webEvents(beckon, tag))[0].attributes, {
    count: { dataType: 'integer', value: '5' }, big: { dataType: 'integer', value: '-9223372036854775808' },
    price: { dataType: 'number', value: '12.5' }, rate: { dataType: 'number', value: '1e-3' },
    member: { dataType: 'boolean', value: 'true' }, trial: { dataType: 'boolean', value: 'false' },
    plan: { dataType: 'string', value: 'pro' }, code: { dataType: 'string', value: '7' },
    plain: { dataType: 'integer', value: '3' },
  });
  assert.ok((await webEvents(beckon, 'page_viewed')).some((e) => e.page.title === tag));

  // Whatever the SDK sends, the server takes; whatever it refuses, the server would refuse.
  const vectors = [
    ...[5, -7, 5.5, 1e21, 2 ** 53, '5', '+5', '-5', '007', '5.0', '1e3', ' 5', '', '-+5', '--5',
      '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
      '00009223372036854775807', true].map((v) => ['integer', v]),
    ...[12.5, 0, -0, 1e-7, 1e300, '1e-3', '.5', '5.', '+1.5', '1E5', '5.e3', 'abc', ' 1', '1 ', '0x10',
      'Infinity', 'inf', 'NaN', '1e999', '1e', '.', '', '1_000', '1.2.3', false].map((v) => ['number', v]),
    ...[true, false, 'true', 'false', 'True', 1, 'yes'].map((v) => ['boolean', v]),
    ...['pro', 7, true, ''].map((v) => ['string', v]),
  ];
  const event = (name, attributes) => ({
    customerCookieId: crypto.randomUUID(), sessionId: crypto.randomUUID(), eventName: name,
    page: { url: pages.origin + '/parity', title: 'Parity' }, createdDate: new Date().toISOString(), attributes,
  });
  const expected = [];
  for (const [i, [dataType, value]] of vectors.entries()) {
    const shown = JSON.stringify([dataType, value]);
    const direct = await fetch(`${beckon.url}/api/v1/deployments/${DEPLOYMENT}/web-events`, {
      method: 'POST', headers: { origin: pages.origin, 'content-type': 'text/plain' },
      body: JSON.stringify(event(`${tag}_direct`, { a: { dataType, value: String(value) } })),
    });
    assert.ok([200, 422].includes(direct.status), shown + ' ' + direct.status);
    const before = await p.evaluate(() => __console.length);
    const thrown = await p.evaluate(({ name, a }) => {
      try { ac('record', name, { a }); return false; } catch { return true; }
    }, { name: `${tag}_${i}`, a: { dataType, value } });
    assert.equal(thrown, false);
    const logged = await p.evaluate((n) => __console.slice(n), before);
    assert.equal(logged.length, direct.status === 200 ? 0 : 1, `${shown}: the SDK and the server agree: ${logged}`);
    if (direct.status === 200) {
      expected.push([`${tag}_${i}`, { a: { dataType, value: String(value) } }]);
    } else {
      assert.ok(logged[0].startsWith(`error: Beckon: ac('record'): customAttributes.a.value must be of dataType '${dataType}', got `), logged[0]);
    }
  }
  assert.ok(expected.length > 20 && expected.length < vectors.length - 20, 'both kinds tested');
  await p.evaluate((t) => ac('record', t + '_after'), tag);
  const sent = async () => (await webEvents(beckon, tag + '_')).filter((e) => e.eventName !== `${tag}_direct`);
  await until(async () => (await sent()).some((e) => e.eventName === tag + '_after'));
  assert.deepEqual((await sent()).map((e) => [e.eventName, e.attributes]),
    [...expected, [tag + '_after', undefined]], 'what the SDK took reached the server; what it refused sent nothing');
});

// Counts the page's beacons in sessionStorage (it outlives the page); the real sendBeacon still
// sends them.
const countBeacons = `const send = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, data) => { sessionStorage.beacons = +(sessionStorage.beacons || 0) + 1; return send(url, data); };`;
const beacons = (p) => p.evaluate(() => +(sessionStorage.beacons || 0));

test('transport: events made as the page is left or its tab closed go out with sendBeacon', async () => {
  // Typed in and left: the abandoned-form event is made during pagehide, so only a beacon can
  // carry it. (Headless Chromium cannot make a page hidden without leaving it, so the
  // visibilitychange path, which runs the same flush, is not driven here.)
  const tag = 'left_' + unique();
  const p = await open({ body: '<form id="f" onsubmit="return false"><input name="q"></form>', extra: countBeacons });
  await p.evaluate((t) => ac('forms:track', '#f', { formName: t }), tag);
  await p.fill('#f input', 'hello');
  await p.goto(pages.origin + '/blank');
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  assert.equal((await webEvents(beckon, tag))[0].eventName, tag + '_abandoned');
  assert.equal(await beacons(p), 1);

  // The tab is closed: the same, from the pagehide of a closing tab.
  const closed = 'closed_' + unique();
  const q = await open({ body: '<form id="f" onsubmit="return false"><input name="q"></form>' });
  await q.evaluate((t) => ac('forms:track', '#f', { formName: t }), closed);
  await q.fill('#f input', 'bye');
  await q.close({ runBeforeUnload: true });
  await until(async () => (await webEvents(beckon, closed)).length === 1);
  assert.equal((await webEvents(beckon, closed))[0].eventName, closed + '_abandoned');
});

test('forms:track and record: what a page sends stays within the server\'s event size; a form\'s capture is cut to fit, a record too large is a wrong call', async () => {
  const tag = 'big_' + unique();
  const fields = Array.from({ length: 10 }, (_, i) => `<textarea name="f${i}"></textarea>`).join('');
  const p = await open({ body: `<form id="big" onsubmit="return false">${fields}<button>Send</button></form>` });
  const errors = [];
  p.on('console', (m) => { if (m.type() === 'error' && m.text().startsWith('Beckon:')) errors.push(m.text()); });
  await p.evaluate((t) => ac('forms:track', '#big', { formName: t, captureFormDataOnSubmit: true }), tag);
  for (let i = 0; i < 10; i++) await p.fill(`#big [name=f${i}]`, String(i).repeat(4000));
  await p.click('#big button');
  // A record whose attributes are each within bounds but together over 32 KiB as JSON.
  await p.evaluate((t) => {
    const attributes = {};
    for (let i = 0; i < 9; i++) attributes['a' + i] = 'x'.repeat(4000);
    ac('record', t + '_record', attributes);
    ac('record', t + '_after');
  }, tag);
  await until(async () => (await webEvents(beckon, tag)).length === 2);
  const [submitted, after] = await webEvents(beckon, tag);
  assert.equal(submitted.eventName, tag + '_submitted');
  assert.equal(after.eventName, tag + '_after', 'the record too large was not sent');
  const values = Object.values(submitted.attributes).map((a) => a.value);
  // Eight whole fields (each 4008 bytes as JSON: name, value, quotes, colon and comma), the
  // ninth cut to what is left of 32 KiB, the tenth left out.
  assert.deepEqual(values.slice(0, 8), Array.from({ length: 8 }, (_, i) => String(i).repeat(4000)));
  assert.equal(values.length, 9);
  assert.equal(values[8], '8'.repeat(32768 - 8 * 4008 - 8));
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /customAttributes are \d+ bytes as JSON; at most 32768/);
  await p.context().close();
});

test('forms:track: submitted and abandoned events, captured fields without passwords or hidden fields', async () => {
  const tag = 'signup_' + unique();
  const form = `<form id="signup" onsubmit="return false">
<input name="email"><input name="password" type="password"><input name="token" type="hidden" value="secret">
<input name="news" type="checkbox" value="yes"><input name="spam" type="checkbox" value="no">
<select name="plan"><option>basic</option><option>pro</option></select><textarea name="message"></textarea><button>Sign up</button></form>
<form id="other" onsubmit="return false"><input name="x"><button>Other</button></form>`;
  const p = await open({ body: form });
  await p.evaluate((t) => ac('forms:track', '#signup', { formName: t, captureFormDataOnSubmit: true, captureFormDataOnAbandon: true }), tag);
  await p.fill('#signup [name=email]', 'ada@example.test');
  await p.fill('#signup [name=password]', 'hunter2');
  await p.check('#signup [name=news]');
  await p.selectOption('#signup [name=plan]', 'pro');
  // Over what the server takes of a value (4096 bytes; é is 2): cut, not refused with the batch.
  await p.fill('#signup [name=message]', 'é'.repeat(2100));
  await p.fill('#other [name=x]', 'not tracked');
  await p.click('#other button');
  await p.click('#signup button');
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  const [submitted] = await webEvents(beckon, tag);
  assert.equal(submitted.eventName, tag + '_submitted');
  const values = (e) => Object.fromEntries(Object.entries(e.attributes || {}).map(([k, v]) => [k, v.value]));
  const message = 'é'.repeat(2048);
  assert.deepEqual(values(submitted), { email: 'ada@example.test', news: 'yes', plan: 'pro', message });

  // Typed in again and left without submitting.
  await p.fill('#signup [name=email]', 'grace@example.test');
  await p.goto(pages.origin + '/blank');
  await until(async () => (await webEvents(beckon, tag)).length === 2);
  const abandoned = (await webEvents(beckon, tag))[1];
  assert.equal(abandoned.eventName, tag + '_abandoned');
  assert.deepEqual(values(abandoned), { email: 'grace@example.test', news: 'yes', plan: 'pro', message });
});

test('load autotrackClick: a click on (or inside) a matching element records its event; loadedCallback runs', async () => {
  const tag = 'click_' + unique();
  const p = await open({ body: '<button class="buy"><span id="inner">Buy</span></button><button id="other">Other</button>' });
  const loaded = await p.evaluate((t) => new Promise((resolve) => ac('load', 'autotrackClick',
    { clickEvents: [{ selector: '.buy', eventName: t, customAttributes: { sku: 'A1' } }] }, () => resolve(true))), tag);
  assert.equal(loaded, true);
  await p.click('#other');
  await p.click('#inner');
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  await p.click('#other');
  await p.click('.buy');
  await until(async () => (await webEvents(beckon, tag)).length === 2);
  const [first] = await webEvents(beckon, tag);
  assert.deepEqual(first.attributes, { sku: { dataType: 'string', value: 'A1' } });
});

test('load autotrackIdle: one event per idle stretch', async () => {
  const tag = 'idle_' + unique();
  const p = await open();
  await p.evaluate((t) => ac('load', 'autotrackIdle', { idleEvents: [{ idleAfter: 1, eventName: t }] }), tag);
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await webEvents(beckon, tag)).length, 1, 'still idle: no second event');
  await p.mouse.move(10, 10);
  await p.mouse.move(20, 20);
  await until(async () => (await webEvents(beckon, tag)).length === 2);
});

test('load autotrackInViewport: an element scrolled into view records its event once', async () => {
  const tag = 'seen_' + unique();
  const p = await open({ body: '<div style="height:3000px">top</div><div id="promo">Promo</div><div style="height:3000px"></div>' });
  await p.evaluate((t) => ac('load', 'autotrackInViewport', { inViewportEvents: [{ selector: '#promo', eventName: t }] }), tag);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await webEvents(beckon, tag)).length, 0, 'not visible yet');
  await p.locator('#promo').scrollIntoViewIfNeeded();
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  await p.evaluate(() => window.scrollTo(0, 0));
  await p.locator('#promo').scrollIntoViewIfNeeded();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await webEvents(beckon, tag)).length, 1);
});

test('load autotrackScrollDepth: each depth records its event the first time the page is scrolled that far', async () => {
  const tag = 'depth_' + unique();
  const p = await open({ body: '<div style="height:5000px">long</div>' });
  await p.evaluate((t) => ac('load', 'autotrackScrollDepth', { scrollDepthEvents: [
    { percentage: 50, eventName: t + '_50' }, { percentage: 100, eventName: t + '_100' }] }), tag);
  await p.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight * 0.6 - innerHeight));
  await until(async () => (await webEvents(beckon, tag)).length === 1);
  await p.evaluate(() => window.scrollTo(0, 0));
  await p.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await until(async () => (await webEvents(beckon, tag)).length === 2);
  assert.deepEqual((await webEvents(beckon, tag)).map((e) => e.eventName), [tag + '_50', tag + '_100']);
});

test('load autotrackUrlChange twice: the second replaces the first; after destroy the page has its own history API back', async () => {
  const p = await open();
  const path = '/twice-' + unique();
  const views = async () => (await webEvents(beckon, 'page_viewed')).filter((e) => e.page.url.includes(path));
  await p.evaluate(() => { window.original = history.pushState; ac('load', 'autotrackUrlChange'); ac('load', 'autotrackUrlChange'); });
  await p.evaluate((to) => history.pushState({}, '', to), path);
  await until(async () => (await views()).length === 1);
  await p.evaluate((to) => history.pushState({}, '', to + '/next'), path);
  await until(async () => (await views()).length === 2);
  await p.evaluate(() => ac('destroy'));
  assert.equal(await p.evaluate(() => history.pushState === window.original), true);
  await p.evaluate((to) => history.pushState({}, '', to + '/after'), path);
  await p.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  assert.equal((await views()).length, 2);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
});

test('load autotrackUrlChange: an onUrlChange that moves the page again is told of both moves; destroy keeps a wrapper another script added; nothing reaches the page', async () => {
  const p = await open();
  const path = '/nested-' + unique();
  await p.evaluate((to) => {
    window.changes = [];
    ac('load', 'autotrackUrlChange', { onUrlChange: (url) => { changes.push(url); if (url.endsWith('/a')) { history.pushState({}, '', to + '/b'); } } });
  }, path);
  await p.evaluate((to) => history.pushState({}, '', to + '/a'), path);
  await until(() => p.evaluate(() => window.changes.length === 2));
  const changes = await p.evaluate(() => window.changes);
  assert.ok(changes[0].endsWith(path + '/a') && changes[1].endsWith(path + '/b'), JSON.stringify(changes));
  // Another script wraps pushState after the SDK did; destroy leaves that wrapper in place.
  await p.evaluate(() => {
    window.theirs = 0;
    const inner = history.pushState;
    history.pushState = function (...args) { window.theirs += 1; return inner.apply(this, args); };
    window.their = history.pushState;
  });
  await p.evaluate(() => ac('destroy'));
  assert.equal(await p.evaluate(() => history.pushState === window.their), true);
  await p.evaluate((to) => history.pushState({}, '', to + '/after'), path);
  assert.equal(await p.evaluate(() => window.theirs), 1);
  assert.equal(await p.evaluate(() => window.changes.length), 2);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
});

test('load autotrackUrlChange: a pageview per route change (not per anchor), or the onUrlChange callback instead', async () => {
  const p = await open();
  const path = '/spa-' + unique();
  const views = async () => (await webEvents(beckon, 'page_viewed')).filter((e) => e.page.url.includes(path)).map((e) => e.page.url.slice(e.page.url.indexOf(path)));
  await p.evaluate(() => ac('load', 'autotrackUrlChange'));
  await p.evaluate((to) => history.pushState({}, '', to), path);
  await until(async () => (await views()).length === 1);
  // A hash router's route is a page view; a jump to an anchor (of the page or of a hash route)
  // is not. Going back fires both popstate and hashchange: one page view at most.
  const back = () => p.evaluate(() => new Promise((r) => { addEventListener('hashchange', r, { once: true }); history.back(); }));
  await p.evaluate(() => { location.hash = 'top'; });
  await p.evaluate(() => { location.hash = '/more'; });
  await until(async () => (await views()).length === 2);
  await p.evaluate(() => { location.hash = '/more#details'; });
  await back();
  await back();
  await until(async () => (await views()).length === 3);
  await back();
  await p.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  assert.deepEqual(await views(), [path, path + '#/more', path + '#top']);

  const q = await open();
  const other = '/spa-' + unique();
  await q.evaluate(() => { window.changes = []; ac('load', 'autotrackUrlChange', { onUrlChange: (url) => changes.push(url) }); });
  await q.evaluate((to) => history.replaceState({}, '', to), other);
  await until(() => q.evaluate(() => window.changes.length === 1));
  assert.ok((await q.evaluate(() => window.changes[0])).endsWith(other));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!(await webEvents(beckon, 'page_viewed')).some((e) => e.page.url.endsWith(other)), 'the callback replaces the pageview');
});

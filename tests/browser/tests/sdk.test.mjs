// The SDK in headless Chromium against a real beckon server: snippet and queue, argument checks,
// the shared dispatch vectors, both lifecycles driven by clicks, keys, navigation and timeouts,
// bridges, identity, transport and CSP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startBeckon, page, ready, until, contentOffer, invitation, root, freePort,
  DEPLOYMENT, environment,
} from '../harness.mjs';

let pages, beckon, browser;
environment((started) => {
  ({ pages, beckon, browser } = started);
  pages.pages.set('/img.svg', { type: 'image/svg+xml', raw: '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="teal"/></svg>' });
});

const server = () => `{ server: '${beckon.url}' }`;

async function open(html, path = '/p' + Math.random().toString(36).slice(2)) {
  pages.pages.set(path, { html });
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + path);
  return p;
}

async function actionEvents(actionId) {
  const all = await beckon.events();
  return all.filter((e) => e.event && e.event.actionId === actionId).map((e) => e.event.actionState);
}

/** Shows an action through the test hook after the server has seen it qualified. */
async function present(p, a) {
  const { id, customerCookieId } = await p.evaluate(() => new Promise((r) => ac('api.session.getData', (e, d) => r(d))));
  await beckon.qualify(a, customerCookieId, id);
  await p.evaluate((json) => ac.__test.present(json), JSON.stringify(a));
}

const host = (p, a) => p.locator(`[data-beckon-action="${a.actionId}"]`);

test('snippet: calls queued before load run in order, later calls run directly, renamed global', async () => {
  const p = await open(page({
    name: 'bk', init: `'${DEPLOYMENT}', ${server()}`,
    extra: `window.log = []; bk('on', 'contentoffer:all', (e) => log.push('h1')); bk('api.session.getId', (err, d) => log.push(err ? 'err' : 'id ' + d.id.length));`,
  }));
  await ready(p, 'bk');
  const log = await p.evaluate(() => window.log);
  assert.deepEqual(log, ['id 36']);
  assert.equal(await p.evaluate(() => typeof window.ac), 'undefined');
  const data = await p.evaluate(() => new Promise((r) => bk('api.session.getData', (e, d) => r(d))));
  assert.match(data.id, /^[0-9a-f-]{36}$/);
  assert.ok(Number.isInteger(data.shortId));
  assert.match(data.customerCookieId, /^[0-9a-f-]{36}$/);
});

test('wrong calls log a clear console.error and never throw', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const thrown = await p.evaluate(() => {
    const calls = [
      () => ac('nope'), () => ac(42), () => ac('on', 'webchat', () => {}), () => ac('on', 'webchat:offered', 'x'),
      () => ac('record', 'bad name!'), () => ac('record', 'ok', { a: [1] }), () => ac('init', 'x'),
      () => ac('pageview', { nope: 1 }), () => ac('load', 'autotrackNothing'), () => ac('forms:track', '###'),
      () => ac('api.session.getId'), () => ac('off'),
      // Values JSON cannot copy: a BigInt, typed or not, and an object that refers to itself.
      () => ac('record', 'ok', { n: 10n }), () => ac('record', 'ok', { n: { dataType: 'integer', value: 10n } }),
      () => { const o = { a: 1 }; o.self = o; ac('record', 'ok', o); },
      // Right values, but a toJSON (inherited, so not an attribute) that copies them as no object.
      () => ac('record', 'ok', Object.assign(Object.create({ toJSON: () => 1 }), { n: 1 })),
    ];
    let thrown = 0;
    for (const c of calls) { try { c(); } catch { thrown++; } }
    return thrown;
  });
  assert.equal(thrown, 0);
  const logged = await p.evaluate(() => window.__console.filter((l) => l.startsWith('error:')));
  assert.equal(logged.length, 16, logged.join('\n'));
  assert.ok(logged[0].includes("ac('nope')") && logged[0].includes('Expected'), logged[0]);
  assert.ok(logged[2].includes("did you mean 'webchat:all'"), logged[2]);
  assert.ok(logged[6].includes('already initialized'), logged[6]);
  assert.ok(logged[15].includes('cannot be copied as JSON'), logged[15]);
  // And the SDK still works: a right call after them is sent.
  await p.evaluate(() => ac('record', 'after_wrong_calls'));
  await until(async () => (await beckon.events()).some((r) => r.kind === 'web' && r.event.eventName === 'after_wrong_calls'));
});

test('the shared dispatch vectors (testdata/dispatch.json) pass in the browser', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const scenarios = JSON.parse(readFileSync(join(root, 'testdata/dispatch.json'), 'utf8')).scenarios;
  for (const s of scenarios) {
    const result = await p.evaluate(async (s) => {
      ac.__test.reset();
      const log = []; const failures = []; const labels = new Map(); const calls = {};
      const onError = (e) => { e.preventDefault(); failures.push(String(e.error && e.error.message)); };
      addEventListener('error', onError);
      const origError = console.error; console.error = () => {};
      const handlers = {};
      const act = (a, inHandler) => {
        if (a.op === 'on' || a.op === 'once') {
          ac(a.op, a.topic, handler(a.handler), a.replay ? { replay: true } : undefined);
        } else if (a.op === 'off') {
          if (a.handler) ac('off', a.topic, handler(a.handler)); else ac('off', a.topic);
        } else if (a.op === 'emit') {
          labels.set(labels.size + 1, a.event);
          ac.__test.emit(a.media, a.state, labels.size);
        }
      };
      function handler(label) {
        if (!handlers[label]) {
          handlers[label] = function (event) {
            const n = calls[label] = (calls[label] || 0) + 1;
            const ev = labels.get(event.actionMapVersion);
            log.push(`${label} ${ev} ${event.actionState}`);
            for (const a of ((s.handlers[label] || [])[n - 1] || [])) {
              if (a.op === 'fail') throw new Error(`${label} ${ev}`);
              if (a.op === 'mutate') { event.actionState = a.state || 'completed'; delete event.actionId; continue; }
              act(a, true);
            }
          };
        }
        return handlers[label];
      }
      for (const step of s.steps) act(step, false);
      await new Promise((r) => setTimeout(r, 20));
      removeEventListener('error', onError);
      console.error = origError;
      return { log, failures };
    }, s);
    assert.deepEqual(result.log, s.expect, s.name);
    assert.deepEqual(result.failures, s.expectFailures, s.name + ' (failures)');
  }
});

test('a throwing handler and a rejecting one: the others run, window.onerror sees it, the page stays healthy', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const r = await p.evaluate(async () => {
    const seen = [];
    ac('on', 'webchat:all', () => { throw new Error('boom'); });
    ac('on', 'webchat:all', () => Promise.reject(new Error('async boom')));
    ac('on', 'webchat:all', (e) => { seen.push(e.actionState); e.actionState = 'mutated'; });
    ac('on', 'webchat:all', (e) => seen.push(e.actionState));
    ac.__test.emit('webchat', 'offered', 1);
    await new Promise((r) => setTimeout(r, 30));
    return { seen, errors: window.__errors, logged: window.__console.filter((l) => l.includes("'webchat:all' failed")).length };
  });
  assert.deepEqual(r.seen, ['offered', 'offered']);
  assert.deepEqual(r.errors.sort(), ['async boom', 'boom']);
  assert.equal(r.logged, 2);
  assert.equal(await p.evaluate(() => document.title), 'Test page');
});

test('once, off and replay from the page', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const r = await p.evaluate(() => {
    const log = [];
    const h = (e) => log.push('h ' + e.actionState);
    ac('once', 'contentoffer:all', (e) => log.push('once ' + e.actionState));
    ac('on', 'contentoffer:offered', h);
    ac.__test.emit('contentoffer', 'offered', 1);
    ac('off', 'contentoffer:offered', h);
    ac.__test.emit('contentoffer', 'offered', 1);
    ac('on', 'contentoffer:offered', (e) => log.push('late ' + e.actionState), { replay: true });
    return log;
  });
  assert.deepEqual(r, ['once offered', 'h offered', 'late offered', 'late offered']);
});

for (const displayMode of ['Modal', 'Overlay', 'Toast']) {
  test(`content offer (${displayMode}): offered, then accepted by a click on the call to action`, async () => {
    const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}`, body: '<button id="before">before</button>' }));
    await ready(p);
    await p.focus('#before');
    await p.evaluate(() => { window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState)); });
    const a = contentOffer({ displayMode, callToAction: { text: 'Shop now', url: '/shop', target: 'Blank' } });
    await present(p, a);
    const dialog = host(p, a).locator('[role=dialog]');
    await dialog.waitFor();
    assert.equal(await dialog.getAttribute('aria-modal'), displayMode === 'Modal' ? 'true' : 'false');
    assert.equal(await host(p, a).locator('.title').textContent(), 'Free shipping');
    assert.equal(await host(p, a).locator('img').getAttribute('alt'), 'A parcel');
    const link = host(p, a).locator('a.cta');
    assert.equal(await link.getAttribute('target'), '_blank');
    if (displayMode === 'Modal') {
      assert.equal(await p.evaluate(() => document.activeElement.getAttribute('data-beckon')), 'content-offer');
    }
    const [popup] = await Promise.all([p.context().waitForEvent('page'), link.click()]);
    await popup.close();
    assert.equal(await host(p, a).count(), 0);
    assert.deepEqual(await p.evaluate(() => window.seen), ['offered', 'accepted']);
    if (displayMode === 'Modal') assert.equal(await p.evaluate(() => document.activeElement.id), 'before');
    await until(async () => (await actionEvents(a.actionId)).length === 3);
    assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'accepted']);
  });
}

test('content offer: Escape rejects, the close button rejects, leaving the page ignores', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const a = contentOffer({ displayMode: 'Modal' });
  await present(p, a);
  await host(p, a).locator('[role=dialog]').waitFor();
  await p.keyboard.press('Escape');
  const b = contentOffer({ displayMode: 'Toast', layoutMode: 'TextOnly' });
  await present(p, b);
  await host(p, b).locator('button.close').click();
  const c = contentOffer({ displayMode: 'Overlay', layoutMode: 'TopText' });
  await present(p, c);
  await host(p, c).locator('[role=dialog]').waitFor();
  await p.goto(pages.origin + '/elsewhere-' + Date.now());
  await until(async () => (await actionEvents(c.actionId)).length === 3);
  assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'rejected']);
  assert.deepEqual(await actionEvents(b.actionId), ['qualified', 'offered', 'rejected']);
  assert.deepEqual(await actionEvents(c.actionId), ['qualified', 'offered', 'ignored']);
});

test('content offer: answered after the session rolled over, its events still belong to the session it was offered in', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}', sessionTimeoutMinutes: 0.02 }`;
  const p = await open(page({ init }));
  await ready(p);
  const session = () => p.evaluate(() => new Promise((r) => ac('api.session.getData', (e, d) => r(d.id))));
  const offeredIn = await session();
  const a = contentOffer({ displayMode: 'Toast', layoutMode: 'TextOnly' }, { sessionId: offeredIn });
  await present(p, a);
  // Shown for longer than the session's 1.2 s without activity, then closed.
  await new Promise((r) => setTimeout(r, 1600));
  await host(p, a).locator('button.close').click();
  await until(async () => (await actionEvents(a.actionId)).length === 3);
  const stored = (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionId === a.actionId)
    .map((r) => [r.event.actionState, r.event.sessionId]);
  assert.deepEqual(stored, [['qualified', offeredIn], ['offered', offeredIn], ['rejected', offeredIn]]);
  assert.notEqual(await session(), offeredIn, 'the visitor\'s answer, activity, went on in a new session');
});

test('content offer: a middle click on the call to action (a new tab) accepts; a right click does not', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const a = contentOffer({ displayMode: 'Toast', layoutMode: 'TextOnly' });
  await present(p, a);
  const cta = host(p, a).locator('a.cta');
  await cta.click({ button: 'right' });
  // The new tab the middle click opens is the context's.
  const opened = p.context().waitForEvent('page');
  await cta.click({ button: 'middle' });
  await (await opened).close();
  await until(async () => (await actionEvents(a.actionId)).length === 3);
  assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'accepted']);
  assert.equal(await host(p, a).count(), 0, 'the offer is taken off the page');
});

test('content offer: configuration text is text, styles go through the whitelist, bad offers are errored', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const a = contentOffer({
    title: '<img src=x onerror="window.pwned=1">', layoutMode: 'TextOnly',
    style: { offer: { backgroundColor: '#123456', color: 'red; background: url(x)' }, title: { textAlign: 'Center', fontSize: '20px' }, evil: { x: 1 } },
  });
  await present(p, a);
  const title = host(p, a).locator('.title');
  assert.equal(await title.textContent(), '<img src=x onerror="window.pwned=1">');
  assert.equal(await p.evaluate(() => window.pwned), undefined);
  assert.equal(await title.evaluate((e) => e.style.textAlign), 'center');
  const box = host(p, a).locator('.box');
  assert.equal(await box.evaluate((e) => e.style.backgroundColor), 'rgb(18, 52, 86)');
  assert.equal(await box.evaluate((e) => e.style.color), '');
  const bad = contentOffer({ callToAction: { text: 'x', url: 'javascript:alert(1)', target: 'Self' } });
  await present(p, bad);
  await until(async () => (await actionEvents(bad.actionId)).length === 3);
  assert.deepEqual(await actionEvents(bad.actionId), ['qualified', 'offered', 'errored']);
  const stored = (await beckon.events()).find((e) => e.event?.actionId === bad.actionId && e.event.actionState === 'errored');
  assert.equal(stored.event.errorCode, 4001);
  assert.match(stored.event.errorMessage, /javascript/);
});

test('chat invitation: accepted by click, rejected by decline, timed out', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }));
  await ready(p);
  const a = invitation();
  await present(p, a);
  assert.equal(await host(p, a).locator('.body').textContent(), 'Need help?');
  await host(p, a).locator('button.accept').click();
  // Accepting starts the chat (tests/chat.test.mjs); closing its window before an agent joins
  // abandons it.
  await p.locator('[data-beckon=chat] button.close').click();
  const b = invitation();
  await present(p, b);
  await host(p, b).locator('button.decline').click();
  const c = invitation({}, { timeoutSeconds: 1 });
  await present(p, c);
  await host(p, c).locator('[role=dialog]').waitFor();
  await until(async () => (await actionEvents(c.actionId)).length === 3);
  assert.equal(await host(p, c).count(), 0);
  await until(async () => (await actionEvents(a.actionId)).length === 5);
  assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'accepted', 'started', 'abandoned']);
  assert.deepEqual(await actionEvents(b.actionId), ['qualified', 'offered', 'rejected']);
  assert.deepEqual(await actionEvents(c.actionId), ['qualified', 'offered', 'timedout']);
});

test('activation delay: an SPA route change (a hash route here) cancels it and ignores what is shown; an in-page anchor does neither', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', ${server()}` }), '/delay-' + Date.now());
  await ready(p);
  let asked = 0;
  p.on('request', (r) => { if (r.url().endsWith('/decisions')) asked += 1; });
  const a = invitation();
  await present(p, a);
  await host(p, a).locator('[role=dialog]').waitFor();
  // A jump to an anchor of the same page is not a route change: the invitation stays.
  await p.evaluate(() => { location.hash = 'pricing'; });
  await p.evaluate(() => new Promise((r) => setTimeout(r, 200)));
  assert.equal(await host(p, a).locator('[role=dialog]').count(), 1);
  assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered']);
  const b = contentOffer({}, { activation: { type: 'delay', delayInSeconds: 1 } });
  await present(p, b);
  // A route change the SDK notices by itself (no page view: its decision would be the server's).
  await p.evaluate(() => { location.hash = '/elsewhere'; });
  await until(async () => (await actionEvents(a.actionId)).length === 3);
  assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'ignored']);
  // Past the delay's end: it was cancelled, so the page never asked the server about it.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(asked, 0);
  assert.equal(await host(p, b).count(), 0);
  assert.deepEqual(await actionEvents(b.actionId), ['qualified']);
});

test('activation delay: a jump to an in-page anchor keeps it, also after a page view with a location of its own', async () => {
  const p = await open(page({
    init: `'${DEPLOYMENT}', ${server()}`,
    extra: "ac('pageview', { location: location.origin + '/virtual-view' });",
  }), '/anchor-' + Date.now());
  await ready(p);
  // The page view's answer is in before the offer is shown, so that a late answer cannot take
  // the place of the delayed offer (shown through the test hook, not by an answer). The test
  // failed now and then without this, once in CI on an idle machine; that cause is the likely
  // one, not a proven one.
  await until(() => p.evaluate(() => performance.getEntriesByType('resource')
    .some((e) => e.name.endsWith('/web-events') && e.responseEnd > 0)));
  let asked = 0;
  p.on('request', (r) => { if (r.url().endsWith('/decisions')) asked += 1; });
  const b = contentOffer({}, { activation: { type: 'delay', delayInSeconds: 1 } });
  await present(p, b);
  await p.evaluate(() => { location.hash = 'pricing'; });
  // The delay ran to its end: the page asked the server about it (again, if a starved server
  // answered 408 or 429 the first time).
  await until(() => asked >= 1);
});

test('bridges: GTM dataLayer and the real Adobe Client Data Layer get every event', async () => {
  const p = await open(page({
    head: '<script src="/adobe.js"></script>',
    init: `'${DEPLOYMENT}', { server: '${beckon.url}', forwardTo: ['dataLayer', 'adobeDataLayer'] }`,
    extra: `window.adobeSeen = []; window.adobeDataLayer = window.adobeDataLayer || [];
adobeDataLayer.push(function (dl) { dl.addEventListener('beckon.webchat.offered', function (e) { adobeSeen.push(e.eventInfo.actionState); }); });`,
  }));
  await ready(p);
  await p.evaluate(() => ac.__test.emit('webchat', 'offered', 1));
  await until(() => p.evaluate(() => window.adobeSeen.length === 1));
  const gtm = await p.evaluate(() => window.dataLayer.filter((d) => d.event && d.event.startsWith('beckon.')));
  assert.equal(gtm.length, 1);
  assert.equal(gtm[0].event, 'beckon.webchat.offered');
  assert.equal(gtm[0].beckon.actionMediaType, 'webchat');
});

test('bridges: every dataLayer push carries errorCode and errorMessage, undefined when not errored, so GTM clears them', async () => {
  const p = await open(page({ init: `'${DEPLOYMENT}', { server: '${beckon.url}', forwardTo: 'dataLayer' }` }));
  await ready(p);
  const pushed = await p.evaluate(() => {
    ac.__test.emit('contentoffer', 'offered', 1);
    ac.__test.emit('contentoffer', 'errored', 1);
    ac.__test.emit('contentoffer', 'offered', 2);
    return window.dataLayer.filter((d) => d.event && d.event.startsWith('beckon.'))
      .map((d) => [d.event, 'errorCode' in d.beckon, d.beckon.errorCode, 'errorMessage' in d.beckon, d.beckon.errorMessage]);
  });
  assert.deepEqual(pushed, [
    ['beckon.contentoffer.offered', true, undefined, true, undefined],
    ['beckon.contentoffer.errored', true, 1, true, 'test'],
    ['beckon.contentoffer.offered', true, undefined, true, undefined],
  ]);
});

test('identity: first-party SameSite=Lax cookies, the same customer across pages, session roll-over', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}', sessionTimeoutMinutes: 0.02 }`;
  const path = '/identity-' + Date.now();
  const p = await open(page({ init }), path);
  await ready(p);
  const get = () => p.evaluate(() => new Promise((r) => ac('api.session.getData', (e, d) => r(d))));
  const first = await get();
  const cookies = await p.context().cookies();
  const customer = cookies.find((c) => c.name === 'beckon_customer');
  assert.equal(customer.value, first.customerCookieId);
  assert.equal(customer.sameSite, 'Lax');
  assert.ok(customer.expires > Date.now() / 1000 + 364 * 86400);
  await p.goto(pages.origin + path);
  await ready(p);
  const second = await get();
  assert.equal(second.customerCookieId, first.customerCookieId);
  assert.equal(second.id, first.id);
  await new Promise((r) => setTimeout(r, 1500));
  const third = await get();
  assert.equal(third.customerCookieId, first.customerCookieId);
  assert.notEqual(third.id, first.id);
});

test('transport: web events reach the server; kept while it is down, sent when it is back', async () => {
  const port = await freePort();
  const down = `http://127.0.0.1:${port}`;
  const p = await open(page({ init: `'${DEPLOYMENT}', { server: '${down}' }` }));
  await ready(p);
  await p.evaluate(() => { ac('record', 'while_down', { n: 1 }); ac('pageview', { title: 'Down' }); });
  await until(() => p.evaluate(() => localStorage.length > 0 && Object.keys(localStorage).some((k) => k.startsWith('beckon_outbox_'))));
  const later = await startBeckon(pages.origin, { port });
  try {
    await until(async () => (await later.events()).length >= 2, { timeout: 20000 });
    const names = (await later.events()).map((e) => e.event.eventName);
    assert.deepEqual(names.sort(), ['page_viewed', 'while_down']);
    await until(() => p.evaluate(() => !Object.keys(localStorage).some((k) => k.startsWith('beckon_outbox_'))));
  } finally {
    await later.stop();
  }
});

test('CSP: all works with wasm-unsafe-eval; without it one clear error and a healthy page', async () => {
  const script = (name) => `/csp-${name}.js`;
  pages.pages.set(script('ok'), { js: `window.__console = []; const o = console.error; console.error = (...a) => { __console.push(a.join(' ')); o.apply(console, a); };
${(await import('../harness.mjs')).snippet('/sdk/v1/beckon.js', { init: `'${DEPLOYMENT}', { server: '${beckon.url}' }` })}
ac('pageview');` });
  const html = `<!doctype html><html><head><title>CSP</title><script src="${script('ok')}"></script></head><body><p id="x">page</p></body></html>`;
  pages.pages.set('/csp-good', { html, csp: "script-src 'self' 'wasm-unsafe-eval'" });
  pages.pages.set('/csp-bad', { html, csp: "script-src 'self'" });
  const context = await browser.newContext();
  const good = await context.newPage();
  await good.goto(pages.origin + '/csp-good');
  await ready(good);
  assert.deepEqual(await good.evaluate(() => window.__console), []);
  const bad = await context.newPage();
  await bad.goto(pages.origin + '/csp-bad');
  await until(() => bad.evaluate(() => window.__console.length > 0));
  await new Promise((r) => setTimeout(r, 200));
  const errors = await bad.evaluate(() => window.__console);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /'wasm-unsafe-eval'/);
  assert.equal(await bad.evaluate(() => { ac('record', 'x'); return document.getElementById('x').textContent; }), 'page');
});

test('Trusted Types: offers are drawn through the beckon policy; a page that refuses it gets errored, not a broken page', async () => {
  // The Genesys snippet sets a script's src, which Trusted Types refuse: these pages load the SDK with a tag.
  const html = `<!doctype html><html><head><title>TT</title><script>window.__console = [];
const o = console.error; console.error = (...a) => { __console.push(a.map(String).join(' ')); o.apply(console, a); };
window.ac = function () { (ac.q = ac.q || []).push(arguments); }; ac.l = Date.now();
ac('init', '${DEPLOYMENT}', ${server()}); window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState));
</script><script src="/sdk-test/beckon.js"></script></head><body><p id="x">page</p></body></html>`;
  pages.pages.set('/tt-allowed', { html, csp: "require-trusted-types-for 'script'; trusted-types beckon" });
  pages.pages.set('/tt-refused', { html, csp: "require-trusted-types-for 'script'; trusted-types other" });
  const context = await browser.newContext();
  const allowed = await context.newPage();
  await allowed.goto(pages.origin + '/tt-allowed');
  await ready(allowed);
  const a = contentOffer();
  await present(allowed, a);
  assert.equal(await host(allowed, a).locator('.title').textContent(), 'Free shipping');
  await host(allowed, a).locator('button.close').click();
  await until(() => allowed.evaluate(() => window.seen.length === 2));
  assert.deepEqual(await allowed.evaluate(() => window.seen), ['offered', 'rejected']);

  const refused = await context.newPage();
  await refused.goto(pages.origin + '/tt-refused');
  await ready(refused);
  const b = contentOffer();
  await present(refused, b);
  await until(() => refused.evaluate(() => window.seen.length === 2));
  assert.deepEqual(await refused.evaluate(() => window.seen), ['offered', 'errored']);
  assert.equal(await host(refused, b).count(), 0);
  assert.match((await refused.evaluate(() => window.__console)).join('\n'), /could not be shown/);
  assert.equal(await refused.evaluate(() => document.getElementById('x').textContent), 'page');
  await context.close();
});

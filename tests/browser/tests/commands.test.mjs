// Commands a page calls rarely, in headless Chromium against a real beckon server: `init`'s cookie
// options, the removed `identify`, and `destroy`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  page, ready, until, freePort, contentOffer, DEPLOYMENT, environment,
} from '../harness.mjs';

let pages, beckon, browser;
environment((started) => {
  ({ pages, beckon, browser } = started);
});

const unique = () => Math.random().toString(36).slice(2);
const sessionData = (p) => p.evaluate(() => new Promise((r) => ac('api.session.getData', (e, d) => r(d))));

/** Opens `path` on `origin` (the page server's by default) with `init` as the init call's arguments. */
async function open({ init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`, origin = pages.origin, body = '', context } = {}) {
  const path = '/c-' + unique();
  pages.pages.set(path, { html: page({ init, body }) });
  const p = await (context || await browser.newContext()).newPage();
  await p.goto(origin + path);
  await ready(p);
  return p;
}

test('init: cookieDomain scopes the cookies to that domain, shared by its subdomains; cookieLifetimeDays sets the customer cookie\'s expiry', async () => {
  // Chromium resolves *.localhost to loopback; `localhost` itself counts as a top-level domain
  // there (a Domain=localhost cookie is refused on app.localhost), and an IP address takes
  // Domain only as itself, so the test uses subdomains of app.localhost. Nothing is sent: the
  // server is a closed port (the cookies are made at init).
  const port = new URL(pages.origin).port;
  const closed = `http://127.0.0.1:${await freePort()}`;
  const context = await browser.newContext();
  const init = `'${DEPLOYMENT}', { server: '${closed}', cookieDomain: 'app.localhost', cookieLifetimeDays: 2 }`;
  const shop = await open({ init, origin: `http://shop.app.localhost:${port}`, context });
  const first = await sessionData(shop);
  const cookies = await context.cookies();
  const customer = cookies.find((c) => c.name === 'beckon_customer');
  const session = cookies.find((c) => c.name === 'beckon_session');
  assert.equal(customer.value, first.customerCookieId);
  assert.equal(customer.domain, '.app.localhost', 'a domain cookie, not one for shop.app.localhost alone');
  assert.equal(session.domain, '.app.localhost');
  const days = (customer.expires - Date.now() / 1000) / 86400;
  assert.ok(days > 1.99 && days <= 2.001, `the customer cookie lasts 2 days: ${days}`);
  const minutes = (session.expires - Date.now() / 1000) / 60;
  assert.ok(minutes > 29.9 && minutes <= 30.01, `the session cookie lasts the 30-minute timeout: ${minutes}`);

  // Another subdomain of the site: the same customer and session.
  const blog = await open({ init, origin: `http://blog.app.localhost:${port}`, context });
  const second = await sessionData(blog);
  assert.equal(second.customerCookieId, first.customerCookieId);
  assert.equal(second.id, first.id);

  // Without cookieDomain the cookies are the host's alone: the other subdomain has its own customer.
  const own = await browser.newContext();
  const hostOnly = `'${DEPLOYMENT}', { server: '${closed}' }`;
  const a = await sessionData(await open({ init: hostOnly, origin: `http://shop.app.localhost:${port}`, context: own }));
  const b = await sessionData(await open({ init: hostOnly, origin: `http://blog.app.localhost:${port}`, context: own }));
  assert.notEqual(a.customerCookieId, b.customerCookieId);
  assert.equal((await own.cookies()).find((c) => c.name === 'beckon_customer').domain, 'shop.app.localhost');
  for (const p of [shop, blog]) assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
  await context.close();
  await own.close();
});

test('init: a cookieDomain that does not include the page\'s host is refused with a console.error; nothing starts', async () => {
  const path = '/c-' + unique();
  pages.pages.set(path, { html: page({ init: `'${DEPLOYMENT}', { server: '${beckon.url}', cookieDomain: 'example.com' }` }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + path);
  await ready(p);
  const host = new URL(pages.origin).hostname;
  assert.deepEqual(await p.evaluate(() => __console), [
    `error: Beckon: ac('init'): cookieDomain 'example.com' does not include this page's host: the browser would refuse its cookies. Expected: ac('init', deploymentId: string (a UUID), { server?: string, region?: string, cookieDomain?: string, cookieLifetimeDays?: number, sessionTimeoutMinutes?: number, forwardTo?: ('dataLayer' | 'adobeDataLayer')[] })`,
  ]);
  assert.deepEqual(await context.cookies(), []);
  // Not started: the page can call init again with what it meant.
  await p.evaluate((init) => ac('init', init.id, { server: init.server, cookieDomain: init.host }), { id: DEPLOYMENT, server: beckon.url, host });
  assert.equal((await sessionData(p)).customerCookieId, (await context.cookies()).find((c) => c.name === 'beckon_customer').value);
  assert.equal((await p.evaluate(() => __console)).length, 1);
  await context.close();
});

test('identity: when the browser refuses the cookies, the page keeps one session', async () => {
  // Chromium refuses Domain=localhost (it counts as a top-level domain), as it refuses cookies
  // for a public suffix such as github.io; init cannot tell those (it does not know the list).
  const port = new URL(pages.origin).port;
  const closed = `http://127.0.0.1:${await freePort()}`;
  const context = await browser.newContext();
  const p = await open({ init: `'${DEPLOYMENT}', { server: '${closed}', cookieDomain: 'localhost' }`, origin: `http://shop.app.localhost:${port}`, context });
  assert.deepEqual(await context.cookies(), []);
  const first = await sessionData(p);
  // Past the second for which the page trusts what it wrote: it reads the cookie, finds none.
  await new Promise((r) => setTimeout(r, 1500));
  await p.evaluate(() => ac('record', 'later'));
  const second = await sessionData(p);
  assert.equal(second.id, first.id);
  assert.equal(second.customerCookieId, first.customerCookieId);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
  await context.close();
});

/** The web events of `customerId` the server stored, oldest first (not the page view `qualify` makes). */
async function eventsOf(customerId) {
  return (await beckon.events()).map((e) => e.event)
    .filter((e) => e && e.customerCookieId === customerId && !e.page.url.includes('/qualify/'));
}

test('identify: warns once that Genesys removed it, and does nothing', async () => {
  const p = await open();
  const before = await sessionData(p);
  await p.evaluate(() => { ac('identify', { email: 'ada@example.test' }); ac('identify'); ac('identify', 1, 2, 3); });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await p.evaluate(() => __console),
    ["warn: Beckon: ac('identify') was removed by Genesys in 2023 and does nothing in Beckon"]);
  assert.deepEqual(await sessionData(p), before, 'the same customer and session');
  await p.evaluate(() => ac('record', 'after_identify'));
  await until(async () => (await eventsOf(before.customerCookieId)).length === 1);
  assert.deepEqual((await eventsOf(before.customerCookieId)).map((e) => e.eventName), ['after_identify'], 'identify sent nothing');
  assert.deepEqual(await p.evaluate(() => __errors), []);
});

test('destroy: takes the offer and the listeners off the page, sends what was queued, sends nothing after; the page goes on, and init works again', async () => {
  const p = await open({ body: '<button class="buy">Buy</button><p id="clicks">0</p><script>document.querySelector(".buy").addEventListener("click", () => { clicks.textContent = +clicks.textContent + 1; });</script>' });
  const { id, customerCookieId } = await sessionData(p);
  const offer = contentOffer({ displayMode: 'Toast', layoutMode: 'TextOnly' });
  await beckon.qualify(offer, customerCookieId, id);
  await p.evaluate((json) => ac.__test.present(json), JSON.stringify(offer));
  await p.locator(`[data-beckon-action="${offer.actionId}"] [role=dialog]`).waitFor();
  await p.evaluate(() => ac('load', 'autotrackClick', { clickEvents: [{ selector: '.buy', eventName: 'clicked' }] }));
  await p.click('.buy');
  await until(async () => (await eventsOf(customerCookieId)).length === 1);

  // Queued and destroyed in the same task: it still goes out.
  await p.evaluate(() => { ac('record', 'queued'); ac('destroy'); });
  assert.equal(await p.locator('[data-beckon]').count(), 0, 'nothing of the SDK is left on the page');
  await until(async () => (await eventsOf(customerCookieId)).length === 2);
  await p.click('.buy');
  await p.evaluate(() => ac('record', 'after_destroy'));
  await p.evaluate(() => { history.pushState({}, '', '/elsewhere'); window.scrollTo(0, 100); });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual((await eventsOf(customerCookieId)).map((e) => e.eventName), ['clicked', 'queued']);
  assert.equal(await p.locator('#clicks').textContent(), '2', "the page's own listener still runs");
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]),
    ["error: Beckon: ac('record'): Beckon is not initialized; call ac('init', deploymentId) first. Expected: " +
      "ac('record', eventName: string of letters, digits and _, customAttributes?: { [name: string]: number | string | boolean | { dataType: 'integer' | 'number' | 'string' | 'boolean', value } })"]);

  // Started again, with the same cookies.
  await p.evaluate(({ d, server }) => { ac('init', d, { server }); ac('record', 'again'); }, { d: DEPLOYMENT, server: beckon.url });
  await until(async () => (await eventsOf(customerCookieId)).length === 3);
  assert.equal((await eventsOf(customerCookieId))[2].eventName, 'again');
  assert.deepEqual(await p.evaluate(() => __errors), []);
});

test('destroy, then init, while a request is on its way: its answer does not touch the new start\'s events', async () => {
  const p = await open();
  const { customerCookieId } = await sessionData(p);
  const answer = [];
  let posts = 0;
  await p.route('**/web-events', async (route) => {
    const n = posts++;
    if (n > 1) return route.continue();
    // The first two requests wait for the test; the second is then answered 503.
    const status = await new Promise((r) => { answer[n] = r; });
    if (status === 503) {
      return route.fulfill({ status, body: '{}', headers: { 'access-control-allow-origin': pages.origin } });
    }
    return route.continue();
  });
  await p.evaluate(() => ac('record', 'one'));
  await until(() => answer[0]);
  await p.evaluate(({ d, server }) => { ac('destroy'); ac('init', d, { server }); ac('record', 'two'); }, { d: DEPLOYMENT, server: beckon.url });
  await until(() => answer[1]);
  // The first start's answer reaches the page while the new start's request is on its way.
  answer[0](200);
  await until(async () => (await eventsOf(customerCookieId)).length === 1);
  await new Promise((r) => setTimeout(r, 200));
  await p.evaluate(() => ac('record', 'three'));
  await new Promise((r) => setTimeout(r, 300));
  answer[1](503);
  // 'two' is sent again after the 503, and 'three' after it.
  await until(async () => (await eventsOf(customerCookieId)).length === 3, { timeout: 10000 });
  assert.deepEqual((await eventsOf(customerCookieId)).map((e) => e.eventName), ['one', 'two', 'three']);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
});

test('destroy from a handler: what was queued reaches the handlers and data layer of then, and the server; a new init\'s handlers stay', async () => {
  const p = await open({ init: `'${DEPLOYMENT}', { server: '${beckon.url}', forwardTo: 'dataLayer' }` });
  const { id, customerCookieId } = await sessionData(p);
  const offer = contentOffer({ displayMode: 'Toast', layoutMode: 'TextOnly' });
  await beckon.qualify(offer, customerCookieId, id);
  await p.evaluate(({ json, d, server }) => {
    window.seen = [];
    ac('on', 'contentoffer:all', (e) => {
      seen.push('first ' + e.actionState);
      if (e.actionState !== 'offered') return;
      // Started again from the handler, with a handler of its own.
      ac('destroy');
      ac('init', d, { server });
      ac('on', 'contentoffer:all', (e) => seen.push('new ' + e.actionState));
    });
    ac('on', 'contentoffer:all', (e) => seen.push('second ' + e.actionState));
    ac.__test.present(json);
  }, { json: JSON.stringify(offer), d: DEPLOYMENT, server: beckon.url });
  // `offered` still reaches the second handler, and the offer destroy took off the page is
  // `ignored` for both; the new start's handler gets none of the old start's events.
  assert.deepEqual(await p.evaluate(() => seen),
    ['first offered', 'second offered', 'first ignored', 'second ignored']);
  assert.deepEqual(await p.evaluate(() => dataLayer.map((d) => d.event)),
    ['beckon.contentoffer.offered', 'beckon.contentoffer.ignored']);
  assert.equal(await p.locator('[data-beckon]').count(), 0);
  const states = async () => (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionId === offer.actionId).map((r) => r.event.actionState);
  await until(async () => (await states()).length === 3);
  assert.deepEqual(await states(), ['qualified', 'offered', 'ignored']);

  // The new start: its handler hears its events, the old handlers and data layer nothing.
  await p.evaluate(() => ac.__test.emit('contentoffer', 'offered', 1));
  assert.deepEqual((await p.evaluate(() => seen)).slice(4), ['new offered']);
  assert.equal(await p.evaluate(() => dataLayer.length), 2);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
});

test('off after destroy: a handler taken off gets none of what was queued before destroy, but still the event being delivered', async () => {
  const p = await open();
  const seen = await p.evaluate(() => {
    const seen = [];
    const third = (e) => seen.push('third ' + e.actionMapVersion);
    const second = (e) => {
      seen.push('second ' + e.actionMapVersion);
      ac('off', 'webchat:all', second);
    };
    ac('on', 'webchat:all', (e) => {
      seen.push('first ' + e.actionMapVersion);
      if (e.actionMapVersion !== 1) return;
      // Queued, then destroyed; `third` is taken off while `1` is being delivered.
      ac.__test.emit('webchat', 'offered', 2);
      ac('destroy');
      ac('off', 'webchat:all', third);
    });
    ac('on', 'webchat:all', second);
    ac('on', 'webchat:all', third);
    ac.__test.emit('webchat', 'offered', 1);
    return seen;
  });
  assert.deepEqual(seen, ['first 1', 'second 1', 'third 1', 'first 2']);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
});

test('record and pageview: what the server would refuse is refused at the call (one console.error, nothing sent); the next call is recorded', async () => {
  const context = await browser.newContext();
  const p = await open({ context });
  const { customerCookieId } = await sessionData(p);
  await p.evaluate(() => {
    ac('record', 'x', { '': 1 });
    ac('record', 'kept');
  });
  await until(async () => (await eventsOf(customerCookieId)).some((e) => e.eventName === 'kept'));
  assert.deepEqual((await eventsOf(customerCookieId)).map((e) => e.eventName), ['kept']);
  const logged = await p.evaluate(() => __console);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /^error: Beckon: ac\('record'\): customAttributes name '' must have 1 to 255 characters\. Expected: ac\('record', /);

  // The other limits: more than 100 attributes, a name over 255 characters, a text over 4096
  // bytes (plain or typed), a location that is not http(s), a title over 4096 bytes.
  const refused = await p.evaluate(() => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => ['a' + i, i]));
    const long = 'é'.repeat(2049);
    const calls = [
      ['record', 'many', many],
      ['record', 'named', { ['n'.repeat(256)]: 1 }],
      ['record', 'long', { text: long }],
      ['record', 'typed', { text: { dataType: 'string', value: long } }],
      ['pageview', { location: 'javascript:alert(1)' }],
      ['pageview', { location: 'http://[' }],
      ['pageview', { location: '/' + 'a'.repeat(4096) }],
      ['pageview', { title: long }],
    ];
    const before = __console.length;
    for (const call of calls) ac(...call);
    // At the limits: 100 attributes, a 255-character name, a text of 4096 bytes.
    ac('record', 'last', { ...Object.fromEntries(Array.from({ length: 99 }, (_, i) => ['a' + i, i])), ['n'.repeat(255)]: 'é'.repeat(2048) });
    return __console.slice(before);
  });
  assert.deepEqual(refused.map((line) => line.replace(/\. Expected: .*/s, '')), [
    "error: Beckon: ac('record'): customAttributes may have at most 100 attributes, got 101",
    `error: Beckon: ac('record'): customAttributes name '${'n'.repeat(256)}' must have 1 to 255 characters`,
    "error: Beckon: ac('record'): customAttributes.text is longer than 4096 bytes",
    "error: Beckon: ac('record'): customAttributes.text is longer than 4096 bytes",
    "error: Beckon: ac('pageview'): location 'javascript:alert(1)' must be an http(s) URL of at most 4096 bytes",
    "error: Beckon: ac('pageview'): location 'http://[' must be an http(s) URL of at most 4096 bytes",
    `error: Beckon: ac('pageview'): location '/${'a'.repeat(4096)}' must be an http(s) URL of at most 4096 bytes`,
    "error: Beckon: ac('pageview'): title is longer than 4096 bytes",
  ]);
  await until(async () => (await eventsOf(customerCookieId)).some((e) => e.eventName === 'last'));
  assert.deepEqual((await eventsOf(customerCookieId)).map((e) => e.eventName), ['kept', 'last']);
  assert.deepEqual(await p.evaluate(() => __errors), []);
  await context.close();
});

test('pageview: a relative location is recorded as the absolute URL it names from the page', async () => {
  const context = await browser.newContext();
  const p = await open({ context });
  const { customerCookieId } = await sessionData(p);
  await p.evaluate(() => ac('pageview', { location: '/pricing?plan=team#faq' }));
  const viewed = await until(async () => (await eventsOf(customerCookieId)).find((e) => e.eventName === 'page_viewed'));
  assert.equal(viewed.page.url, `${pages.origin}/pricing?plan=team#faq`);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
  await context.close();
});

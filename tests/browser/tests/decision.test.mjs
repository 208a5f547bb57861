// From a server decision to an offer on the page, with the served SDK build (no test hooks): the
// deployment's rules are provisioned from files, the page sends its page view, the server
// decides and records `qualified`, the SDK shows the offer and reports what the visitor does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBeckon, startPages, launch, page, ready, until, DEPLOYMENT } from '../harness.mjs';

const TEMPLATE = '3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98';
const MAP = '6f1d2c3b-4a59-4e68-8d7c-1b2a3c4d5e6f';
const DELAYED_TEMPLATE = '7b6a5948-3c2d-4e1f-8a09-1b2c3d4e5f60';
const DELAYED_MAP = '2e3f4a5b-6c7d-4e8f-9a0b-c1d2e3f4a5b6';
const SOON_TEMPLATE = '4d5e6f70-8192-4a3b-8c4d-5e6f708192a3';
const SOON_MAP = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';
const BUSY_TEMPLATE = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const BUSY_MAP = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
let pages, beckon, browser;

before(async () => {
  pages = await startPages();
  const rules = mkdtempSync(join(tmpdir(), 'beckon-rules-'));
  mkdirSync(join(rules, DEPLOYMENT));
  writeFileSync(join(rules, DEPLOYMENT, 'pricing.json'), JSON.stringify({
    actionTemplates: [{
      id: TEMPLATE, name: 'Pricing help', mediaType: 'contentOffer', state: 'Active',
      contentOffer: {
        displayMode: 'Modal', layoutMode: 'TextOnly', title: 'Questions about plans?',
        headline: 'We can help', body: 'Compare every plan side by side.',
        callToAction: { text: 'Compare plans', url: `${pages.origin}/compare`, target: 'Self' },
      },
    }, {
      id: DELAYED_TEMPLATE, name: 'Plan guide', mediaType: 'contentOffer', state: 'Active',
      contentOffer: {
        displayMode: 'Toast', layoutMode: 'TextOnly', title: 'A guide to our plans',
        headline: 'Pick in a minute', body: 'Three questions to the right plan.',
        callToAction: { text: 'Start', url: `${pages.origin}/compare`, target: 'Self' },
      },
    }, {
      id: SOON_TEMPLATE, name: 'Soon', mediaType: 'contentOffer', state: 'Active',
      contentOffer: {
        displayMode: 'Toast', layoutMode: 'TextOnly', title: 'After a second',
        headline: 'Still here?', body: 'Here is what you were looking for.',
        callToAction: { text: 'Go', url: `${pages.origin}/compare`, target: 'Self' },
      },
    }, {
      id: BUSY_TEMPLATE, name: 'Busy', mediaType: 'contentOffer', state: 'Active',
      contentOffer: {
        displayMode: 'Toast', layoutMode: 'TextOnly', title: 'Right away',
        headline: 'Now', body: 'Shown at once.',
        callToAction: { text: 'Go', url: `${pages.origin}/compare`, target: 'Self' },
      },
    }],
    actionMaps: [{
      id: SOON_MAP, displayName: 'After a second', isActive: true, weight: 1,
      triggerWithEventConditions: [{
        key: 'page.url', values: ['/soon', '/busy'], operator: 'containsAny',
        streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
      }],
      pageUrlConditions: [{ values: ['/soon', '/busy'], operator: 'containsAny' }],
      activation: { type: 'delay', delayInSeconds: 1 },
      action: { mediaType: 'contentOffer', actionTemplate: { id: SOON_TEMPLATE } },
    }, {
      id: BUSY_MAP, displayName: 'Right away', isActive: true, weight: 1,
      triggerWithEventConditions: [{
        key: 'page.url', values: ['/busy'], operator: 'containsAny',
        streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
      }],
      pageUrlConditions: [{ values: ['/busy'], operator: 'containsAny' }],
      activation: { type: 'immediate' },
      action: { mediaType: 'contentOffer', actionTemplate: { id: BUSY_TEMPLATE } },
    }, {
      id: DELAYED_MAP, displayName: 'Plan guide after a while', isActive: true, weight: 1,
      triggerWithEventConditions: [{
        key: 'page.url', values: ['/plans'], operator: 'containsAny',
        streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
      }],
      pageUrlConditions: [{ values: ['/plans'], operator: 'containsAny' }],
      activation: { type: 'delay', delayInSeconds: 60 },
      action: { mediaType: 'contentOffer', actionTemplate: { id: DELAYED_TEMPLATE } },
    }, {
      id: MAP, displayName: 'Help on pricing', isActive: true, weight: 2,
      triggerWithEventConditions: [{
        key: 'page.url', values: ['/pricing'], operator: 'containsAny',
        streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
      }],
      pageUrlConditions: [{ values: ['/pricing'], operator: 'containsAny' }],
      activation: { type: 'immediate' },
      action: { mediaType: 'contentOffer', actionTemplate: { id: TEMPLATE } },
    }],
  }));
  beckon = await startBeckon(pages.origin, { extra: `provisioning_dir = "${rules}"` });
  pages.setBeckon(beckon.url);
  browser = await launch();
  pages.pages.set('/compare', { html: '<!doctype html><title>Compare</title><h1>Compare</h1>' });
});

after(async () => {
  await browser?.close();
  await beckon?.stop();
  await pages?.close();
});

test('a page view on a matching page gets the decided offer; the whole lifecycle reaches the server', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  const extra = "window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState)); ac('pageview');";
  pages.pages.set('/pricing', { html: page({ src: '/sdk/v1/beckon.js', init, extra }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + '/pricing');
  await ready(p);

  const dialog = p.locator('[role=dialog]');
  await dialog.waitFor({ timeout: 10000 });
  assert.equal(await p.locator('[data-beckon-action] .title').textContent(), 'Questions about plans?');
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered']);

  await Promise.all([p.waitForURL('**/compare'), p.locator('a.cta').click()]);

  const lifecycle = async () => (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionMapId === MAP)
    .map((r) => r.event.actionState);
  await until(async () => (await lifecycle()).length === 3, { timeout: 10000 });
  assert.deepEqual(await lifecycle(), ['qualified', 'offered', 'accepted']);
  const web = (await beckon.events()).filter((r) => r.kind === 'web');
  assert.ok(web.some((r) => r.event.eventName === 'page_viewed' && r.event.page.url.endsWith('/pricing')));
  await context.close();
});

test('accepted by a click that leaves the page while offered is still on its way: the beacon carries both, the server has the whole lifecycle', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/pricing/leaving', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  let held;
  const holding = new Promise((resolve) => {
    p.route('**/action-events', (route) => {
      if (held) return route.continue();
      held = route;
      resolve();
    });
  });
  await p.goto(pages.origin + '/pricing/leaving');
  await p.locator('[data-beckon-action] .title').waitFor();
  const actionId = await p.locator('[data-beckon-action]').getAttribute('data-beckon-action');
  await holding;
  // The request carrying `offered` is held; the visitor follows the call to action.
  await Promise.all([p.waitForURL('**/compare'), p.locator('a.cta').click()]);
  const states = async () => (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionId === actionId)
    .map((r) => r.event.actionState);
  await until(async () => (await states()).includes('accepted'));
  await held.continue().catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await states(), ['qualified', 'offered', 'accepted']);
  await context.close();
});

test('a page the map does not match gets no offer', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/about', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + '/about');
  await ready(p);
  await until(async () => (await beckon.events()).some((r) => r.kind === 'web' && r.event.page.url.endsWith('/about')),
    { timeout: 10000 });
  assert.equal(await p.locator('[data-beckon-action]').count(), 0);
  await context.close();
});

test('a delayed offer: cancelled by leaving its page, not shown on other pages, shown at once back on its page', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  for (const path of ['/plans', '/team']) {
    pages.pages.set(path, { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  }
  const context = await browser.newContext();
  const p = await context.newPage();
  // Each page view's answer: what the server told the page to present.
  const visit = async (path) => {
    const answered = p.waitForResponse((r) => r.url().endsWith('/web-events') && r.request().method() === 'POST');
    await p.goto(pages.origin + path);
    await ready(p);
    return (await (await answered).json()).actions;
  };
  const offers = () => p.locator('[data-beckon-action]').count();

  const first = await visit('/plans');
  assert.equal(first.length, 1);
  assert.deepEqual(first[0].activation, { type: 'delay', delayInSeconds: 60 });
  assert.equal(await offers(), 0);

  assert.deepEqual(await visit('/team'), []);
  assert.equal(await offers(), 0);

  const back = await visit('/plans');
  assert.equal(back.length, 1);
  assert.equal(back[0].actionId, first[0].actionId);
  assert.deepEqual(back[0].activation, { type: 'immediate' });
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.equal(await p.locator('[data-beckon-action] .title').textContent(), 'A guide to our plans');

  const lifecycle = async () => (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionMapId === DELAYED_MAP)
    .map((r) => r.event.actionState);
  await until(async () => (await lifecycle()).length === 2, { timeout: 10000 });
  assert.deepEqual(await lifecycle(), ['qualified', 'offered']);
  await context.close();
});

test('back from the back/forward cache, the page view is recorded again: a delay leaving cancelled is offered at once', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/plans', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview', { customAttributes: { plan: 'team' } });" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const answer = () => p.waitForResponse((r) => r.url().endsWith('/web-events') && r.request().method() === 'POST');
  const first = answer();
  await p.goto(pages.origin + '/plans');
  await ready(p);
  const delayed = (await (await first).json()).actions;
  assert.deepEqual(delayed[0].activation, { type: 'delay', delayInSeconds: 60 });
  const customer = await p.evaluate(() => new Promise((r) => ac('api.session.getData', (e, d) => r(d.customerCookieId))));

  // The visitor leaves and comes back with the back button. Playwright's Chromium never keeps a
  // page in the back/forward cache, so the two events are dispatched as the browser does then.
  const back = answer();
  await p.evaluate(() => {
    dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
  });
  const again = (await (await back).json()).actions;
  assert.equal(again[0].actionId, delayed[0].actionId);
  assert.deepEqual(again[0].activation, { type: 'immediate' });
  await p.locator('[data-beckon-action] .title').waitFor();

  // The same page view again (location, attributes), and nothing more: a first load's pageshow
  // (not persisted) sends nothing.
  const views = async () => (await beckon.events())
    .filter((r) => r.kind === 'web' && r.event.customerCookieId === customer && r.event.eventName === 'page_viewed');
  await until(async () => (await views()).length === 2);
  const [one, two] = await views();
  assert.equal(two.event.page.url, one.event.page.url);
  assert.deepEqual(two.event.customAttributes, one.event.customAttributes);
  assert.notEqual(two.event.eventId, one.event.eventId);
  await p.evaluate(() => dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false })));
  // A single-page app that moved to another URL without a page view: that old view is not sent.
  await p.evaluate(() => {
    history.pushState({}, '', '/plans/compare');
    dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await views()).length, 2);
  await context.close();
});

/** The states the log holds for a map's actions, and its blocked offers' reasons. */
async function journal(map) {
  const records = (await beckon.events()).filter((r) => r.event && r.event.actionMapId === map);
  return {
    states: records.filter((r) => r.kind === 'action').map((r) => r.event.actionState),
    blocked: records.filter((r) => r.kind === 'blocked').map((r) => r.event.reason),
  };
}

test('when a delay ends the page asks again: still eligible, it is shown', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/soon', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const asked = p.waitForResponse((r) => r.url().endsWith('/decisions') && r.request().method() === 'POST');
  await p.goto(pages.origin + '/soon');
  await ready(p);
  assert.equal(await p.locator('[data-beckon-action]').count(), 0);
  const answer = await (await asked).json();
  assert.equal(answer.actions.length, 1);
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.equal(await p.locator('[data-beckon-action] .title').textContent(), 'After a second');
  await until(async () => (await journal(SOON_MAP)).states.length === 2, { timeout: 10000 });
  assert.deepEqual(await journal(SOON_MAP), { states: ['qualified', 'offered'], blocked: [] });
  await context.close();
});

test('when the ask at the end of a delay fails, the page asks again and shows the offer', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/soon', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  // The first ask meets a network failure; the next one goes through.
  let asks = 0;
  await p.route('**/decisions', (route) => (++asks === 1 ? route.abort() : route.continue()));
  await p.goto(pages.origin + '/soon');
  await ready(p);
  await p.locator('[data-beckon-action] .title').waitFor({ timeout: 10000 });
  assert.equal(await p.locator('[data-beckon-action] .title').textContent(), 'After a second');
  assert.equal(asks, 2);
  await context.close();
});

test('when a delay ends the page asks again: an offer of its kind now on screen blocks it', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/busy', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  const before = (await journal(SOON_MAP)).blocked.length;
  const context = await browser.newContext();
  const p = await context.newPage();
  const asked = p.waitForResponse((r) => r.url().endsWith('/decisions') && r.request().method() === 'POST');
  await p.goto(pages.origin + '/busy');
  await ready(p);
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.deepEqual((await (await asked).json()).actions, []);
  await until(async () => (await journal(SOON_MAP)).blocked.length === before + 1, { timeout: 10000 });
  assert.equal((await journal(SOON_MAP)).blocked.at(-1), 'AlreadyExistingOffer');
  assert.deepEqual(await p.locator('[data-beckon-action] .title').allTextContents(), ['Right away']);
  await context.close();
});

test('an answer to a delay that ends after destroy and init shows nothing', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/soon', { html: page({ src: '/sdk/v1/beckon.js', init, extra: "ac('pageview');" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  let held;
  const asking = new Promise((resolve) => {
    p.route('**/decisions', (route) => { held = route; resolve(); });
  });
  await p.goto(pages.origin + '/soon');
  await ready(p);
  await asking;
  await p.evaluate(({ id, server }) => { ac('destroy'); ac('init', id, { server }); },
    { id: DEPLOYMENT, server: beckon.url });
  const answered = p.waitForResponse((r) => r.url().endsWith('/decisions'));
  await held.continue();
  assert.equal((await (await answered).json()).actions.length, 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await p.locator('[data-beckon-action]').count(), 0);
  await context.close();
});

test('a delay started by a page view with its own location is asked about on that location', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  // A single-page app that names its views: the page's address is not the view's.
  const extra = `ac('pageview', { location: '${pages.origin}/soon/virtual-view' });`;
  pages.pages.set('/app', { html: page({ src: '/sdk/v1/beckon.js', init, extra }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const asked = p.waitForRequest((r) => r.url().endsWith('/decisions'));
  await p.goto(pages.origin + '/app');
  await ready(p);
  assert.equal(JSON.parse((await asked).postData()).page.url, `${pages.origin}/soon/virtual-view`);
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.equal(await p.locator('[data-beckon-action] .title').textContent(), 'After a second');
  await context.close();
});

test('a delay of a page view with its own location is asked about on it, also after another offer was shown', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  // '/busy' views get an immediate offer too: showing it must not move the delay's page.
  const extra = `ac('pageview', { location: '${pages.origin}/busy/virtual-view' });`;
  pages.pages.set('/app-busy', { html: page({ src: '/sdk/v1/beckon.js', init, extra }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const asked = p.waitForRequest((r) => r.url().endsWith('/decisions'));
  await p.goto(pages.origin + '/app-busy');
  await ready(p);
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.equal(JSON.parse((await asked).postData()).page.url, `${pages.origin}/busy/virtual-view`);
  await context.close();
});

/** Opens `path` with a page view whose /web-events answer is held until `moved` has run in the
 * page; returns the page, the answer's actions and the contentoffer events the page emitted.
 * `view`, when given, runs in the page once the SDK is ready and makes the page view (otherwise
 * the page makes one as it loads). */
async function answeredAfter(path, moved, view) {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  const extra = "window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState));"
    + (view ? '' : " ac('pageview');");
  pages.pages.set(path, { html: page({ init, extra }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  let held;
  const holding = new Promise((resolve) => {
    p.route('**/web-events', (route) => {
      if (held) return route.continue();
      held = route;
      resolve();
    });
  });
  await p.goto(pages.origin + path);
  await ready(p);
  if (view) await p.evaluate(view);
  await holding;
  await p.evaluate(moved);
  const answered = p.waitForResponse((r) => r.url().endsWith('/web-events'));
  await held.continue();
  const { actions } = await (await answered).json();
  return { context, p, actions };
}

test('a page view\'s answer that comes after a single-page app moved to another route is not presented there', async () => {
  const { context, p, actions } = await answeredAfter('/pricing/spa', () => history.pushState({}, '', '/elsewhere'));
  assert.equal(actions.length, 1, 'the server decided the offer for /pricing/spa');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await p.locator('[data-beckon-action]').count(), 0);
  assert.deepEqual(await p.evaluate(() => window.seen), []);
  const states = (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionId === actions[0].actionId)
    .map((r) => r.event.actionState);
  assert.deepEqual(states, ['qualified'], 'nothing is reported for it: it stays qualified');
  await context.close();
});

test('a page view of the route a single-page app then moves to is presented on that route', async () => {
  // A router records the view of the route it goes to, then moves there; the answer comes after.
  const { context, p, actions } = await answeredAfter('/router', () => {}, () => {
    ac('pageview', { location: '/pricing/routed' });
    history.pushState({}, '', '/pricing/routed');
  });
  assert.equal(actions.length, 1, 'the server decided the offer for /pricing/routed');
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.equal(await p.locator('[data-beckon-action] .title').textContent(), 'Questions about plans?');
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered']);
  await context.close();
});

test('with autotrackUrlChange, a router\'s move to the route its page view just recorded is that view: the offer stays, no second page view; a later move is a route change', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  const extra = "window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState));"
    + " ac('load', 'autotrackUrlChange'); ac('pageview', { location: '/pricing/tracked' });";
  pages.pages.set('/router/tracked', { html: page({ init, extra }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + '/router/tracked');
  await ready(p);
  // The page view's answer is on screen before the router moves to the route it recorded.
  await p.locator('[data-beckon-action] .title').waitFor();
  await p.evaluate(() => history.pushState({}, '', '/pricing/tracked'));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await p.locator('[data-beckon-action]').count(), 1, 'the offer stays on screen');
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered']);
  await p.evaluate(() => history.pushState({}, '', '/elsewhere/tracked'));
  await until(async () => (await p.evaluate(() => window.seen)).length === 2);
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered', 'ignored']);
  const views = async () => (await beckon.events())
    .filter((r) => r.kind === 'web' && r.event.eventName === 'page_viewed' && r.event.page.url.endsWith('/tracked'))
    .map((r) => r.event.page.url.slice(pages.origin.length));
  await until(async () => (await views()).length === 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await views(), ['/pricing/tracked', '/elsewhere/tracked']);
  assert.deepEqual(await p.evaluate(() => [...__errors, ...__console]), []);
  await context.close();
});

test('a page view of the route a single-page app moved to, answered after it moved on, is not presented', async () => {
  const { context, p, actions } = await answeredAfter('/router/on', () => history.pushState({}, '', '/elsewhere'), () => {
    ac('pageview', { location: '/pricing/passed' });
    history.pushState({}, '', '/pricing/passed');
  });
  assert.equal(actions.length, 1, 'the server decided the offer for /pricing/passed');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await p.locator('[data-beckon-action]').count(), 0);
  assert.deepEqual(await p.evaluate(() => window.seen), []);
  await context.close();
});

test('a page view sent again after a network failure, once the single-page app moved to another route, is not presented there; the new route\'s answer is', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/pricing/retried', { html: page({ init, extra: "ac('pageview');" }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const sent = [];
  const answers = [];
  let failed;
  const failing = new Promise((resolve) => { failed = resolve; });
  await p.route('**/web-events', async (route) => {
    sent.push(JSON.parse(route.request().postData()).map((e) => e.page.url));
    if (sent.length === 1) {
      failed();
      return route.abort('connectionrefused');
    }
    return route.continue();
  });
  p.on('response', async (r) => {
    if (r.url().endsWith('/web-events')) answers.push(await r.json());
  });
  await p.goto(pages.origin + '/pricing/retried');
  await ready(p);
  await failing;
  // Before the retry (a backoff of at least half a second), the app moves on and records the
  // new route's page view, which another action map answers.
  await p.evaluate(() => { history.pushState({}, '', '/busy/next'); ac('pageview'); });
  await p.getByText('Right away').waitFor();
  await new Promise((r) => setTimeout(r, 300));
  await until(() => answers.length === sent.length - 1);
  assert.deepEqual(sent, [
    [`${pages.origin}/pricing/retried`], [`${pages.origin}/pricing/retried`], [`${pages.origin}/busy/next`],
  ], 'the first page view went out twice, the new route\'s in a request of its own');
  const [old] = answers[0].actions;
  assert.equal(old.actionMapId, MAP, 'the server decided the first route\'s offer');
  assert.equal(await p.getByText('Questions about plans?').count(), 0, 'it is not shown on the new route');
  const states = (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionId === old.actionId)
    .map((r) => r.event.actionState);
  assert.deepEqual(states, ['qualified'], 'nothing is reported for it: it stays qualified');
  await context.close();
});

test('a page view\'s answer that comes after a jump to an in-page anchor is presented', async () => {
  const { context, p, actions } = await answeredAfter('/pricing/anchor', () => history.pushState({}, '', '#faq'));
  assert.equal(actions.length, 1);
  await p.locator('[data-beckon-action] .title').waitFor();
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered']);
  await context.close();
});

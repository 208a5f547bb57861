// Calls a page makes while the SDK starts, in headless Chromium against a real beckon server: a
// page whose snippet queues nothing (a site that calls `ac('init')` later, after cookie consent)
// and calls while the module is still on its way; the events the server stored show what ran.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { page, ready, until, DEPLOYMENT, environment } from '../harness.mjs';

let pages, beckon, browser;
environment((started) => {
  ({ pages, beckon, browser } = started);
});

test('start-up: calls made after the script ran but before the module is ready run in order once it is, also through a kept snippet function', async () => {
  const tag = 'consent_' + Math.random().toString(36).slice(2);
  // The Genesys snippet with no call after it; `early` keeps the snippet's own function, as a
  // page that stored it would. The calls come once beckon.js has run.
  const html = page({ init: null, extra: `var early = window.ac;
document.querySelector('script[src$="beckon.js"]').addEventListener('load', () => setTimeout(() => {
  window.unready = window.ac === early && !early.q;
  ac('init', '${DEPLOYMENT}', { server: '${beckon.url}' });
  ac('record', '${tag}_1');
  early('record', '${tag}_2');
  window.called = true;
}, 0));` });
  pages.pages.set('/consent', { html });
  const p = await (await browser.newContext()).newPage();
  // The module is held until the calls are made, so they are made before it is ready.
  await p.route(/\.wasm$/, async (route) => {
    await until(() => p.evaluate(() => window.called === true).catch(() => false), { timeout: 10000 });
    await route.continue();
  });
  await p.goto(pages.origin + '/consent');
  await ready(p);
  assert.equal(await p.evaluate(() => window.unready), true, 'the calls came after beckon.js ran, to a snippet with no queue yet');
  await p.evaluate((t) => { ac('record', t + '_3'); early('record', t + '_4'); }, tag);
  const names = async () => (await beckon.events())
    .map((e) => e.event?.eventName).filter((n) => typeof n === 'string' && n.startsWith(tag));
  await until(async () => (await names()).length === 4);
  assert.deepEqual(await names(), [1, 2, 3, 4].map((i) => `${tag}_${i}`));
  assert.deepEqual(await p.evaluate(() => window.__console), []);
});

test('start-up: the script added twice while the module loads runs once; the second copy only says so', async () => {
  const tag = 'twice_' + Math.random().toString(36).slice(2);
  // A tag manager and the snippet both add beckon.js; both copies run before the module is ready.
  const html = page({
    init: `'${DEPLOYMENT}', { server: '${beckon.url}' }`,
    extra: `ac('record', '${tag}_1');`,
    body: '<script src="/sdk-test/beckon.js"></script>',
  });
  pages.pages.set('/twice', { html });
  const p = await (await browser.newContext()).newPage();
  // The module is held until the second copy of the script has run (it says so at once).
  await p.route(/\.wasm$/, async (route) => {
    await until(() => p.evaluate(() => window.__console.length > 0).catch(() => false), { timeout: 10000 });
    await route.continue();
  });
  await p.goto(pages.origin + '/twice');
  await ready(p);
  await p.evaluate((t) => ac('record', t + '_2'), tag);
  const names = async () => (await beckon.events())
    .map((e) => e.event?.eventName).filter((n) => typeof n === 'string' && n.startsWith(tag));
  await until(async () => (await names()).length === 2);
  assert.deepEqual(await names(), [1, 2].map((i) => `${tag}_${i}`));
  assert.deepEqual(await p.evaluate(() => window.__console),
    ['error: Beckon: the SDK script is on this page twice; the second copy does nothing.']);
});

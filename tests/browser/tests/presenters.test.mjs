// How content offers and chat invitations are drawn on a page and answer the keyboard. Headless
// Chromium against a real beckon server; actions are shown through the test hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  page, ready, until, contentOffer, invitation, DEPLOYMENT, environment,
} from '../harness.mjs';

let pages, beckon, browser;
environment((started) => {
  ({ pages, beckon, browser } = started);
  pages.pages.set('/img.svg', { type: 'image/svg+xml', raw: '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="teal"/></svg>' });
});

/** A ready page with a menu of its own that Escape closes; `seen` lists the action states its
 *  handlers heard. */
async function open() {
  const path = '/p' + Math.random().toString(36).slice(2);
  pages.pages.set(path, {
    html: page({
      init: `'${DEPLOYMENT}', { server: '${beckon.url}' }`,
      extra: "window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState)); ac('on', 'webchat:all', (e) => seen.push(e.actionState));",
      body: `<button id="menu">Menu</button><button id="after">After</button>
<script>window.menuClosed = 0; document.addEventListener('keydown', (e) => { if (e.key === 'Escape') menuClosed++; });</script>`,
    }),
  });
  const p = await (await browser.newContext()).newPage();
  await p.goto(pages.origin + path);
  await ready(p);
  return p;
}

async function actionEvents(actionId) {
  return (await beckon.events()).filter((e) => e.event?.actionId === actionId).map((e) => e.event.actionState);
}

/** Shows an action through the test hook after the server has seen it qualified; its host. */
async function present(p, a) {
  const { id, customerCookieId } = await p.evaluate(() => new Promise((r) => ac('api.session.getData', (e, d) => r(d))));
  await beckon.qualify(a, customerCookieId, id);
  await p.evaluate((json) => ac.__test.present(json), JSON.stringify(a));
  const host = p.locator(`[data-beckon-action="${a.actionId}"]`);
  await host.locator('[role=dialog]').waitFor();
  return host;
}

const nonModal = [
  ['Toast', (o) => contentOffer({ displayMode: 'Toast' }, o), 'a.cta'],
  ['Overlay', (o) => contentOffer({ displayMode: 'Overlay' }, o), 'a.cta'],
  ['chat invitation', (o) => invitation({}, o), 'button.accept'],
];

for (const [name, make, inside] of nonModal) {
  test(`${name}: Escape on the page is the page's; Escape inside it rejects it`, async () => {
    const p = await open();
    const a = make();
    const host = await present(p, a);
    await p.focus('#menu');
    await p.keyboard.press('Escape');
    assert.equal(await p.evaluate(() => window.menuClosed), 1);
    // Nothing is reported and it stays: the visitor closed the site's menu, not the offer.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await host.count(), 1);
    assert.deepEqual(await p.evaluate(() => window.seen), ['offered']);
    await host.locator(inside).focus();
    await p.keyboard.press('Escape');
    await until(async () => (await host.count()) === 0);
    assert.deepEqual(await p.evaluate(() => window.seen), ['offered', 'rejected']);
    await until(async () => (await actionEvents(a.actionId)).length === 3);
    assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'rejected']);
  });
}

test('Modal: Escape closes it wherever focus is', async () => {
  const p = await open();
  const a = contentOffer({ displayMode: 'Modal' });
  const host = await present(p, a);
  // Focus leaves it (as when the visitor clicks its backdrop): Escape still closes it.
  await p.evaluate(() => document.querySelector('[data-beckon]').shadowRoot.activeElement.blur());
  assert.equal(await p.evaluate(() => document.activeElement === document.body), true);
  await p.keyboard.press('Escape');
  await until(async () => (await host.count()) === 0);
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered', 'rejected']);
});

test('Modal: Tab and Shift+Tab stay inside it', async () => {
  const p = await open();
  await p.focus('#menu');
  const a = contentOffer({ displayMode: 'Modal' });
  await present(p, a);
  const active = () => p.evaluate(() => {
    const inside = document.querySelector('[data-beckon]').shadowRoot.activeElement;
    return inside ? inside.className : document.activeElement.id;
  });
  // The modal takes focus (its first control, the call to action) and keeps it.
  assert.equal(await active(), 'cta');
  const visited = [];
  for (let i = 0; i < 3; i++) {
    await p.keyboard.press('Tab');
    visited.push(await active());
  }
  assert.deepEqual(visited, ['close', 'cta', 'close']);
  await p.keyboard.press('Shift+Tab');
  await p.keyboard.press('Shift+Tab');
  assert.equal(await active(), 'close');
});

test('layouts: RightText puts the text right of the image, BottomText below it', async () => {
  const p = await open();
  const boxes = async (host) => ({
    text: await host.locator('.text').boundingBox(),
    image: await host.locator('img.image').boundingBox(),
  });
  const right = await present(p, contentOffer({ displayMode: 'Toast', layoutMode: 'RightText' }));
  await until(() => right.locator('img.image').evaluate((i) => i.complete && i.naturalWidth > 0));
  let { text, image } = await boxes(right);
  assert.ok(text.x >= image.x + image.width, `RightText: text ${JSON.stringify(text)}, image ${JSON.stringify(image)}`);
  await right.locator('button.close').click();
  const bottom = await present(p, contentOffer({ displayMode: 'Toast', layoutMode: 'BottomText' }));
  await until(() => bottom.locator('img.image').evaluate((i) => i.complete && i.naturalWidth > 0));
  ({ text, image } = await boxes(bottom));
  assert.ok(text.y >= image.y + image.height, `BottomText: text ${JSON.stringify(text)}, image ${JSON.stringify(image)}`);
});

test('chat invitation: its title and labels as configured, and defaults for those left out', async () => {
  const p = await open();
  const texts = (host) => Promise.all(['.title', '.body', 'button.accept', 'button.decline']
    .map((part) => host.locator(part).textContent()));
  const configured = await present(p, invitation({ title: 'Talk to sales', prompt: 'Need a quote?', acceptLabel: 'Yes please', declineLabel: 'Not now' }));
  assert.deepEqual(await texts(configured), ['Talk to sales', 'Need a quote?', 'Yes please', 'Not now']);
  await configured.locator('button.decline').click();
  const defaults = await present(p, invitation({ title: undefined, prompt: ' ', acceptLabel: undefined, declineLabel: '' }));
  assert.deepEqual(await texts(defaults),
    ['Chat with us', 'Do you have a question? We are here to help.', 'Chat now', 'No thanks']);
});

test('style: a unitless Genesys fontSize is pixels; other lengths still need their unit', async () => {
  const p = await open();
  const host = await present(p, contentOffer({
    displayMode: 'Toast',
    style: {
      title: { fontSize: '12' }, body: { fontSize: '15.5' }, ctaButton: { fontSize: '18' },
      offer: { padding: '10' }, position: { top: '7' },
    },
  }));
  const computed = (part, property) => host.locator(part).evaluate((e, prop) => getComputedStyle(e)[prop], property);
  assert.equal(await computed('.title', 'fontSize'), '12px');
  assert.equal(await computed('.body', 'fontSize'), '15.5px');
  assert.equal(await computed('a.cta', 'fontSize'), '18px');
  // Genesys writes padding and position with their unit ("10px"): a bare number is left out.
  assert.equal(await host.locator('.box').evaluate((e) => e.style.padding + '|' + e.style.top), '|');
  const warnings = await p.evaluate(() => window.__console.filter((m) => m.startsWith('warn:')));
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings.join('\n'), /offer\.padding.*is not a valid length/);
  assert.deepEqual(await p.evaluate(() => window.seen), ['offered']);
});

test('a call to action without text is a "Learn more" button that accepts the offer', async () => {
  const p = await open();
  const a = contentOffer({ displayMode: 'Toast', callToAction: { url: '/shop', target: 'Blank' } });
  const host = await present(p, a);
  const link = host.locator('a.cta');
  assert.equal(await link.textContent(), 'Learn more');
  const [popup] = await Promise.all([p.context().waitForEvent('page'), link.click()]);
  assert.match(popup.url(), /\/shop$/);
  await popup.close();
  await until(async () => (await actionEvents(a.actionId)).length === 3);
  assert.deepEqual(await actionEvents(a.actionId), ['qualified', 'offered', 'accepted']);
});

// The dashboard in headless Chromium against a real beckon server: sign-in is required and a
// wrong token is refused; after sign-in the funnel shows the numbers the reports API gives for
// events this test produced; deactivating a map changes it on the server; a live event posted
// during the test appears in the event console under a topic filter, and one outside the filter
// does not. Screenshots go to tests/browser/artifacts/ (git-ignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBeckon, launch, until, root, DEPLOYMENT } from '../harness.mjs';

const ADMIN = 'browser-test-admin-token';
const ARTIFACTS = join(root, 'tests', 'browser', 'artifacts');
const ORIGIN = 'http://site.test';
let beckon, browser, context, p, offerMap, chatMap;
const pageErrors = [];

async function admin(method, path, body) {
  const r = await fetch(beckon.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function post(route, body) {
  const r = await fetch(`${beckon.url}/api/v1/deployments/${DEPLOYMENT}/${route}`, {
    method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${route}: ${r.status} ${text}`);
  return JSON.parse(text || 'null');
}

/** A new visitor views `url`; returns the decided actions with the visitor's ids. */
async function visit(url) {
  const customerId = crypto.randomUUID();
  const sessionId = crypto.randomUUID();
  const { actions } = await post('web-events', {
    customerCookieId: customerId, sessionId, eventName: 'page_viewed',
    page: { url, title: 'Pricing' }, createdDate: new Date().toISOString(),
  });
  return actions.map((a) => ({ ...a, customerId, sessionId }));
}

/** The page reports `state` for a decided action. */
function report(a, state) {
  return post('action-events', {
    actionId: a.actionId, actionState: state, actionMediaType: a.mediaType,
    actionMapId: a.actionMapId, actionMapVersion: a.actionMapVersion,
    customerId: a.customerId, customerIdType: 'cookie', sessionId: a.sessionId,
    eventId: crypto.randomUUID(), timestamp: new Date().toISOString(),
  });
}

const shot = (name) => p.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  beckon = await startBeckon(ORIGIN);
  const template = await admin('POST', '/api/v2/journey/actiontemplates', {
    name: 'Plan guide', mediaType: 'contentOffer', state: 'Active',
    contentOffer: { displayMode: 'Toast', layoutMode: 'TextOnly', title: '<b>Plans</b> compared',
      callToAction: { text: 'Read', url: `${ORIGIN}/guide`, target: 'Self' } },
  });
  const trigger = (path) => [{ key: 'page.url', values: [path], operator: 'containsAny',
    streamType: 'Web', sessionType: 'web', eventName: 'page_viewed' }];
  // The name is markup on purpose: the dashboard must show it as text.
  offerMap = await admin('POST', '/api/v2/journey/actionmaps', {
    displayName: 'Guide on <i>pricing</i>', triggerWithEventConditions: trigger('/pricing'),
    action: { mediaType: 'contentOffer', actionTemplate: { id: template.id } },
  });
  chatMap = await admin('POST', '/api/v2/journey/actionmaps', {
    displayName: 'Chat on support', triggerWithEventConditions: trigger('/support'),
    action: { mediaType: 'webchat' },
  });
  // Three visitors qualify for the offer; two are offered it, one accepts.
  const decided = [];
  for (let i = 0; i < 3; i++) decided.push(...await visit(`${ORIGIN}/pricing`));
  assert.equal(decided.length, 3);
  await report(decided[0], 'offered');
  await report(decided[1], 'offered');
  await report(decided[0], 'accepted');
  // A chat map visit with no agent available: blocked, never offered.
  await visit(`${ORIGIN}/support`);
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1300, height: 1000 } });
  p = await context.newPage();
  p.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => {
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the dashboard');
  await browser?.close();
  await beckon?.stop();
});

test('the dashboard needs the admin token: a wrong one is refused, nothing is shown', async () => {
  await p.goto(beckon.url + '/dashboard');
  const r = await fetch(beckon.url + '/dashboard');
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/);
  assert.equal(await p.locator('#board').isHidden(), true);
  await p.fill('#token', 'not-the-token');
  await p.click('#sign-in button[type=submit]');
  await until(async () => (await p.textContent('#sign-in-error')).includes('refused'));
  assert.equal(await p.locator('#board').isHidden(), true);
  assert.equal(await p.evaluate(() => sessionStorage.getItem('beckon.admin')), null);
  await shot('refused');
});

test('after sign-in the funnel shows what the reports API counts for the events of this test', async () => {
  await p.fill('#token', ADMIN);
  await p.click('#sign-in button[type=submit]');
  await p.locator('#maps tbody tr').nth(1).waitFor();
  // The map's name is markup, shown as text.
  const names = await p.locator('#maps tbody tr td:first-child').allTextContents();
  assert.deepEqual(names, ['Guide on <i>pricing</i>', 'Chat on support']);
  assert.equal(await p.locator('#maps i').count(), 0);

  const day = 86400e3;
  const to = new Date(Math.floor(Date.now() / day) * day + day).toISOString();
  const from = new Date(Date.parse(to) - 7 * day).toISOString();
  const apiReport = await admin('GET', `/api/v1/reports/actionmaps?from=${from}&to=${to}&actionMapId=${offerMap.id}`);
  const sum = (k) => apiReport.entities.reduce((n, row) => n + row[k], 0);
  assert.deepEqual([sum('qualified'), sum('offered'), sum('accepted'), sum('engaged')], [3, 2, 1, 0]);

  const bar = (label) => p.locator(`#funnel g[data-label="${label}"]`);
  await bar('Qualified').waitFor();
  for (const [label, key] of [['Qualified', 'qualified'], ['Offered', 'offered'], ['Accepted', 'accepted'], ['Engaged', 'engaged']]) {
    assert.equal(Number(await bar(label).getAttribute('data-value')), sum(key), label);
  }
  assert.equal(await bar('Offered').locator('text.value').textContent(), '2 (66.7%)');
  assert.equal(await bar('Accepted').locator('text.value').textContent(), '1 (50.0%)');
  // Bars are drawn to scale: offered is two thirds of qualified.
  const width = async (label) => Number(await bar(label).locator('rect').getAttribute('width'));
  assert.ok(Math.abs((await width('Offered')) / (await width('Qualified')) - 2 / 3) < 0.01);
  // The trend has one line per series over the 7 days, and a dot with today's count.
  const points = (await p.locator('#trend polyline[data-series=offered]').getAttribute('points')).trim().split(' ');
  assert.equal(points.length, 7);
  assert.deepEqual(await p.locator('#trend circle.series-offered title').allTextContents(),
    [`offered ${new Date().toISOString().slice(5, 10)}: ${sum('offered')}`]);
  await shot('funnel');

  // The chat map's blocked reasons (no agent was available).
  await p.locator('#maps tbody tr', { hasText: 'Chat on support' }).click();
  await p.locator('#blocked g[data-label="NoAvailableAgents"]').waitFor();
  assert.equal(await p.locator('#blocked g[data-label="NoAvailableAgents"]').getAttribute('data-value'), '1');
  await shot('blocked');
});

test('deactivating a map patches it with its version; activating it again works too', async () => {
  const row = p.locator('#maps tbody tr', { hasText: 'Chat on support' });
  assert.equal(await row.locator('td').nth(2).textContent(), 'Active');
  await row.getByRole('button', { name: 'Deactivate' }).click();
  await until(async () => (await row.locator('td').nth(2).textContent()) === 'Inactive');
  const stored = await admin('GET', `/api/v2/journey/actionmaps/${chatMap.id}`);
  assert.equal(stored.isActive, false);
  assert.equal(stored.version, chatMap.version + 1);
  assert.equal(await row.locator('td').nth(3).textContent(), String(stored.version));
  // An inactive map is not decided any more.
  assert.deepEqual(await visit(`${ORIGIN}/support`), []);
  await row.getByRole('button', { name: 'Activate' }).click();
  await until(async () => (await row.locator('td').nth(2).textContent()) === 'Active');
  assert.equal((await admin('GET', `/api/v2/journey/actionmaps/${chatMap.id}`)).isActive, true);
});

test('the live console follows the stream with a topic filter; a bad topic is refused with its reason', async () => {
  await p.fill('#topics', 'contentoffer:*');
  await p.click('#follow-button');
  await until(async () => (await p.textContent('#live-error')).includes("did you mean 'contentoffer:all'"));

  await p.fill('#topics', 'contentoffer:accepted');
  await p.click('#follow-button');
  await until(async () => (await p.textContent('#live-state')) === 'following');
  const [a] = await visit(`${ORIGIN}/pricing`);
  await report(a, 'offered');
  await report(a, 'accepted');
  const item = p.locator('#live li[data-topic="contentoffer:accepted"]');
  await item.waitFor();
  assert.match(await item.textContent(), /Guide on <i>pricing<\/i>/);
  assert.match(await item.textContent(), new RegExp(a.customerId));
  await item.locator('summary').click();
  assert.equal(JSON.parse(await item.locator('pre').textContent()).actionId, a.actionId);
  // Only the filtered topic: the qualified and offered events of the same action are not listed.
  assert.deepEqual(await p.locator('#live li').evaluateAll((els) => els.map((e) => e.dataset.topic)), ['contentoffer:accepted']);
  await shot('live');
});

test('the live console reconnects after a server restart and misses nothing committed meanwhile', async () => {
  assert.equal(await p.textContent('#live-state'), 'following');
  const port = Number(new URL(beckon.url).port);
  await beckon.stop();
  await until(async () => (await p.textContent('#live-state')) === 'reconnecting…');
  // The page stays offline until the events below are committed, so they can only reach it
  // through the catch-up of the reconnection (Last-Event-ID), not live.
  await context.setOffline(true);
  beckon = await startBeckon(ORIGIN, { port, dir: beckon.dir });
  const [a] = await visit(`${ORIGIN}/pricing`);
  await report(a, 'offered');
  await report(a, 'accepted');
  await context.setOffline(false);
  await p.locator(`#live li:has-text("${a.customerId}")`).waitFor({ timeout: 10000 });
  assert.equal(await p.textContent('#live-state'), 'following');
  // Resumed after the last event shown: nothing twice, only the filtered topic.
  const topics = await p.locator('#live li').evaluateAll((els) => els.map((e) => e.dataset.topic));
  assert.deepEqual(topics, ['contentoffer:accepted', 'contentoffer:accepted']);
  await p.click('#follow-button');
  assert.equal(await p.textContent('#follow-button'), 'Follow');
});

test('a console that lost the stream before any event matched resumes from where it started', async () => {
  await p.fill('#topics', 'contentoffer:rejected');
  await p.click('#follow-button');
  await until(async () => (await p.textContent('#live-state')) === 'following');
  const port = Number(new URL(beckon.url).port);
  await beckon.stop();
  await until(async () => (await p.textContent('#live-state')) === 'reconnecting…');
  await context.setOffline(true);
  beckon = await startBeckon(ORIGIN, { port, dir: beckon.dir });
  const [a] = await visit(`${ORIGIN}/pricing`);
  await report(a, 'offered');
  await report(a, 'rejected');
  await context.setOffline(false);
  // Only the stream's opening id can bring it: no event matched before the restart.
  await p.locator(`#live li[data-topic="contentoffer:rejected"]:has-text("${a.customerId}")`).waitFor({ timeout: 10000 });
  await p.click('#follow-button');
  assert.equal(await p.textContent('#follow-button'), 'Follow');
});

// Web chat in two browsers (issue 6): a visitor on a page with the served SDK build and an agent
// in the real console (`/console`), against a real `beckon` that decides the chat invitation from
// a provisioned webchat action map with a pre-chat survey. Every webchat state the page can reach
// is driven by clicks and key presses and checked both in the page's `ac('on')` handlers (each
// state once) and in the server's event log (each state once).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBeckon, startPages, launch, page, ready, until, DEPLOYMENT } from '../harness.mjs';

const MAP = '0c7e6a52-3f1b-4d8e-9a6c-5b4d3e2f1a07';
const ADMIN = 'browser-test-admin-token';
const AGENT = { name: 'Ada Lovelace', email: 'ada@shop.test', password: 'correct horse battery', capacity: 20 };
let pages, beckon, browser, agent;

// The page: the seed's enrichment example verbatim (spec 4.4), an analytics provider it sends
// to, a record of every webchat state, and a handle on the page's WebSockets so that a test can
// drop them (and refuse new ones for a while) like a broken network would.
const EXTRA = `
window.sent = [];
window.someAnalyticsProvider = { send: (evt) => sent.push(evt) };
window.seen = [];
window.events = [];
ac('on', 'webchat:all', (e) => seen.push(e.actionState));
ac('on', 'webchat:all', (e) => events.push({ ...e }));
ac('on', 'webchat:all', (evt) => {
  _genesys.widgets.bus.command('WebChatService.getSessionData').then((data) => {
    if (data.conversationId) {
      evt.conversationId = data.conversationId;
    }

    someAnalyticsProvider.send(evt);
  })
});
ac('pageview');`;
const SOCKETS = `<script>
window.__sockets = []; window.__refuse = false;
const Native = WebSocket;
window.WebSocket = function (url) {
  if (window.__refuse) throw new DOMException('refused by the test', 'SyntaxError');
  const s = new Native(url); __sockets.push(s); return s;
};
window.WebSocket.OPEN = 1;
</script>`;

before(async () => {
  pages = await startPages();
  const rules = mkdtempSync(join(tmpdir(), 'beckon-chat-rules-'));
  mkdirSync(join(rules, DEPLOYMENT));
  writeFileSync(join(rules, DEPLOYMENT, 'chat.json'), JSON.stringify({
    actionMaps: [{
      id: MAP, displayName: 'Help in the shop', isActive: true, weight: 1,
      triggerWithEventConditions: [{
        key: 'page.url', values: ['/shop'], operator: 'containsAny',
        streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
      }],
      activation: { type: 'immediate' },
      action: {
        mediaType: 'webchat', isPacingEnabled: false,
        props: {
          webchatPrompt: 'Questions about your order?', webchatTitleText: 'Chat with us',
          webchatAcceptText: 'Chat now', webchatDeclineText: 'Not now',
          webchatSurvey: { questions: [
            { type: 'text', label: 'Your name', customerProperty: 'givenName', isMandatory: true },
            { type: 'select', label: 'Topic', choices: ['Orders', 'Returns'], isMandatory: true },
            { type: 'textarea', label: 'Your question' },
            { type: 'checkbox', label: 'Email me a transcript' },
            { type: 'hidden', label: 'Campaign', choices: ['spring'] },
          ] },
        },
      },
    }],
  }));
  beckon = await startBeckon(pages.origin, { extra: `provisioning_dir = "${rules}"` });
  pages.setBeckon(beckon.url);
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  for (const path of ['/shop', '/shop/cart']) {
    pages.pages.set(path, { html: page({ src: '/sdk/v1/beckon.js', init, extra: EXTRA, head: SOCKETS }) });
  }
  const r = await fetch(`${beckon.url}/api/v1/agents`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(AGENT),
  });
  assert.equal(r.status, 201, await r.text());
  browser = await launch();
  agent = await signIn();
});

after(async () => {
  await browser?.close();
  await beckon?.stop();
  await pages?.close();
});

/** The agent's console, signed in and available. */
async function signIn() {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(beckon.url + '/console');
  await p.fill('#email', AGENT.email);
  await p.fill('#password', AGENT.password);
  await p.click('#sign-in button[type=submit]');
  await p.locator('#desk').waitFor();
  await until(async () => (await p.locator('#load').textContent()).includes('/'));
  await p.selectOption('#presence', 'available');
  await until(() => p.evaluate(async () => {
    const headers = { authorization: 'Bearer ' + sessionStorage.getItem('beckon.agent') };
    return (await (await fetch('/api/v1/agent/me', { headers })).json()).presence === 'available';
  }));
  return p;
}

/** A new visitor on `/shop` with the chat invitation on screen. */
async function visitor() {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + '/shop');
  await ready(p);
  await p.locator('[data-beckon=chat-invitation] [role=dialog]').waitFor({ timeout: 10000 });
  const actionId = await p.locator('[data-beckon=chat-invitation]').getAttribute('data-beckon-action');
  return { context, p, actionId };
}

/** Accepts the invitation and fills the pre-chat form. */
async function startChat(p, name = 'Grace') {
  await p.click('[data-beckon=chat-invitation] button.accept');
  const form = p.locator('[data-beckon=chat-form]');
  await form.locator('#beckon-q0').fill(name);
  await form.locator('#beckon-q1').selectOption('Returns');
  await form.locator('#beckon-q2').fill('Where is my <b>parcel</b>?');
  await form.locator('button.accept').click();
  await p.locator('[data-beckon=chat] [role=log]').waitFor();
  await until(() => p.evaluate(() => seen.includes('started')));
}

const chatLog = (p) => p.locator('[data-beckon=chat] [role=log] li').allTextContents();
const stored = (p) => p.evaluate(() => JSON.parse(sessionStorage.getItem('beckon_chat')));

/** The states the server logged for `actionId`, oldest first. */
async function logged(actionId) {
  return (await beckon.events())
    .filter((r) => r.kind === 'action' && r.event.actionId === actionId)
    .map((r) => r.event.actionState);
}

/** The agent accepts the next conversation in the queue. */
async function agentAccepts() {
  await until(async () => Number(await agent.locator('#queue-count').textContent()) > 0);
  await agent.click('#accept');
  await agent.locator('#chat').waitFor();
}

async function agentSays(text) {
  await agent.fill('#text', text);
  await agent.press('#text', 'Enter');
}

test('from invitation to a completed chat: form, agent, messages both ways, another page, every state once', async () => {
  const { context, p, actionId } = await visitor();
  assert.deepEqual(await p.evaluate(() => _genesys.widgets.bus.command('WebChatService.getSessionData')), {});

  // The form refuses a submission without its mandatory answers, accessibly.
  await p.click('[data-beckon=chat-invitation] button.accept');
  const form = p.locator('[data-beckon=chat-form]');
  await form.locator('[role=dialog][aria-modal=true]').waitFor();
  assert.equal(await form.locator('label[for=beckon-q0]').textContent(), 'Your name *');
  await form.locator('button.accept').click();
  assert.equal(await form.locator('#beckon-q0').getAttribute('aria-invalid'), 'true');
  assert.equal(await form.locator('#beckon-q0-error').textContent(), 'Your name is required.');
  assert.equal(await form.locator('#beckon-q1-error').textContent(), 'Topic is required.');
  assert.equal(await form.locator('#beckon-q0').getAttribute('aria-describedby'), 'beckon-q0-error');
  assert.equal(await p.evaluate(() => document.querySelector('[data-beckon=chat-form]').shadowRoot.activeElement.id), 'beckon-q0');
  assert.deepEqual(await p.evaluate(() => seen), ['offered', 'accepted']);
  await p.keyboard.type('Grace');
  await form.locator('#beckon-q1').selectOption('Returns');
  await form.locator('#beckon-q3').check();
  await form.locator('button.accept').click();
  await until(() => p.evaluate(() => seen.includes('started')));
  assert.equal(await form.count(), 0);

  const conversationId = (await stored(p)).conversationId;
  assert.match(conversationId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(await p.evaluate(() => _genesys.widgets.bus.command('WebChatService.getSessionData')), { conversationId });
  const chat = p.locator('[data-beckon=chat]');
  assert.equal(await chat.locator('.status').textContent(), 'Waiting for an agent…');
  assert.equal(await p.evaluate(() => document.querySelector('[data-beckon=chat]').shadowRoot.activeElement.getAttribute('aria-label')), 'Message');

  // The agent takes it and sees the answers.
  await agentAccepts();
  await until(async () => (await agent.locator('#visitor-form').textContent()).includes('Grace'));
  const answers = await agent.locator('#visitor-form').textContent();
  for (const part of ['Your name', 'Grace', 'Topic', 'Returns', 'Email me a transcript', 'yes', 'Campaign', 'spring']) {
    assert.ok(answers.includes(part), `${part} in ${answers}`);
  }
  await until(() => p.evaluate(() => seen.includes('engaged')));
  await until(async () => (await chatLog(p)).includes('Ada Lovelace joined the chat.'));

  // Messages both ways; the agent's typing shows; nothing from a message is HTML.
  await agent.locator('#text').pressSequentially('Hel');
  await chat.locator('.typing', { hasText: 'The agent is typing…' }).waitFor();
  await agent.fill('#text', '');
  await agentSays('<img src=x onerror="window.pwned=1">Hello Grace');
  await until(async () => (await chatLog(p)).includes('Ada Lovelace<img src=x onerror="window.pwned=1">Hello Grace'));
  assert.equal(await chat.locator('img').count(), 0);
  assert.equal(await chat.locator('.typing').textContent(), '');
  await chat.locator('input[aria-label=Message]').pressSequentially('My parcel is late');
  await until(async () => (await agent.locator('#typing').textContent()) === 'The visitor is typing…');
  await chat.locator('input[aria-label=Message]').press('Enter');
  await until(async () => (await agent.locator('#entries').textContent()).includes('My parcel is late'));
  await until(async () => (await chatLog(p)).includes('My parcel is late'));

  // Another page of the site: the same conversation with its history, no state again.
  await p.goto(pages.origin + '/shop/cart');
  await ready(p);
  await until(async () => (await chatLog(p)).includes('My parcel is late'));
  assert.deepEqual(await chatLog(p), [
    'Ada Lovelace joined the chat.',
    'Ada Lovelace<img src=x onerror="window.pwned=1">Hello Grace',
    'My parcel is late',
  ]);
  assert.equal(await p.evaluate(() => seen.length), 0);
  await agentSays('It ships today');
  await until(async () => (await chatLog(p)).includes('Ada LovelaceIt ships today'));
  await agent.click('#end');
  await until(() => p.evaluate(() => seen.includes('completed')));
  assert.deepEqual(await p.evaluate(() => seen), ['completed']);
  assert.equal((await chatLog(p)).at(-1), 'The chat has ended.');
  assert.ok(await chat.locator('input[aria-label=Message]').isDisabled());
  assert.equal(await stored(p), null);
  // The seed's handler ran on this page too, and sent the conversation id with the event.
  const sent = await p.evaluate(() => sent);
  assert.deepEqual(sent.map((e) => [e.actionState, e.conversationId]), [['completed', conversationId]]);
  assert.equal(await p.evaluate(() => window.pwned), undefined);

  await until(async () => (await logged(actionId)).length === 6);
  assert.deepEqual(await logged(actionId),
    ['qualified', 'offered', 'accepted', 'started', 'engaged', 'completed']);
  await chat.locator('button.close').click();
  assert.equal(await chat.count(), 0);
  assert.deepEqual(await p.evaluate(() => __errors), []);
  await context.close();
});

test("the page's started, engaged, completed and abandoned are the server's stored events: same eventId, timestamp, every field", async () => {
  /** The page's event of `state` and the server's, for `actionId`. */
  const both = async (p, actionId, state) => {
    const page = (await p.evaluate(() => events)).filter((e) => e.actionState === state);
    assert.equal(page.length, 1, `one ${state} on the page`);
    await until(async () => (await beckon.events()).some((r) => r.event?.actionId === actionId && r.event.actionState === state));
    const server = (await beckon.events()).filter((r) => r.kind === 'action' && r.event.actionId === actionId && r.event.actionState === state);
    assert.equal(server.length, 1, `one ${state} stored`);
    return [page[0], server[0].event];
  };

  const { context, p, actionId } = await visitor();
  await startChat(p);
  await agentAccepts();
  await until(() => p.evaluate(() => seen.includes('engaged')));
  await agent.click('#end');
  await until(() => p.evaluate(() => seen.includes('completed')));
  for (const state of ['started', 'engaged', 'completed']) {
    const [page, server] = await both(p, actionId, state);
    assert.deepEqual(page, server, state);
  }
  await context.close();

  // Closed before an agent joined.
  const left = await visitor();
  await startChat(left.p);
  await left.p.click('[data-beckon=chat] button.close');
  await until(() => left.p.evaluate(() => seen.includes('abandoned')));
  for (const state of ['started', 'abandoned']) {
    const [page, server] = await both(left.p, left.actionId, state);
    assert.deepEqual(page, server, state);
  }
  await left.context.close();
});

test('the seed enrichment example gets the conversation id once the chat has started, not before', async () => {
  const { context, p, actionId } = await visitor();
  await startChat(p);
  const conversationId = (await stored(p)).conversationId;
  await until(() => p.evaluate(() => sent.length === 3));
  assert.deepEqual(await p.evaluate(() => sent.map((e) => [e.actionState, e.conversationId])), [
    ['offered', undefined], ['accepted', undefined], ['started', conversationId],
  ]);
  const started = (await p.evaluate(() => sent))[2];
  assert.equal(started.actionId, actionId);
  assert.equal(started.actionMapId, MAP);
  // Closing before an agent joins abandons it; the window goes, the state comes once.
  await p.click('[data-beckon=chat] button.close');
  await until(() => p.evaluate(() => seen.includes('abandoned')));
  assert.deepEqual(await p.evaluate(() => seen), ['offered', 'accepted', 'started', 'abandoned']);
  assert.equal(await p.locator('[data-beckon=chat]').count(), 0);
  await until(async () => (await logged(actionId)).includes('abandoned'));
  assert.deepEqual(await logged(actionId), ['qualified', 'offered', 'accepted', 'started', 'abandoned']);
  assert.equal(await stored(p), null);
  await context.close();
});

test('closing the pre-chat form rejects the chat: Escape, Cancel and the close button', async () => {
  for (const close of ['Escape', 'button.decline', 'button.close']) {
    const { context, p, actionId } = await visitor();
    await p.click('[data-beckon=chat-invitation] button.accept');
    const form = p.locator('[data-beckon=chat-form]');
    await form.locator('#beckon-q0').fill('Grace');
    if (close === 'Escape') await p.keyboard.press('Escape');
    else await form.locator(close).click();
    assert.equal(await form.count(), 0);
    await until(async () => (await logged(actionId)).length === 4);
    assert.deepEqual(await logged(actionId), ['qualified', 'offered', 'accepted', 'rejected']);
    assert.deepEqual(await p.evaluate(() => seen), ['offered', 'accepted', 'rejected']);
    assert.deepEqual(await p.evaluate(() => sent.map((e) => e.conversationId)), [undefined, undefined, undefined]);
    await context.close();
  }
});

test('leaving the page, or destroy, with the pre-chat form open rejects the chat', async () => {
  for (const leave of ['navigate', 'destroy']) {
    const { context, p, actionId } = await visitor();
    await p.click('[data-beckon=chat-invitation] button.accept');
    await p.locator('[data-beckon=chat-form] #beckon-q0').waitFor();
    if (leave === 'navigate') await p.goto('about:blank');
    else await p.evaluate(() => ac('destroy'));
    await until(async () => (await logged(actionId)).length === 4);
    assert.deepEqual(await logged(actionId), ['qualified', 'offered', 'accepted', 'rejected'], leave);
    await context.close();
  }
});

test('a dropped connection resumes without losing or repeating a message', async () => {
  const { context, p } = await visitor();
  await startChat(p);
  await agentAccepts();
  await until(async () => (await chatLog(p)).includes('Ada Lovelace joined the chat.'));
  await agentSays('First');
  await until(async () => (await chatLog(p)).includes('Ada LovelaceFirst'));
  // The network drops the socket and the next attempts fail; the agent writes meanwhile.
  const presence = () => agent.locator('#visitor-presence').textContent();
  assert.equal(await presence(), '');
  await p.evaluate(() => { __refuse = true; __sockets.at(-1).close(); });
  // The console says the visitor is gone, until they are back.
  await until(async () => (await presence()).startsWith('The visitor is not connected'));
  await agentSays('Second');
  await agentSays('Third');
  await new Promise((r) => setTimeout(r, 600));
  await p.evaluate(() => { __refuse = false; });
  await until(async () => (await chatLog(p)).includes('Ada LovelaceThird'));
  await until(async () => (await presence()) === '');
  await p.locator('[data-beckon=chat] input[aria-label=Message]').fill('Got them');
  await p.locator('[data-beckon=chat] input[aria-label=Message]').press('Enter');
  await until(async () => (await agent.locator('#entries').textContent()).includes('Got them'));
  await until(async () => (await chatLog(p)).includes('Got them'));
  assert.deepEqual(await chatLog(p), [
    'Ada Lovelace joined the chat.', 'Ada LovelaceFirst', 'Ada LovelaceSecond', 'Ada LovelaceThird', 'Got them',
  ]);
  assert.deepEqual(await p.evaluate(() => seen), ['offered', 'accepted', 'started', 'engaged']);
  await agent.click('#end');
  await until(() => p.evaluate(() => seen.includes('completed')));
  await context.close();
});

test("a visitor cannot read another visitor's conversation", async () => {
  const a = await visitor();
  await startChat(a.p, 'Alice');
  const b = await visitor();
  await startChat(b.p, 'Bob');
  const theirs = (await stored(a.p)).conversationId;
  const mine = (await stored(b.p)).token;
  const base = `${beckon.url}/api/v1/deployments/${DEPLOYMENT}/conversations/${theirs}`;
  const answers = await b.p.evaluate(async ([base, token]) => {
    const read = (headers) => fetch(base, { headers }).then((r) => r.status);
    const socket = await new Promise((resolve) => {
      const s = new WebSocket(base.replace(/^http/, 'ws') + `/ws?access_token=${token}&after=0`);
      s.onopen = () => resolve('open');
      s.onclose = () => resolve('refused');
    });
    return { mine: await read({ authorization: `Bearer ${token}` }), none: await read({}), socket };
  }, [base, mine]);
  assert.deepEqual(answers, { mine: 403, none: 401, socket: 'refused' });
  for (const v of [a, b]) {
    await v.p.click('[data-beckon=chat] button.close');
    await until(() => v.p.evaluate(() => seen.includes('abandoned')));
    await v.context.close();
  }
});

test('a connection that cannot be kept after retries is errored, once', async () => {
  const { context, p, actionId } = await visitor();
  await startChat(p);
  await p.evaluate(() => { __refuse = true; __sockets.at(-1).close(); });
  await until(() => p.evaluate(() => seen.includes('errored')), { timeout: 20000 });
  const errored = await p.evaluate(() => sent.find((e) => e.actionState === 'errored'));
  assert.equal(errored.errorCode, 4004);
  assert.equal(errored.errorMessage, 'the chat connection was lost');
  assert.deepEqual(await p.evaluate(() => seen), ['offered', 'accepted', 'started', 'errored']);
  assert.equal((await chatLog(p)).at(-1), 'The chat was disconnected.');
  assert.equal(await stored(p), null);
  await until(async () => (await logged(actionId)).includes('errored'));
  assert.deepEqual(await logged(actionId), ['qualified', 'offered', 'accepted', 'started', 'errored']);
  await context.close();
});

test('destroy takes the chat off the page and the bus away; the next page resumes the chat', async () => {
  const { context, p, actionId } = await visitor();
  await startChat(p);
  await p.evaluate(() => ac('destroy'));
  assert.equal(await p.locator('[data-beckon]').count(), 0);
  assert.equal(await p.evaluate(() => window._genesys.widgets), undefined);
  await p.goto(pages.origin + '/shop/cart');
  await ready(p);
  await p.locator('[data-beckon=chat] [role=log]').waitFor();
  assert.equal((await stored(p)).actionId, actionId);
  await p.click('[data-beckon=chat] button.close');
  await until(() => p.evaluate(() => seen.includes('abandoned')));
  assert.deepEqual(await p.evaluate(() => seen), ['abandoned']);
  await context.close();
});

test('a conversation created after destroy and init is not the new start\'s: no failure, nothing ended', async () => {
  const { context, p } = await visitor();
  const errors = [];
  p.on('console', (m) => { if (m.type() === 'error' && m.text().startsWith('Beckon:')) errors.push(m.text()); });
  let held;
  const holding = new Promise((resolve) => {
    p.route('**/conversations', (route) => {
      if (route.request().method() !== 'POST' || held) return route.continue();
      held = route;
      resolve();
    });
  });
  await p.click('[data-beckon=chat-invitation] button.accept');
  const form = p.locator('[data-beckon=chat-form]');
  await form.locator('#beckon-q0').fill('Ada');
  await form.locator('#beckon-q1').selectOption('Orders');
  await form.locator('button.accept').click();
  await holding;
  await p.evaluate((init) => { ac('destroy'); ac('init', ...init); }, [DEPLOYMENT, { server: beckon.url }]);
  await ready(p);
  const answered = p.waitForResponse((r) => r.url().endsWith('/conversations'));
  await held.continue();
  await answered;
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(errors, []);
  await context.close();
});

test('a page with Genesys Widgets of its own keeps them: no bus from Beckon', async () => {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  pages.pages.set('/widgets', {
    html: page({ src: '/sdk/v1/beckon.js', init, head: '<script>window._genesys = { widgets: { main: { theme: "dark" } } };</script>' }),
  });
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(pages.origin + '/widgets');
  await ready(p);
  assert.deepEqual(await p.evaluate(() => window._genesys), { widgets: { main: { theme: 'dark' } } });
  await context.close();
});

test('an answer over 1000 bytes keeps the form open and says so, without starting the chat', async () => {
  const { context, p } = await visitor();
  await p.click('[data-beckon=chat-invitation] button.accept');
  const form = p.locator('[data-beckon=chat-form]');
  // 600 characters, 1200 bytes of UTF-8: a maxlength of 1000 would let it through.
  await form.locator('#beckon-q0').fill('é'.repeat(600));
  await form.locator('#beckon-q1').selectOption('Orders');
  await form.locator('button.accept').click();
  assert.equal(await form.locator('#beckon-q0').getAttribute('aria-invalid'), 'true');
  assert.equal(await form.locator('#beckon-q0-error').textContent(), 'Your name is too long.');
  assert.equal(await p.evaluate(() => document.querySelector('[data-beckon=chat-form]').shadowRoot.activeElement.id), 'beckon-q0');
  assert.deepEqual(await p.evaluate(() => seen), ['offered', 'accepted']);
  assert.equal(await p.evaluate(() => sessionStorage.getItem('beckon_chat')), null);
  await form.locator('button.decline').click();
  await until(() => p.evaluate(() => seen.includes('rejected')));
  await context.close();
});

test('the console keeps a message it cannot send and says why: too many bytes, not connected', async () => {
  const { context, p } = await visitor();
  await startChat(p);
  // Earlier tests may leave chats waiting: the agent takes them until this one is theirs.
  await until(async () => {
    if ((await chatLog(p)).includes('Ada Lovelace joined the chat.')) return true;
    if (Number(await agent.locator('#queue-count').textContent()) > 0) await agent.click('#accept');
    return false;
  });
  // 2100 characters, 4200 bytes of UTF-8: over the server's 4096 bytes.
  const long = 'é'.repeat(2100);
  await agentSays(long);
  assert.equal(await agent.locator('#status').textContent(), 'Not sent: the message has 4200 bytes, at most 4096.');
  assert.equal(await agent.inputValue('#text'), long);
  // While the socket waits to reconnect (2 s), a message stays, and goes once connected.
  await agent.evaluate(() => state.socket.close());
  await until(() => agent.evaluate(() => state.socket.readyState === WebSocket.CLOSED));
  await agentSays('Still there?');
  assert.match(await agent.locator('#status').textContent(), /^Not sent: not connected/);
  assert.equal(await agent.inputValue('#text'), 'Still there?');
  await until(() => agent.evaluate(() => state.socket.readyState === WebSocket.OPEN));
  await agent.press('#text', 'Enter');
  await until(async () => (await chatLog(p)).includes('Ada LovelaceStill there?'));
  assert.equal(await agent.inputValue('#text'), '');
  await agent.click('#end');
  await until(() => p.evaluate(() => seen.includes('completed')));
  await context.close();
});

test('a console whose account is deleted shows the sign-in form and why', async () => {
  const bo = { name: 'Bo', email: 'bo@shop.test', password: 'correct horse battery' };
  const r = await fetch(`${beckon.url}/api/v1/agents`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(bo),
  });
  assert.equal(r.status, 201);
  const { id } = await r.json();
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(beckon.url + '/console');
  await p.fill('#email', bo.email);
  await p.fill('#password', bo.password);
  await p.click('#sign-in button[type=submit]');
  await p.locator('#desk').waitFor();
  await until(() => p.evaluate(() => state.socket?.readyState === WebSocket.OPEN));
  const gone = await fetch(`${beckon.url}/api/v1/agents/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(gone.status, 204);
  // The socket closes with 1008: no reconnecting with a dead token, the form again.
  await p.locator('#sign-in').waitFor();
  assert.equal(await p.locator('#status').textContent(), 'Signed out: the account was deleted');
  assert.equal(await p.evaluate(() => sessionStorage.getItem('beckon.agent')), null);
  await context.close();
});

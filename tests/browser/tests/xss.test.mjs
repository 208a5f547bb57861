// Well-known XSS payloads in every field configuration or a visitor can put on a page, shown in
// headless Chromium: content offers (made through the admin API, decided by the server, shown
// by the served SDK build) and the agent console (visitor messages, pre-chat form answers, page
// titles and URLs, the action map's and the agent's names). Every payload that could run calls
// `window.__pwned(...)` or loads a `/pwned…` URL; the tests prove neither happened, no
// dialog opened, and each text is on the page as the same text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBeckon, startPages, launch, page, ready, until, DEPLOYMENT } from '../harness.mjs';

const ADMIN = 'browser-test-admin-token';

/** Markup and script payloads, for fields shown as text. */
const TEXT = [
  `<script>window.__pwned('script')</script>`,
  `<img src=x onerror="window.__pwned('img onerror')">`,
  `<svg onload="window.__pwned('svg onload')">`,
  `<svg><script>window.__pwned('svg script')</script></svg>`,
  `"><img src=x onerror=window.__pwned('attribute breakout')>`,
  `'><script>window.__pwned('single quote breakout')</script>`,
  `</textarea></title></style><script>window.__pwned('closing tags')</script>`,
  `<iframe src="javascript:parent.__pwned('iframe')"></iframe>`,
  `<iframe srcdoc="<script>parent.__pwned('srcdoc')</script>"></iframe>`,
  `<details open ontoggle="window.__pwned('ontoggle')">`,
  `<input autofocus onfocus="window.__pwned('autofocus')">`,
  `<video><source onerror="window.__pwned('video')"></video>`,
  `<body onload="window.__pwned('body onload')">`,
  `<object data="javascript:window.__pwned('object')"></object>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned('mutation')">`,
  `<style>@import url(/pwned-style-import.css);</style>`,
  `<link rel=stylesheet href=/pwned-link.css>`,
  `<meta http-equiv="refresh" content="0;url=javascript:window.__pwned('meta refresh')">`,
  `<a href="javascript:window.__pwned('link')" id=pwned-link>click</a>`,
  `\${window.__pwned('template literal')}`,
  `{{constructor.constructor('window.__pwned("template injection")')()}}`,
  `\u003cimg src=x onerror=window.__pwned('escaped angle brackets')\u003e`,
  `\uff1cscript\uff1ewindow.__pwned('fullwidth')\uff1c/script\uff1e`,
  `\u202e<img src=x onerror=window.__pwned('bidi override')>`,
  `<scr\u0000ipt>window.__pwned('null byte')</scr\u0000ipt>`,
  `&lt;script&gt;window.__pwned('entities')&lt;/script&gt;`,
];

/** URL payloads, for the call to action's and the image's URL (the origin is prepended where
 *  a payload needs to pass the server's "absolute URL" check as an http URL). */
const URLS = (origin) => [
  `javascript:window.__pwned('javascript url')`,
  `JaVaScRiPt:window.__pwned('mixed case')`,
  `java\tscript:window.__pwned('tab inside')`,
  `javascript&#58;window.__pwned('entity colon')`,
  `data:text/html,<script>window.__pwned('data url')</script>`,
  `vbscript:window.__pwned('vbscript')`,
  `${origin}/img.svg" onerror="window.__pwned('src breakout')`,
  `${origin}/shop?"><script>window.__pwned('href breakout')</script>`,
];

/** Style values: each must be refused by the style whitelist (nothing loads, nothing runs). */
const STYLES = [
  `red;background:url(/pwned-css-semicolon.png)`,
  `url(/pwned-css-url.png)`,
  `expression(window.__pwned('css expression'))`,
  `red}</style><script>window.__pwned('style breakout')</script>`,
  `#fff;behavior:url(/pwned.htc)`,
  `10px;background-image:image-set(url(/pwned-image-set.png) 1x)`,
  `var(--x, url(/pwned-var.png))`,
];

let pages, beckon, browser;

before(async () => {
  pages = await startPages();
  beckon = await startBeckon(pages.origin, {
    extra: '[chat]\nmessages_per_second = 1000\nmessage_burst = 1000\n',
  });
  pages.setBeckon(beckon.url);
  pages.pages.set('/img.svg', {
    raw: '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>',
    type: 'image/svg+xml',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await beckon?.stop();
  await pages?.close();
});

async function admin(method, path, body) {
  const r = await fetch(beckon.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Watches a page for anything a payload could do: `__pwned` calls (collected in the page),
 *  dialogs, and requests for a `/pwned…` path. Call before the page loads. */
function watch(p) {
  const seen = { dialogs: [], requests: [] };
  p.on('dialog', (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  p.on('request', (r) => { if (/\/pwned[-.]/.test(new URL(r.url()).pathname)) seen.requests.push(r.url()); });
  return seen;
}

const GUARD = `<script>window.__hits = []; window.__pwned = (what) => window.__hits.push(String(what));</script>`;

/** Asserts that nothing ran: no `__pwned` call (also in frames), no dialog, no `pwned` request. */
async function assertInert(p, seen, label) {
  // Event handlers (onerror of a broken image, onload, ontoggle) fire asynchronously.
  await p.waitForTimeout(300);
  const hits = await p.evaluate(() => window.__hits);
  assert.deepEqual(hits, [], `${label}: script ran`);
  assert.deepEqual(seen.dialogs, [], `${label}: a dialog opened`);
  assert.deepEqual(seen.requests, [], `${label}: a payload URL was requested`);
}

/** A content offer map shown on pages whose path contains `/xss/<key>/`; its template `offer`. */
async function offerOn(key, offer, style) {
  const template = await admin('POST', '/api/v2/journey/actiontemplates', {
    name: `XSS ${key}`, mediaType: 'contentOffer', state: 'Active',
    contentOffer: { displayMode: 'Modal', layoutMode: 'LeftText', ...offer, ...(style ? { style } : {}) },
  });
  if (template.status !== 200) return template;
  const map = await admin('POST', '/api/v2/journey/actionmaps', {
    displayName: `XSS ${key}`, isActive: true, weight: 2,
    triggerWithEventConditions: [{
      key: 'page.url', values: [`/xss/${key}/`], operator: 'containsAny',
      streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
    }],
    pageUrlConditions: [{ values: [`/xss/${key}/`], operator: 'containsAny' }],
    activation: { type: 'immediate' },
    action: { mediaType: 'contentOffer', actionTemplate: { id: template.body.id } },
  });
  assert.equal(map.status, 200, JSON.stringify(map.body));
  return template;
}

/** Opens `/xss/<key>/` in a new visitor's browser; the page, what it saw, and its offer's
 *  lifecycle states as page handlers heard them. */
async function visit(key) {
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  const extra = "window.seen = []; ac('on', 'contentoffer:all', (e) => seen.push(e.actionState)); ac('pageview');";
  pages.pages.set(`/xss/${key}/`, { html: page({ src: '/sdk/v1/beckon.js', init, extra, head: GUARD }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const seen = watch(p);
  await p.goto(`${pages.origin}/xss/${key}/`);
  await ready(p);
  return { p, seen, context };
}

test('markup and script in every text field of a content offer are shown as text and never run', async () => {
  for (const [i, payload] of TEXT.entries()) {
    const key = `text${i}`;
    const template = await offerOn(key, {
      title: payload, headline: payload, body: payload, imageUrl: `${pages.origin}/img.svg`,
      imageAltText: payload,
      callToAction: { text: payload, url: `${pages.origin}/shop`, target: 'Self' },
    });
    assert.equal(template.status, 200, `${key}: ${JSON.stringify(template.body)}`);
    const { p, seen, context } = await visit(key);
    const offer = p.locator('[data-beckon-action]');
    await offer.locator('.title').waitFor({ timeout: 10000 });
    // The payload's own markup never became elements or attributes: each field holds the text
    // (U+0000, which HTML cannot carry, as U+FFFD: the offer is markup with every value escaped).
    const shown = payload.replaceAll('\u0000', '\ufffd');
    for (const part of ['.title', '.headline', '.body', 'a.cta']) {
      assert.equal(await offer.locator(part).textContent(), shown, `${key} ${part}`);
    }
    assert.equal(await offer.locator('img').getAttribute('alt'), shown, `${key} alt`);
    await assertNoPayloadMarkup(offer, key);
    await assertInert(p, seen, key);
    await context.close();
  }
});

/** Asserts that no payload became an element or an event handler attribute in the offer. */
async function assertNoPayloadMarkup(offer, key) {
  const markup = await offer.evaluateAll((hosts) => hosts.flatMap((h) =>
    [...(h.shadowRoot || h).querySelectorAll('*')].map((e) => ({
      tag: e.localName,
      handlers: [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name),
    }))));
  const foreign = ['script', 'iframe', 'svg', 'object', 'embed', 'video', 'source', 'details',
    'input', 'meta', 'link', 'math', 'body', 'table'];
  assert.deepEqual(markup.filter((m) => foreign.includes(m.tag)), [], `${key}: payload elements`);
  assert.deepEqual(markup.filter((m) => m.handlers.length), [], `${key}: event handler attributes`);
}

test('an offer without a title is labelled by its headline or its image text, as the same text', async () => {
  const payload = `"><img src=x onerror="window.__pwned('label breakout')">'`;
  const offers = {
    labelheadline: { layoutMode: 'TextOnly', headline: payload, body: payload },
    labelalt: { layoutMode: 'ImageOnly', imageUrl: `${pages.origin}/img.svg`, imageAltText: payload },
  };
  for (const [key, fields] of Object.entries(offers)) {
    const template = await offerOn(key, {
      ...fields, callToAction: { text: payload, url: `${pages.origin}/shop?a="b"&c=<d>`, target: 'Blank' },
    }, { ctaButton: { font: `'Open Sans', "Noto Sans"` } });
    assert.equal(template.status, 200, `${key}: ${JSON.stringify(template.body)}`);
    const { p, seen, context } = await visit(key);
    const offer = p.locator('[data-beckon-action]');
    const dialog = offer.locator('[role=dialog]');
    await dialog.waitFor({ timeout: 10000 });
    assert.equal(await dialog.getAttribute('aria-label'), payload, `${key} aria-label`);
    assert.equal(await offer.locator('a.cta').textContent(), payload, `${key} cta`);
    assert.equal(await offer.locator('a.cta').getAttribute('href'), `${pages.origin}/shop?a=%22b%22&c=%3Cd%3E`);
    assert.match(await offer.locator('a.cta').getAttribute('style'), /font-family: "Open Sans", "Noto Sans"/);
    await assertNoPayloadMarkup(offer, key);
    await assertInert(p, seen, key);
    await context.close();
  }
});

test('javascript:, data: and attribute-breaking URLs in the call to action and the image never run', async () => {
  for (const [i, url] of URLS(pages.origin).entries()) {
    for (const field of ['cta', 'image']) {
      const key = `url${i}${field}`;
      const offer = {
        title: 'Safe title', body: 'Safe body', imageAltText: 'A parcel',
        imageUrl: field === 'image' ? url : `${pages.origin}/img.svg`,
        callToAction: { text: 'Go', url: field === 'cta' ? url : `${pages.origin}/shop`, target: 'Self' },
      };
      const template = await offerOn(key, offer);
      if (template.status !== 200) {
        // Refused by the admin API (not an absolute URL): stored nowhere, shown nowhere.
        assert.equal(template.status, 422, `${key}: ${JSON.stringify(template.body)}`);
        continue;
      }
      const { p, seen, context } = await visit(key);
      // Either the SDK refused the offer (an unsafe scheme: `errored`) or it is shown with the
      // URL as an inert http(s) attribute value.
      const offerEl = p.locator('[data-beckon-action]');
      const outcome = await until(async () => {
        if ((await p.evaluate(() => window.seen)).includes('errored')) return 'errored';
        // Shown means drawn with its image loaded: an image that fails makes the offer errored.
        const loaded = await offerEl.evaluateAll((hosts) => hosts.some((h) => {
          const img = (h.shadowRoot || h).querySelector('img');
          return !!img && img.complete && img.naturalWidth > 0 && !!(h.shadowRoot || h).querySelector('a.cta');
        }));
        return loaded ? 'shown' : null;
      }, { timeout: 10000 });
      if (outcome === 'shown') {
        const link = await offerEl.locator('a.cta').getAttribute('href');
        const src = await offerEl.locator('img').getAttribute('src');
        for (const value of [link, src]) assert.match(value, /^https?:\/\//, `${key}: ${value}`);
        await assertInert(p, seen, key);
        // Clicking the call to action only navigates (same origin, a 404 page): nothing runs.
        await Promise.all([p.waitForEvent('framenavigated'), offerEl.locator('a.cta').click()]);
        assert.deepEqual(seen.dialogs, [], `${key}: a dialog opened`);
      } else {
        assert.equal(await offerEl.count(), 0, `${key}: shown anyway`);
        const errors = await p.evaluate(() => window.__console.filter((m) => m.startsWith('error:')));
        assert.match(errors.join('\n'), /must be http or https|is not a URL|the image did not load/, key);
        await assertInert(p, seen, key);
      }
      await context.close();
    }
  }
});

test('CSS injection in every style value is left out: nothing loads, nothing runs', async () => {
  for (const [i, value] of STYLES.entries()) {
    const key = `style${i}`;
    const text = { color: value, font: value, fontSize: value, textAlign: value };
    const style = {
      position: { top: value, left: value },
      offer: { padding: value, color: value, backgroundColor: value },
      closeButton: { color: value },
      ctaButton: { ...text, backgroundColor: value },
      title: text, headline: text, body: text,
    };
    const template = await offerOn(key, {
      title: 'Styled', headline: 'Styled', body: 'Styled', layoutMode: 'TextOnly',
      callToAction: { text: 'Go', url: `${pages.origin}/shop`, target: 'Self' },
    }, style);
    if (template.status !== 200) {
      assert.equal(template.status, 422, `${key}: ${JSON.stringify(template.body)}`);
      continue;
    }
    const { p, seen, context } = await visit(key);
    const offer = p.locator('[data-beckon-action]');
    await offer.locator('.title').waitFor({ timeout: 10000 });
    const inline = await offer.evaluateAll((hosts) => hosts.flatMap((h) =>
      [...(h.shadowRoot || h).querySelectorAll('[style]')].map((e) => e.getAttribute('style'))));
    for (const s of inline) {
      assert.doesNotMatch(s, /url\(|expression|behavior|image-set|var\(|<|script/i, `${key}: style="${s}"`);
    }
    await assertInert(p, seen, key);
    await context.close();
  }
});

test('chat: invitation, pre-chat form, console and chat window show every payload as text', async () => {
  // Payloads a text input can carry as typed (no NUL byte).
  const typed = TEXT.filter((t) => !t.includes('\u0000'));
  const [name, mapName, prompt, title, accept, decline, label, choice, hidden, answer, pageTitle] = typed;
  const [checkLabel, areaLabel] = [typed[12], typed[13]];
  const foreign = (root) => root.evaluateAll((els) => els.flatMap((h) =>
    [...(h.shadowRoot || h).querySelectorAll('script, iframe, svg, object, img, video, details, math, meta, link, [onerror], [onload]')]
      .map((e) => e.outerHTML.slice(0, 80))));
  const agentAccount = { name, email: 'xss@shop.test', password: 'correct horse battery', capacity: 5 };
  assert.equal((await admin('POST', '/api/v1/agents', agentAccount)).status, 201);
  const map = await admin('POST', '/api/v2/journey/actionmaps', {
    displayName: mapName, isActive: true, weight: 1,
    triggerWithEventConditions: [{
      key: 'page.url', values: ['/xss-chat'], operator: 'containsAny',
      streamType: 'Web', sessionType: 'web', eventName: 'page_viewed',
    }],
    activation: { type: 'immediate' },
    action: {
      mediaType: 'webchat', isPacingEnabled: false,
      props: {
        webchatPrompt: prompt, webchatTitleText: title, webchatAcceptText: accept, webchatDeclineText: decline,
        webchatSurvey: { questions: [
          { type: 'text', label, isMandatory: true },
          { type: 'select', label: 'Topic', choices: [choice, 'Other'], isMandatory: true },
          { type: 'hidden', label: 'Campaign', choices: [hidden] },
          { type: 'checkbox', label: checkLabel },
          { type: 'textarea', label: areaLabel },
        ] },
      },
    },
  });
  assert.equal(map.status, 200, JSON.stringify(map.body));

  // The agent, in the real console, signed in and available.
  const agentContext = await browser.newContext();
  await agentContext.addInitScript(() => { window.__hits = []; window.__pwned = (w) => window.__hits.push(String(w)); });
  const agent = await agentContext.newPage();
  const agentSeen = watch(agent);
  await agent.goto(beckon.url + '/console');
  await agent.fill('#email', agentAccount.email);
  await agent.fill('#password', agentAccount.password);
  await agent.click('#sign-in button[type=submit]');
  await agent.locator('#desk').waitFor();
  await until(async () => (await agent.locator('#me-name').textContent()) === name);
  await agent.selectOption('#presence', 'available');
  await until(() => agent.evaluate(async () => {
    const headers = { authorization: 'Bearer ' + sessionStorage.getItem('beckon.agent') };
    return (await (await fetch('/api/v1/agent/me', { headers })).json()).presence === 'available';
  }));

  // The visitor: a page whose title is a payload and whose URL carries one in its query.
  const init = `'${DEPLOYMENT}', { server: '${beckon.url}' }`;
  const extra = `document.title = ${JSON.stringify(pageTitle)}; window.seen = [];
ac('on', 'webchat:all', (e) => seen.push(e.actionState)); ac('pageview');`;
  pages.pages.set('/xss-chat', { html: page({ src: '/sdk/v1/beckon.js', init, extra, head: GUARD }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const seen = watch(p);
  await p.goto(`${pages.origin}/xss-chat?q=${encodeURIComponent(typed[11])}`);
  await ready(p);
  const invitation = p.locator('[data-beckon=chat-invitation]');
  await invitation.locator('[role=dialog]').waitFor({ timeout: 10000 });
  assert.equal(await invitation.locator('.title').textContent(), title);
  assert.equal(await invitation.locator('.body').textContent(), prompt);
  assert.equal(await invitation.locator('button.accept').textContent(), accept);
  assert.equal(await invitation.locator('button.decline').textContent(), decline);
  await invitation.locator('button.accept').click();
  const form = p.locator('[data-beckon=chat-form]');
  assert.equal(await form.locator('label[for=beckon-q0]').textContent(), `${label} *`);
  assert.equal(await form.locator('label[for=beckon-q3]').textContent(), checkLabel);
  assert.equal(await form.locator('label[for=beckon-q4]').textContent(), areaLabel);
  assert.deepEqual(await form.locator('#beckon-q1 option').allTextContents(), ['Choose…', choice, 'Other']);
  assert.deepEqual(await foreign(invitation), [], 'payload elements in the invitation');
  assert.deepEqual(await foreign(form), [], 'payload elements in the pre-chat form');
  await form.locator('#beckon-q0').fill(answer);
  await form.locator('#beckon-q1').selectOption(choice);
  await form.locator('button.accept').click();
  const chat = p.locator('[data-beckon=chat]');
  await chat.locator('[role=log]').waitFor();

  // The agent takes it: the visitor's answers, page and the map are text in the console.
  await until(async () => Number(await agent.locator('#queue-count').textContent()) > 0);
  await agent.click('#accept');
  await agent.locator('#chat').waitFor();
  await until(async () => (await agent.locator('#visitor-form dd').count()) === 4);
  const terms = await agent.locator('#visitor-form dt').allTextContents();
  const values = await agent.locator('#visitor-form dd').allTextContents();
  assert.deepEqual(Object.fromEntries(terms.map((t, i) => [t, values[i]])),
    { [label]: answer, Topic: choice, Campaign: hidden, [checkLabel]: 'no' });
  assert.ok((await agent.locator('#chat-title').textContent()).startsWith(mapName), 'the map name as text');
  await until(async () => (await agent.locator('#visitor-pages').textContent()).includes(pageTitle));
  await until(() => p.evaluate(() => seen.includes('engaged')));

  // Every payload as a visitor message (console) and as an agent message (chat window).
  const input = chat.locator('input[aria-label=Message]');
  for (const text of typed) {
    await input.fill(text);
    await input.press('Enter');
    await agent.fill('#text', text);
    await agent.press('#text', 'Enter');
  }
  const visitorLines = typed.map((t) => `Visitor: ${t}`);
  await until(async () => {
    const lines = await agent.locator('#entries li.visitor').allTextContents();
    return lines.length === typed.length ? lines : null;
  }, { timeout: 15000 });
  assert.deepEqual(await agent.locator('#entries li.visitor').allTextContents(), visitorLines);
  const agentLines = typed.map((t) => `${name}${t}`);
  await until(async () => {
    const lines = await chat.locator('[role=log] li.agent').allTextContents();
    return lines.length === typed.length ? lines : null;
  }, { timeout: 15000 });
  assert.deepEqual(await chat.locator('[role=log] li.agent').allTextContents(), agentLines);
  assert.deepEqual(await chat.locator('[role=log] li.visitor').allTextContents(), typed);
  assert.deepEqual(await foreign(chat), [], 'payload elements in the chat window');
  assert.deepEqual(await foreign(agent.locator('#desk')), [], 'payload elements in the console');
  await assertInert(p, seen, 'visitor page');
  await assertInert(agent, agentSeen, 'agent console');
  await context.close();
  await agentContext.close();
});

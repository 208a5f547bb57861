// What every browser test needs: a real `beckon` server (the binary cargo built) on a loopback
// port with a temporary data directory, a tiny page server on another loopback port (the page
// origin, allowed by the deployment's config), and Debian's headless Chromium. Nothing here
// reaches outside the machine.
import { before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const DEPLOYMENT = '5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61';
export const READ_TOKEN = 'browser-test-read-token';
const BIN = process.env.BECKON_BIN || join(root, 'target', 'debug', 'beckon');
const TEST_SDK = join(root, 'target', 'sdk', 'dist-test');

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts `beckon serve` allowing `pageOrigin`; `port` fixed when given (restart tests). */
export async function startBeckon(pageOrigin, { port = 0, extra = '', dir } = {}) {
  dir = dir || mkdtempSync(join(tmpdir(), 'beckon-browser-'));
  const config = join(dir, 'beckon.toml');
  writeFileSync(config, `data_dir = "${join(dir, 'data')}"
admin_token = "browser-test-admin-token"
read_token = "${READ_TOKEN}"
listen = "127.0.0.1:${port}"
${extra}
[[deployments]]
id = "${DEPLOYMENT}"
name = "Browser tests"
allowed_origins = ["${pageOrigin}"]
`);
  const child = spawn(BIN, ['serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: Object.fromEntries(Object.entries({ ...process.env, RUST_LOG: 'warn' })
      .filter(([k]) => !['BECKON_ADMIN_TOKEN', 'BECKON_LISTEN', 'BECKON_DATA_DIR'].includes(k))),
  });
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = line.match(/^beckon listening on (\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`beckon exited with ${code}`)));
  });
  return {
    url, dir, child,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGKILL');
    }),
    /** Every stored event (web and action), oldest first. */
    async events() {
      const r = await fetch(`${url}/api/v1/events?after=0&limit=1000`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
      if (!r.ok) throw new Error(`events: ${r.status} ${await r.text()}`);
      return (await r.json()).events;
    },
    /**
     * Has the server qualify `action` for this customer and session, the way a page gets one (the
     * server alone records `qualified`): an action map of its own through the admin API, then a
     * page view of its page. `action` takes the server's actionId, actionMapId and version.
     */
    async qualify(action, customerId, sessionId) {
      const call = async (method, path, body) => {
        const r = await fetch(url + path, {
          method,
          headers: { origin: pageOrigin, 'content-type': 'application/json', authorization: 'Bearer browser-test-admin-token' },
          body: JSON.stringify(body),
        });
        if (!r.ok) throw new Error(`qualify: ${path}: ${r.status} ${await r.text()}`);
        return r.json();
      };
      const page = `/qualify/${crypto.randomUUID()}`;
      let media = { mediaType: 'webchat', isPacingEnabled: false };
      if (action.mediaType !== 'webchat') {
        const template = await call('POST', '/api/v2/journey/actiontemplates', {
          name: `Offer ${page}`, mediaType: 'contentOffer', state: 'Active',
          contentOffer: { displayMode: 'Toast', layoutMode: 'TextOnly', title: 'Offer' },
        });
        media = { mediaType: 'contentOffer', actionTemplate: { id: template.id } };
      }
      const map = await call('POST', '/api/v2/journey/actionmaps', {
        displayName: `Qualify ${page}`, isActive: true, ignoreFrequencyCap: true,
        triggerWithEventConditions: [{ key: 'page.url', values: [page], operator: 'containsAny',
          streamType: 'Web', sessionType: 'web', eventName: 'page_viewed' }],
        activation: { type: 'immediate' }, action: media,
      });
      await call('POST', `/api/v1/deployments/${DEPLOYMENT}/web-events`, {
        customerCookieId: customerId, sessionId, eventName: 'page_viewed',
        page: { url: pageOrigin + page, title: 'Qualify' }, createdDate: new Date().toISOString(),
      });
      const qualified = (await this.events()).find((e) => e.event?.actionMapId === map.id
        && e.event.actionState === 'qualified' && e.event.sessionId === sessionId);
      if (!qualified) throw new Error(`qualify: the page view did not qualify map ${map.id}`);
      Object.assign(action, {
        actionId: qualified.event.actionId, actionMapId: map.id,
        actionMapVersion: qualified.event.actionMapVersion,
      });
    },
  };
}

const types = { '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.html': 'text/html' };

/**
 * The page server. `pages` maps a path to `{ html, csp? }` or `{ js }`. `/sdk/v1/*` is proxied to
 * the beckon server (the served build); `/sdk-test/*` is the test-hooks build from disk.
 */
export async function startPages() {
  const pages = new Map();
  let beckonUrl = null;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    try {
      if (path.startsWith('/sdk/v1/') && beckonUrl) {
        const r = await fetch(beckonUrl + path, { headers: { 'accept-encoding': req.headers['accept-encoding'] || '' } });
        const headers = {};
        // fetch() has already decoded any gzip, so content-encoding is not passed on.
        for (const k of ['content-type', 'cache-control', 'etag']) {
          if (r.headers.get(k)) headers[k] = r.headers.get(k);
        }
        res.writeHead(r.status, headers);
        return res.end(Buffer.from(await r.arrayBuffer()));
      }
      let file = null;
      if (path.startsWith('/sdk-test/')) file = join(TEST_SDK, path.slice('/sdk-test/'.length));
      if (path === '/adobe.js') file = join(here, 'node_modules/@adobe/adobe-client-data-layer/dist/adobe-client-data-layer.min.js');
      if (path.startsWith('/testdata/')) file = join(root, path);
      if (file && !file.includes('..') && existsSync(file)) {
        res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
        return res.end(readFileSync(file));
      }
      const page = pages.get(path);
      if (!page) { res.writeHead(404); return res.end('not found'); }
      if (page.raw) { res.writeHead(200, { 'content-type': page.type }); return res.end(page.raw); }
      if (page.js) { res.writeHead(200, { 'content-type': 'text/javascript' }); return res.end(page.js); }
      const headers = { 'content-type': 'text/html; charset=utf-8' };
      if (page.csp) headers['content-security-policy'] = page.csp;
      res.writeHead(200, headers);
      res.end(page.html);
    } catch (e) {
      res.writeHead(500); res.end(String(e));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin, pages,
    setBeckon(url) { beckonUrl = url; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

/**
 * The usual set-up of a test file: before its tests, the page server, a beckon server (where the
 * pages get the SDK) and Chromium; after them, all three stopped. `started` gets them once they
 * run: the file keeps them and adds its own pages.
 */
export function environment(started) {
  const env = {};
  before(async () => {
    env.pages = await startPages();
    env.beckon = await startBeckon(env.pages.origin);
    env.pages.setBeckon(env.beckon.url);
    env.browser = await launch();
    started(env);
  });
  after(async () => {
    await env.browser?.close();
    await env.beckon?.stop();
    await env.pages?.close();
  });
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The Genesys snippet with only the script URL and the id changed (and the global's name);
 * `init: null` leaves out its `init` call (a site that calls it later). */
export function snippet(src, { name = 'ac', init = `'${DEPLOYMENT}'`, extra = '' } = {}) {
  return `(function(a,t,c,l,o,u,d){a['_genesysJourneySdk']=o;a[o]=a[o]||function(){
(a[o].q=a[o].q||[]).push(arguments)},a[o].l=1*new Date();u=t.createElement(c),
d=t.getElementsByTagName(c)[0];u.async=1;u.src=l;u.charset='utf-8';d.parentNode.insertBefore(u,d)
})(window, document, 'script', '${src}', '${name}');
${init === null ? '' : `${name}('init', ${init});`}
${extra}`;
}

/** A page that loads the SDK with the snippet; `body` and `script` are added as given. */
export function page({ src = '/sdk-test/beckon.js', name, init, extra = '', head = '', body = '' } = {}) {
  return `<!doctype html><html><head><title>Test page</title>${head}
<script>window.__errors = []; window.__console = [];
addEventListener('error', (e) => __errors.push(e.error ? String(e.error.message || e.error) : e.message));
for (const level of ['error', 'warn']) { const o = console[level]; console[level] = (...a) => { __console.push(level + ': ' + a.map(String).join(' ')); o.apply(console, a); }; }
</script>
<script>${snippet(src, { name, init, extra })}</script></head><body>${body}</body></html>`;
}

/** Waits until `ready` resolves true in the page. */
export async function ready(p, name = 'ac') {
  // Polls with evaluate: waitForFunction would need 'unsafe-eval', which the CSP tests refuse.
  await until(() => p.evaluate((n) => !!(window[n] && window[n].beckon === true), name), { timeout: 10000 });
}

export async function until(check, { timeout = 8000, every = 50 } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error('timed out waiting; last value: ' + JSON.stringify(last));
}

export function action(overrides = {}) {
  return {
    actionId: crypto.randomUUID(), actionMapId: crypto.randomUUID(), actionMapVersion: 3,
    activation: { type: 'immediate' },
    ...overrides,
  };
}

export function contentOffer(offer = {}, overrides = {}) {
  return action({
    mediaType: 'contentoffer',
    contentOffer: {
      title: 'Free shipping', headline: 'Today only', body: 'Orders over 50 ship free.',
      imageUrl: '/img.svg', imageAltText: 'A parcel', displayMode: 'Modal', layoutMode: 'LeftText',
      callToAction: { text: 'Shop now', url: '/shop', target: 'Self' }, ...offer,
    },
    ...overrides,
  });
}

export function invitation(invite = {}, overrides = {}) {
  return action({
    mediaType: 'webchat', timeoutSeconds: 30,
    chatInvitation: { prompt: 'Need help?', title: 'Chat', acceptLabel: 'Yes', declineLabel: 'No', ...invite },
    ...overrides,
  });
}

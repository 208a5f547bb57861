// How the real beckon server serves the built SDK (/sdk/v1/), which every page waits for before
// the SDK is ready: the smallest encoding the client accepts (Brotli for Chromium), cache headers
// (the module immutable under its hashed name, the script revalidated with its ETag), and
// Chromium loading the SDK that way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBeckon, startPages, launch, page, ready, until, root, DEPLOYMENT } from '../harness.mjs';

const DIST = join(root, 'target', 'sdk', 'dist');
const WASM = readdirSync(DIST).find((f) => /^beckon_bg\.[0-9a-f]{16}\.wasm$/.test(f));

let pages, beckon, browser;

before(async () => {
  pages = await startPages();
  beckon = await startBeckon(pages.origin);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await beckon?.stop();
  await pages?.close();
});

/** A GET without any decoding: status, headers and the body's bytes as sent. */
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    request(beckon.url + path, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

test('the smallest accepted copy: Brotli, gzip, or the file as built', async () => {
  const chromium = 'gzip, deflate, br, zstd';
  for (const [name, type] of [['beckon.js', 'text/javascript; charset=utf-8'], [WASM, 'application/wasm']]) {
    const br = await get('/sdk/v1/' + name, { 'accept-encoding': chromium });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-type'], type);
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.deepEqual(br.body, readFileSync(join(DIST, name + '.br')));
    const gzip = await get('/sdk/v1/' + name, { 'accept-encoding': 'gzip, br;q=0' });
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.deepEqual(gzip.body, readFileSync(join(DIST, name + '.gz')));
    const plain = await get('/sdk/v1/' + name);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, readFileSync(join(DIST, name)));
    assert.ok(br.body.length < gzip.body.length && gzip.body.length < plain.body.length);
  }
});

test('cache headers: the hashed module is immutable, the script is revalidated (304)', async () => {
  const wasm = await get('/sdk/v1/' + WASM, { 'accept-encoding': 'br' });
  assert.equal(wasm.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(wasm.headers['access-control-allow-origin'], '*');
  assert.equal(wasm.headers['timing-allow-origin'], '*');
  const script = await get('/sdk/v1/beckon.js', { 'accept-encoding': 'br' });
  assert.equal(script.headers['cache-control'], 'public, max-age=300, must-revalidate');
  const etag = script.headers.etag;
  assert.match(etag, /^"[0-9a-f]+-br"$/);
  const again = await get('/sdk/v1/beckon.js', { 'accept-encoding': 'br', 'if-none-match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.headers.etag, etag);
  assert.equal(again.body.length, 0);
  // The tag names the Brotli copy: a client that gets gzip has another one.
  const gzip = await get('/sdk/v1/beckon.js', { 'accept-encoding': 'gzip', 'if-none-match': etag });
  assert.equal(gzip.status, 200);
  assert.notEqual(gzip.headers.etag, etag);
});

test('Chromium loads the SDK as Brotli from the beckon origin and it starts', async () => {
  pages.pages.set('/served', { html: page({ src: beckon.url + '/sdk/v1/beckon.js', init: `'${DEPLOYMENT}', { server: '${beckon.url}' }` }) });
  const context = await browser.newContext();
  const p = await context.newPage();
  const encodings = new Map();
  p.on('response', async (r) => {
    if (r.url().includes('/sdk/v1/')) encodings.set(r.url().split('/').pop(), (await r.allHeaders())['content-encoding']);
  });
  await p.goto(pages.origin + '/served');
  await ready(p);
  await until(() => encodings.size === 2);
  assert.deepEqual(Object.fromEntries(encodings), { 'beckon.js': 'br', [WASM]: 'br' });
  assert.deepEqual(await p.evaluate(() => window.__errors), []);
  await context.close();
});

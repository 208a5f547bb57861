// Size and speed of the SDK, measured in headless Chromium against a real beckon server:
// - bytes on the wire (gzip, as the server sends them) of everything the page fetches for the SDK
//   (the served build, /sdk/v1/);
// - script tag to ready (the snippet inserts the tag; ready is the loader's `beckon:ready`), median
//   of 15 cold loads (new browser context each, so nothing is cached);
// - events delivered to one handler per second (the test-hooks build: 1,000,000 events, each with
//   a fresh eventId and timestamp, through the real bus and delivery path).
// Budgets from issue #5: <= 30 KB gzip, <= 50 ms, >= 1,000,000 events/s. Prints the numbers and
// exits non-zero when a budget is missed.
import { startBeckon, startPages, launch, snippet, DEPLOYMENT } from './harness.mjs';

const pages = await startPages();
const beckon = await startBeckon(pages.origin);
pages.setBeckon(beckon.url);
const browser = await launch();
const html = (src) => `<!doctype html><html><head><title>bench</title><script>
window.__t0 = performance.now();
addEventListener('beckon:ready', () => { window.__ready = performance.now() - window.__t0; });
${snippet(src, { init: `'${DEPLOYMENT}', { server: '${beckon.url}' }` })}
</script></head><body></body></html>`;
pages.pages.set('/served', { html: html(beckon.url + '/sdk/v1/beckon.js') });
pages.pages.set('/hooks', { html: html('/sdk-test/beckon.js') });

try {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < 15; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    let total = 0;
    const urls = new Map();
    cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
    cdp.on('Network.loadingFinished', (e) => {
      if ((urls.get(e.requestId) || '').includes('/sdk/v1/')) total += e.encodedDataLength;
    });
    await page.goto(pages.origin + '/served');
    await page.waitForFunction(() => window.__ready !== undefined);
    times.push(await page.evaluate(() => window.__ready));
    bytes = total;
    await context.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];

  const page = await browser.newPage();
  await page.goto(pages.origin + '/hooks');
  await page.waitForFunction(() => window.__ready !== undefined);
  const rate = await page.evaluate(() => {
    let n = 0;
    ac('on', 'webchat:all', () => { n++; });
    ac.__test.bench(100000);
    n = 0;
    const ms = ac.__test.bench(1000000);
    return { delivered: n, ms };
  });
  const perSecond = Math.round(rate.delivered / (rate.ms / 1000));

  const kb = bytes / 1024;
  console.log(`sdk size on the wire (gzip, headers included): ${bytes} bytes = ${kb.toFixed(1)} KB  (budget 30 KB)`);
  console.log(`script tag to ready: median ${median.toFixed(1)} ms of 15 cold loads (min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)})  (budget 50 ms)`);
  console.log(`dispatch: ${rate.delivered} events in ${rate.ms.toFixed(0)} ms = ${perSecond.toLocaleString('en')} events/s to one handler  (budget 1,000,000)`);
  const missed = [kb > 30 && 'size', median > 50 && 'ready time', perSecond < 1e6 && 'dispatch rate'].filter(Boolean);
  if (missed.length) { console.log('over budget: ' + missed.join(', ')); process.exitCode = 1; }
} finally {
  await browser.close();
  await beckon.stop();
  await pages.close();
}

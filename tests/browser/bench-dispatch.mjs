// Event dispatch in headless Chromium: the SDK beside EventEmitter3 in the same page (issue 8).
// - the SDK: `ac.__test.bench(n)` (the test-hooks build) emits n events, each with a fresh
//   eventId and timestamp, through beckon-core's bus and the real delivery path, to one handler
//   registered with `ac('on', 'webchat:all', ...)`;
// - EventEmitter3 doing the same work: the same loop in chunks of 10,000, each event a fresh
//   object (the template spread, a new eventId from crypto.randomUUID, a new ISO timestamp),
//   emitted to one listener;
// - EventEmitter3's floor: one prebuilt object emitted n times (dispatch alone, no event built).
// Median of 3 runs of 1,000,000 each, after a warm-up. Prints markdown table rows (figure,
// value, baseline, ratio). Run with `bash bench/run.sh dispatch`, which builds first.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { startBeckon, startPages, launch, snippet, ready, DEPLOYMENT } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const N = 1_000_000;
const pages = await startPages();
const beckon = await startBeckon(pages.origin);
pages.setBeckon(beckon.url);
const browser = await launch();
pages.pages.set('/ee3.js', { js: readFileSync(join(here, 'node_modules/eventemitter3/dist/eventemitter3.umd.min.js')) });
pages.pages.set('/dispatch', {
  html: `<!doctype html><html><head><title>dispatch</title><script src="/ee3.js"></script><script>
${snippet('/sdk-test/beckon.js', { init: `'${DEPLOYMENT}', { server: '${beckon.url}' }` })}
</script></head><body></body></html>`,
});

try {
  const load = loadavg()[0].toFixed(2);
  const page = await browser.newPage();
  await page.goto(pages.origin + '/dispatch');
  await ready(page);
  const rates = await page.evaluate((n) => {
    const median = (xs) => [...xs].sort((a, b) => a - b)[1];
    const template = {
      actionId: crypto.randomUUID(), actionState: 'offered', actionMediaType: 'webchat',
      actionMapId: crypto.randomUUID(), actionMapVersion: 1, customerId: crypto.randomUUID(),
      customerIdType: 'cookie', sessionId: crypto.randomUUID(),
      eventId: crypto.randomUUID(), timestamp: new Date().toISOString(),
    };
    let delivered = 0;
    const handler = (e) => { if (e.actionState) delivered++; };
    const runs = (measure) => {
      measure(100_000);
      return median([0, 1, 2].map(() => { delivered = 0; const ms = measure(n); return delivered / (ms / 1000); }));
    };
    ac('on', 'webchat:all', handler);
    const sdk = runs((count) => ac.__test.bench(count));
    const ee = new EventEmitter3();
    ee.on('webchat:offered', handler);
    const fresh = runs((count) => {
      const start = performance.now();
      for (let left = count; left > 0; left -= 10_000) {
        for (let i = Math.min(left, 10_000); i > 0; i--) {
          ee.emit('webchat:offered', { ...template, eventId: crypto.randomUUID(), timestamp: new Date().toISOString() });
        }
      }
      return performance.now() - start;
    });
    const floor = runs((count) => {
      const start = performance.now();
      for (let i = 0; i < count; i++) ee.emit('webchat:offered', template);
      return performance.now() - start;
    });
    return { sdk, fresh, floor };
  }, N);
  const m = (r) => `${(r / 1e6).toFixed(2)} M/s`;
  console.log(`| SDK, events delivered to one handler (fresh eventId and timestamp each) | ${m(rates.sdk)} | EventEmitter3, the same work: ${m(rates.fresh)} | ${(rates.sdk / rates.fresh).toFixed(2)} |`);
  console.log(`| SDK, as above | ${m(rates.sdk)} | EventEmitter3 floor, one prebuilt object: ${m(rates.floor)} | ${(rates.sdk / rates.floor).toFixed(2)} |`);
  console.log(`\nMedian of 3 runs of ${N.toLocaleString('en')} in one page, after a warm-up; 1-minute load average ${load} at start.`);
} finally {
  await browser.close();
  await beckon.stop();
  await pages.close();
}

// The README quick start, executed: build with cargo, start `beckon serve` with no configuration
// on a fresh data directory (a free port instead of 8080), then do what the README tells a
// newcomer: open the demo site and watch the content offer on the pricing page, sign in to the
// agent console as the demo agent, be invited to chat on the support page and chat in the SDK's
// chat window with the agent in the console, open the dashboard with the admin token from the
// data directory and see the report. Then: the seed is not repeated (what an admin deleted stays
// deleted), and a configuration file means no demo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { launch, until, freePort, root } from '../harness.mjs';

const ARTIFACTS = join(root, 'tests', 'browser', 'artifacts');
const PRICING_MAP = 'd3e0a1b2-0201-4c5d-8e6f-7a8b9c0d1e21';
const CHAT_MAP = 'd3e0a1b2-0202-4c5d-8e6f-7a8b9c0d1e22';
let data, port, server, browser, token;

/** Starts the built binary as `scripts/run.sh` runs it; resolves with what it printed at start. */
function serve(args) {
  const env = Object.fromEntries(Object.entries({ ...process.env, RUST_LOG: 'info' })
    .filter(([k]) => !k.startsWith('BECKON_')));
  const child = spawn(join(root, 'target', 'debug', 'beckon'), ['serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const out = [];
  const log = [];
  createInterface({ input: child.stderr }).on('line', (l) => log.push(l));
  const started = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      out.push(line);
      if (line.startsWith('dashboard:') || (line.startsWith('beckon listening') && args.includes('--config'))) resolve();
    });
    child.on('exit', (code) => reject(new Error(`beckon exited with ${code}: ${log.join('\n')}`)));
  });
  return {
    child, out, log, started,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
      // Open WebSockets may hold a graceful shutdown; the restart must not wait for them.
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}

/** The value printed after `label` at start (`demo site:     http://…`). */
const printed = (label) => server.out.find((l) => l.startsWith(label)).slice(label.length).trim();

async function admin(method, path) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const shot = (p, name) => p.screenshot({ path: join(ARTIFACTS, `quickstart-${name}.png`), fullPage: true });

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const build = spawnSync('cargo', ['build', '--locked', '-p', 'beckon-server'], { cwd: root, stdio: 'inherit' });
  assert.equal(build.status, 0, 'cargo build');
  data = join(mkdtempSync(join(tmpdir(), 'beckon-quickstart-')), 'data');
  port = await freePort();
  server = serve(['--data-dir', data, '--listen', `127.0.0.1:${port}`]);
  await server.started;
  token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('with no configuration, beckon prints the demo site, the demo agent and the dashboard', () => {
  assert.equal(printed('demo site:'), `http://localhost:${port}/demo/`);
  assert.equal(printed('agent console:'), `http://localhost:${port}/console (demo agent: agent@demo.beckon / beckon-demo)`);
  assert.match(printed('dashboard:'), new RegExp(`^http://localhost:${port}/dashboard \\(sign in with the admin token in .*admin-token\\)$`));
  assert.ok(server.log.some((l) => l.includes('seeded the demo')), 'the seeding is logged');
});

test('the quick start: an offer on pricing, a chat from support answered in the console, the report', async () => {
  const site = printed('demo site:');
  const visitor = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
  await visitor.goto(site);
  await visitor.click('nav >> text=Pricing');
  // The plan guide shows after its 3 s activation delay.
  const offer = visitor.locator('[data-beckon-action] .title');
  await offer.waitFor({ timeout: 15000 });
  assert.equal(await offer.textContent(), 'Not sure which plan fits?');
  await until(() => visitor.locator('#events li[data-topic="contentoffer:offered"]').count());
  await shot(visitor, 'offer');

  // No agent is available yet: the support page's chat offer is blocked.
  await visitor.click('nav >> text=Support');
  await until(async () => (await admin('GET', '/api/v1/events?topic=webchat:blocked')).events.length === 1);
  assert.equal(await visitor.locator('[data-beckon-action]').count(), 0);

  // The agent signs in with the printed credentials and becomes available.
  const [email, password] = printed('agent console:').match(/demo agent: (\S+) \/ (\S+)\)/).slice(1);
  const agent = await (await browser.newContext()).newPage();
  await agent.goto(printed('agent console:').split(' ')[0]);
  await agent.fill('#email', email);
  await agent.fill('#password', password);
  await agent.click('#sign-in button[type=submit]');
  await until(async () => (await agent.textContent('#me-name')) === 'Demo Agent');
  await agent.selectOption('#presence', 'available');
  const agentToken = await agent.evaluate(() => sessionStorage.getItem('beckon.agent'));
  await until(async () => (await (await fetch(`http://127.0.0.1:${port}/api/v1/agent/me`, {
    headers: { authorization: `Bearer ${agentToken}` },
  })).json()).presence === 'available');

  // Reloading the support page now brings the invitation; the visitor accepts, gives a name in
  // the pre-chat form, and writes in the SDK's chat window.
  await visitor.reload();
  const accept = visitor.locator('[data-beckon=chat-invitation] button.accept');
  await accept.waitFor({ timeout: 15000 });
  await shot(visitor, 'invitation');
  await accept.click();
  const form = visitor.locator('[data-beckon=chat-form]');
  await form.locator('#beckon-q0').fill('Sam');
  await form.locator('button.accept').click();
  const chat = visitor.locator('[data-beckon=chat]');
  await chat.locator('[role=log]').waitFor();
  await chat.locator('input[aria-label=Message]').fill('Is there a free trial?');
  await chat.locator('input[aria-label=Message]').press('Enter');
  await until(() => visitor.locator('#events li[data-topic="webchat:started"]').count());

  // The agent takes the chat from the queue, sees the visitor's name and question, and answers.
  await until(async () => (await agent.textContent('#queue-count')) === '1');
  await agent.click('#accept');
  await until(async () => (await agent.locator('#entries').textContent()).includes('Visitor: Is there a free trial?'));
  assert.ok((await agent.locator('#visitor-form').textContent()).includes('Sam'));
  await agent.fill('#text', 'Yes: 30 days on every plan.');
  await agent.press('#text', 'Enter');
  const log = () => chat.locator('[role=log] li').allTextContents();
  await until(async () => (await log()).some((line) => line.includes('Yes: 30 days on every plan.')));
  await until(() => visitor.locator('#events li[data-topic="webchat:engaged"]').count());
  await shot(visitor, 'chat');
  await shot(agent, 'console');

  // The dashboard, signed in with the admin token from the data directory, shows the report.
  const dash = await (await browser.newContext({ viewport: { width: 1300, height: 1000 } })).newPage();
  await dash.goto(printed('dashboard:').split(' ')[0]);
  await dash.fill('#token', readFileSync(join(data, 'admin-token'), 'utf8').trim());
  await dash.click('#sign-in button[type=submit]');
  await dash.locator('#maps tbody tr', { hasText: 'Plan guide on pricing' }).click();
  const bar = (label) => dash.locator(`#funnel g[data-label="${label}"]`);
  await until(async () => (await bar('Offered').getAttribute('data-value')) === '1');
  await dash.locator('#maps tbody tr', { hasText: 'Chat on support' }).click();
  await until(async () => (await bar('Engaged').getAttribute('data-value')) === '1');
  await shot(dash, 'dashboard');

  const day = 86400e3;
  const to = new Date(Math.floor(Date.now() / day) * day + day).toISOString();
  const from = new Date(Date.parse(to) - day).toISOString();
  const report = await admin('GET', `/api/v1/reports/actionmaps?from=${from}&to=${to}`);
  const row = (map) => report.entities.find((e) => e.actionMapId === map);
  assert.deepEqual([row(PRICING_MAP).qualified, row(PRICING_MAP).offered], [1, 1]);
  assert.deepEqual([row(CHAT_MAP).offered, row(CHAT_MAP).accepted, row(CHAT_MAP).engaged, row(CHAT_MAP).blockedNoAvailableAgents], [1, 1, 1, 1]);
});

test('the demo is seeded once: a map an admin deleted stays deleted after a restart', async () => {
  await admin('DELETE', `/api/v2/journey/actionmaps/${PRICING_MAP}`);
  await server.stop();
  server = serve(['--data-dir', data, '--listen', `127.0.0.1:${port}`]);
  await server.started;
  assert.ok(server.log.some((l) => l.includes('the demo was seeded before')), server.log.join('\n'));
  const maps = (await admin('GET', '/api/v2/journey/actionmaps')).entities.map((m) => m.displayName);
  assert.deepEqual(maps, ['Chat on support']);
});

test('with a configuration file there is no demo: no seeded rules, no demo agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-configured-'));
  const config = join(dir, 'beckon.toml');
  writeFileSync(config, `data_dir = "${join(dir, 'data')}"\nlisten = "127.0.0.1:0"\n`);
  const configured = serve(['--config', config]);
  try {
    await configured.started;
    const url = configured.out[0].match(/^beckon listening on (\S+)/)[1];
    const t = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
    const get = async (path) => (await fetch(url + path, { headers: { authorization: `Bearer ${t}` } })).json();
    assert.equal((await get('/api/v2/journey/actionmaps')).total, 0);
    assert.equal((await get('/api/v1/agents')).total, 0);
    assert.ok(!configured.out.some((l) => l.includes('demo agent')));
  } finally {
    await configured.stop();
  }
});

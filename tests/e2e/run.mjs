// End-to-end test of the dashboard (issue "Dashboard", "Checked by"): `drosera run` on ports the
// kernel picks, in a temp folder; real requests to its sensor (benign pages, SQL injection, a
// scanner, the honeytraps, and one attack carrying XSS payloads in the URI, the User-Agent, a
// custom header and the body); then every page in headless Chromium (the Debian package, driven
// by playwright-core), checking the numbers and rows it shows, that every payload is shown as
// text, and that no injected script ran. A screenshot of each page goes to the output folder.
//
//   node run.mjs <drosera binary> <screenshot folder>
//
// Environment: CHROMIUM (default /usr/bin/chromium), DROSERA_SHARE_DIR (default: the source
// tree, whose web/ the collector serves), DROSERA_E2E_KEEP=1 keeps the temp folder.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';
import {buildMmdb} from './mmdb.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE = path.resolve(HERE, '..', '..');
const [BIN, SHOTS] = process.argv.slice(2);
if (!BIN || !SHOTS) {
  console.error('usage: node run.mjs <drosera binary> <screenshot folder>');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OVERALL_TIMEOUT_MS = 8 * 60 * 1000;

// ---- assertions ---------------------------------------------------------------------------
let passed = 0;
const failures = [];
function check(cond, what, detail) {
  if (cond) {
    ++passed;
  } else {
    failures.push(what + (detail !== undefined ? ' — got: ' + String(detail).slice(0, 400) : ''));
    console.log('  FAIL ' + what + (detail !== undefined ? ' — got: ' + String(detail).slice(0, 400) : ''));
  }
  return cond;
}
function section(name) {
  console.log('== ' + name);
}

// ---- the payloads -------------------------------------------------------------------------
// Each one, if it ever ran, would write window.__pwned (trapped by INIT_SCRIPT) or open a
// dialog (page.on('dialog')); a CSP violation would show that something tried.
const PAYLOADS = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror="window.__pwned=1">',
  'javascript:window.__pwned=1',
  '<svg onload="window.__pwned=1">',
  '"><script>window.__pwned=1</script>',
  '<svg><script>alert(1)</script></svg>',
  "'><img src=x onerror=alert(2)>",
  '</pre><script>alert(3)</script>',
];
// In the request target, where a space would end it: spaces percent-encoded, the rest raw.
const XSS_URI = '/search.php?q=' + PAYLOADS[0] + '&img=' + PAYLOADS[1].replaceAll(' ', '%20') +
    '&next=' + PAYLOADS[2] + '&svg=' + PAYLOADS[3].replaceAll(' ', '%20') + '&attr=' + PAYLOADS[4] +
    '&svgs=' + PAYLOADS[5] + '&pre=' + PAYLOADS[7];
const XSS_UA = 'Mozilla/5.0 ' + PAYLOADS[1] + ' ' + PAYLOADS[4] + ' ' + PAYLOADS[6];
const XSS_HEADER = PAYLOADS[3] + ' ' + PAYLOADS[2] + ' ' + PAYLOADS[0];
// Characters that reorder or hide text (a bidi override, an Arabic letter mark, a tag character,
// a variation selector), sent as UTF-8: shown as escapes, never as themselves.
const HIDDEN = 'a\u202eb\u061cc\u{e0041}d\ufe0fe';
const HIDDEN_SHOWN = 'a\\u202eb\\u061cc\\u{e0041}d\\ufe0fe';
const XSS_BODY = 'comment=' + PAYLOADS.join('') + '&url=' + PAYLOADS[2];

// ---- drosera ------------------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drosera-e2e-'));
const dataDir = path.join(tmp, 'data');
const config = `
[general]
log_level = "info"
[sensor]
status_interval_s = 0.2
[server]
bind = ["127.0.0.1"]
[inspection]
fsync_interval_s = 0.1
[event_log]
fsync = "never"
[collector]
listen = "127.0.0.1:0"
[traps]
robots_path = "/db-archive/"
robots_realm = "Backups"
[ecs.geoip]
city_db = "${path.join(tmp, 'city.mmdb')}"
asn_db = "${path.join(tmp, 'asn.mmdb')}"
[[server.listener]]
port = 0
kind = "real"
[[server.listener]]
port = 0
kind = "fake"
`;
fs.writeFileSync(path.join(tmp, 'drosera.toml'), config);
// GeoIP: every request comes from 127.0.0.1; its country and AS names carry payloads too (a
// GeoIP database is data from elsewhere, shown as text like the rest).
const GEO_COUNTRY = 'Testland ' + PAYLOADS[1];
const GEO_AS_ORG = 'Example Hosting ' + PAYLOADS[4];
fs.writeFileSync(path.join(tmp, 'city.mmdb'), buildMmdb(
    [{network: '127.0.0.0/8', data: {country: {iso_code: 'TL', names: {en: GEO_COUNTRY}}}}], 'GeoLite2-City'));
fs.writeFileSync(path.join(tmp, 'asn.mmdb'), buildMmdb(
    [{network: '127.0.0.0/8', data: {autonomous_system_number: 64500, autonomous_system_organization: GEO_AS_ORG}}],
    'GeoLite2-ASN'));

let drosera = null;
let browserContext = null;

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function startDrosera() {
  const out = fs.openSync(path.join(tmp, 'stdout.txt'), 'w');
  const err = fs.openSync(path.join(tmp, 'stderr.txt'), 'w');
  const env = {...process.env};
  if (!env.DROSERA_SHARE_DIR) env.DROSERA_SHARE_DIR = SOURCE;
  drosera = spawn(BIN, ['run', '--config', path.join(tmp, 'drosera.toml'), '--data-dir', dataDir],
                  {stdio: ['ignore', out, err], env});
  let exited = null;
  drosera.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error('drosera exited with ' + exited + ': ' + fs.readFileSync(path.join(tmp, 'stderr.txt'), 'utf8').slice(-3000));
    try {
      const st = JSON.parse(fs.readFileSync(path.join(dataDir, 'status.json'), 'utf8'));
      const banner = fs.readFileSync(path.join(tmp, 'stdout.txt'), 'utf8');
      const m = banner.match(/API:\s+(\S+)\/api\/v1\//);
      if (st.running && m) {
        const ports = {real: [], fake: []};
        for (const l of st.listeners) ports[l.kind].push(l.port);
        const token = fs.readFileSync(path.join(dataDir, 'secrets', 'api.token'), 'utf8').trim();
        return {base: m[1], token, real: ports.real[0], fake: ports.fake[0], sensor: st.sensor, banner};
      }
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error('drosera did not start: ' + fs.readFileSync(path.join(tmp, 'stderr.txt'), 'utf8').slice(-3000));
}

async function stopDrosera() {
  if (!drosera || drosera.exitCode !== null) return drosera ? drosera.exitCode : null;
  const done = new Promise((r) => drosera.once('exit', (code) => r(code)));
  drosera.kill('SIGTERM');
  const code = await Promise.race([done, sleep(30000).then(() => 'timeout')]);
  if (code === 'timeout') {
    drosera.kill('SIGKILL');
    return 'killed';
  }
  return code;
}

// One HTTP/1.1 request on its own connection, bytes exactly as given; resolves to the status.
// `from`: the source address (another loopback address is another attacker).
function request(port, method, target, headers = {}, body = '', from = undefined) {
  const h = {Host: 'localhost', 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
             Accept: 'text/html,*/*;q=0.8', ...headers, Connection: 'close'};
  const data = Buffer.from(body, 'utf8');
  if (body || method === 'POST') h['Content-Length'] = String(data.length);
  const head = `${method} ${target} HTTP/1.1\r\n` + Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return new Promise((resolve, reject) => {
    const s = net.createConnection({host: '127.0.0.1', port, localAddress: from}, () => s.end(Buffer.concat([Buffer.from(head, 'latin1'), data])));
    const chunks = [];
    s.setTimeout(15000, () => s.destroy(new Error('timeout')));
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve(parseInt(text.split(' ')[1], 10) || 0);
    });
  });
}

async function api(env, p, token = env.token) {
  const r = await fetch(env.base + '/api/v1/' + p, {headers: token ? {Authorization: 'Bearer ' + token} : {}});
  const body = await r.text();
  let json = null;
  try {
    json = JSON.parse(body);
  } catch {
    // not JSON
  }
  return {status: r.status, json, headers: r.headers};
}

async function waitFor(what, fn, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error('timed out waiting for ' + what + ' (last: ' + String(last).slice(0, 300) + ')');
}

// ---- traffic ------------------------------------------------------------------------------
// What is sent, and what the pages must show for it.
async function sendTraffic(env) {
  const sent = [];
  const send = async (name, port, method, target, headers, body) => {
    const status = await request(port, method, target, headers, body);
    sent.push({name, port, method, target, status});
    return status;
  };
  const r = env.real;
  await send('home', r, 'GET', '/');
  await send('about', r, 'GET', '/about.html');
  await send('index', r, 'GET', '/index.html');
  await send('sqli', r, 'GET', '/products.php?id=1%27%20OR%201=1--');
  await send('sqli-2', r, 'GET', '/products.php?cat=2%27%20OR%20%27a%27=%27a');
  await send('scanner', r, 'GET', '/', {'User-Agent': 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)'});
  await send('robots', r, 'GET', '/robots.txt');
  await send('robots-creds', r, 'GET', '/db-archive/2019.sql', {Authorization: 'Basic YWRtaW46aHVudGVyMg=='});
  await send('env', r, 'GET', '/.env');
  await send('wp-login', r, 'POST', '/wp-login.php', {'Content-Type': 'application/x-www-form-urlencoded'},
             'log=admin&pwd=Summer2026%21&wp-submit=Log+In&testcookie=1');
  await send('fake-port', env.fake, 'GET', '/');
  await send('xss', r, 'POST', XSS_URI, {'User-Agent': XSS_UA, 'X-Comment': XSS_HEADER,
                                         'X-Hidden': Buffer.from(HIDDEN, 'utf8').toString('latin1'),
                                         Referer: PAYLOADS[2], 'Content-Type': 'application/x-www-form-urlencoded'},
             XSS_BODY);
  return sent;
}

// ---- the browser --------------------------------------------------------------------------
// Every page runs with these traps: a write to window.__pwned is logged with its stack, every
// CSP violation is recorded.
const INIT_SCRIPT = `
  (() => {
    let value;
    window.__pwnedLog = [];
    Object.defineProperty(window, '__pwned', {
      configurable: false,
      get() { return value; },
      set(v) { value = v; window.__pwnedLog.push(String(new Error().stack)); },
    });
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
    });
  })();
`;

function watch(page, log) {
  page.on('dialog', (d) => {
    log.dialogs.push(d.type() + ': ' + d.message());
    d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    const t = m.text();
    if (/Content.Security.Policy|Refused to/i.test(t)) log.csp.push(t);
    if (m.type() === 'error' && !/Failed to load resource/.test(t)) log.errors.push(t);
  });
  page.on('pageerror', (e) => log.errors.push('pageerror: ' + e.message));
}

// What the page shows of an injection: each entry a problem ([] for a clean page).
async function injectionSigns(page, log) {
  const state = await page.evaluate(() => ({
    pwned: typeof window.__pwned,
    pwnedLog: window.__pwnedLog.length,
    csp: window.__cspViolations.slice(),
    scripts: [...document.scripts].map((s) => s.getAttribute('src') || '(inline)'),
    handlers: [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => el.tagName + ' ' + a.name)),
    foreignLinks: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))
      .filter((h) => !h.startsWith('#/') && !h.startsWith('blob:')),
    images: document.images.length,
    frames: document.querySelectorAll('iframe, object, embed, base').length,
  }));
  const signs = {
    script: state.pwned !== 'undefined' || state.pwnedLog > 0 ? 'window.__pwned was written' : null,
    dialog: log.dialogs.length ? 'dialogs: ' + log.dialogs.join('; ') : null,
    csp: state.csp.length || log.csp.length ? 'CSP violations: ' + state.csp.concat(log.csp).join('; ') : null,
    scripts: state.scripts.length !== 1 || state.scripts[0] !== 'js/app.js' ? 'scripts: ' + state.scripts.join(', ') : null,
    handlers: state.handlers.length ? 'on* attributes: ' + state.handlers.join(', ') : null,
    links: state.foreignLinks.length ? 'links out of the dashboard: ' + state.foreignLinks.join(', ') : null,
    elements: state.images || state.frames ? state.images + ' img, ' + state.frames + ' iframe/object/embed/base' : null,
    errors: log.errors.length ? 'JavaScript errors: ' + log.errors.join('; ') : null,
  };
  return signs;
}

async function noScriptRan(page, log, where) {
  const s = await injectionSigns(page, log);
  check(!s.script, where + ': window.__pwned is undefined (no injected script ran)', s.script);
  check(!s.dialog, where + ': no dialog opened', s.dialog);
  check(!s.csp, where + ': no CSP violation', s.csp);
  check(!s.scripts, where + ': the only script is js/app.js', s.scripts);
  check(!s.handlers, where + ': no element carries an on* attribute', s.handlers);
  check(!s.links, where + ': every link is a dashboard route', s.links);
  check(!s.elements, where + ': no img/iframe/object/embed/base element', s.elements);
  check(!s.errors, where + ': no JavaScript error', s.errors);
}

// The detectors themselves: on a page of the dashboard, markup parsed as HTML (what a page must
// never do) and a script that runs must each be seen, or the checks above prove nothing.
async function detectorsWork(context, env) {
  const page = await context.newPage();
  const log = {dialogs: [], csp: [], errors: []};
  watch(page, log);
  await page.goto(env.base + '/');  // a new tab: its own sessionStorage, so log in again
  await page.evaluate((t) => sessionStorage.setItem('drosera.api-token', t), env.token);
  await page.goto(env.base + '/#/attackers');
  await page.locator('#main[data-ready=yes]').waitFor();
  check(Object.values(await injectionSigns(page, log)).every((v) => !v), 'control: a clean page shows no sign');
  await page.evaluate((markup) => {
    const d = document.createElement('div');
    d.innerHTML = markup;  // the sink the dashboard never uses
    document.getElementById('main').appendChild(d);
  }, PAYLOADS[1] + PAYLOADS[0]);
  await page.waitForFunction(() => window.__cspViolations.length > 0, null, {timeout: 5000}).catch(() => {});
  let s = await injectionSigns(page, log);
  check(!!s.csp, 'control: an inline handler parsed from data is blocked by the CSP, and the violation is seen', JSON.stringify(s));
  check(!!s.handlers && !!s.elements, 'control: parsed markup is seen (on* attribute, img)', JSON.stringify(s));
  check(!s.script, 'control: the CSP kept the injected handler from running', s.script);
  await page.evaluate(() => {
    window.__pwned = 1;
  });
  await page.evaluate(() => alert('control'));
  s = await injectionSigns(page, log);
  check(!!s.script, 'control: a script writing window.__pwned is seen');
  check(!!s.dialog, 'control: a dialog is seen');
  await page.close();
}

async function textOf(page, selector) {
  return (await page.locator(selector).allInnerTexts()).join('\n');
}

async function shot(page, name) {
  const file = path.join(SHOTS, name + '.png');
  await page.mouse.move(0, 0);
  await page.screenshot({path: file, fullPage: true});
  console.log('  screenshot ' + file);
  return file;
}

// Every payload of the XSS attack that `text` must show, literally.
function payloadsShown(text, where, which = PAYLOADS) {
  for (const p of which) check(text.includes(p), where + ': shows the payload ' + JSON.stringify(p) + ' as text');
}

// ---- the test -----------------------------------------------------------------------------
async function main() {
  fs.mkdirSync(SHOTS, {recursive: true});
  section('drosera run');
  const env = await startDrosera();
  console.log('  collector ' + env.base + ', sensor ports real ' + env.real + ' fake ' + env.fake);
  check(env.banner.includes(env.token), 'the token is printed at start');

  section('static checks');
  // The dashboard's sources never parse data as HTML.
  const webFiles = [];
  const walk = (d) => {
    for (const f of fs.readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (/\.(js|mjs|html)$/.test(f.name)) webFiles.push(p);
    }
  };
  walk(path.join(SOURCE, 'web'));
  for (const f of webFiles) {
    const src = fs.readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '');
    const bad = src.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function|srcdoc|DOMParser|createContextualFragment/);
    check(!bad, 'web/' + path.relative(path.join(SOURCE, 'web'), f) + ' uses no HTML-parsing sink', bad && bad[0]);
  }
  const idx = await fetch(env.base + '/');
  const csp = idx.headers.get('content-security-policy') || '';
  check(idx.status === 200 && (idx.headers.get('content-type') || '').startsWith('text/html'), 'GET / serves the dashboard', idx.status);
  check(csp === "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        'GET / has the strict Content-Security-Policy', csp);
  check(idx.headers.get('x-content-type-options') === 'nosniff', 'X-Content-Type-Options: nosniff');
  check(idx.headers.get('referrer-policy') === 'no-referrer', 'Referrer-Policy: no-referrer');
  check(idx.headers.get('x-frame-options') === 'DENY', 'X-Frame-Options: DENY');
  check(!!idx.headers.get('etag') && !!idx.headers.get('cache-control'), 'caching headers (ETag, Cache-Control)');
  const again = await fetch(env.base + '/js/app.js', {headers: {'If-None-Match': (await fetch(env.base + '/js/app.js')).headers.get('etag')}});
  check(again.status === 304, 'an unchanged asset answers 304', again.status);
  check((await fetch(env.base + '/js/app.js')).headers.get('content-type').startsWith('text/javascript'), 'scripts are text/javascript');
  check((await fetch(env.base + '/nope.html')).status === 404, 'unknown asset paths answer 404');
  check((await fetch(env.base + '/', {method: 'POST', body: 'x'})).status === 405, 'the dashboard is read-only (POST answers 405)');
  check((await api(env, 'events', null)).status === 401, 'the API refuses requests without the token');
  check((await api(env, 'events', 'not-the-token-0123456789')).status === 401, 'the API refuses a wrong token');

  section('traffic to the sensor');
  const sent = await sendTraffic(env);
  const total = sent.length;
  console.log('  sent ' + total + ' requests: ' + sent.map((s) => s.name + '=' + s.status).join(' '));
  check(sent.every((s) => s.status > 0), 'every request was answered', JSON.stringify(sent.map((s) => s.status)));
  await waitFor('all events in the store', async () => (await api(env, 'events?limit=1000')).json.events.length >= total);
  await waitFor('a heartbeat with the sensor status', async () => {
    const s = (await api(env, 'sensors')).json.sensors;
    return s.length && s[0].status && Array.isArray(s[0].status.listeners);
  });
  const all = (await api(env, 'events?limit=1000')).json.events;
  check(all.length === total, 'the store holds one event per request', all.length);
  const xss = all.find((e) => e.uri === XSS_URI);
  check(!!xss, 'the XSS attack is stored with its URI as sent', all.map((e) => e.uri).join(' | '));
  const expectTraps = {robots: 1, sensitive_file: 1, admin_login: 1, fake_port: 1};
  const trapTop = Object.fromEntries((await api(env, 'stats/top?dim=trap')).json.items.map((i) => [i.key, i.count]));
  for (const [k, n] of Object.entries(expectTraps)) check(trapTop[k] >= n, 'API: trap ' + k + ' fired', JSON.stringify(trapTop));
  const sqli = all.find((e) => e.uri.startsWith('/products.php'));
  check(sqli && sqli.rules.some((r) => r.id === 942100), 'API: the SQL injection matched 942100');

  section('browser');
  const userDataDir = fs.mkdtempSync(path.join(tmp, 'chromium-'));
  browserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1440, height: 1000},
  });
  await browserContext.addInitScript({content: INIT_SCRIPT});
  const page = browserContext.pages()[0] || await browserContext.newPage();
  const log = {dialogs: [], csp: [], errors: []};
  watch(page, log);
  page.setDefaultTimeout(20000);

  // -- login
  section('login');
  await page.goto(env.base + '/');
  await page.locator('#login-form').waitFor({state: 'visible'});
  check(await page.locator('#login-form').isVisible(), 'without a token the login form is shown');
  await page.fill('#token', 'wrong-token-0123456789');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error').filter({hasText: 'not the API token'}).waitFor();
  check(true, 'a wrong token is refused on the form');
  await shot(page, 'login');
  await page.fill('#token', env.token);
  await page.click('#login-form button[type=submit]');
  await page.locator('[data-testid=card-events]').waitFor();
  check(!page.url().includes(env.token), 'the token is not in the URL', page.url());
  check(await page.evaluate(() => sessionStorage.getItem('drosera.api-token')) === env.token, 'the token is kept in sessionStorage');

  // -- overview
  section('overview');
  await page.goto(env.base + '/#/overview?range=1h');
  await page.locator('[data-testid=top-attackers] li').first().waitFor();
  await page.locator('[data-testid=sensors-table]').waitFor();
  const card = async (id) => Number(await page.locator(`[data-testid=${id}] .card-value`).getAttribute('data-value'));
  check(await card('card-events') === total, 'overview: events in range = ' + total, await card('card-events'));
  check(await card('card-stored') === total, 'overview: events stored = ' + total, await card('card-stored'));
  check(await card('card-attackers') === 1, 'overview: 1 attacker', await card('card-attackers'));
  check(await card('card-sensors') === 1, 'overview: 1 sensor', await card('card-sensors'));
  const chartTotal = Number(await page.locator('[data-testid=timeline-chart]').getAttribute('data-value'));
  check(chartTotal === total, 'overview: the chart counts ' + total + ' events', chartTotal);
  const topItems = async (id) => page.locator(`[data-testid=${id}] li`).evaluateAll((lis) =>
    lis.map((li) => ({key: li.getAttribute('data-value'), count: Number(li.querySelector('.count').textContent.replace(/,/g, '')), text: li.innerText})));
  const attackers = await topItems('top-attackers');
  check(attackers.length === 1 && attackers[0].key === '127.0.0.1' && attackers[0].count === total,
        'overview: top attacker 127.0.0.1 with ' + total + ' events', JSON.stringify(attackers));
  const cats = await topItems('top-categories');
  for (const c of ['attack-sqli', 'attack-xss', 'honeytrap', 'attack-reputation-scanner']) {
    check(cats.some((i) => i.key === c), 'overview: category ' + c + ' listed', cats.map((i) => i.key).join(','));
  }
  const honeytrap = cats.find((i) => i.key === 'honeytrap');
  check(honeytrap && honeytrap.count === 4, 'overview: 4 events in category honeytrap', honeytrap && honeytrap.count);
  const rules = await topItems('top-rules');
  const r942100 = rules.find((i) => i.key === '942100');
  check(!!r942100 && /SQL/i.test(r942100.text) && r942100.count === 2, 'overview: rule 942100 listed with its message, 2 hits', JSON.stringify(rules.map((r) => r.text)));
  const traps = await topItems('top-traps');
  for (const [k, n] of Object.entries(expectTraps)) {
    check(traps.some((i) => i.key === k && i.count === n), 'overview: trap ' + k + ' with ' + n + ' hit', JSON.stringify(traps));
  }
  const ports = await page.locator('[data-testid=top-ports] li').evaluateAll((lis) =>
    lis.map((li) => ({key: li.getAttribute('data-value'), count: Number(li.querySelector('.count').textContent),
                      kinds: [...li.querySelectorAll('[data-kind]')].map((k) => k.getAttribute('data-kind'))})));
  const fakeRow = ports.find((p) => p.key === String(env.fake));
  const realRow = ports.find((p) => p.key === String(env.real));
  check(fakeRow && fakeRow.count === 1 && fakeRow.kinds.includes('fake'), 'overview: the fake port is marked fake, 1 event', JSON.stringify(ports));
  check(realRow && realRow.count === total - 1 && realRow.kinds.includes('real'), 'overview: the real port is marked real, ' + (total - 1) + ' events', JSON.stringify(ports));
  const uas = await textOf(page, '[data-testid=top-user-agents]');
  check(uas.includes('Nikto/2.1.6'), 'overview: the scanner User-Agent is listed');
  payloadsShown(uas, 'overview user agents', [PAYLOADS[1], PAYLOADS[4]]);
  const sensorRows = await page.locator('[data-testid=sensor-row]').count();
  check(sensorRows === 1, 'overview: one sensor row', sensorRows);
  const sensorText = await textOf(page, '[data-testid=sensors-table]');
  check(sensorText.includes(env.sensor), 'overview: the sensor id is shown', sensorText);
  check((await textOf(page, '[data-testid=sensor-health]')).trim() === 'ok', 'overview: the sensor is healthy');
  check(/Inspection backlog/.test(sensorText) && /Shipping lag/.test(sensorText), 'overview: lag and backlog columns');
  const countries = await topItems('top-countries');
  check(countries.length === 1 && countries[0].key === 'TL' && countries[0].count === total &&
        countries[0].text.includes(GEO_COUNTRY), 'overview: country TL (from the GeoIP database) with ' + total + ' events, its name as text', JSON.stringify(countries));
  const asns = await topItems('top-asns');
  check(asns.length === 1 && asns[0].key === 'AS64500' && asns[0].count === total &&
        asns[0].text.includes(GEO_AS_ORG), 'overview: AS64500 with ' + total + ' events, its name as text', JSON.stringify(asns));
  await noScriptRan(page, log, 'overview');
  await shot(page, 'overview');

  // Live: a new request shows up without a reload.
  await request(env.real, 'GET', '/contact.php');
  const liveOk = await waitFor('the overview to update', async () => (await card('card-events')) === total + 1, 30000).catch(() => false);
  check(liveOk, 'overview: updates live (a new event appears within 30 s without a reload)', await card('card-events'));
  const totalNow = total + 1;
  await page.click('[data-testid=range-24h]');
  await page.waitForFunction(() => location.hash.includes('range=24h'));
  await page.waitForFunction((n) => document.querySelector('[data-testid=card-events] .card-value')?.getAttribute('data-value') === String(n), totalNow);
  check(true, 'overview: the 24h range button changes the URL and shows the same events');

  // -- events list with a filter
  section('events');
  await page.goto(env.base + '/#/events?ip=127.0.0.1&category=attack-xss');
  await page.locator('[data-testid=events-count]').waitFor();
  const xssRows = await page.locator('[data-testid=event-row]').count();
  check(xssRows === 1, 'events: ip + category=attack-xss shows the 1 XSS event', xssRows);
  const eventsText = await textOf(page, '[data-testid=events-table]');
  payloadsShown(eventsText, 'events list (URI)', [PAYLOADS[0], PAYLOADS[2], PAYLOADS[4], PAYLOADS[5], PAYLOADS[7]]);
  payloadsShown(eventsText, 'events list (User-Agent)', [PAYLOADS[1]]);
  check((await page.locator('#f-category').inputValue()) === 'attack-xss', 'events: the form shows the filter from the URL');
  await noScriptRan(page, log, 'events (XSS filter)');
  await shot(page, 'events');
  // The form makes a shareable URL.
  await page.goto(env.base + '/#/events');
  await page.locator('[data-testid=events-count]').waitFor();
  const allRows = await page.locator('[data-testid=event-row]').count();
  check(allRows === totalNow, 'events: no filter lists all ' + totalNow + ' events', allRows);
  await page.fill('#f-q', 'wp-login');
  await page.click('[data-testid=filters] button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('q=wp-login'));
  await page.locator('[data-testid=events-count][data-value="1"]').waitFor();
  check(await page.locator('[data-testid=event-row]').count() === 1, 'events: the text filter finds the wp-login POST');
  // A scan budget of 4 events a page (what a search that matches little over a million events
  // meets): partial pages that say how far back they got, and "Search further" until the end.
  await page.goto(env.base + '/#/events?q=wp-login&scan=4');
  let found = 0, partials = 0, steps = 0;
  for (;;) {
    const count = page.locator('[data-testid=events-count]');
    await count.waitFor();
    found += Number(await count.getAttribute('data-value'));
    steps++;
    const further = page.locator('[data-testid=search-further]');
    if (await further.count() === 0 || steps > 100) break;
    partials++;
    const until = Number(await page.locator('[data-testid=events-partial]').getAttribute('data-value'));
    check(until > 0, 'events: a partial page says how far back it searched', until);
    const shown = await count.elementHandle();
    await further.click();
    await page.waitForFunction((el) => !el.isConnected, shown);
  }
  check(found === 1 && partials >= 2, 'events: with a scan budget of 4, "Search further" walks ' + partials +
        ' partial pages and finds the wp-login POST once', found + ' found, ' + partials + ' partial');
  await page.goto(env.base + '/#/events?rule=942100');
  await page.locator('[data-testid=events-count]').waitFor();
  const ruleRows = await page.locator('[data-testid=event-row]').allInnerTexts();
  check(ruleRows.length === 2 && ruleRows.every((t) => t.includes('/products.php')), 'events: rule=942100 shows the 2 SQL injections', ruleRows.join(' | '));
  await page.goto(env.base + '/#/events?trap=admin_login');
  await page.locator('[data-testid=events-count]').waitFor();
  check(await page.locator('[data-testid=event-row]').count() === 1, 'events: trap=admin_login shows 1 event');
  await noScriptRan(page, log, 'events (other filters)');

  // -- the XSS event
  section('event page');
  await page.goto(env.base + '/#/event/' + xss.seq);
  await page.locator('[data-testid=request-head]').waitFor();
  const head = await textOf(page, '[data-testid=request-head]');
  check(head.startsWith('POST ' + XSS_URI), 'event: the request line as sent', head.split('\n')[0]);
  check(head.includes('X-Comment: ' + XSS_HEADER), 'event: the custom header as sent');
  check(head.includes('User-Agent: ' + XSS_UA), 'event: the User-Agent as sent');
  check(head.includes('X-Hidden: ' + HIDDEN_SHOWN) && !head.includes(HIDDEN),
        'event: characters that reorder or hide text are shown as escapes', head.split('\n').find((l) => l.startsWith('X-Hidden')));
  payloadsShown(head, 'event request head');
  const body = await textOf(page, '[data-testid=request-body]');
  check(body === XSS_BODY, 'event: the body as sent', body);
  payloadsShown(body, 'event body');
  const rawReq = await textOf(page, '[data-testid=request-raw]');
  payloadsShown(rawReq, 'event raw request');
  const raw = await textOf(page, '[data-testid=raw-record]');
  check(raw.includes('"unique_id"') && raw.includes(xss.unique_id), 'event: the raw record is shown', raw.slice(0, 200));
  const resp = await textOf(page, '[data-testid=response-head]');
  check(/^HTTP \d{3}/.test(resp) && resp.includes('Content-Type'), 'event: the response status and headers', resp.slice(0, 200));
  const ruleRowsEv = await page.locator('[data-testid=rule-row]').allInnerTexts();
  check(ruleRowsEv.some((t) => /^941\d{3}/.test(t.trim())), 'event: XSS rules (941xxx) listed', ruleRowsEv.join(' | ').slice(0, 400));
  check(ruleRowsEv.length === xss.rules.length, 'event: every matched rule has a row (' + xss.rules.length + ')', ruleRowsEv.length);
  const rulesText = await textOf(page, '[data-testid=rules-table]');
  check(rulesText.includes('Matched Data:'), 'event: rule data shown', rulesText.slice(0, 300));
  await noScriptRan(page, log, 'event');
  await shot(page, 'event');

  // A trap event: its trap fields.
  const wp = all.find((e) => e.uri === '/wp-login.php');
  await page.goto(env.base + '/#/event/' + wp.seq);
  await page.locator('[data-testid=trap-row]').first().waitFor();
  const trapText = await textOf(page, '[data-testid=traps-table]');
  check(trapText.includes('admin_login') && trapText.includes('wordpress') && trapText.includes('admin:Summer2026!'),
        'event: the trap fields of the wp-login POST (kind, bait, captured)', trapText);
  await noScriptRan(page, log, 'trap event');
  await shot(page, 'event-trap');

  // -- the attacker
  section('attacker page');
  await page.goto(env.base + '/#/attacker/127.0.0.1');
  await page.locator('[data-testid=attacker-events-table]').waitFor();
  await page.locator('[data-testid=misp-status]').waitFor();
  await page.locator('[data-testid=panel-credentials] table, [data-testid=panel-credentials] .empty').first().waitFor();
  const evCount = Number(await page.locator('[data-testid=attacker-events]').getAttribute('data-value'));
  check(evCount === totalNow, 'attacker: ' + totalNow + ' events', evCount);
  const summary = await textOf(page, '[data-testid=attacker-summary]');
  for (const t of ['robots', 'sensitive_file', 'admin_login', 'fake_port']) check(summary.includes(t), 'attacker: trap ' + t + ' listed');
  for (const c of ['attack-sqli', 'attack-xss', 'honeytrap']) check(summary.includes(c), 'attacker: category ' + c + ' listed');
  check(/First seen/.test(summary) && /Last seen/.test(summary), 'attacker: first and last seen');
  const creds = await page.locator('[data-testid=credential-row]').allInnerTexts();
  check(creds.some((t) => t.includes('admin:hunter2') && t.includes('robots')), 'attacker: the robots Basic credentials', creds.join(' | '));
  check(creds.some((t) => t.includes('admin:Summer2026!') && t.includes('admin_login')), 'attacker: the wp-login credentials', creds.join(' | '));
  check((await page.locator('[data-testid=misp-status]').getAttribute('data-state')) === 'not-reported', 'attacker: MISP status "not reported"');
  check((await textOf(page, '[data-testid=misp-status]')).includes('Not reported to MISP'), 'attacker: says "Not reported to MISP"');
  check(summary.includes('TL ' + GEO_COUNTRY) && summary.includes('AS64500 ' + GEO_AS_ORG), 'attacker: country and AS from the GeoIP database, as text', summary);
  const tlRows = await page.locator('[data-testid=attacker-events-table] [data-testid=event-row]').count();
  check(tlRows === totalNow, 'attacker: the timeline lists all ' + totalNow + ' events', tlRows);
  const firstRow = await page.locator('[data-testid=attacker-events-table] [data-testid=event-row]').first().innerText();
  check(firstRow.includes('/contact.php'), 'attacker: the timeline is newest first', firstRow.slice(0, 200));
  const tl = await textOf(page, '[data-testid=attacker-events-table]');
  payloadsShown(tl, 'attacker timeline', [PAYLOADS[0], PAYLOADS[1], PAYLOADS[4], PAYLOADS[5], PAYLOADS[7]]);
  const arules = await topItems('attacker-rules');
  check(arules.some((i) => i.key === '942100'), 'attacker: its rules include 942100', JSON.stringify(arules.map((i) => i.key)));
  check(await page.locator('[data-testid=activity-partial]').count() === 0,
        'attacker: the activity chart counted every event (no partial note)');
  await noScriptRan(page, log, 'attacker');
  await shot(page, 'attacker');
  // A scan budget of one event: the chart's short buckets are counted back to a point only, and
  // the page says to when.
  await page.goto(env.base + '/#/attacker/127.0.0.1?scan=1');
  const partial = page.locator('[data-testid=activity-partial]');
  await partial.waitFor();
  const countedTo = Number(await partial.getAttribute('data-value'));
  check(countedTo > 0 && (await partial.innerText()).includes('Counted back to'),
        'attacker: with a scan budget of 1, the activity chart says how far back it counted', countedTo);

  // -- attackers list
  section('attackers list');
  await page.goto(env.base + '/#/attackers');
  await page.locator('[data-testid=attacker-row]').first().waitFor();
  const arows = await page.locator('[data-testid=attacker-row]').allInnerTexts();
  check(arows.length === 1 && arows[0].includes('127.0.0.1'), 'attackers: one row, 127.0.0.1', arows.join(' | '));
  await noScriptRan(page, log, 'attackers');
  await shot(page, 'attackers');
  // A second attacker, newest and without a trap: a trap filter with a budget of one attacker
  // looks at it only, and the list says it stopped there; without the budget it finds 127.0.0.1.
  await request(env.real, 'GET', '/', {}, '', '127.0.0.2');
  await waitFor('the second attacker', async () => (await api(env, 'attackers')).json.attackers.length === 2);
  await page.goto(env.base + '/#/attackers?trap=sensitive_file&scan=1');
  const apartial = page.locator('[data-testid=attackers-partial]');
  await apartial.waitFor();
  check((await apartial.innerText()).includes('back to') && Number(await apartial.getAttribute('data-value')) > 0 &&
        await page.locator('[data-testid=attacker-row]').count() === 0,
        'attackers: a trap filter with a budget of 1 says how far back it looked', await apartial.innerText());
  await page.goto(env.base + '/#/attackers?trap=sensitive_file');
  await page.locator('[data-testid=attacker-row]').first().waitFor();
  const trapped = await page.locator('[data-testid=attacker-row]').allInnerTexts();
  check(trapped.length === 1 && trapped[0].includes('127.0.0.1') &&
        await page.locator('[data-testid=attackers-partial]').count() === 0,
        'attackers: the trap filter finds 127.0.0.1 only, in full', trapped.join(' | '));

  section('controls');
  await detectorsWork(browserContext, env);

  // -- a refused token returns to the form
  section('401');
  await page.evaluate(() => sessionStorage.setItem('drosera.api-token', 'stale-token-0123456789'));
  await page.goto(env.base + '/#/overview');
  await page.locator('#login-form').waitFor({state: 'visible'});
  check(await page.locator('#login-form').isVisible(), 'a 401 returns to the login form');
  check(await page.evaluate(() => sessionStorage.getItem('drosera.api-token')) === null, 'a refused token is forgotten');
  await noScriptRan(page, log, 'login after 401');

  await browserContext.close();
  browserContext = null;
  section('stop');
  const rc = await stopDrosera();
  check(rc === 0, 'drosera stops cleanly', rc);
}

const timer = setTimeout(() => {
  console.error('e2e: overall timeout');
  failures.push('overall timeout');
  finish(1);
}, OVERALL_TIMEOUT_MS);

async function finish(code) {
  clearTimeout(timer);
  if (browserContext) await browserContext.close().catch(() => {});
  await stopDrosera().catch(() => {});
  const keep = process.env.DROSERA_E2E_KEEP === '1' || failures.length > 0;
  if (!keep) fs.rmSync(tmp, {recursive: true, force: true});
  else console.log('temp folder kept: ' + tmp);
  console.log(`\n${passed} assertions passed, ${failures.length} failed; screenshots in ${SHOTS}`);
  for (const f of failures) console.log('  FAILED: ' + f);
  process.exit(code || (failures.length ? 1 : 0));
}

main().then(() => finish(0), (e) => {
  console.error('e2e: ' + (e && e.stack ? e.stack : e));
  failures.push('error: ' + (e && e.message ? e.message : e));
  finish(1);
});

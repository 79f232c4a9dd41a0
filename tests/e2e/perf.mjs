// Page-load timings of the dashboard against a running collector (docs/dashboard.md, "Speed").
// Each page is opened in a fresh tab of headless Chromium and timed from navigation until the
// page says it has all its data (#main[data-ready=yes]); every API call a page makes is also
// timed alone (the server's share). Not a CTest: it needs a filled store, e.g.
//
//   build/release/bench/store_bench --events 1000 --fill 1000000 --no-ceiling --no-queries \
//       --dir /var/tmp/dash1m
//   build/release/drosera collector --data-dir /var/tmp/dash1m --config c.toml   # listen = ...
//   node tests/e2e/perf.mjs http://127.0.0.1:9080 "$(cat /var/tmp/dash1m/secrets/api.token)"
//
// Options (environment): CHROMIUM (default /usr/bin/chromium), RUNS (default 3),
// SHOTS (a folder for a screenshot of each page), BUDGET_MS (default 1000; exit 1 above it),
// DROSERA_PID (the collector's process id: the API calls of each page are then replayed one
// after the other, and the collector's CPU time for them is printed: a figure that does not
// depend on what else the machine is doing, unlike the wall-clock times).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

const [BASE, TOKEN] = process.argv.slice(2);
if (!BASE || !TOKEN) {
  console.error('usage: node perf.mjs <collector base URL> <API token>');
  process.exit(2);
}
const RUNS = Number(process.env.RUNS || 3);
const BUDGET_MS = Number(process.env.BUDGET_MS || 1000);
const SHOTS = process.env.SHOTS || '';

async function api(p) {
  const t0 = performance.now();
  const r = await fetch(BASE + '/api/v1/' + p, {headers: {Authorization: 'Bearer ' + TOKEN}});
  const body = await r.text();
  const ms = performance.now() - t0;
  if (!r.ok) throw new Error(p + ': HTTP ' + r.status + ' ' + body.slice(0, 200));
  return {json: JSON.parse(body), ms};
}

// The collector's user + system CPU time in ms (/proc/<pid>/stat, clock ticks of 10 ms).
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

// The page's API calls one after the other, `times` rounds: the best round's wall time and the
// collector's CPU time per round (averaged: ticks are coarse).
async function replay(urls, pid, times = 5) {
  let best = Infinity;
  const c0 = cpuMs(pid);
  for (let i = 0; i < times; ++i) {
    const t0 = performance.now();
    for (const u of urls) {
      const r = await fetch(u, {headers: {Authorization: 'Bearer ' + TOKEN}});
      await r.arrayBuffer();
    }
    best = Math.min(best, performance.now() - t0);
  }
  return {wall: best, cpu: (cpuMs(pid) - c0) / times};
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  // Pick real keys from the store: the newest event, the busiest and a quiet attacker, a rule.
  const newest = (await api('events?limit=1')).json.events[0];
  const top = (await api('stats/top?dim=source_ip&limit=1')).json.items[0];
  const quiet = (await api('attackers?order=last_seen&limit=1&offset=500')).json.attackers[0] || top;
  const rule = (await api('stats/top?dim=rule&limit=3')).json.items[2].key;
  const lastUs = newest.time_us;
  const day = (us) => new Date(us / 1000).toISOString();
  const pages = [
    ['overview 24h', '#/overview?range=24h'],
    ['overview 7d', '#/overview?range=7d'],
    ['overview 30d', '#/overview?range=30d'],
    ['overview, last day of data (custom range)',
     '#/overview?from=' + day(lastUs - 86400e6) + '&to=' + day(lastUs)],
    ['events, newest', '#/events'],
    ['events, rule ' + rule, '#/events?rule=' + rule],
    ['events, category attack-sqli', '#/events?category=attack-sqli'],
    ['events, trap robots', '#/events?trap=robots'],
    ['events, text "wp-login" (whole store)', '#/events?q=wp-login'],
    ['events, text "nothing-like-this" (whole store)', '#/events?q=nothing-like-this'],
    ['events, text "nothing-like-this", one day',
     '#/events?q=nothing-like-this&from=' + day(lastUs - 86400e6) + '&to=' + day(lastUs)],
    ['event #' + newest.seq, '#/event/' + newest.seq],
    ['attacker ' + top.key + ' (busiest, ' + top.count + ' events)', '#/attacker/' + top.key],
    ['attacker ' + quiet.ip + ' (' + quiet.events + ' events)', '#/attacker/' + quiet.ip],
    ['attackers', '#/attackers'],
    ['attackers by events', '#/attackers?order=events'],
  ];

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drosera-perf-'));
  const context = await chromium.launchPersistentContext(tmp, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1440, height: 1000},
  });
  // The token, as the login form leaves it, in every new tab.
  await context.addInitScript({content: `sessionStorage.setItem('drosera.api-token', ${JSON.stringify(TOKEN)});`});
  const results = [];
  for (const [name, hash] of pages) {
    const times = [];
    const calls = new Map();
    const urls = new Set();
    for (let i = 0; i < RUNS; ++i) {
      const page = await context.newPage();
      page.on('requestfinished', (req) => {
        const u = new URL(req.url());
        if (!u.pathname.startsWith('/api/v1/')) return;
        urls.add(req.url());
        const t = req.timing();
        const key = u.pathname.slice(8) + (u.searchParams.get('dim') ? ' ' + u.searchParams.get('dim') : '');
        const ms = t.responseEnd - t.requestStart;
        if (!calls.has(key) || calls.get(key) < ms) calls.set(key, ms);
      });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const t0 = performance.now();
      await page.goto(BASE + '/' + hash);
      await page.locator('#main[data-ready=yes]').waitFor({timeout: 60000});
      times.push(performance.now() - t0);
      const shown = await page.locator('#main .error').count();
      if (shown || errors.length) throw new Error(name + ': the page shows an error: ' + errors.join('; '));
      if (SHOTS && i === 0) {
        fs.mkdirSync(SHOTS, {recursive: true});
        await page.screenshot({path: path.join(SHOTS, 'perf-' + results.length + '.png'), fullPage: true});
      }
      await page.close();
    }
    const slowest = [...calls.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([k, ms]) => k + ' ' + ms.toFixed(0) + ' ms').join(', ');
    results.push({name, median: median(times), max: Math.max(...times), slowest});
    let server = '';
    if (process.env.DROSERA_PID) {
      const r = await replay([...urls], process.env.DROSERA_PID);
      server = `; ${urls.size} API calls in a row: ${r.wall.toFixed(0)} ms, collector CPU ${r.cpu.toFixed(0)} ms`;
    }
    console.log(`${name.padEnd(58)} median ${median(times).toFixed(0).padStart(5)} ms, ` +
                `max ${Math.max(...times).toFixed(0).padStart(5)} ms${server}; slowest calls: ${slowest}`);
  }
  await context.close();
  fs.rmSync(tmp, {recursive: true, force: true});
  const over = results.filter((r) => r.max > BUDGET_MS);
  console.log(over.length ? `${over.length} page(s) over ${BUDGET_MS} ms` : `every page under ${BUDGET_MS} ms`);
  process.exit(over.length ? 1 : 0);
}

main().catch((e) => {
  console.error('perf: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});

// Overview: events over time for a range (1h, 24h, 7d, 30d, or from/to in the URL), the top
// attackers, categories, rules, traps, ports, user agents and paths of that range, the sensors
// with their health, and countries/ASNs when the collector has a GeoIP database. Polls every 5 s
// while the range ends now.
import * as api from '../api.js';
import {h, link, replace, routeHref} from '../dom.js';
import {timelineChart} from '../chart.js';
import {num, time, ago, duration, bytes, RANGES, toDate} from '../format.js';
import {panel, loading, errorBox, empty, topList, table, cut} from '../ui.js';

const POLL_MS = 5000;

// {from_us, to_us, bucket, label, live} for the URL's range.
export function rangeOf(params, nowMs = Date.now()) {
  const from = toDate(params.get('from'));
  const to = toDate(params.get('to'));
  if (from && to && to > from) {
    const spanS = (to - from) / 1000;
    const bucket = Object.values(RANGES).find((r) => spanS <= r.span * 1.01)?.bucket || 86400;
    return {from_us: from.getTime() * 1000, to_us: to.getTime() * 1000, bucket,
            label: time(from) + ' – ' + time(to) + ' UTC', live: false, key: 'custom'};
  }
  const key = RANGES[params.get('range')] ? params.get('range') : '24h';
  const r = RANGES[key];
  // The range ends at the end of the current bucket, or of the current hour for spans of a day
  // or more: the store answers whole hours from its rollups and scans only the events of the
  // partial hours at the ends (docs/store.md), so an hour-aligned range costs no scan at all.
  const alignMs = (r.span >= 86400 ? Math.max(r.bucket, 3600) : r.bucket) * 1000;
  const toMs = Math.ceil((nowMs + 1) / alignMs) * alignMs;
  return {from_us: (toMs - r.span * 1000) * 1000, to_us: toMs * 1000, bucket: r.bucket,
          label: 'last ' + r.label, live: true, key};
}

function iso(us) {
  return new Date(us / 1000).toISOString();
}

function rangeButtons(active, params) {
  return h('div', {class: 'ranges', role: 'group', 'aria-label': 'time range'},
           Object.keys(RANGES).map((k) =>
             link('overview', {range: k}, {class: 'range' + (k === active ? ' active' : ''),
                                           'aria-pressed': k === active ? 'true' : 'false',
                                           'data-testid': 'range-' + k}, k)),
           active === 'custom' ? h('span', {class: 'range active'}, 'custom') : null);
}

// Which ports are fake or real, from the listeners in the sensors' status documents.
function portKinds(sensors) {
  const kinds = new Map();
  for (const s of sensors) {
    for (const l of (s.status && Array.isArray(s.status.listeners) ? s.status.listeners : [])) {
      const port = String(l.port);
      if (!kinds.has(port)) kinds.set(port, new Set());
      kinds.get(port).add(String(l.kind) + (l.tls ? '+tls' : ''));
    }
  }
  return kinds;
}

function health(sensor, nowMs) {
  const seen = toDate(sensor.last_seen);
  if (!seen) return 'unknown';
  const s = (nowMs - seen.getTime()) / 1000;
  return s < 60 ? 'ok' : s < 600 ? 'late' : 'silent';
}

function sensorsTable(sensors, nowMs) {
  if (sensors.length === 0) return empty('No sensor has reported yet.');
  const st = (s, ...path) => path.reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), s.status);
  return table([
    {label: 'Sensor', cell: (s) => link('events', {sensor: s.sensor}, null, cut(s.sensor, 60))},
    {label: 'Health', cell: (s) => {
      const v = health(s, nowMs);
      return h('span', {class: 'health health-' + v, 'data-testid': 'sensor-health'}, v);
    }},
    {label: 'Last seen', cell: (s) => h('span', {title: time(s.last_seen) + ' UTC'}, ago(s.last_seen, nowMs))},
    {label: 'Events', class: 'num', cell: (s) => num(s.events)},
    {label: 'Shipping lag', class: 'num', cell: (s) => {
      const ms = st(s, 'shipper', 'lag_ms') ?? s.lag_ms;
      const b = st(s, 'shipper', 'lag_bytes');
      return [duration(ms), b !== undefined ? h('span', {class: 'muted'}, ' (' + bytes(b) + ')') : null];
    }},
    {label: 'Inspection backlog', class: 'num', cell: (s) => {
      const n = st(s, 'inspection', 'backlog');
      return n === undefined ? '–' : num(n);
    }},
    {label: 'Inspection lag', class: 'num', cell: (s) => duration(st(s, 'inspection', 'lag_ms'))},
    {label: 'Version', cell: (s) => cut(st(s, 'version') ?? '–', 30)},
  ], sensors, {testid: 'sensors-table', rowTestid: 'sensor-row'});
}

export async function render(ctx) {
  const range = rangeOf(ctx.params);
  ctx.title('Overview');
  const w = {};
  const box = (name) => (w[name] = h('div', {class: 'widget-body'}, loading()));
  const summary = h('div', {class: 'cards', 'data-testid': 'summary'});
  replace(ctx.main,
    h('div', {class: 'page-head'},
      h('h1', null, 'Overview'),
      h('span', {class: 'muted', 'data-testid': 'range-label'}, range.label),
      rangeButtons(range.key, ctx.params)),
    summary,
    panel('Events over time', {class: 'wide', testid: 'panel-timeline'},
          h('p', {class: 'legend'}, h('span', {class: 'swatch all'}), 'events ',
            h('span', {class: 'swatch alerts'}), 'alerts (a rule or trap hit)'),
          box('timeline')),
    h('div', {class: 'grid'},
      panel('Top attackers', {testid: 'panel-attackers'}, box('attackers')),
      panel('Attack categories', {testid: 'panel-categories'}, box('categories')),
      panel('Honeytrap hits by kind', {testid: 'panel-traps'}, box('traps')),
      panel('Top rules', {class: 'wide2', testid: 'panel-rules'}, box('rules')),
      panel('Ports', {testid: 'panel-ports'}, box('ports')),
      panel('User agents', {class: 'wide2', testid: 'panel-user-agents'}, box('uas')),
      panel('Paths', {testid: 'panel-paths'}, box('paths')),
      panel('Countries and ASNs', {class: 'wide3', testid: 'panel-geo'}, box('geo'))),
    panel('Sensors', {class: 'wide', testid: 'panel-sensors'}, box('sensors')));

  const base = {from: iso(range.from_us), to: iso(range.to_us)};
  const eventsIn = (extra) => ['events', {...base, ...extra}];
  const top = (dim, limit = 10) => api.get('stats/top', {...base, dim, limit}, {signal: ctx.signal});

  let geoConfigured = null;
  const refresh = async () => {
    const nowMs = Date.now();
    const current = range.live ? rangeOf(ctx.params, nowMs) : range;
    base.from = iso(current.from_us);
    base.to = iso(current.to_us);
    const calls = {
      timeline: api.get('stats/timeline', {...base, bucket: current.bucket}, {signal: ctx.signal}),
      attackers: top('source_ip'),
      categories: top('category'),
      rules: top('rule'),
      traps: top('trap'),
      ports: top('port'),
      uas: top('user_agent'),
      paths: top('uri'),
      sensors: api.get('sensors', null, {signal: ctx.signal}),
      status: api.get('status', null, {signal: ctx.signal}),
      geo: geoConfigured === false ? Promise.resolve({configured: false})
                                   : api.get('stats/geo', base, {signal: ctx.signal}),
    };
    const names = Object.keys(calls);
    const settled = await Promise.allSettled(Object.values(calls));
    const r = {};
    names.forEach((n, i) => (r[n] = settled[i]));
    for (const s of settled) {
      if (s.status === 'rejected' && s.reason instanceof api.AuthError) throw s.reason;
    }
    if (ctx.signal.aborted) return;
    const ok = (n) => r[n].status === 'fulfilled';
    const val = (n) => r[n].value;
    const show = (n, build) => replace(w[n], ok(n) ? build(val(n)) : errorBox(r[n].reason));

    // Summary cards.
    const buckets = ok('timeline') ? val('timeline').buckets : [];
    const total = buckets.reduce((s, b) => s + b.count, 0);
    const alerts = buckets.reduce((s, b) => s + b.alerts, 0);
    const store = ok('status') ? val('status').store || {} : {};
    const sensors = ok('sensors') ? val('sensors').sensors : [];
    const card = (label, value, testid, route) =>
      h('div', {class: 'card', 'data-testid': testid},
        h('span', {class: 'card-value', 'data-value': value}, route ? link(route[0], route[1], null, num(value)) : num(value)),
        h('span', {class: 'card-label'}, label));
    replace(summary,
      card('events in range', total, 'card-events', eventsIn({})),
      card('alerts in range', alerts, 'card-alerts'),
      card('attackers (all time)', store.attackers, 'card-attackers', ['attackers', {}]),
      card('events stored', store.events, 'card-stored'),
      card('sensors', sensors.length, 'card-sensors'));

    show('timeline', (t) => buckets.length === 0 ? empty('No events in this range.') :
      timelineChart(t.buckets, t.bucket_s, (b) => {
        location.hash = routeHref('events', {from: iso(b.start_us), to: iso(b.start_us + t.bucket_s * 1e6)});
      }));
    show('attackers', (t) => topList(t.items, {testid: 'top-attackers', route: (i) => [['attacker', i.key], {}]}));
    show('categories', (t) => topList(t.items, {testid: 'top-categories', route: (i) => eventsIn({category: i.key})}));
    show('rules', (t) => topList(t.items, {testid: 'top-rules', route: (i) => eventsIn({rule: i.key})}));
    show('traps', (t) => topList(t.items, {testid: 'top-traps', bar: 'trap', empty: 'No honeytrap fired in this range.',
                                           route: (i) => eventsIn({trap: i.key})}));
    const kinds = portKinds(sensors);
    show('ports', (t) => topList(t.items, {testid: 'top-ports', mark: (i) => {
      const k = kinds.get(i.key);
      if (!k) return null;
      return [...k].sort().map((x) => h('span', {class: 'tag tag-' + x.replace('+tls', ''), 'data-kind': x}, x));
    }}));
    show('uas', (t) => topList(t.items, {testid: 'top-user-agents', max: 110, route: (i) => eventsIn({q: i.key}),
                                         keyText: (i) => i.key === '' ? '(none)' : i.key}));
    show('paths', (t) => topList(t.items, {testid: 'top-paths', route: (i) => eventsIn({q: i.key})}));
    show('sensors', (s) => sensorsTable(s.sensors, nowMs));
    show('geo', (g) => {
      geoConfigured = !!g.configured;
      if (!g.configured) {
        return h('p', {class: 'muted', 'data-testid': 'geo-off'},
                 'GeoIP not configured: countries and ASNs need a MaxMind-format database (mmdb).');
      }
      return h('div', {class: 'split'},
               h('div', null, h('h3', null, 'Countries'),
                 topList(g.countries, {testid: 'top-countries'})),
               h('div', null, h('h3', null, 'Autonomous systems'),
                 topList(g.asns, {testid: 'top-asns'})),
               g.complete ? null : h('p', {class: 'muted'}, 'From the ', num(g.sources),
                                     ' most active addresses.'));
    });
    if (range.live) ctx.live('live · ' + new Date(nowMs).toISOString().slice(11, 19) + ' UTC');
  };
  await refresh();
  if (range.live) {
    ctx.every(POLL_MS, () => refresh().catch(() => {}));
  }
}

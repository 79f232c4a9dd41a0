// One source address: first and last seen, categories, traps, captured credentials, its rules,
// whether and where it was reported to MISP, and the timeline of everything it did (newest
// first, a page at a time).
import * as api from '../api.js';
import {h, link, replace, routeHref} from '../dom.js';
import {num, time, ago, timeMs} from '../format.js';
import {panel, table, kv, chips, pre, cut, empty, errorBox, loading, topList, fill} from '../ui.js';
import {timelineChart} from '../chart.js';
import {eventColumns} from './events.js';

const PAGE = 50;
// Trap kinds whose captured value is a credential: user:password sent to a robots.txt or
// comment bait or typed into a fake login, or a honeytoken handed out earlier and now used.
const CREDENTIAL_TRAPS = ['robots', 'comment', 'admin_login', 'honeytoken'];

// The newest CREDENTIAL_PAGE events of each credential trap this address triggered (the
// attacker row lists its trap kinds, so most pages make no query here), with a link to the rest.
const CREDENTIAL_PAGE = 50;
async function credentials(ip, traps, signal) {
  const kinds = CREDENTIAL_TRAPS.filter((k) => (traps || []).includes(k));
  const pages = await Promise.all(kinds.map((trap) =>
    api.get('events', {ip, trap, limit: CREDENTIAL_PAGE}, {signal})));
  const rows = [];
  const seen = new Set();
  for (const p of pages) {
    for (const e of p.events) {
      for (const t of e.traps) {
        const key = e.seq + ' ' + t.kind + ' ' + t.bait;
        if (!CREDENTIAL_TRAPS.includes(t.kind) || !t.captured || seen.has(key)) continue;
        seen.add(key);
        rows.push({e, t});
      }
    }
  }
  rows.sort((a, b) => b.e.seq - a.e.seq);
  const more = kinds.filter((k, i) => pages[i].next_cursor);
  const moreLinks = more.length
    ? h('p', {class: 'muted'}, 'Newest ', num(CREDENTIAL_PAGE), ' events per trap; all of them: ',
        more.map((k, i) => [i ? ', ' : '', link('events', {ip, trap: k}, null, k)]))
    : null;
  if (rows.length === 0) return [empty('No credentials captured.'), moreLinks];
  return [table([
    {label: 'Time (UTC)', class: 'time', cell: (r) => time(r.e.time_us)},
    {label: 'Trap', cell: (r) => r.t.kind},
    {label: 'Bait', cell: (r) => cut(r.t.bait, 80)},
    {label: 'Captured', cell: (r) => pre(r.t.captured, {class: 'inline'})},
    {label: 'Event', class: 'num', cell: (r) => link(['event', r.e.seq], {}, null, '#' + r.e.seq)},
  ], rows, {testid: 'credentials-table', rowTestid: 'credential-row'}), moreLinks];
}

// The "misp" field of the attacker (api.cc): whether the collector knows what was sent to MISP
// ("tracked") and the publications that hold this address. Not tracked, or tracked with none:
// "not reported", saying which.
function misp(m) {
  const state = (s, ...children) => h('div', {'data-testid': 'misp-status', 'data-state': s}, ...children);
  if (!m || !m.reported || !Array.isArray(m.reports) || m.reports.length === 0) {
    return state('not-reported', h('p', null, 'Not reported to MISP.'),
                 h('p', {class: 'muted'}, m && m.tracked
                   ? 'No MISP event published so far holds this address.'
                   : 'This collector keeps no record of MISP reports per address, so none is shown.'));
  }
  return state('reported',
    h('p', null, 'Reported to MISP in ', num(m.reports.length),
      m.reports.length === 1 ? ' publication.' : ' publications.'),
    table([
      {label: 'Day (UTC)', cell: (r) => r.date || '–'},
      {label: 'Sent to', cell: (r) => [r.destination || '–', r.where ? h('span', {class: 'muted'}, ' ', cut(r.where, 80)) : null]},
      {label: 'Event', cell: (r) => cut(r.event_uuid, 40)},
      {label: 'Attribute', cell: (r) => cut(r.attribute_uuid, 40)},
      {label: 'Last sent', class: 'time', cell: (r) => (r.published ? time(r.published) : '–')},
    ], m.reports, {testid: 'misp-table', rowTestid: 'misp-row'}));
}

// `scan` (from the page's URL, as on the events page): the most events the collector counts for
// the short-span chart; its default is the collector's.
async function activity(a, ip, scan, signal) {
  const first = Date.parse(a.first_seen);
  const last = Date.parse(a.last_seen);
  if (!first || !last) return empty('No activity.');
  const spanS = Math.max(60, (last - first) / 1000);
  const nice = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400];
  const bucket = nice.find((b) => spanS / b <= 120) || 31 * 86400;
  const from = Math.floor(first / 1000 / bucket) * bucket;
  const to = (Math.floor(last / 1000 / bucket) + 1) * bucket;
  const t = await api.get('stats/timeline', {ip, bucket, from: new Date(from * 1000).toISOString(),
                                             to: new Date(to * 1000).toISOString(), scan}, {signal});
  const chart = timelineChart(t.buckets, t.bucket_s, (b) => {
    location.hash = routeHref('events', {ip, from: new Date(b.start_us / 1000).toISOString(),
                                         to: new Date(b.start_us / 1000 + t.bucket_s * 1000).toISOString()});
  });
  // Buckets under an hour are counted from the address's events, within the collector's scan
  // budget: an address that sent more than that in the span is counted back to a point only.
  if (!t.partial) return chart;
  return h('div', null, chart,
           h('p', {class: 'partial', 'data-testid': 'activity-partial',
                   'data-value': String(t.searched_until_us)},
             'Counted back to ', time(t.searched_until_us), ' UTC only (too many events to count them all).'));
}

export async function render(ctx) {
  const ip = ctx.args[0] || '';
  const cursor = ctx.params.get('cursor');
  ctx.title(ip);
  let a;
  try {
    a = await api.get('attackers/' + encodeURIComponent(ip), null, {signal: ctx.signal});
  } catch (x) {
    if (x instanceof api.NotFound) {
      replace(ctx.main, panel('Attacker ' + ip, {class: 'wide'}, empty('This address is not in the store.')));
      return;
    }
    throw x;
  }
  const geo = a.geo ? [a.geo.country_iso_code, a.geo.country_name].filter(Boolean).join(' ') +
                      (a.geo.as_number ? ' · AS' + a.geo.as_number + ' ' + (a.geo.as_organization || '') : '')
                    : null;
  const boxes = {
    activity: h('div', null, loading()),
    credentials: h('div', null, loading()),
    rules: h('div', null, loading()),
    timeline: h('div', null, loading()),
  };
  replace(ctx.main,
    h('div', {class: 'page-head'},
      h('h1', null, 'Attacker ', h('span', {class: 'ip', 'data-testid': 'attacker-ip'}, ip)),
      a.flagged ? h('span', {class: 'tag tag-flagged'}, 'flagged') : null),
    panel('Summary', {class: 'wide', testid: 'panel-summary'}, kv([
      ['First seen', time(a.first_seen) + ' UTC'],
      ['Last seen', [time(a.last_seen) + ' UTC ', h('span', {class: 'muted'}, '(' + ago(a.last_seen) + ')')]],
      ['Events', link('events', {ip}, {'data-testid': 'attacker-events', 'data-value': a.events}, num(a.events))],
      ['Events with rule hits', num(a.events_with_rules)],
      ['Categories', chips(a.categories, (c) => ['events', {ip, category: c}])],
      ['Traps triggered', chips(a.traps, (t) => ['events', {ip, trap: t}])],
      ['Sensors', chips(a.sensors, (s) => ['events', {ip, sensor: s}])],
      ['Country / AS', geo],
    ], {testid: 'attacker-summary'})),
    h('div', {class: 'grid'},
      panel('Activity', {class: 'wide2', testid: 'panel-activity'}, boxes.activity),
      panel('MISP', {testid: 'panel-misp'}, misp(a.misp)),
      panel('Captured credentials', {class: 'wide2', testid: 'panel-credentials'}, boxes.credentials),
      panel('Rules', {testid: 'panel-attacker-rules'}, boxes.rules)),
    panel('Timeline', {class: 'wide', testid: 'panel-timeline'}, boxes.timeline));

  const sig = ctx.signal;
  await Promise.all([
    fill(boxes.activity, () => activity(a, ip, ctx.params.get('scan') || undefined, sig)),
    fill(boxes.credentials, () => credentials(ip, a.traps, sig)),
    fill(boxes.rules, async () => {
      const t = await api.get('stats/top', {dim: 'rule', ip, limit: 15}, {signal: sig});
      return topList(t.items, {testid: 'attacker-rules', empty: 'No rule matched.',
                               route: (i) => ['events', {ip, rule: i.key}]});
    }),
    fill(boxes.timeline, async () => {
      const page = await api.get('events', {ip, cursor, limit: PAGE}, {signal: sig});
      return h('div', null,
        h('p', {class: 'muted', 'data-testid': 'timeline-count', 'data-value': page.events.length},
          num(page.events.length), ' events', cursor ? ' before #' + cursor : ', newest first',
          page.events.length ? ' (' + timeMs(page.events[page.events.length - 1].time_us) + ' to ' +
                               timeMs(page.events[0].time_us) + ' UTC)' : ''),
        page.events.length ? table(eventColumns({noSource: true}), page.events,
                                   {testid: 'attacker-events-table', rowTestid: 'event-row'})
                           : empty('No events.'),
        h('nav', {class: 'pager'},
          cursor ? link(['attacker', ip], {}, {class: 'button ghost'}, '« Newest') : null,
          page.next_cursor ? link(['attacker', ip], {cursor: page.next_cursor},
                                  {class: 'button', 'data-testid': 'older'}, 'Older »') : null));
    }),
  ]);
}

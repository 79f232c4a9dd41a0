// Attackers: the source addresses in the store, most recent (or most active, or oldest) first.
import * as api from '../api.js';
import {h, link, replace} from '../dom.js';
import {num, time, ago} from '../format.js';
import {panel, table, chips, empty} from '../ui.js';

const PAGE = 100;
const ORDERS = {last_seen: 'last seen', events: 'most events', first_seen: 'first seen'};

export async function render(ctx) {
  const order = ORDERS[ctx.params.get('order')] ? ctx.params.get('order') : 'last_seen';
  const offset = Math.max(0, parseInt(ctx.params.get('offset') || '0', 10) || 0);
  const trap = ctx.params.get('trap') || '';
  const category = ctx.params.get('category') || '';
  ctx.title('Attackers');
  // `scan` (from the URL, as on the events page): the most attackers the collector checks
  // against a trap or category filter for one page.
  const scan = ctx.params.get('scan') || undefined;
  const r = await api.get('attackers', {order, offset, limit: PAGE, trap, category, scan}, {signal: ctx.signal});
  const keep = {order, trap, category, scan};
  // A partial page: the collector stopped at its budget before it had looked at every attacker.
  const partial = !r.partial ? null
    : h('p', {class: 'partial', 'data-testid': 'attackers-partial', 'data-value': String(r.searched_until_us || 0)},
        r.searched_until_us
          ? ['Looked at the attackers (', ORDERS[order], ') back to ', time(r.searched_until_us), ' UTC only.']
          : 'Looked at the busiest attackers only.');
  replace(ctx.main,
    h('div', {class: 'page-head'}, h('h1', null, 'Attackers'),
      h('div', {class: 'ranges', role: 'group', 'aria-label': 'order'},
        Object.entries(ORDERS).map(([k, label]) =>
          link('attackers', {...keep, order: k}, {class: 'range' + (k === order ? ' active' : '')}, label)))),
    panel(num(r.attackers.length) + ' addresses' + (offset ? ' from ' + num(offset + 1) : ''),
      {class: 'wide', testid: 'panel-attackers'},
      partial,
      r.attackers.length ? table([
        {label: 'Address', cell: (a) => link(['attacker', a.ip], {}, {class: 'ip'}, a.ip)},
        {label: 'First seen (UTC)', class: 'time', cell: (a) => time(a.first_seen)},
        {label: 'Last seen', class: 'time', cell: (a) => [time(a.last_seen), h('span', {class: 'muted'}, ' ' + ago(a.last_seen))]},
        {label: 'Events', class: 'num', cell: (a) => num(a.events)},
        {label: 'With rule hits', class: 'num', cell: (a) => num(a.events_with_rules)},
        {label: 'Categories', cell: (a) => chips(a.categories)},
        {label: 'Traps', cell: (a) => chips(a.traps)},
        {label: 'Flagged', cell: (a) => (a.flagged ? h('span', {class: 'tag tag-flagged'}, 'flagged') : '')},
      ], r.attackers, {testid: 'attackers-table', rowTestid: 'attacker-row'})
        : empty(r.partial ? 'No match so far.' : trap || category ? 'No attacker matches this filter.' : 'No attackers yet.'),
      h('nav', {class: 'pager'},
        offset ? link('attackers', {...keep, offset: Math.max(0, offset - PAGE)}, {class: 'button ghost'}, '« Previous') : null,
        r.attackers.length === PAGE ? link('attackers', {...keep, offset: offset + PAGE}, {class: 'button'}, 'Next »') : null)));
}

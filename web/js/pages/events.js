// Events: search with filters (time, IP, rule, tag, category, trap, sensor, text in the URI or
// User-Agent), newest first, a page at a time. The filters live in the URL, so a search is a
// link that can be shared.
import * as api from '../api.js';
import {h, link, replace, routeHref} from '../dom.js';
import {num, time, CATEGORIES, TRAP_KINDS} from '../format.js';
import {panel, empty, table, cut, chips} from '../ui.js';

export const FILTERS = [
  {name: 'from', label: 'From (UTC)', placeholder: '2026-11-30T07:00:00Z'},
  {name: 'to', label: 'To (UTC)', placeholder: '2026-11-30T08:00:00Z'},
  {name: 'ip', label: 'Source IP', placeholder: '203.0.113.7'},
  {name: 'rule', label: 'Rule id', placeholder: '942100'},
  {name: 'tag', label: 'Rule tag', placeholder: 'paranoia-level/1'},
  {name: 'category', label: 'Category', options: CATEGORIES},
  {name: 'trap', label: 'Trap', options: TRAP_KINDS},
  {name: 'sensor', label: 'Sensor', placeholder: 'sensor id'},
  {name: 'q', label: 'Text in URI or User-Agent', placeholder: 'wp-login', wide: true},
];
const PAGE = 50;

function filterForm(params) {
  const fields = FILTERS.map((f) => {
    const id = 'f-' + f.name;
    const value = params.get(f.name) || '';
    let input;
    if (f.options) {
      const opts = [''].concat(f.options);
      if (value && !opts.includes(value)) opts.push(value);
      input = h('select', {id, name: f.name},
                opts.map((o) => h('option', {value: o, selected: o === value}, o === '' ? 'any' : o)));
    } else {
      input = h('input', {id, name: f.name, type: 'text', value, placeholder: f.placeholder,
                          spellcheck: 'false', autocomplete: 'off'});
    }
    return h('div', {class: 'field' + (f.wide ? ' wide' : '')}, h('label', {for: id}, f.label), input);
  });
  const form = h('form', {class: 'filters', 'data-testid': 'filters', role: 'search'},
                 fields,
                 h('div', {class: 'field actions'},
                   h('button', {type: 'submit'}, 'Search'),
                   link('events', {}, {class: 'button ghost'}, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const values = {};
    for (const f of FILTERS) {
      const v = form.elements[f.name].value.trim();
      if (v) values[f.name] = v;
    }
    location.hash = routeHref('events', values);
  });
  return form;
}

// Columns shared with the attacker page's timeline.
export function eventColumns(options = {}) {
  const cols = [
    {label: '#', class: 'num', cell: (e) => link(['event', e.seq], {}, {'data-testid': 'event-link'}, String(e.seq))},
    {label: 'Time (UTC)', class: 'time', cell: (e) => time(e.time_us)},
  ];
  if (!options.noSource) {
    cols.push({label: 'Source', cell: (e) => link(['attacker', e.src_ip], {}, {class: 'ip'}, e.src_ip)});
  }
  cols.push(
    {label: 'Port', class: 'num', cell: (e) => [String(e.dst_port),
      e.listener_kind === 'fake' ? h('span', {class: 'tag tag-fake'}, 'fake') : null]},
    {label: 'Request', class: 'request', cell: (e) => link(['event', e.seq], {}, {class: 'req'},
      h('span', {class: 'method'}, cut(e.method, 16)), ' ', cut(e.uri, 400))},
    {label: 'Status', class: 'num', cell: (e) => (e.status ? String(e.status) : '–')},
    {label: 'User-Agent', class: 'ua', cell: (e) => cut(e.user_agent, 60)},
    {label: 'Categories', cell: (e) => chips(e.categories)},
    {label: 'Rules', cell: (e) => chips(e.rules.map((r) => String(r.id)).filter((x, i, a) => a.indexOf(x) === i).slice(0, 8),
                                         (id) => ['events', {rule: id}])},
    {label: 'Traps', cell: (e) => chips(e.traps.map((t) => t.kind), (k) => ['events', {trap: k}])},
    {label: 'Score', class: 'num', cell: (e) => String(e.inbound_score)},
  );
  if (!options.noSensor) cols.push({label: 'Sensor', cell: (e) => cut(e.sensor, 30)});
  return cols;
}

export async function render(ctx) {
  const p = ctx.params;
  ctx.title('Events');
  const query = {};
  for (const f of FILTERS) if (p.get(f.name)) query[f.name] = p.get(f.name);
  const active = Object.entries(query);
  const results = h('div', {class: 'results'}, panel('Events', {class: 'wide'}, h('p', {class: 'muted loading'}, 'Searching…')));
  replace(ctx.main,
    h('div', {class: 'page-head'}, h('h1', null, 'Events')),
    panel('Search', {class: 'wide', testid: 'panel-search'}, filterForm(p),
          active.length ? h('p', {class: 'active-filters', 'data-testid': 'active-filters'}, 'Filters: ',
            active.map(([k, v]) => {
              const rest = {...query};
              delete rest[k];
              return link('events', rest, {class: 'chip removable', title: 'remove this filter'}, k + ' = ', cut(v, 60), ' ×');
            })) : null),
    results);
  // `scan` (not a form field): the most events the collector looks at for one page; kept in
  // the links of the pages that follow.
  const scan = p.get('scan') || undefined;
  const page = await api.get('events', {...query, cursor: p.get('cursor'), limit: PAGE, scan}, {signal: ctx.signal});
  const rows = page.events;
  const more = {...query, cursor: page.next_cursor, scan};
  // A partial page: the collector stopped at its scan budget before finding a page of matches
  // (a filter that matches little, over many events); the search goes on from where it stopped.
  const searched = page.partial
    ? h('p', {class: 'partial', 'data-testid': 'events-partial', 'data-value': String(page.searched_until_us)},
        'Searched back to ', time(page.searched_until_us), ' UTC so far. ',
        link('events', more, {class: 'button', 'data-testid': 'search-further'}, 'Search further »'))
    : null;
  replace(results, panel(
    p.get('cursor') ? 'Older events' : 'Newest events', {class: 'wide', testid: 'panel-events'},
    h('p', {class: 'muted', 'data-testid': 'events-count', 'data-value': rows.length},
      num(rows.length), rows.length === 1 ? ' event' : ' events',
      p.get('cursor') ? ' (before #' + p.get('cursor') + ')' : '',
      page.next_cursor && !page.partial ? ', more below' : ''),
    searched,
    rows.length ? table(eventColumns(), rows, {testid: 'events-table', rowTestid: 'event-row'})
                : empty(page.partial ? 'No match so far.' : 'No event matches these filters.'),
    h('nav', {class: 'pager'},
      p.get('cursor') ? link('events', {...query, scan}, {class: 'button ghost'}, '« Newest') : null,
      page.next_cursor && !page.partial
        ? link('events', more, {class: 'button', 'data-testid': 'older'}, 'Older »') : null)));
}

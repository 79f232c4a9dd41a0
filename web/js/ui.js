// Building blocks of the pages: panels, tables, ranked lists, key/value lists. Everything goes
// through dom.js, so data only ever becomes text.
import {h, link, text, shareBar, replace} from './dom.js';
import {num} from './format.js';
import {AuthError} from './api.js';

export function panel(title, props, ...content) {
  return h('section', {class: 'panel ' + ((props && props.class) || ''),
                       'data-testid': props && props.testid},
           h('h2', null, title), ...content);
}

export function loading() {
  return h('p', {class: 'muted loading'}, 'Loading…');
}

export function errorBox(e) {
  return h('p', {class: 'error', role: 'alert'}, String(e && e.message ? e.message : e));
}

export function empty(what) {
  return h('p', {class: 'muted empty'}, what);
}

// A table: columns [{label, cell(row) -> node or text, class}].
export function table(columns, rows, props = {}) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label))));
  const body = h('tbody', null, rows.map((r) =>
    h('tr', {'data-testid': props.rowTestid}, columns.map((c) => h('td', {class: c.class}, c.cell(r))))));
  return h('div', {class: 'table-wrap'},
           h('table', {class: 'data ' + (props.class || ''), 'data-testid': props.testid}, head, body));
}

// A single-line value cut to `max` characters for a table cell, the whole value in the tooltip.
export function cut(value, max = 120) {
  const s = value === null || value === undefined ? '' : String(value);
  if (s.length <= max) return h('span', {class: 'val'}, s);
  return h('span', {class: 'val', title: s.slice(0, 4000)}, s.slice(0, max), h('span', {class: 'more'}, '…'));
}

// Ranked items ({key, label, count}) with share bars. route(item) -> [path, params] or null.
export function topList(items, props = {}) {
  if (!items || items.length === 0) return empty(props.empty || 'Nothing in this range.');
  const max = Math.max(...items.map((i) => i.count), 1);
  return h('ol', {class: 'top', 'data-testid': props.testid},
           items.map((item) => {
             const keyText = props.keyText ? props.keyText(item) : item.key;
             const r = props.route ? props.route(item) : null;
             const key = r ? link(r[0], r[1], {class: 'key'}, cut(keyText, props.max || 80))
                           : h('span', {class: 'key'}, cut(keyText, props.max || 80));
             return h('li', {'data-value': item.key},
                      h('span', {class: 'top-main'}, key,
                        props.mark ? props.mark(item) : null,
                        item.label ? h('span', {class: 'label'}, cut(item.label, 100)) : null),
                      h('span', {class: 'count'}, num(item.count)),
                      shareBar(item.count / max, props.bar));
           }));
}

// <dl> of [label, value] pairs; values are nodes or text; null values are left out.
export function kv(pairs, props = {}) {
  const dl = h('dl', {class: 'kv', 'data-testid': props.testid});
  for (const [k, v] of pairs) {
    if (v === null || v === undefined) continue;
    dl.appendChild(h('dt', null, k));
    dl.appendChild(h('dd', null, v));
  }
  return dl;
}

export function chips(values, route) {
  if (!values || values.length === 0) return h('span', {class: 'muted'}, 'none');
  return h('span', {class: 'chips'}, values.map((v) => {
    const r = route ? route(v) : null;
    return r ? link(r[0], r[1], {class: 'chip'}, v) : h('span', {class: 'chip'}, v);
  }));
}

// A multi-line value in a <pre>, line breaks kept, invisible characters shown.
export function pre(value, props = {}) {
  return h('pre', {class: 'text ' + (props.class || ''), 'data-testid': props.testid}, text(value, true));
}

// Fills `container` with the result of an async builder; errors are shown in place.
export async function fill(container, build) {
  try {
    const node = await build();
    replace(container, node);
  } catch (e) {
    if (e && e.name === 'AbortError') return;
    if (e instanceof AuthError) throw e;
    replace(container, errorBox(e));
  }
}

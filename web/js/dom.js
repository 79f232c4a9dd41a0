// Building the page without ever parsing data as HTML. Every string shown on the dashboard came
// from an attacker (a URI, a header, a rule's logdata...), so this module is the only way pages
// make elements: text goes in through text nodes, attributes through setAttribute from an allow
// list that holds no URL-bearing or script-bearing attribute, and links only point at routes of
// this dashboard (routeHref builds them from encoded parts). No innerHTML, outerHTML,
// insertAdjacentHTML or document.write anywhere in web/ (tests/e2e checks the sources too).

const SAFE_ATTRIBUTES = new Set([
  'class', 'id', 'title', 'type', 'name', 'value', 'placeholder', 'for', 'colspan', 'rowspan',
  'role', 'tabindex', 'autocomplete', 'disabled', 'checked', 'selected', 'scope', 'lang',
  'spellcheck', 'readonly', 'rows', 'maxlength', 'required', 'autofocus', 'datetime',
  'aria-label', 'aria-current', 'aria-live', 'aria-hidden', 'aria-pressed', 'aria-busy',
  'data-testid', 'data-value', 'data-kind', 'data-state', 'download',
]);

// Geometry and presentation attributes of the SVG chart: numbers and our own constants only.
const SAFE_SVG_ATTRIBUTES = new Set([
  'class', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'width', 'height', 'viewBox', 'preserveAspectRatio',
  'text-anchor', 'dominant-baseline', 'role', 'aria-label', 'data-testid', 'data-value',
  'tabindex',
]);

const SVG_NS = 'http://www.w3.org/2000/svg';

// Control characters, the format characters that reorder or hide text (bidi marks and
// overrides, zero-width joiners, tag characters: every Cc and Cf), variation selectors and the
// blank fillers would let a payload disguise itself: they are shown as escapes.
const INVISIBLE =
  /(?![\t\n\r])[\p{Cc}\p{Cf}\u115f\u1160\u180e\u3164\uffa0\ufe00-\ufe0f\u{e0100}-\u{e01ef}]/gu;

function escapeOf(ch) {
  const code = ch.codePointAt(0);
  return code < 0x100 ? '\\x' + code.toString(16).padStart(2, '0')
       : code < 0x10000 ? '\\u' + code.toString(16).padStart(4, '0')
                        : '\\u{' + code.toString(16) + '}';
}

// A fragment showing `value` as text; invisible characters become marked escapes, and so do
// line breaks unless `multiline`.
export function text(value, multiline = false) {
  const s = value === null || value === undefined ? '' : String(value);
  const frag = document.createDocumentFragment();
  const pattern = multiline ? INVISIBLE : new RegExp('[\\r\\n\\t]|' + INVISIBLE.source, 'gu');
  let last = 0;
  for (const m of s.matchAll(pattern)) {
    if (m.index > last) frag.appendChild(document.createTextNode(s.slice(last, m.index)));
    const esc = document.createElement('span');
    esc.className = 'esc';
    const ch = m[0];
    esc.textContent = ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : ch === '\t' ? '\\t' : escapeOf(ch);
    frag.appendChild(esc);
    last = m.index + ch.length;
  }
  if (last < s.length) frag.appendChild(document.createTextNode(s.slice(last)));
  return frag;
}

function appendChildren(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) appendChildren(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(text(c));
  }
}

function setProps(el, props, allowed) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (allowed.has(k)) {
      el.setAttribute(k, v === true ? '' : String(v));
    } else {
      throw new Error('dom: attribute not allowed: ' + k);
    }
  }
}

// h('td', {class: 'ip'}, ip): an element whose children are nodes or text.
export function h(tag, props, ...children) {
  if (tag === 'a' || tag === 'script' || tag === 'iframe' || tag === 'object' ||
      tag === 'embed' || tag === 'style' || tag === 'link' || tag === 'img' || tag === 'base') {
    throw new Error('dom: use link() for anchors; <' + tag + '> is not built from data');
  }
  const el = document.createElement(tag);
  setProps(el, props, SAFE_ATTRIBUTES);
  appendChildren(el, children);
  return el;
}

export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props, SAFE_SVG_ATTRIBUTES);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

// "#/attacker/1.2.3.4?x=y": a route of this dashboard. Every part is percent-encoded, and the
// result always starts with "#/", so data can never make a javascript: or external link.
export function routeHref(path, params) {
  const parts = Array.isArray(path) ? path : [path];
  let href = '#/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  if (qs) href += '?' + qs;
  return href;
}

// An anchor to a dashboard route (see routeHref); the only way pages make links.
export function link(path, params, props, ...children) {
  const a = document.createElement('a');
  const href = routeHref(path, params);
  if (!href.startsWith('#/')) throw new Error('dom: not a dashboard route');
  a.setAttribute('href', href);
  setProps(a, props, SAFE_ATTRIBUTES);
  appendChildren(a, children);
  return a;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  appendChildren(el, children);
  return el;
}

// A bar whose width is a share: set through the CSSOM (allowed under style-src 'self', unlike
// a style attribute), from a number we computed.
export function shareBar(fraction, kind) {
  const outer = h('span', {class: 'bar' + (kind ? ' bar-' + kind : '')});
  const inner = h('span', {class: 'bar-fill'});
  const pct = Math.max(0, Math.min(1, Number(fraction) || 0)) * 100;
  inner.style.width = pct.toFixed(1) + '%';
  outer.appendChild(inner);
  return outer;
}

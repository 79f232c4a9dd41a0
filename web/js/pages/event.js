// One event: the request as it was received (request line, headers, body, and the raw bytes when
// the record holds them), the response the decoy sent, every matched rule with its data, the
// trap fields, and the record exactly as it arrived. All of it text.
import * as api from '../api.js';
import {h, link, replace} from '../dom.js';
import {num, time, timeMs, severity, bytes} from '../format.js';
import {panel, table, kv, chips, pre, cut, empty} from '../ui.js';

function decodeBase64(b64) {
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; ++i) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

// Bytes as text: UTF-8 where valid, other bytes as \xNN.
function bytesAsText(u8) {
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(u8);
  } catch {
    let s = '';
    for (const b of u8) {
      s += b === 0x0a || b === 0x0d || b === 0x09 || (b >= 0x20 && b < 0x7f) ? String.fromCharCode(b)
                                                                         : '\\x' + b.toString(16).padStart(2, '0');
    }
    return s;
  }
}

// The parsed record (drosera and ModSecurity JSON formats), or null (v2 native, not JSON).
function parseRecord(e) {
  const raw = e.raw_record ?? (e.raw_record_base64 ? bytesAsText(decodeBase64(e.raw_record_base64) || new Uint8Array()) : '');
  try {
    const j = JSON.parse(raw);
    return j && typeof j === 'object' ? j : null;
  } catch {
    return null;
  }
}

function headerLines(headers) {
  if (!headers) return '';
  if (Array.isArray(headers)) return headers.map((p) => (Array.isArray(p) ? p[0] + ': ' + p[1] : String(p))).join('\n');
  return Object.entries(headers).map(([k, v]) => k + ': ' + (typeof v === 'string' ? v : JSON.stringify(v))).join('\n');
}

function requestText(e) {
  const version = e.http_version ? ' HTTP/' + e.http_version : '';
  return e.method + ' ' + e.uri + version + '\n' + headerLines(e.request_headers);
}

function download(seq) {
  return h('button', {type: 'button', class: 'ghost', 'data-testid': 'download-raw',
                      onclick: async () => {
                        const buf = await api.get('events/' + encodeURIComponent(seq) + '/raw', null, {raw: true});
                        const url = URL.createObjectURL(new Blob([buf], {type: 'application/octet-stream'}));
                        const a = document.createElement('a');
                        a.setAttribute('href', url);  // a blob: URL we made, not data
                        a.setAttribute('download', 'event-' + Number(seq) + '.raw');
                        a.click();
                        setTimeout(() => URL.revokeObjectURL(url), 10000);
                      }}, 'Download the raw record');
}

export async function render(ctx) {
  const seq = ctx.args[0] || '';
  ctx.title('Event ' + seq);
  let e;
  try {
    e = await api.get('events/' + encodeURIComponent(seq), null, {signal: ctx.signal});
  } catch (x) {
    if (x instanceof api.NotFound) {
      replace(ctx.main, panel('Event ' + seq, {class: 'wide'}, empty('No such event.')));
      return;
    }
    throw x;
  }
  const rec = parseRecord(e);
  const tx = rec && rec.transaction ? rec.transaction : null;
  const dro = rec && rec.drosera ? rec.drosera : null;
  const resp = tx && tx.response ? tx.response : null;
  const rawRequest = dro && typeof dro.raw === 'string' ? decodeBase64(dro.raw) : null;

  const summary = kv([
    ['Time', timeMs(e.time_us) + ' UTC'],
    ['Source', [link(['attacker', e.src_ip], {}, {class: 'ip', 'data-testid': 'event-source'}, e.src_ip), ':' + e.src_port]],
    ['Listener', [String(e.dst_port), ' ', h('span', {class: 'tag tag-' + (e.listener_kind || 'unknown')}, e.listener_kind || 'unknown'),
                  e.tls ? h('span', {class: 'tag'}, 'tls') : null]],
    ['Host', cut(e.host, 200)],
    ['Sensor', link('events', {sensor: e.sensor}, null, e.sensor)],
    ['Unique id', e.unique_id],
    ['Format', e.format],
    ['Status', e.status ? String(e.status) : 'no response'],
    ['Anomaly score', 'inbound ' + e.inbound_score + ', outbound ' + e.outbound_score],
    ['Categories', chips(e.categories, (c) => ['events', {category: c}])],
    ['Inspected', e.inspected ? 'yes' : 'no (recorded without inspection)'],
    ['Known attacker', e.flagged ? 'yes (flagged before this request)' : 'no'],
    ['Protocol anomalies', e.anomalies && e.anomalies.length ? chips(e.anomalies) : null],
    ['Limits hit', e.limits_hit && e.limits_hit.length ? chips(e.limits_hit) : null],
  ], {testid: 'event-summary'});

  const rules = e.rules.length
    ? table([
      {label: 'Rule', class: 'num', cell: (r) => link('events', {rule: r.id}, {'data-testid': 'rule-link'}, String(r.id))},
      {label: 'Message', cell: (r) => cut(r.message, 300)},
      {label: 'Data', class: 'data-cell', cell: (r) => pre(r.data, {class: 'inline'})},
      {label: 'Severity', cell: (r) => severity(r.severity)},
      {label: 'Tags', cell: (r) => chips(r.tags, (t) => ['events', {tag: t}])},
    ], e.rules, {testid: 'rules-table', rowTestid: 'rule-row'})
    : empty('No rule matched.');

  const traps = e.traps.length
    ? table([
      {label: 'Kind', cell: (t) => link('events', {trap: t.kind}, null, t.kind)},
      {label: 'Bait', cell: (t) => cut(t.bait, 200)},
      {label: 'Captured', cell: (t) => pre(t.captured, {class: 'inline'})},
      {label: 'Rule', class: 'num', cell: (t) => String(t.rule_id)},
      {label: 'Handed out by', cell: (t) => (t.origin ? cut(t.origin, 80) : '–')},
    ], e.traps, {testid: 'traps-table', rowTestid: 'trap-row'})
    : empty('No honeytrap fired.');

  const body = e.request_body || '';
  replace(ctx.main,
    h('div', {class: 'page-head'},
      h('h1', null, 'Event #' + num(e.seq)),
      h('span', {class: 'muted'}, time(e.time_us) + ' UTC'),
      download(e.seq)),
    panel('Summary', {class: 'wide', testid: 'panel-summary'}, summary),
    panel('Request', {class: 'wide', testid: 'panel-request'},
      pre(requestText(e), {testid: 'request-head'}),
      h('h3', null, 'Body (', bytes(body.length), ')'),
      body ? pre(body, {testid: 'request-body'}) : empty('No body.'),
      rawRequest ? [h('h3', null, 'As received (', bytes(rawRequest.length), ')'),
                    pre(bytesAsText(rawRequest), {testid: 'request-raw'})] : null),
    panel('Response', {class: 'wide', testid: 'panel-response'},
      pre('HTTP ' + (resp && resp.http_code ? resp.http_code : e.status || '–') + '\n' +
          headerLines(resp ? resp.headers : null), {testid: 'response-head'}),
      resp && resp.body ? pre(resp.body, {testid: 'response-body'}) : null),
    panel('Matched rules', {class: 'wide', testid: 'panel-rules'}, rules),
    panel('Honeytraps', {class: 'wide', testid: 'panel-traps'}, traps),
    panel('Record as received', {class: 'wide', testid: 'panel-raw'},
      h('p', {class: 'muted'}, e.raw_record !== undefined ? 'UTF-8 text.' : 'Not valid UTF-8: shown from its base64 copy, other bytes as \\xNN.'),
      pre(e.raw_record ?? bytesAsText(decodeBase64(e.raw_record_base64) || new Uint8Array()),
          {testid: 'raw-record', class: 'raw'})));
}

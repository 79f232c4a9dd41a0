// Numbers, times and names as the pages show them. Times are UTC, as the API gives them.

export function num(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  return Number(n).toLocaleString('en-US');
}

// "2026-11-30 07:24:48" (UTC) from microseconds, an ISO string or a Date.
export function time(t) {
  const d = toDate(t);
  if (!d) return '–';
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

export function timeMs(t) {
  const d = toDate(t);
  if (!d) return '–';
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function toDate(t) {
  if (t === null || t === undefined || t === '' || t === 0) return null;
  const d = typeof t === 'number' ? new Date(t / 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// "3 min ago", "2 h ago"...
export function ago(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return 'never';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' d ago';
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return 'unknown';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return (ms / 60000).toFixed(1) + ' min';
  return (ms / 3600000).toFixed(1) + ' h';
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    ++i;
  }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}

const SEVERITIES = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];
export function severity(n) {
  return n >= 0 && n < SEVERITIES.length ? SEVERITIES[n] : '–';
}

// The range buttons of the overview: span and bucket in seconds.
export const RANGES = {
  '1h': {span: 3600, bucket: 60, label: '1 hour'},
  '24h': {span: 86400, bucket: 900, label: '24 hours'},
  '7d': {span: 7 * 86400, bucket: 3600, label: '7 days'},
  '30d': {span: 30 * 86400, bucket: 6 * 3600, label: '30 days'},
};

// The trap kinds of drosera (src/sensor/traps/).
export const TRAP_KINDS = ['fake_port', 'robots', 'comment', 'hidden_field', 'cookie',
  'sensitive_file', 'admin_login', 'honeytoken'];

// The categories drosera gives events (src/core/classify.cc); the filter form offers them.
export const CATEGORIES = ['attack-sqli', 'attack-xss', 'attack-rce', 'attack-lfi', 'attack-rfi',
  'attack-injection-php', 'attack-injection-generic', 'attack-injection-java', 'attack-protocol',
  'attack-multipart-header', 'attack-fixation', 'attack-reputation-scanner', 'attack-disclosure',
  'honeytrap'];

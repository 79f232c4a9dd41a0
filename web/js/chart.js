// The events-over-time chart: bars drawn as SVG through DOM calls (no chart library, nothing
// parsed). Every label is a number or a time we format; the tooltips are <title> text nodes.
import {svg} from './dom.js';
import {num} from './format.js';

const W = 1000;
const H = 220;
const PAD_L = 56;
const PAD_R = 8;
const PAD_T = 10;
const PAD_B = 28;

function tickLabel(us, spanS) {
  const iso = new Date(us / 1000).toISOString();
  if (spanS <= 86400) return iso.slice(11, 16);
  if (spanS <= 8 * 86400) return iso.slice(5, 10) + ' ' + iso.slice(11, 16);
  return iso.slice(5, 10);
}

// A bar chart of `buckets` ({start_us, count, alerts}); onSelect(bucket) when a bar is chosen.
export function timelineChart(buckets, bucketS, onSelect) {
  const n = Math.max(buckets.length, 1);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const plotW = W - PAD_L - PAD_R;
  const plotH = H - PAD_T - PAD_B;
  const step = plotW / n;
  const barW = Math.max(1, step * 0.82);
  const total = buckets.reduce((s, b) => s + b.count, 0);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'img', 'data-testid': 'timeline-chart',
    'data-value': total, 'aria-label': `events over time: ${total} in ${buckets.length} buckets`,
  });
  // Grid and y labels: 0, half, max.
  for (const f of [0, 0.5, 1]) {
    const y = PAD_T + plotH - f * plotH;
    root.appendChild(svg('line', {x1: PAD_L, x2: W - PAD_R, y1: y, y2: y, class: 'grid'}));
    root.appendChild(svg('text', {x: PAD_L - 6, y: y + 4, 'text-anchor': 'end', class: 'axis'},
                         num(Math.round(f * max))));
  }
  const spanS = buckets.length * bucketS;
  buckets.forEach((b, i) => {
    const x = PAD_L + i * step + (step - barW) / 2;
    const hAll = (b.count / max) * plotH;
    const hAlert = (Math.min(b.alerts, b.count) / max) * plotH;
    const g = svg('g', {class: 'bucket', tabindex: b.count ? 0 : null, role: 'button',
                        'data-value': b.count});
    g.appendChild(svg('title', null,
                      `${new Date(b.start_us / 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC: ` +
                      `${num(b.count)} events, ${num(b.alerts)} alerts`));
    // A transparent full-height target, so that short bars are easy to pick.
    g.appendChild(svg('rect', {x: PAD_L + i * step, y: PAD_T, width: step, height: plotH,
                               class: 'hit'}));
    if (b.count) {
      g.appendChild(svg('rect', {x, y: PAD_T + plotH - hAll, width: barW, height: hAll,
                                 class: 'bar-all'}));
    }
    if (b.alerts) {
      g.appendChild(svg('rect', {x, y: PAD_T + plotH - hAlert, width: barW, height: hAlert,
                                 class: 'bar-alerts'}));
    }
    if (onSelect && b.count) {
      g.addEventListener('click', () => onSelect(b));
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') onSelect(b);
      });
    }
    root.appendChild(g);
  });
  // X labels: about six.
  const every = Math.max(1, Math.ceil(n / 6));
  for (let i = 0; i < buckets.length; i += every) {
    const x = PAD_L + i * step + step / 2;
    root.appendChild(svg('text', {x, y: H - 8, 'text-anchor': 'middle', class: 'axis'},
                         tickLabel(buckets[i].start_us, spanS)));
  }
  root.appendChild(svg('line', {x1: PAD_L, x2: W - PAD_R, y1: PAD_T + plotH, y2: PAD_T + plotH,
                                class: 'baseline'}));
  return root;
}

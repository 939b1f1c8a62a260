// Traffic per endpoint: bytes/s computed from the counters polled every second, drawn as
// canvas sparklines (in = from the guest, out = to the guest).

export const HISTORY = 30;   // points: half a minute at one poll a second, 4 px apart on a 120 px chart

/** The last half minute of one endpoint's byte rates, from successive counter readings. */
export class RateHistory {
  constructor() { this.last = null; this.in = []; this.out = []; }

  /** Records a reading taken at time t (ms, performance.now()). */
  add(counters, t) {
    if (!counters) return;
    if (this.last) {
      const dt = (t - this.last.t) / 1000;
      if (dt > 0) {
        // A counter that went down (endpoint re-attached) restarts from zero, not a negative rate.
        this.push(this.in, Math.max(0, counters.bytesIn - this.last.bytesIn) / dt);
        this.push(this.out, Math.max(0, counters.bytesOut - this.last.bytesOut) / dt);
      }
    }
    this.last = { t, bytesIn: counters.bytesIn, bytesOut: counters.bytesOut };
  }

  push(series, v) {
    series.push(v);
    if (series.length > HISTORY) series.shift();
  }

  get currentIn() { return this.in.at(-1) ?? 0; }
  get currentOut() { return this.out.at(-1) ?? 0; }
}

function cssColor(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Draws both series of a history on a canvas, scaled to the larger peak; crisp on high-DPI screens. */
export function drawSparkline(canvas, history) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 120;
  const h = canvas.clientHeight || 28;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const peak = Math.max(1, ...history.in, ...history.out);
  const step = w / (HISTORY - 1);
  ctx.strokeStyle = cssColor('--line', '#ccc');
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, h - 0.5);
  ctx.lineTo(w, h - 0.5);
  ctx.stroke();
  for (const [series, color] of [[history.in, cssColor('--in', '#1f6feb')], [history.out, cssColor('--out', '#8250df')]]) {
    if (series.length < 2) continue;
    const points = series.map((v, i) => [w - 1 - (series.length - 1 - i) * step, h - 1 - (v / peak) * (h - 3)]);
    ctx.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    // A faint area under the line: a one-second burst stays visible, not a hairline.
    ctx.lineTo(points.at(-1)[0], h);
    ctx.lineTo(points[0][0], h);
    ctx.closePath();
    ctx.globalAlpha = 0.18;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
  }
}

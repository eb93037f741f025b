// Min-max downsampling to at most `maxPoints` points. Buckets are runs of `b` consecutive points, b a power of two
// chosen so that two points per bucket fit; a completed bucket never changes, so a live series only ever re-sends its
// last (open) bucket, and the whole series only when b doubles (log₂(n/maxPoints) times in a run's life).
import type { SeriesPayload } from '../../../webviewProtocol';

/**
 * Points kept of the bucket [start, end): its minimum and its maximum (non-null y), in x order; one point when they
 * coincide; one null point when the bucket has no value (a gap). With `withLast`, the bucket's last point too (the
 * open bucket of a live series: the newest value stays visible).
 */
function bucketPoints(
  x: ArrayLike<number>,
  y: ArrayLike<number | null>,
  start: number,
  end: number,
  withLast: boolean,
  outX: number[],
  outY: (number | null)[],
): void {
  let iMin = -1;
  let iMax = -1;
  for (let i = start; i < end; i++) {
    const v = y[i];
    if (v === null) continue;
    if (iMin < 0 || v < (y[iMin] as number)) iMin = i;
    if (iMax < 0 || v > (y[iMax] as number)) iMax = i;
  }
  if (iMin < 0) {
    outX.push(x[start]);
    outY.push(null);
    return;
  }
  const idx = iMin === iMax ? [iMin] : iMin < iMax ? [iMin, iMax] : [iMax, iMin];
  if (withLast && idx[idx.length - 1] !== end - 1 && y[end - 1] !== null) idx.push(end - 1);
  for (const i of idx) {
    outX.push(x[i]);
    outY.push(y[i]);
  }
}

/** The bucket size for n points: 1 when they fit, else the smallest power of two giving ≤ (maxPoints−1)/2 buckets. */
export function bucketSize(n: number, maxPoints: number): number {
  if (n <= maxPoints) return 1;
  const maxBuckets = Math.max(1, Math.floor((maxPoints - 1) / 2));
  let b = 2;
  while (Math.ceil(n / b) > maxBuckets) b *= 2;
  return b;
}

/**
 * Min-max downsampling of (x, y) to at most `maxPoints` points: each bucket of `bucketSize(n, maxPoints)`
 * consecutive points keeps its minimum and maximum; a partial last bucket (a live series' open one) also keeps its
 * last point. Nothing changes when the series fits. O(n).
 */
export function minMaxDownsample(x: ArrayLike<number>, y: ArrayLike<number | null>, maxPoints: number): SeriesPayload {
  const n = x.length;
  const b = bucketSize(n, maxPoints);
  if (b === 1) return { x: Array.from(x), y: Array.from(y) };
  const out: SeriesPayload = { x: [], y: [] };
  for (let s = 0; s < n; s += b) bucketPoints(x, y, s, Math.min(n, s + b), s + b > n, out.x, out.y);
  return out;
}

/** A growing series and its downsampled view, kept up to date incrementally (amortised O(1) per point). */
export class DownsampledSeries {
  private xs: number[] = [];
  private ys: (number | null)[] = [];
  /** Points of the completed buckets (all points while b = 1). */
  private stableX: number[] = [];
  private stableY: (number | null)[] = [];
  private b = 1;
  /** Bumped whenever already-sent stable points change (rebucketing, truncation): subscribers re-send from 0. */
  version = 0;

  constructor(private maxPoints: number) {}

  get length(): number {
    return this.xs.length;
  }

  get raw(): { x: readonly number[]; y: readonly (number | null)[] } {
    return { x: this.xs, y: this.ys };
  }

  /** Number of view points that will not change until the next `version`. */
  get stableLength(): number {
    return this.stableX.length;
  }

  get lastX(): number | undefined {
    return this.xs[this.xs.length - 1];
  }

  push(x: number, y: number | null): void {
    this.xs.push(x);
    this.ys.push(y);
    const n = this.xs.length;
    const b = bucketSize(n, this.maxPoints);
    if (b !== this.b) {
      this.b = b;
      this.rebuild();
    } else if (b === 1) {
      this.stableX.push(x);
      this.stableY.push(y);
    } else if (n % b === 0) {
      bucketPoints(this.xs, this.ys, n - b, n, false, this.stableX, this.stableY);
    }
  }

  /** Drop the points with x > `maxX` (a resumed run recomputes them). */
  truncateAfter(maxX: number): boolean {
    let n = this.xs.length;
    while (n > 0 && this.xs[n - 1] > maxX) n--;
    if (n === this.xs.length) return false;
    this.xs.length = n;
    this.ys.length = n;
    this.b = bucketSize(n, this.maxPoints);
    this.rebuild();
    return true;
  }

  setMaxPoints(maxPoints: number): void {
    if (maxPoints === this.maxPoints) return;
    this.maxPoints = maxPoints;
    this.b = bucketSize(this.xs.length, maxPoints);
    this.rebuild();
  }

  private rebuild(): void {
    this.version++;
    this.stableX = [];
    this.stableY = [];
    const n = this.xs.length;
    if (this.b === 1) {
      this.stableX = this.xs.slice();
      this.stableY = this.ys.slice();
      return;
    }
    const complete = n - (n % this.b);
    for (let s = 0; s < complete; s += this.b)
      bucketPoints(this.xs, this.ys, s, s + this.b, false, this.stableX, this.stableY);
  }

  /** The view from point `from` on: stable points, then the open bucket's points. */
  viewFrom(from: number): SeriesPayload {
    const out: SeriesPayload = { x: this.stableX.slice(from), y: this.stableY.slice(from) };
    const n = this.xs.length;
    if (this.b > 1 && n % this.b !== 0) bucketPoints(this.xs, this.ys, n - (n % this.b), n, true, out.x, out.y);
    return out;
  }

  view(): SeriesPayload {
    return this.viewFrom(0);
  }
}

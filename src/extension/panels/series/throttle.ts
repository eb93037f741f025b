// Coalesces change notifications into at most one flush per interval (≤ 10 messages/s).

export interface TimerApi {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: TimerApi = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Coalesces `schedule()` calls into at most one `flush` per `intervalMs` (the first change after a quiet period is
 * flushed at once, later ones wait for the interval to end).
 */
export class Throttle {
  private last = -Infinity;
  private timer: unknown;

  constructor(
    private readonly flush: () => void,
    private readonly intervalMs = 100,
    private readonly timers: TimerApi = realTimers,
  ) {}

  schedule(): void {
    if (this.timer !== undefined) return;
    const wait = this.last + this.intervalMs - this.timers.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = this.timers.setTimeout(() => this.run(), wait);
  }

  private run(): void {
    this.timer = undefined;
    this.last = this.timers.now();
    this.flush();
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

// A hand-driven Clock for unit tests: time moves only when a test calls advance(),
// and timers fire in due order with pending promise work settled in between.
import type { Clock, TimerHandle } from '../../../src/runtime/clock.js';

interface PendingTimer {
  id: number;
  at: number;
  callback: () => void;
}

/** Lets every already-scheduled promise continuation run (no real time passes). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, PendingTimer>();

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling promises after each. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      let next: PendingTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.at <= target && (next === undefined || timer.at < next.at)) next = timer;
      }
      if (next === undefined) break;
      this.timers.delete(next.id);
      this.time = next.at;
      next.callback();
      await settle();
    }
    this.time = target;
    await settle();
  }
}

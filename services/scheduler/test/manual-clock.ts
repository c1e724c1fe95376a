import type { Clock } from '../src/clock.js';

/**
 * A clock that moves only when told: `advance(ms)` moves wall and monotonic time together and
 * fires the timers that came due, in order. Tests drive schedules, durations and timeouts with it.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private nextId = 0;
  private timers: { id: number; at: number; fn: () => void }[] = [];

  constructor(start: string | Date) {
    this.wall = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.wall);
  }

  monotonicMs(): number {
    return this.mono;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ id, at: this.mono + ms, fn });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t.id !== due.id);
      this.wall += due.at - this.mono;
      this.mono = due.at;
      due.fn();
    }
    this.wall += target - this.mono;
    this.mono = target;
  }

  /** Moves to a later wall-clock instant (time passing while nobody ran). */
  advanceTo(instant: string | Date): void {
    const ms = new Date(instant).getTime() - this.wall;
    if (ms < 0) throw new Error('a ManualClock only moves forward');
    this.advance(ms);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}

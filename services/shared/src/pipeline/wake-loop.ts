import type { Logger } from '../logger.js';
import { backoffMs } from '../retry.js';

export interface WakeLoop {
  /** Run again soon; wakes during a pass are folded into one more pass after it. */
  wake(): void;
  /** Lets the pass in progress finish, then stops. */
  stop(): Promise<void>;
}

/**
 * A background pass run when woken (a NOTIFY, a commit) and at least every `intervalMs`, one at a
 * time. A failing pass is logged and retried with backoff; it never stops the process.
 */
export function startWakeLoop(opts: {
  name: string;
  intervalMs: number;
  pass: () => Promise<void>;
  logger: Logger;
}): WakeLoop {
  let stopping = false;
  let pending = true;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let resolveSleep: (() => void) | undefined;

  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      resolveSleep = resolve;
      timer = setTimeout(resolve, ms);
    });

  const loop = (async () => {
    while (!stopping) {
      if (!pending) await nap(opts.intervalMs);
      if (stopping) break;
      pending = false;
      try {
        await opts.pass();
        failures = 0;
      } catch (err) {
        failures++;
        pending = true;
        opts.logger.warn(
          { loop: opts.name, err: { message: (err as Error).message } },
          `${opts.name} failed`,
        );
        await nap(backoffMs(failures));
      }
    }
  })();

  return {
    wake() {
      pending = true;
      if (failures === 0) {
        clearTimeout(timer);
        resolveSleep?.();
      }
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      resolveSleep?.();
      await loop;
    },
  };
}

/**
 * Calls `tick` now and then every `intervalMs` after the previous one ended (never two at once).
 * An error is handed to `onError`; polling goes on unless the caller stops it.
 */
export function startPolling(opts: {
  intervalMs: number;
  tick: () => Promise<unknown>;
  onError: (err: unknown) => void;
}): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    timer = undefined;
    try {
      await opts.tick();
    } catch (err) {
      opts.onError(err);
    }
    if (!stopped) timer = setTimeout(() => void loop(), opts.intervalMs);
  };
  void loop();
  return {
    // Does not wait for a tick in progress: the scheduler's stop aborts and awaits it.
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

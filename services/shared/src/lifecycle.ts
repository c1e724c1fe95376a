import type { Logger } from './logger.js';

/**
 * One shutdown path for every service. Parts register how they stop as they are created;
 * they are stopped once, in reverse order of creation (stop fetching or accepting first,
 * close the pool last). A crash anywhere goes through the same path and exits non-zero.
 */
export class Lifecycle {
  private readonly stoppers: { name: string; stop: () => Promise<void> }[] = [];
  private stopping: Promise<never> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 30_000,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  onStop(name: string, stop: () => Promise<void>): void {
    this.stoppers.push({ name, stop });
  }

  installSignalHandlers(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => void this.shutdown(signal));
    }
    process.on('uncaughtException', (err) => void this.shutdown(err));
    process.on(
      'unhandledRejection',
      (err) => void this.shutdown(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Stops everything once; `reason` is a signal name or the error that forces the stop. */
  shutdown(reason: string | Error): Promise<never> {
    this.stopping ??= this.run(reason);
    return this.stopping;
  }

  private async run(reason: string | Error): Promise<never> {
    const failed = reason instanceof Error;
    if (failed) this.logger.error({ err: reason }, 'stopping because of an error');
    else this.logger.info({ reason }, 'stopping');
    const timer = setTimeout(() => {
      this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown took too long; exiting');
      this.exit(1);
    }, this.timeoutMs);
    timer.unref();
    let code = failed ? 1 : 0;
    for (const { name, stop } of [...this.stoppers].reverse()) {
      try {
        await stop();
        this.logger.debug({ part: name }, 'stopped');
      } catch (err) {
        code = 1;
        this.logger.error({ err, part: name }, 'failed to stop cleanly');
      }
    }
    clearTimeout(timer);
    this.logger.info({ code }, 'stopped');
    this.exit(code);
    // exit() does not return in production; tests inject one that does.
    return new Promise<never>(() => {});
  }
}

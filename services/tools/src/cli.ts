import { ConfigError } from '../../shared/src/config.js';

/** Bad command-line arguments: the message and the usage text go to stderr, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Runs a command-line tool: progress lines on stdout, one clear error line on stderr and a
 * non-zero exit on failure (a ConfigError names the bad variables; a UsageError exits 2).
 */
export async function runCli(
  name: string,
  main: (say: (line: string) => void) => Promise<void>,
): Promise<void> {
  const say = (line: string) => process.stdout.write(`${name}: ${line}\n`);
  try {
    await main(say);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${name}: ${err.message}\n\n${err.usage}\n`);
      process.exitCode = 2;
      return;
    }
    const message = err instanceof ConfigError ? err.message : `${(err as Error).message ?? err}`;
    process.stderr.write(`${name}: failed: ${message}\n`);
    process.exitCode = 1;
  }
}

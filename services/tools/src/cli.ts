import { ConfigError } from '../../shared/src/config.js';

/**
 * Runs a command-line tool: progress lines on stdout, one clear error line on stderr and a
 * non-zero exit on failure (a ConfigError names the bad variables).
 */
export async function runCli(
  name: string,
  main: (say: (line: string) => void) => Promise<void>,
): Promise<void> {
  const say = (line: string) => process.stdout.write(`${name}: ${line}\n`);
  try {
    await main(say);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : `${(err as Error).message ?? err}`;
    process.stderr.write(`${name}: failed: ${message}\n`);
    process.exitCode = 1;
  }
}

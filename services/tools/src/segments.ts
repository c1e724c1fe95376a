/**
 * `npm run segments`: check a criteria file before saving a segment, or verify every segment's
 * members against its criteria (README, "Segments"). Wiring only; the work is in
 * shared/src/segments/check.ts.
 */
import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { commonConfig, loadConfig } from '../../shared/src/config.js';
import { createDb } from '../../shared/src/pg/gateway.js';
import { countCriteria, membershipDifferences } from '../../shared/src/segments/check.js';
import { runCli, UsageError } from './cli.js';
import { parseSegmentsArgs, USAGE } from './segments/args.js';

await runCli('segments', async (say) => {
  const args = parseSegmentsArgs(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let criteria: unknown;
  if (args.command === 'check') {
    let text: string;
    try {
      text = await readFile(args.file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${args.file}: ${(err as Error).message}`, USAGE);
    }
    try {
      criteria = JSON.parse(text);
    } catch (err) {
      say(`refused: ${args.file} is not JSON (${(err as Error).message})`);
      process.exitCode = 1;
      return;
    }
  }
  const config = loadConfig({ databaseUrl: commonConfig.databaseUrl }, process.env);
  const db = createDb({
    connectionString: config.databaseUrl,
    service: 'segments-cli',
    registry: new Registry(),
  });
  try {
    if (args.command === 'check') {
      const count = await countCriteria(db, criteria, args.at);
      if (!count.ok) {
        say(`refused: ${count.error}`);
        process.exitCode = 1;
        return;
      }
      say(
        `valid: ${count.members.toLocaleString('en-US')} of ${count.customers.toLocaleString('en-US')} customers match at ${args.at.toISOString()}` +
          (count.timeRelative ? ' (time-relative: members also change as time passes)' : ''),
      );
      if (args.sql) {
        say(`sql: SELECT c.id FROM customers c WHERE ${count.where}`);
        say(`  $1 = ${JSON.stringify(count.params)}`);
        say(`  $2 = ${args.at.toISOString()}`);
      }
      return;
    }
    const differences = await membershipDifferences(db, args.at);
    for (const d of differences)
      say(`${d.segmentId} (${d.name}): ${d.missing.length} missing, ${d.extra.length} extra members`);
    say(
      differences.length === 0
        ? 'every active segment equals its criteria'
        : `${differences.length} segments differ`,
    );
    if (differences.length > 0) process.exitCode = 3;
  } finally {
    await db.end();
  }
});

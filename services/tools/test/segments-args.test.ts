import t from 'tap';
import { UsageError } from '../src/cli.js';
import { parseSegmentsArgs } from '../src/segments/args.js';

t.test('check FILE, with --at and --sql; verify', async (t) => {
  const check = parseSegmentsArgs(['check', 'c.json', '--at', '2027-01-01T00:00:00Z', '--sql']);
  t.match(check, { command: 'check', file: 'c.json', sql: true });
  t.equal(check !== 'help' && check.at.toISOString(), '2027-01-01T00:00:00.000Z');
  t.match(parseSegmentsArgs(['verify']), { command: 'verify' });
  t.equal(parseSegmentsArgs([]), 'help');
  t.equal(parseSegmentsArgs(['check', '--help']), 'help');
});

t.test('bad arguments are a usage error', async (t) => {
  for (const argv of [
    ['nope'],
    ['check'],
    ['check', 'a.json', 'b.json'],
    ['check', 'a.json', '--at', 'yesterday'],
    ['verify', '--sql'],
  ])
    t.throws(() => parseSegmentsArgs(argv), UsageError, argv.join(' '));
});

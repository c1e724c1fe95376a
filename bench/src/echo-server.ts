/**
 * The HTTP baseline: the least a Node HTTP server can do for a request, read the whole body and
 * answer 200 with a small JSON body. Run as a child process like the collector, so both are
 * measured the same way; the same load against it gives this machine's HTTP ceiling.
 */
import { createServer } from 'node:http';

const port = Number(process.env.BENCH_ECHO_PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('echo-server: BENCH_ECHO_PORT must be a port number\n');
  process.exit(1);
}

const reply = Buffer.from('{"success":true}');
const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': reply.length });
    res.end(reply);
    void bytes;
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

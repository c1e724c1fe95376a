/** Progress lines on stderr-free stdout, each with the time since the bench started. */
const started = Date.now();

export function progress(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[bench +${t}s] ${message}\n`);
}

export function elapsedSeconds(): number {
  return (Date.now() - started) / 1000;
}

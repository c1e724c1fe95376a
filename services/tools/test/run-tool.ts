/** Runs a command-line tool as a user does (node --import tsx services/tools/src/<tool>.ts ...). */
import { spawn } from 'node:child_process';
import { repoPath } from '../../shared/src/repo-path.js';

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(
  tool: string,
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', repoPath(`services/tools/src/${tool}.ts`), ...argv],
      {
        cwd: repoPath(),
        env: { ...process.env, LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

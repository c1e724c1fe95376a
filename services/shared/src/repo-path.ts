import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The repository root, found from this file whether it runs from sources (tsx) or from dist/,
 * so schemas/ and sql/ are read from one place in both.
 */
export function repoPath(...parts: string[]): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'schemas')) || !existsSync(join(dir, 'package.json'))) {
      const up = dirname(dir);
      if (up === dir)
        throw new Error('cannot find the repository root (a folder with package.json and schemas/)');
      dir = up;
    }
    root = dir;
  }
  return resolve(root, ...parts);
}

/**
 * The source revision bmx7d reports (`version`, the `revision` column of status, originators and
 * keys), as the reference reports the git revision it was built from: seven hex digits. Read once
 * at start, without running git:
 *
 *   1. a `REVISION` file in the package directory (apps/bmx7d/REVISION), which a packager writes
 *      (`git rev-parse --short=7 HEAD > REVISION`) before copying `dist/` out of the checkout;
 *   2. the git checkout bmx7d runs from: `.git` (a directory, or the `gitdir:` file of a
 *      worktree) found upwards from this module, its HEAD and the ref it names (loose or packed);
 *   3. otherwise `0000000`, what the reference prints when it was built outside a git checkout.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UNKNOWN_REVISION = '0000000';
const HASH = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The git directory of the checkout that contains `start`, if any. */
export function findGitDir(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    try {
      const st = statSync(dotGit);
      if (st.isDirectory()) return dotGit;
      const link = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
      if (link) return isAbsolute(link) ? link : resolve(dir, link);
    } catch {
      // not here
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The commit HEAD of a git directory points at, or undefined when it cannot be read. */
export function gitHead(gitDir: string): string | undefined {
  const head = read(join(gitDir, 'HEAD'));
  if (head === undefined) return undefined;
  if (HASH.test(head)) return head; // detached
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (ref === undefined) return undefined;
  // a worktree keeps its HEAD but shares refs with the main repository
  const common = read(join(gitDir, 'commondir'));
  const dirs = [gitDir, ...(common ? [isAbsolute(common) ? common : resolve(gitDir, common)] : [])];
  for (const d of dirs) {
    const loose = read(join(d, ref));
    if (loose !== undefined && HASH.test(loose)) return loose;
    const packed = read(join(d, 'packed-refs'));
    for (const line of packed?.split('\n') ?? []) {
      const [hash, name] = line.trim().split(/\s+/);
      if (name === ref && hash !== undefined && HASH.test(hash)) return hash;
    }
  }
  return undefined;
}

/** bmx7d's revision (see the header); `packageDir` is apps/bmx7d. */
export function readRevision(packageDir: string): string {
  const file = read(join(packageDir, 'REVISION'));
  if (file !== undefined && /^[0-9a-f]{7,64}$/i.test(file)) return file.slice(0, 7).toLowerCase();
  const gitDir = findGitDir(packageDir);
  const head = gitDir === undefined ? undefined : gitHead(gitDir);
  return head === undefined ? UNKNOWN_REVISION : head.slice(0, 7);
}

/** The package directory of this module (src/ or dist/ sits right under it). */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

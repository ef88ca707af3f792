import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findGitDir, gitHead, PACKAGE_DIR, readRevision, UNKNOWN_REVISION } from './revision.js';

const A = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const B = 'ffeeddccbbaa99887766554433221100ffeeddcc';

describe('the revision bmx7d reports', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'bmx7d-rev-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('follows HEAD to a loose ref, a packed ref, or a detached commit', () => {
    const root = tmp();
    const git = join(root, '.git');
    mkdirSync(join(git, 'refs', 'heads'), { recursive: true });
    const pkg = join(root, 'apps', 'bmx7d');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(git, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(git, 'refs', 'heads', 'main'), `${A}\n`);
    expect(findGitDir(pkg)).toBe(git);
    expect(readRevision(pkg)).toBe('a1b2c3d');
    rmSync(join(git, 'refs', 'heads', 'main'));
    writeFileSync(join(git, 'packed-refs'), `# pack-refs with: peeled\n${B} refs/heads/main\n`);
    expect(readRevision(pkg)).toBe('ffeeddc');
    writeFileSync(join(git, 'HEAD'), `${A}\n`);
    expect(readRevision(pkg)).toBe('a1b2c3d');
  });

  it('reads a worktree through its gitdir file and the common directory', () => {
    const root = tmp();
    const main = join(root, 'main.git');
    const wt = join(main, 'worktrees', 'w1');
    mkdirSync(wt, { recursive: true });
    mkdirSync(join(main, 'refs', 'heads'), { recursive: true });
    writeFileSync(join(main, 'refs', 'heads', 'topic'), `${B}\n`);
    writeFileSync(join(wt, 'HEAD'), 'ref: refs/heads/topic\n');
    writeFileSync(join(wt, 'commondir'), '../..\n');
    const checkout = join(root, 'w1');
    mkdirSync(checkout);
    writeFileSync(join(checkout, '.git'), `gitdir: ${wt}\n`);
    expect(gitHead(findGitDir(checkout) as string)).toBe(B);
    expect(readRevision(checkout)).toBe('ffeeddc');
  });

  it('prefers a REVISION file, and falls back to 0000000 outside a checkout', () => {
    const pkg = tmp();
    // tmpdir() is not inside a git checkout on any sane machine
    if (findGitDir(pkg) === undefined) expect(readRevision(pkg)).toBe(UNKNOWN_REVISION);
    writeFileSync(join(pkg, 'REVISION'), '0123ABCDEF\n');
    expect(readRevision(pkg)).toBe('0123abc');
    writeFileSync(join(pkg, 'REVISION'), 'not a hash\n');
    expect(readRevision(pkg)).toMatch(/^[0-9a-f]{7}$/);
  });

  it("is this checkout's HEAD when run from it", () => {
    const git = spawnSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: PACKAGE_DIR, encoding: 'utf8' });
    if (git.status !== 0) return; // no git or not a checkout
    expect(readRevision(PACKAGE_DIR)).toBe(git.stdout.trim().slice(0, 7));
  });
});

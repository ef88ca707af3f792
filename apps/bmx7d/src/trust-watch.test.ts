import { EventEmitter } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrustedNode } from '@bmx7/core';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createLinuxClock } from './clock.js';
import { type TrustWatcher, type TrustWatcherInit, watchTrustDir } from './trust-watch.js';

const A = 'A1'.repeat(28);
const B = 'B2'.repeat(28);
// behaviour, not timing: generous bounds, met in about a second by polling, at once by watching
const WAIT = { timeout: 8000, interval: 20 };

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7d-trustw-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(dir: string, extra: Partial<TrustWatcherInit> = {}) {
  const changes: TrustedNode[][] = [];
  const logs: { level: number; msg: string; fields?: Record<string, unknown> }[] = [];
  const w: TrustWatcher = watchTrustDir({
    dir,
    clock: createLinuxClock(),
    onChange: (n) => changes.push(n),
    log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }),
    ...extra,
  });
  onTestFinished(() => w.close());
  const ids = () => w.nodes().map((n) => `${n.id.slice(0, 2)}:${n.trust}${n.support}`);
  return { w, changes, logs, ids };
}

describe.each([
  ['polling', { poll: true }, 'poll'],
  ['fs.watch', {}, 'watch'],
] as const)('the trusted-nodes directory followed by %s', (_name, extra, mode) => {
  it('reads it at once, then sees files added, renamed and deleted', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, A), '');
    const { w, changes, ids } = start(dir, extra);
    expect(w.mode()).toBe(mode);
    expect(w.nodes()).toEqual([{ id: A, trust: 2, support: 2, fileName: A }]);
    expect(changes).toEqual([]);

    writeFileSync(join(dir, `${B}.trust=3.support=0`), '');
    await vi.waitFor(() => expect(ids()).toEqual(['A1:22', 'B2:30']), WAIT);
    renameSync(join(dir, A), join(dir, `${A}.trust=0`));
    await vi.waitFor(() => expect(ids()).toEqual(['A1:02', 'B2:30']), WAIT);
    expect(w.nodes()[0]?.fileName).toBe(`${A}.trust=0`);
    unlinkSync(join(dir, `${B}.trust=3.support=0`));
    await vi.waitFor(() => expect(ids()).toEqual(['A1:02']), WAIT);
    // every change went out, each once
    expect(changes.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(w.mode()).toBe(mode);
  });

  it('deletes a file with a bad level added at runtime and logs it at level 0', async () => {
    const dir = tempDir();
    const { logs, changes } = start(dir, extra);
    writeFileSync(join(dir, `${A}.trust=1`), '');
    await vi.waitFor(() => expect(existsSync(join(dir, `${A}.trust=1`))).toBe(false), WAIT);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 0,
        msg: 'removing invalid trust file',
        fields: expect.objectContaining({ file: `${A}.trust=1` }),
      }),
    );
    expect(changes).toEqual([]);
  });

  it('a directory that goes away: only the node itself is trusted, and it is read again when back', async () => {
    const dir = join(tempDir(), 'trusted');
    mkdirSync(dir);
    writeFileSync(join(dir, A), '');
    const { w, logs, ids } = start(dir, extra);
    expect(ids()).toEqual(['A1:22']);
    rmSync(dir, { recursive: true });
    await vi.waitFor(() => expect(w.nodes()).toEqual([]), WAIT);
    expect(logs.some((l) => l.level === 0 && /cannot read trustedNodesDir/.test(l.msg))).toBe(true);
    // retried every second, never re-created by the retry
    await new Promise((r) => setTimeout(r, 1200));
    expect(existsSync(dir)).toBe(false);
    mkdirSync(dir);
    writeFileSync(join(dir, B), '');
    await vi.waitFor(() => expect(ids()).toEqual(['B2:22']), WAIT);
    await vi.waitFor(() => expect(w.mode()).toBe(mode), WAIT);
    writeFileSync(join(dir, A), '');
    await vi.waitFor(() => expect(ids()).toEqual(['A1:22', 'B2:22']), WAIT);
  });
});

describe('the trusted-nodes directory watcher', () => {
  it('creates a missing directory (mode 0700) and starts with an empty list', () => {
    const dir = join(tempDir(), 'etc', 'trusted');
    const { w } = start(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(w.nodes()).toEqual([]);
    expect(w.mode()).toBe('watch');
  });

  it('polls when the directory cannot be watched, and says so once', async () => {
    const dir = tempDir();
    const { w, logs, ids } = start(dir, {
      watch: () => {
        throw Object.assign(new Error('no inotify'), { code: 'ENOSPC' });
      },
    });
    expect(w.mode()).toBe('poll');
    writeFileSync(join(dir, A), '');
    await vi.waitFor(() => expect(ids()).toEqual(['A1:22']), WAIT);
    writeFileSync(join(dir, B), '');
    await vi.waitFor(() => expect(ids()).toEqual(['A1:22', 'B2:22']), WAIT);
    expect(logs.filter((l) => /cannot watch/.test(l.msg))).toEqual([
      {
        level: 0,
        msg: 'cannot watch trustedNodesDir, polling it',
        fields: { dir, error: 'ENOSPC', pollMs: 1000 },
      },
    ]);
  });

  it('falls back to polling when the watch reports an error', async () => {
    const dir = tempDir();
    const emitters: EventEmitter[] = [];
    let fail = false;
    const { w, ids } = start(dir, {
      watch: () => {
        if (fail) throw new Error('gone');
        const e = Object.assign(new EventEmitter(), { close: () => {} });
        emitters.push(e);
        return e as never;
      },
    });
    expect(w.mode()).toBe('watch');
    fail = true;
    emitters.at(-1)?.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
    writeFileSync(join(dir, A), '');
    await vi.waitFor(() => expect(ids()).toEqual(['A1:22']), WAIT);
    expect(w.mode()).toBe('poll');
  });

  it('rescan reads at once; close stops everything', async () => {
    const dir = tempDir();
    const { w, changes } = start(dir, { poll: true });
    writeFileSync(join(dir, A), '');
    w.rescan();
    expect(w.nodes().map((n) => n.id)).toEqual([A]);
    expect(changes).toHaveLength(1);
    w.close();
    writeFileSync(join(dir, B), '');
    await new Promise((r) => setTimeout(r, 1300));
    expect(changes).toHaveLength(1);
  });
});

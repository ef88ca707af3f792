/**
 * Plugins' private files: the in-memory twin of the engine's files port, and the compliance suite
 * every implementation passes (the twin here, the state-directory adapter in apps/bmx7d).
 */
import type { FilesPort } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { type MaybePromise, underTest } from './compliance.js';

export interface MemoryFiles extends FilesPort {
  /** The files by path (`<plugin>/<name>`), with the mode each was written with. */
  readonly entries: ReadonlyMap<string, { bytes: Uint8Array; mode: number }>;
}

/** Files in memory; like the adapter, every file is written whole with mode 0600. */
export function createMemoryFiles(): MemoryFiles {
  const entries = new Map<string, { bytes: Uint8Array; mode: number }>();
  return {
    entries,
    read: (path) => entries.get(path)?.bytes.slice(),
    write(path, bytes) {
      entries.set(path, { bytes: Uint8Array.from(bytes), mode: 0o600 });
    },
    remove(path) {
      entries.delete(path);
    },
  };
}

export interface FilesUnderTest {
  files: FilesPort;
  /** The file's permission bits as the implementation keeps them. */
  mode(path: string): MaybePromise<number | undefined>;
  dispose?(): MaybePromise<void>;
}

/** Files: read what was written (a copy), replace whole, remove idempotently, mode 0600, plugins apart. */
export function describeFilesCompliance(name: string, make: () => MaybePromise<FilesUnderTest>): void {
  describe(`Files compliance: ${name}`, () => {
    const open = underTest(make);
    const bytes = (...v: number[]) => Uint8Array.from(v);

    it('reads back what was written, as a copy; a missing file reads undefined', async () => {
      const { files } = await open();
      expect(files.read('wg/private.key')).toBeUndefined();
      const b = bytes(1, 2, 3);
      files.write('wg/private.key', b);
      b[0] = 9;
      const r = files.read('wg/private.key')!;
      expect([...r]).toEqual([1, 2, 3]);
      r[1] = 9;
      expect([...files.read('wg/private.key')!]).toEqual([1, 2, 3]);
    });

    it('replaces a file whole, keeps plugins apart, and removes idempotently', async () => {
      const { files } = await open();
      files.write('wg/key', bytes(1, 2, 3, 4));
      files.write('wg/key', bytes(5));
      files.write('tun/key', bytes(6));
      expect([...files.read('wg/key')!]).toEqual([5]);
      expect([...files.read('tun/key')!]).toEqual([6]);
      files.remove('wg/key');
      files.remove('wg/key');
      expect(files.read('wg/key')).toBeUndefined();
      expect([...files.read('tun/key')!]).toEqual([6]);
    });

    it('keeps every file private (mode 0600)', async () => {
      const { files, mode } = await open();
      files.write('wg/private.key', bytes(7));
      expect(await mode('wg/private.key')).toBe(0o600);
    });
  });
}

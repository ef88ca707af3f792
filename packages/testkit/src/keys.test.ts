import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { testRsaKey } from './keys.js';

describe('testRsaKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7-testkit-keys-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the same key for the same label, different keys for different labels', () => {
    const a = testRsaKey('node:a', { cacheDir: dir });
    expect(testRsaKey('node:a', { cacheDir: dir })).toBe(a);
    const b = testRsaKey('node:b', { cacheDir: dir });
    expect(Buffer.from(b.id).equals(Buffer.from(a.id))).toBe(false);
    expect(a.type).toBe(4);
  });

  it('caches on disk with mode 0600, and reads the cache back', async () => {
    testRsaKey('node:c', { cacheDir: dir });
    const files = readdirSync(dir).filter((f) => f.includes('node%3Ac'));
    expect(files).toHaveLength(1);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    // A fresh module instance (empty memo) finds the same key on disk.
    vi.resetModules();
    const again = await import('./keys.js');
    expect(again.testRsaKey).not.toBe(testRsaKey);
    const k1 = testRsaKey('node:c', { cacheDir: dir });
    const k2 = (again.testRsaKey as typeof testRsaKey)('node:c', { cacheDir: dir });
    expect(Buffer.from(k2.id).equals(Buffer.from(k1.id))).toBe(true);
  });

  it('works without a disk cache', () => {
    const k = testRsaKey('node:nocache', { cacheDir: false });
    expect(k.publicContent[0]).toBe(4);
    expect(String(k)).not.toMatch(/PRIVATE/);
  });
});

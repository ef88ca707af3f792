import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFilesCompliance } from '@bmx7/testkit';
import { describe, expect, it } from 'vitest';
import { createFilesPort } from './files.js';

describeFilesCompliance('state directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'bmx7d-files-'));
  return {
    files: createFilesPort(root),
    mode: (p) => statSync(join(root, p)).mode & 0o777,
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
});

describe('plugin files on disk', () => {
  it('keeps each plugin in a directory of mode 0700 and refuses paths outside it', () => {
    const root = mkdtempSync(join(tmpdir(), 'bmx7d-files-'));
    try {
      const files = createFilesPort(root);
      files.write('wg/private.key', new Uint8Array([1]));
      expect(statSync(join(root, 'wg')).mode & 0o777).toBe(0o700);
      for (const bad of ['../x', '/etc/passwd', 'wg/../../x', 'x', 'a/b/c'])
        expect(() => files.write(bad, new Uint8Array([1]))).toThrow(/not <plugin>\/<name>/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

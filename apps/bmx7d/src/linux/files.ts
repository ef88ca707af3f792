/**
 * Plugins' private files on disk: `<root>/<plugin>/<name>`, directories 0700, files written whole
 * and atomically with mode 0600 (writePrivateFile). The root is the directory of the node key.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { FilesPort } from '@bmx7/core';
import { writePrivateFile } from '@bmx7/crypto';

export function createFilesPort(root: string): FilesPort {
  const at = (path: string) => {
    const rel = normalize(path);
    if (rel.startsWith('..') || rel.startsWith('/') || rel.split('/').length !== 2)
      throw new Error(`plugin file ${JSON.stringify(path)}: not <plugin>/<name>`);
    return join(root, rel);
  };
  return {
    read(path) {
      try {
        return new Uint8Array(readFileSync(at(path)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    write(path, bytes) {
      const file = at(path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writePrivateFile(file, bytes, { overwrite: true });
    },
    remove(path) {
      rmSync(at(path), { force: true });
    },
  };
}

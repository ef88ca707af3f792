/**
 * Private files (keys): written whole and atomically with mode 0600, so a reader never sees a
 * partial key and a crash never leaves one.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KeyFileError } from './errors.js';

/**
 * Writes `bytes` to `path` with mode 0600: they go to a temporary file in the same directory
 * (created exclusively, 0600, fsync'ed), which then becomes `path`: by `link`, so an existing file
 * is never replaced, unless `overwrite` (then by `rename`). Throws KeyFileError
 * (`ERR_KEY_FILE_EXISTS`, `ERR_KEY_FILE`).
 */
export function writePrivateFile(
  path: string,
  bytes: Uint8Array,
  options: { overwrite?: boolean } = {},
): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (options.overwrite) renameSync(tmp, path);
    else {
      linkSync(tmp, path);
      unlinkSync(tmp);
    }
    syncDirectory(dirname(path));
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone (renamed) or never created
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !options.overwrite) {
      throw new KeyFileError('ERR_KEY_FILE_EXISTS', path, 'key file exists already', { cause: e });
    }
    throw new KeyFileError('ERR_KEY_FILE', path, `cannot write key file (${code ?? 'error'})`, { cause: e });
  }
}

/** Makes the new directory entry durable (best effort: some file systems refuse fsync on a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not fatal: the file itself is complete and synced
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

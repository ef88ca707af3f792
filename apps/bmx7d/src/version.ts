/**
 * bmx7d's version and revision. The version is the `version` of apps/bmx7d/package.json (which
 * changesets bump); the revision is what revision.ts finds. A bundle (tools/bundle.mjs) has both
 * inlined at bundle time, as it has no package directory or checkout around it; unbundled, they
 * are read from the package directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_DIR, readRevision } from './revision.js';

/** esbuild `define`s of a bundle; undeclared (so `typeof` is 'undefined') when unbundled. */
declare const BMX7D_VERSION: string | undefined;
declare const BMX7_REVISION: string | undefined;

/** The `version` field of a package.json in `packageDir`. */
export function packageVersion(packageDir: string): string {
  const v = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: unknown })
    .version;
  if (typeof v !== 'string' || v === '') throw new Error(`no version in ${join(packageDir, 'package.json')}`);
  return v;
}

export const VERSION: string =
  typeof BMX7D_VERSION === 'string' ? BMX7D_VERSION : packageVersion(PACKAGE_DIR);

/** The revision bmx7d reports (read once, at start). */
export function daemonRevision(): string {
  return typeof BMX7_REVISION === 'string' ? BMX7_REVISION : readRevision(PACKAGE_DIR);
}

/**
 * bmx7ctl's version: the `version` of apps/bmx7ctl/package.json (which changesets bump). A bundle
 * (tools/bundle.mjs) has it inlined at bundle time; unbundled, it is read from the package
 * directory (src/ or dist/ sits right under it) when asked.
 */
import { readFileSync } from 'node:fs';

/** An esbuild `define` of a bundle; undeclared (so `typeof` is 'undefined') when unbundled. */
declare const BMX7CTL_VERSION: string | undefined;

export function version(): string {
  if (typeof BMX7CTL_VERSION === 'string') return BMX7CTL_VERSION;
  const file = new URL('../package.json', import.meta.url);
  const v = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
  if (typeof v !== 'string' || v === '') throw new Error(`no version in ${file.pathname}`);
  return v;
}

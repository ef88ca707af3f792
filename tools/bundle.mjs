#!/usr/bin/env node
// Bundles bmx7d and bmx7ctl into one JavaScript file each, in an install-shaped tree:
//
//   OUT/usr/bin/bmx7d             the daemon: CommonJS, `#!/usr/bin/node`, mode 0755
//   OUT/usr/bin/bmx7ctl           the control tool, likewise
//   OUT/usr/lib/bmx7d/koffi.cjs   koffi (the FFI library) as one CommonJS file …
//   OUT/usr/lib/bmx7d/koffi.node  … and its native module for this machine's platform and libc
//
// `node tools/bundle.mjs [--out DIR]` (default dist/bundle). It bundles the TypeScript sources
// (the `@bmx7/source` export condition), so no `pnpm build` is needed first. Nothing outside the
// tree is read at run time: no node_modules, no package.json. What a module would read relative
// to itself is fixed at bundle time instead, through esbuild `define`s:
//
//   BMX7D_VERSION, BMX7CTL_VERSION  the apps' package.json versions (what changesets bump)
//   BMX7_REVISION                   apps/bmx7d/REVISION if present, else the checkout's HEAD
//   BMX7_KOFFI                      koffi.cjs relative to the bundle file (../lib/bmx7d/koffi.cjs),
//                                   resolved against the bundle's own path at run time, so the
//                                   tree works installed (/usr/bin → /usr/lib/bmx7d) and unpacked
//   import.meta.url                 the bundle file's URL (an extensionless file is CommonJS)
//
// Worker threads run as `eval` CommonJS and `require()` koffi by the absolute path the main thread
// passes them (koffiPath() in @bmx7/netlink/libc), so they need nothing else.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT = join(ROOT, 'dist', 'bundle');
/** koffi's place relative to /usr/bin (and to OUT/usr/bin). */
export const KOFFI_FROM_BIN = '../lib/bmx7d/koffi.cjs';
const SHEBANG = '#!/usr/bin/node';
// `import.meta.url` in a CommonJS file: the file's own URL (realpath, as Node loads a main module)
const META_SHIM = 'var __bmx7_import_meta_url = require("node:url").pathToFileURL(__filename).href;';

const versionOf = (app) => JSON.parse(readFileSync(join(ROOT, 'apps', app, 'package.json'), 'utf8')).version;

/** What bmx7d reports as its revision (see apps/bmx7d/src/revision.ts): seven hex digits. */
export function bundleRevision() {
  const file = join(ROOT, 'apps', 'bmx7d', 'REVISION');
  if (existsSync(file)) {
    const r = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{7,64}$/i.test(r)) return r.slice(0, 7).toLowerCase();
  }
  const git = spawnSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const head = git.status === 0 ? git.stdout.trim() : '';
  return /^[0-9a-f]{7}$/.test(head) ? head : '0000000';
}

/** koffi's entry point and the directory of its prebuilt module for this machine. */
function koffiSources() {
  const req = createRequire(join(ROOT, 'packages', 'netlink', 'package.json'));
  const entry = req.resolve('koffi');
  const pkg = `@koromix/koffi-${process.platform}-${process.arch}`;
  const nativeDir = dirname(createRequire(entry).resolve(`${pkg}/package.json`));
  // koffi picks glibc or musl by the ELF interpreter of node; a glibc Node reports its version
  const glibc = process.report?.getReport().header.glibcVersionRuntime !== undefined;
  const arch = process.arch;
  const sub = process.platform === 'linux' && !glibc ? `musl_${arch}` : `${process.platform}_${arch}`;
  const node = join(nativeDir, sub, 'koffi.node');
  if (!existsSync(node)) throw new Error(`bundle: no prebuilt koffi for ${sub} in ${nativeDir}`);
  return { entry, pkg, node };
}

/**
 * koffi loads `@koromix/koffi-<platform>-<arch>` with a static require: this machine's becomes
 * `require("./koffi.node")` (the file copied beside koffi.cjs), the others stay unresolved (koffi
 * tries only its own platform's and catches the failure).
 */
function koffiNativePlugin(pkg) {
  return {
    name: 'koffi-native',
    setup(b) {
      b.onResolve({ filter: /^@koromix\/koffi-/ }, (a) =>
        a.path === pkg ? { path: pkg, namespace: 'koffi-native' } : { path: a.path, external: true },
      );
      b.onResolve({ filter: /\.node$/ }, (a) => ({ path: a.path, external: true }));
      b.onLoad({ filter: /.*/, namespace: 'koffi-native' }, () => ({
        contents: 'module.exports = require("./koffi.node");',
        loader: 'js',
      }));
    },
  };
}

const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  write: false,
  logLevel: 'warning',
  legalComments: 'inline',
};

/** One app as a single executable CommonJS file. */
async function bundleApp(entry, outFile, define) {
  const r = await build({
    ...COMMON,
    entryPoints: [join(ROOT, entry)],
    conditions: ['@bmx7/source'],
    // koffi is loaded at run time from KOFFI_FROM_BIN, never bundled into an app
    external: ['koffi'],
    define: { 'import.meta.url': '__bmx7_import_meta_url', ...define },
    outfile: outFile,
  });
  // the entry's own `#!/usr/bin/env node` line is replaced: installed, node is /usr/bin/node;
  // the shim goes after "use strict", which only counts as the file's first statement
  const text = r.outputFiles[0].text.replace(/^#![^\n]*\n/, '');
  const strict = '"use strict";\n';
  if (!text.startsWith(strict)) throw new Error(`bundle: ${entry} did not come out as strict CommonJS`);
  writeFileSync(outFile, `${SHEBANG}\n${strict}${META_SHIM}\n${text.slice(strict.length)}`);
  chmodSync(outFile, 0o755);
}

/** Writes the install-shaped tree into `out` (replacing the files a previous run wrote there). */
export async function bundle(out = DEFAULT_OUT) {
  const bin = join(out, 'usr', 'bin');
  const lib = join(out, 'usr', 'lib', 'bmx7d');
  // only the files this writes: a packager's staging tree may hold others
  for (const f of [join(bin, 'bmx7d'), join(bin, 'bmx7ctl'), join(lib, 'koffi.cjs'), join(lib, 'koffi.node')])
    rmSync(f, { force: true });
  mkdirSync(bin, { recursive: true });
  mkdirSync(lib, { recursive: true });

  const koffi = koffiSources();
  const k = await build({
    ...COMMON,
    entryPoints: [koffi.entry],
    plugins: [koffiNativePlugin(koffi.pkg)],
    outfile: join(lib, 'koffi.cjs'),
  });
  writeFileSync(join(lib, 'koffi.cjs'), k.outputFiles[0].text);
  copyFileSync(koffi.node, join(lib, 'koffi.node'));

  const str = (s) => JSON.stringify(s);
  const shared = { BMX7_KOFFI: str(KOFFI_FROM_BIN), BMX7_REVISION: str(bundleRevision()) };
  await bundleApp('apps/bmx7d/src/main.ts', join(bin, 'bmx7d'), {
    ...shared,
    BMX7D_VERSION: str(versionOf('bmx7d')),
  });
  await bundleApp('apps/bmx7ctl/src/main.ts', join(bin, 'bmx7ctl'), {
    ...shared,
    BMX7CTL_VERSION: str(versionOf('bmx7ctl')),
  });
  return { bin, lib, bmx7d: join(bin, 'bmx7d'), bmx7ctl: join(bin, 'bmx7ctl') };
}

function usage(code) {
  (code ? process.stderr : process.stdout).write('usage: node tools/bundle.mjs [--out DIR]\n');
  process.exit(code);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  let out = DEFAULT_OUT;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--out' && args[i + 1] !== undefined) out = resolve(args[++i]);
    else if (a.startsWith('--out=')) out = resolve(a.slice('--out='.length));
    else if (a === '--help' || a === '-h') usage(0);
    else usage(2);
  }
  try {
    const r = await bundle(out);
    process.stdout.write(`${r.bmx7d}\n${r.bmx7ctl}\n${r.lib}\n`);
  } catch (e) {
    process.stderr.write(`bundle: ${e?.message ?? e}\n`);
    process.exit(1);
  }
}

#!/usr/bin/env node
// Checks that the package dependency graph points one way (DESIGN.md "Layout", STYLE.md rule 1):
// codec, crypto and netlink import nothing internal; core sits on them; plugins on core; crypt-tun
// on the plugins; only apps/* compose everything, and nothing imports an app. Every internal import
// in a package's sources must also be declared in its package.json.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Layer of each workspace package: a package may depend only on packages of a lower layer. */
export const LAYERS = {
  '@bmx7/codec': 0,
  '@bmx7/crypto': 0,
  '@bmx7/netlink': 0,
  '@bmx7/core': 1,
  '@bmx7/wgctrl': 1,
  '@bmx7/control': 2,
  '@bmx7/plugin-tun': 2,
  '@bmx7/plugin-wg': 2,
  '@bmx7/plugin-crypt-tun': 3,
  '@bmx7/testenv': 0,
  '@bmx7/testkit': 4,
  '@bmx7/testbed': 5,
  '@bmx7/vm': 5,
  bmx7d: 6,
  bmx7ctl: 6,
  '@bmx7/bench': 7,
};
/** Packages that must import nothing internal at all, not even through the layer rule. */
export const LEAVES = new Set(['@bmx7/codec', '@bmx7/crypto', '@bmx7/netlink']);
/**
 * Test-only helpers a package may take as a devDependency: testenv (gates, namespace beds, fixtures)
 * depends on nothing internal; testkit (port twins, simulator) sits on core, so only packages that
 * core does not depend on may use it (the cycle check below enforces that).
 */
export const TEST_HELPERS = new Set(['@bmx7/testenv', '@bmx7/testkit']);
const APPS = new Set(['bmx7d', 'bmx7ctl']);

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Internal package names imported by a source text (`@bmx7/x/sub` counts as `@bmx7/x`). */
export function importsOf(text, internal) {
  const found = new Set();
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (internal.has(name)) found.add(name);
  }
  return found;
}

/**
 * @param {{name: string, dir: string, deps: string[], devDeps: string[], srcImports: string[], testImports: string[]}[]} pkgs
 * @returns {string[]} violations, empty when the graph is sound
 */
export function checkGraph(pkgs) {
  const out = [];
  const names = new Set(pkgs.map((p) => p.name));
  for (const p of pkgs) {
    const layer = LAYERS[p.name];
    if (layer === undefined) {
      out.push(`${p.name}: not in the layer table of tools/check-deps.mjs; add it with its layer`);
      continue;
    }
    for (const d of [...p.deps, ...p.devDeps]) {
      if (!names.has(d)) continue;
      const isDev = !p.deps.includes(d);
      if (APPS.has(d) && p.name !== '@bmx7/testbed' && p.name !== '@bmx7/bench') {
        out.push(`${p.name}: depends on the app ${d}; only the test bed and benchmarks may run apps`);
      } else if (isDev && TEST_HELPERS.has(d)) {
        // test helpers are fine as devDependencies everywhere
      } else if (LEAVES.has(p.name)) {
        out.push(`${p.name}: must import nothing internal, but depends on ${d}`);
      } else if ((LAYERS[d] ?? Number.POSITIVE_INFINITY) >= layer) {
        out.push(
          `${p.name} (layer ${layer}): depends on ${d} (layer ${LAYERS[d]}); dependencies must point down`,
        );
      }
    }
    for (const i of p.srcImports) {
      if (i !== p.name && !p.deps.includes(i))
        out.push(`${p.name}: src imports ${i} without declaring it in dependencies`);
    }
    for (const i of p.testImports) {
      if (i !== p.name && !p.deps.includes(i) && !p.devDeps.includes(i)) {
        out.push(`${p.name}: tests import ${i} without declaring it in package.json`);
      }
    }
  }
  const cycle = findCycle(
    pkgs.filter((p) => names.has(p.name)),
    names,
  );
  if (cycle) out.push(`dependency cycle (devDependencies included): ${cycle.join(' -> ')}`);
  return out;
}

/** A cycle in the graph of all internal dependencies, or undefined. turbo's ^build needs none. */
export function findCycle(pkgs, names) {
  const edges = new Map(pkgs.map((p) => [p.name, [...p.deps, ...p.devDeps].filter((d) => names.has(d))]));
  const state = new Map();
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const d of edges.get(n) ?? []) {
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of edges.keys()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

function walk(dir, acc = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return acc;
  }
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, acc);
    else if (/\.(ts|mts|js|mjs)$/.test(e) && !e.endsWith('.d.ts')) acc.push(p);
  }
  return acc;
}

const isTestFile = (f) => /\.test\.[mc]?[jt]s$/.test(f) || /[/\\](test|tests)[/\\]/.test(f);

/** Reads the workspace at `root` into the shape checkGraph takes. */
export function readWorkspace(root) {
  const dirs = [];
  for (const group of ['packages', 'apps', 'infra', 'bench']) {
    const g = join(root, group);
    let entries = [];
    try {
      entries = readdirSync(g);
    } catch {
      continue;
    }
    if (group === 'bench') entries = ['.'];
    for (const e of entries) {
      const d = join(g, e);
      try {
        statSync(join(d, 'package.json'));
        dirs.push(d);
      } catch {
        // not a package
      }
    }
  }
  const manifests = dirs.map((d) => ({ d, pj: JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) }));
  const internal = new Set(manifests.map((m) => m.pj.name));
  return manifests.map(({ d, pj }) => {
    const files = walk(d).filter((f) => !relative(d, f).startsWith('..'));
    const srcImports = new Set();
    const testImports = new Set();
    for (const f of files) {
      const set = isTestFile(f) ? testImports : srcImports;
      for (const i of importsOf(readFileSync(f, 'utf8'), internal)) set.add(i);
    }
    return {
      name: pj.name,
      dir: relative(root, d),
      deps: Object.keys(pj.dependencies ?? {}),
      devDeps: Object.keys(pj.devDependencies ?? {}),
      srcImports: [...srcImports],
      testImports: [...testImports],
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(import.meta.url), '..', '..');
  const pkgs = readWorkspace(root);
  const violations = checkGraph(pkgs);
  if (violations.length) {
    for (const v of violations) console.error(`check-deps: ${v}`);
    process.exit(1);
  }
  console.log(`check-deps: ${pkgs.length} packages, dependencies point one way`);
}

// Sanity checks of the repository's own configuration: what every package must have so that
// turbo, vitest, changesets and the dependency check can treat all of them alike.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYERS } from './check-deps.mjs';

const root = join(import.meta.dirname, '..');
const json = (p: string) => JSON.parse(readFileSync(join(root, p), 'utf8'));
const isFile = (p: string) => {
  try {
    return statSync(join(root, p)).isFile();
  } catch {
    return false;
  }
};

const packageDirs = ['packages', 'apps', 'infra']
  .flatMap((g) => {
    try {
      return readdirSync(join(root, g)).map((e) => `${g}/${e}`);
    } catch {
      return [];
    }
  })
  .filter((d) => isFile(`${d}/package.json`));

describe('workspace configuration', () => {
  it('pins pnpm and node', () => {
    const pj = json('package.json');
    expect(pj.packageManager).toMatch(/^pnpm@\d+\.\d+\.\d+$/);
    expect(pj.type).toBe('module');
    expect(pj.engines.node).toBeTruthy();
    for (const [name, v] of Object.entries<string>(pj.devDependencies)) {
      expect(v, `${name} must be pinned exactly`).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('has the turbo tasks the scripts call', () => {
    const turbo = json('turbo.json');
    for (const t of ['build', 'typecheck', 'lint', 'test']) expect(turbo.tasks[t], t).toBeDefined();
    expect(turbo.tasks.build.outputs).toContain('dist/**');
  });

  it('versions apps privately and libraries publicly', () => {
    const cs = json('.changeset/config.json');
    expect(cs.privatePackages).toEqual({ version: true, tag: false });
  });

  it('has only changesets that changesets can read, naming packages of this workspace', () => {
    const names = new Set([...packageDirs, 'bench'].map((d) => json(`${d}/package.json`).name as string));
    const files = readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    for (const f of files) {
      const text = readFileSync(join(root, '.changeset', f), 'utf8');
      const m = /^---\n((?:"[^"]+": (?:major|minor|patch)\n)+)---\n(.*\S.*)/s.exec(text);
      expect(
        m,
        `${f}: front matter of "name": major|minor|patch lines between --- lines, then a summary`,
      ).not.toBeNull();
      for (const line of m![1]!.trim().split('\n')) {
        expect(names, `${f}: ${line}`).toContain(/^"([^"]+)"/.exec(line)![1]);
      }
    }
  });

  it.each(packageDirs)('%s follows the package conventions', (dir) => {
    const pj = json(`${dir}/package.json`);
    expect(pj.type, 'ESM only').toBe('module');
    expect(pj.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(LAYERS), 'listed in the layer table').toContain(pj.name);
    expect(isFile(`${dir}/README.md`), 'has a README').toBe(true);
    expect(json(`${dir}/tsconfig.json`).extends).toBe('../../tsconfig.base.json');
    for (const [sub, entry] of Object.entries<Record<string, string>>(pj.exports ?? {})) {
      const keys = Object.keys(entry);
      // the source condition (tests and typecheck) may precede types; types come before default
      expect(keys.filter((k) => k !== '@bmx7/source')[0], `exports["${sub}"]: types first`).toBe('types');
      expect(keys.at(-1), `exports["${sub}"]: default last`).toBe('default');
    }
    for (const [name, v] of Object.entries<string>({ ...pj.dependencies, ...pj.devDependencies })) {
      if (name.startsWith('@bmx7/') || name === 'bmx7d' || name === 'bmx7ctl') {
        expect(v, `${name} is internal`).toBe('workspace:^');
      } else {
        expect(v, `${name} must be pinned exactly`).toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
  });

  // Add inside describe('workspace configuration', …) in tools/workspace.test.ts (readdirSync and
  // readFileSync are already imported there). It fails until packages/core/src is rewritten too.

  it('cites docs/protocol.md, never notes outside the repository or issue numbers', () => {
    // STYLE rule 5: comments point at the repository's own docs/protocol.md. The character classes
    // keep this test from matching its own source.
    const outside = /bmx7-wir[e]|shared\/referenc[e]|\bissues? #?[0-9]/i;
    const skip = new Set(['node_modules', 'dist', '.turbo', '.work']);
    const sourceFiles = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
        const p = `${dir}/${e.name}`;
        if (e.isDirectory()) return skip.has(e.name) ? [] : sourceFiles(p);
        return e.isFile() && /\.(ts|mjs|sh|md)$/.test(e.name) ? [p] : [];
      });
    const offenders = ['packages', 'apps', 'infra', 'bench'].flatMap((top) =>
      sourceFiles(top).flatMap((p) =>
        readFileSync(join(root, p), 'utf8')
          .split('\n')
          .flatMap((line, i) => (outside.test(line) ? [`${p}:${i + 1}: ${line.trim()}`] : [])),
      ),
    );
    expect(offenders).toEqual([]);
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGraph, importsOf, readWorkspace } from './check-deps.mjs';

const pkg = (
  name: string,
  deps: string[] = [],
  extra: Partial<Parameters<typeof checkGraph>[0][0]> = {},
) => ({
  name,
  dir: name,
  deps,
  devDeps: [],
  srcImports: deps,
  testImports: [],
  ...extra,
});

describe('dependency direction', () => {
  it('accepts the designed graph', () => {
    const pkgs = [
      pkg('@bmx7/codec'),
      pkg('@bmx7/crypto'),
      pkg('@bmx7/core', ['@bmx7/codec', '@bmx7/crypto']),
      pkg('@bmx7/plugin-tun', ['@bmx7/core']),
      pkg('@bmx7/plugin-wg', ['@bmx7/core']),
      pkg('@bmx7/plugin-crypt-tun', ['@bmx7/plugin-tun', '@bmx7/plugin-wg']),
      pkg('bmx7d', ['@bmx7/plugin-crypt-tun', '@bmx7/core']),
      pkg('@bmx7/testkit', ['@bmx7/core']),
    ];
    expect(checkGraph(pkgs)).toEqual([]);
  });

  it.each([
    [
      'codec importing crypto',
      [pkg('@bmx7/codec', ['@bmx7/crypto']), pkg('@bmx7/crypto')],
      /must import nothing/,
    ],
    [
      'core importing a plugin',
      [pkg('@bmx7/core', ['@bmx7/plugin-tun']), pkg('@bmx7/plugin-tun')],
      /point down/,
    ],
    ['a plugin importing an app', [pkg('@bmx7/plugin-wg', ['bmx7d']), pkg('bmx7d')], /depends on the app/],
    [
      'two plugins in a cycle',
      [pkg('@bmx7/plugin-wg', ['@bmx7/plugin-tun']), pkg('@bmx7/plugin-tun')],
      /point down/,
    ],
    ['an unknown package', [pkg('@bmx7/mystery')], /not in the layer table/],
    [
      'an undeclared import',
      [pkg('@bmx7/core', [], { srcImports: ['@bmx7/codec'] }), pkg('@bmx7/codec')],
      /without declaring/,
    ],
  ])('rejects %s', (_name, pkgs, re) => {
    const v = checkGraph(pkgs as Parameters<typeof checkGraph>[0]);
    expect(v.length).toBeGreaterThan(0);
    expect(v.join('\n')).toMatch(re);
  });

  it('lets any package use testenv as a devDependency', () => {
    const v = checkGraph([
      pkg('@bmx7/codec', [], { devDeps: ['@bmx7/testenv'], testImports: ['@bmx7/testenv'] }),
      pkg('@bmx7/testenv'),
    ]);
    expect(v).toEqual([]);
  });

  it('rejects a devDependency on testkit that closes a cycle', () => {
    const v = checkGraph([
      pkg('@bmx7/codec'),
      pkg('@bmx7/crypto'),
      pkg('@bmx7/core', ['@bmx7/codec'], { devDeps: ['@bmx7/testkit'] }),
      pkg('@bmx7/testkit', ['@bmx7/core']),
      pkg('@bmx7/plugin-tun', ['@bmx7/core'], { devDeps: ['@bmx7/testkit'] }),
    ]);
    expect(v.join('\n')).toMatch(/cycle.*@bmx7\/core -> @bmx7\/testkit -> @bmx7\/core/);
    expect(v).toHaveLength(1);
  });

  it('finds static, re-export and dynamic imports, subpaths included', () => {
    const internal = new Set(['@bmx7/codec', '@bmx7/crypto', '@bmx7/testkit']);
    const text = [
      "import { a } from '@bmx7/codec';",
      "export * from '@bmx7/crypto';",
      "const t = await import('@bmx7/testkit/env');",
      "import x from 'node:fs';",
    ].join('\n');
    expect([...importsOf(text, internal)].sort()).toEqual(['@bmx7/codec', '@bmx7/crypto', '@bmx7/testkit']);
  });

  it('holds for this repository', () => {
    const root = join(import.meta.dirname, '..');
    const pkgs = readWorkspace(root);
    expect(pkgs.length).toBeGreaterThan(0);
    expect(checkGraph(pkgs)).toEqual([]);
  });
});

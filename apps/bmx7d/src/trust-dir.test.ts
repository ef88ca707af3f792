import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  DEFAULT_TRUSTED_NODES_DIR,
  ensureTrustDir,
  MAX_TRUST_FILE_NAME,
  parseTrustFileName,
  scanTrustDir,
  setTrustedNodeFile,
  setTrustedNodeOp,
  TRUST_FILE_MODE,
  trustFileName,
} from './trust-dir.js';

const A = 'A1'.repeat(28);
const B = 'B2'.repeat(28);
const C = 'C3'.repeat(28);
const SELF = 'D4'.repeat(28);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7d-trust-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function withFiles(names: string[]): string {
  const dir = tempDir();
  for (const n of names) writeFileSync(join(dir, n), '');
  return dir;
}

describe('trust file names (docs/protocol.md §4.11)', () => {
  it.each([
    [A, 2, 2, ''],
    [`${A}.trust=3.support=0`, 3, 0, ''],
    [`${A}.support=0.trust=3`, 3, 0, ''],
    [`${A}.foo.support=0`, 2, 0, '.foo'],
    [`${A}.trust=0.host-x`, 0, 2, '.host-x'],
    [`${A}garbage`, 2, 2, 'garbage'],
    // a key without a value is missing (2) and stays in the text, as the reference reads it
    [`${A}.trust=`, 2, 2, '.trust='],
    [`${A}.trust=.support=3`, 2, 3, '.trust='],
    // one character that is no digit reads as 0 (strtol)
    [`${A}.trust=x`, 0, 2, ''],
  ])('%s → trust %i, support %i, tail %j', (name, trust, support, tail) => {
    expect(parseTrustFileName(name)).toEqual({ kind: 'valid', id: A, trust, support, tail });
  });

  it.each([`${A}.trust=1`, `${A}.support=1`, `${A}.trust=4`, `${A}.trust=33`, `${A}.support=22`])(
    '%s has a bad level',
    (name) => {
      expect(parseTrustFileName(name)).toMatchObject({ kind: 'invalid', id: A });
    },
  );

  it.each([
    ['a lowercase id', A.toLowerCase()],
    ['a mixed-case id', `${A.slice(0, 55)}a`],
    ['55 digits', A.slice(0, 55)],
    ['a non-hex digit', `${A.slice(0, 55)}G.trust=3`],
    ['the reference name limit', A + 'x'.repeat(MAX_TRUST_FILE_NAME - 56)],
    ['a dot file', '.'],
    ['a readme', 'README'],
  ])('%s is not a trust file', (_what, name) => {
    expect(parseTrustFileName(name)).toEqual({ kind: 'ignored' });
  });

  it('the longest name still read', () => {
    const name = A + 'x'.repeat(MAX_TRUST_FILE_NAME - 57);
    expect(parseTrustFileName(name)).toMatchObject({
      kind: 'valid',
      tail: 'x'.repeat(MAX_TRUST_FILE_NAME - 57),
    });
  });
});

describe('scanTrustDir', () => {
  it('reads levels, keeps file names, ignores what is no trust file, sorts by id', () => {
    const dir = withFiles([`${C}.foo.support=0`, A, `${B}.trust=3.support=0`, B.toLowerCase(), 'README']);
    const r = scanTrustDir(dir);
    expect(r.nodes).toEqual([
      { id: A, trust: 2, support: 2, fileName: A },
      { id: B, trust: 3, support: 0, fileName: `${B}.trust=3.support=0` },
      { id: C, trust: 2, support: 0, fileName: `${C}.foo.support=0` },
    ]);
    expect(r.removed).toEqual([]);
    // ignored names are left alone
    expect(readdirSync(dir)).toContain(B.toLowerCase());
    expect(readdirSync(dir)).toContain('README');
  });

  it('deletes a file with a bad level', () => {
    const dir = withFiles([`${A}.trust=1`, `${B}.support=7`, C]);
    const r = scanTrustDir(dir);
    expect(r.nodes.map((n) => n.id)).toEqual([C]);
    expect(r.removed.map((x) => [x.fileName, x.reason])).toEqual([
      [`${A}.trust=1`, 'invalid'],
      [`${B}.support=7`, 'invalid'],
    ]);
    expect(readdirSync(dir)).toEqual([C]);
  });

  it('deletes a second file for an id: the one already known stays, else the first by name', () => {
    const dir = withFiles([A, `${A}.trust=3`, `${A}.trust=0.support=0`]);
    const r = scanTrustDir(dir, new Map([[A, `${A}.trust=3`]]));
    expect(r.nodes).toEqual([{ id: A, trust: 3, support: 2, fileName: `${A}.trust=3` }]);
    expect(r.removed.map((x) => x.reason)).toEqual(['duplicate', 'duplicate']);
    expect(readdirSync(dir)).toEqual([`${A}.trust=3`]);
    const dir2 = withFiles([`${B}.trust=3`, B]);
    expect(scanTrustDir(dir2).nodes).toEqual([{ id: B, trust: 2, support: 2, fileName: B }]);
    expect(readdirSync(dir2)).toEqual([B]);
  });

  it('passes a file for the own id on as it is (the engine forces 2/2)', () => {
    const dir = withFiles([`${SELF}.trust=0.support=3`]);
    expect(scanTrustDir(dir).nodes).toEqual([
      { id: SELF, trust: 0, support: 3, fileName: `${SELF}.trust=0.support=3` },
    ]);
  });

  it('an empty directory is an empty list; a missing one throws', () => {
    expect(scanTrustDir(tempDir())).toEqual({ nodes: [], removed: [] });
    expect(() => scanTrustDir(join(tempDir(), 'none'))).toThrow(/ENOENT/);
  });

  it('a deletion that fails is reported, and the file still ignored', () => {
    const dir = withFiles([`${A}.trust=1`]);
    const r = scanTrustDir(dir, new Map(), {
      readdir: () => [`${A}.trust=1`],
      unlink: () => {
        throw Object.assign(new Error('no'), { code: 'EROFS' });
      },
    });
    expect(r).toEqual({
      nodes: [],
      removed: [
        { fileName: `${A}.trust=1`, reason: 'invalid', detail: 'invalid trust level 1', error: 'EROFS' },
      ],
    });
  });

  it('ensureTrustDir creates a missing directory and its parents with mode 0700', () => {
    const dir = join(tempDir(), 'a', 'trusted');
    ensureTrustDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    ensureTrustDir(dir);
    const file = join(tempDir(), 'f');
    writeFileSync(file, '');
    expect(() => ensureTrustDir(file)).toThrow();
  });
});

describe('setTrustedNode edits files only (docs/protocol.md §4.11)', () => {
  const files = (dir: string) => readdirSync(dir).sort();

  it('creates <ID>.trust=T.support=S, empty, mode 0444; missing levels are 2', () => {
    const dir = tempDir();
    expect(setTrustedNodeFile(dir, { id: A.toLowerCase(), trust: 3, support: 0, ownId: SELF })).toEqual({
      action: 'created',
      fileName: `${A}.trust=3.support=0`,
      removed: [],
    });
    const st = statSync(join(dir, `${A}.trust=3.support=0`));
    expect(st.mode & 0o777).toBe(TRUST_FILE_MODE);
    expect(st.size).toBe(0);
    expect(setTrustedNodeFile(dir, { id: B, ownId: SELF }).fileName).toBe(`${B}.trust=2.support=2`);
    expect(files(dir)).toEqual([`${A}.trust=3.support=0`, `${B}.trust=2.support=2`]);
  });

  it('renames an existing file keeping its other text and its levels unless given', () => {
    const dir = withFiles([`${A}.foo.support=0`]);
    expect(setTrustedNodeFile(dir, { id: A, trust: 3, ownId: SELF })).toMatchObject({
      action: 'renamed',
      fileName: `${A}.trust=3.support=0.foo`,
    });
    expect(files(dir)).toEqual([`${A}.trust=3.support=0.foo`]);
    expect(setTrustedNodeFile(dir, { id: A, trust: 3, ownId: SELF }).action).toBe('unchanged');
    expect(setTrustedNodeFile(dir, { id: A, support: 3, ownId: SELF }).fileName).toBe(
      `${A}.trust=3.support=3.foo`,
    );
  });

  it('deletes duplicates and files with bad levels for the id, and nothing else', () => {
    const dir = withFiles([`${A}.trust=1`, `${A}.trust=3`, `${A}.trust=0.x`, B, 'README']);
    const r = setTrustedNodeFile(dir, { id: A, support: 0, ownId: SELF });
    // name order: `.trust=0.x` is the first valid file and gives the starting levels and text
    expect(r.action).toBe('renamed');
    expect(r.fileName).toBe(`${A}.trust=0.support=0.x`);
    expect(r.removed.map((x) => [x.fileName, x.reason])).toEqual([
      [`${A}.trust=1`, 'invalid'],
      [`${A}.trust=3`, 'duplicate'],
    ]);
    expect(files(dir)).toEqual([`${A}.trust=0.support=0.x`, B, 'README']);
  });

  it('setTrustedNode=-<ID> deletes the file; none is no error', () => {
    const dir = withFiles([`${A}.trust=3.support=3`, B]);
    expect(setTrustedNodeFile(dir, { id: A, remove: true, ownId: SELF }).action).toBe('deleted');
    expect(files(dir)).toEqual([B]);
    expect(setTrustedNodeFile(dir, { id: A, remove: true, ownId: SELF }).action).toBe('none');
  });

  it('refuses level 1 and ids that are not 56 hex digits', () => {
    const dir = tempDir();
    expect(() => setTrustedNodeFile(dir, { id: A, trust: 1, ownId: SELF })).toThrow(
      'Invalid trust or support parameter',
    );
    expect(() => setTrustedNodeFile(dir, { id: A, support: 1, ownId: SELF })).toThrow(
      'Invalid trust or support parameter',
    );
    expect(() => setTrustedNodeFile(dir, { id: A.slice(2), ownId: SELF })).toThrow(/Invalid Id/);
    expect(files(dir)).toEqual([]);
  });

  it('for the own id the given levels are ignored: always 2/2', () => {
    const dir = withFiles([`${SELF}.trust=3.note`]);
    expect(
      setTrustedNodeFile(dir, { id: SELF, trust: 1, support: 0, ownId: SELF.toLowerCase() }),
    ).toMatchObject({ action: 'renamed', fileName: `${SELF}.trust=2.support=2.note` });
  });

  it('as an operation: /trust and /support, a reset child means 2, /trustedNodesDir must be absolute', () => {
    const dir = tempDir();
    const op = (o: string, value: string, children: { option: string; op: string; value?: unknown }[]) =>
      setTrustedNodeOp({ op: o, value, children }, { ownId: SELF, configuredDir: dir });
    expect(
      op('set', A, [
        { option: 'trust', op: 'set', value: 3 },
        { option: 'support', op: 'set', value: 0 },
      ]),
    ).toMatchObject({ ok: true, dir, result: { action: 'created', fileName: `${A}.trust=3.support=0` } });
    expect(op('set', A, [{ option: 'trust', op: 'reset' }])).toMatchObject({
      ok: true,
      result: { fileName: `${A}.trust=2.support=0` },
    });
    expect(op('set', A, [{ option: 'support', op: 'set', value: 1 }])).toEqual({
      ok: false,
      message: 'Invalid trust or support parameter',
    });
    expect(op('set', A, [{ option: 'trustedNodesDir', op: 'set', value: 'rel' }])).toEqual({
      ok: false,
      message: 'Invalid trustedNodesDir',
    });
    const other = join(tempDir(), 'other');
    expect(op('set', B, [{ option: 'trustedNodesDir', op: 'set', value: other }])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/cannot read trustedNodesDir .*ENOENT/),
    });
    mkdirSync(other);
    expect(op('set', B, [{ option: 'trustedNodesDir', op: 'set', value: other }])).toMatchObject({
      ok: true,
      dir: other,
    });
    expect(readdirSync(other)).toEqual([`${B}.trust=2.support=2`]);
    expect(op('remove', A, [])).toMatchObject({ ok: true, result: { action: 'deleted' } });
    expect(readdirSync(dir)).toEqual([]);
    // the configured directory is created when missing (setTrustedNode at start runs before the watcher)
    const configured = join(tempDir(), 'new', 'trusted');
    expect(
      setTrustedNodeOp({ op: 'set', value: A, children: [] }, { ownId: SELF, configuredDir: configured }),
    ).toMatchObject({ ok: true, dir: configured, result: { action: 'created' } });
    expect(readdirSync(configured)).toEqual([`${A}.trust=2.support=2`]);
    expect(DEFAULT_TRUSTED_NODES_DIR).toBe('/etc/bmx7d/trustedNodes');
    expect(trustFileName(A.toLowerCase(), 0, 3, '.x')).toBe(`${A}.trust=0.support=3.x`);
  });
});

/**
 * The trusted-nodes directory (`trustedNodesDir`, docs/protocol.md §4.11) as the reference keeps
 * it: one file per node, its name the node id in 56 uppercase hex digits, then optional
 * `.trust=N` and `.support=N` keys (N one of 0, 2, 3; missing means 2) and any other text, which
 * is kept. The file's content is never read.
 *
 * - `parseTrustFileName` reads one name: not a trust file (ignored, left alone), a valid entry,
 *   or an invalid one (a bad level).
 * - `scanTrustDir` reads the whole directory and deletes the invalid files and every second file
 *   for one id, as the reference does.
 * - `setTrustedNodeFile` is `setTrustedNode`: it only edits files; whoever watches the directory
 *   applies them.
 * - `ensureTrustDir` creates a missing directory (mode 0700).
 */
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import type { TrustedNode } from '@bmx7/core';

/** A node id in hex: 28 bytes (SHA-224, docs/protocol.md §4.6). */
export const TRUST_ID_HEX_LEN = 56;
/**
 * Names this long or longer are not trust files: the reference's MAX_KEY_FILE_SIZE (id, both
 * keys with one-digit values, a key type name and a hostname), 123.
 */
export const MAX_TRUST_FILE_NAME = 123;
export const TRUST_KEY = '.trust=';
export const SUPPORT_KEY = '.support=';
/** The level of a key that is missing, and of the node's own entry whatever its file says. */
export const DEFAULT_TRUST_LEVEL = 2;
/** The directory `setTrustedNode` edits when none is configured or given (bmx7d's own path). */
export const DEFAULT_TRUSTED_NODES_DIR = '/etc/bmx7d/trustedNodes';

export type TrustFileName =
  /** Not a trust file (too short or long, not 56 uppercase hex digits first): left alone. */
  | { kind: 'ignored' }
  /** A trust file with a bad level: the reference deletes it. */
  | { kind: 'invalid'; id: string; reason: string }
  | { kind: 'valid'; id: string; trust: number; support: number; tail: string };

const UPPER_HEX = /^[0-9A-F]{56}/;

/**
 * Takes `key` and its value out of `text` (the reference's rmStrKeyValue): the value runs to the
 * next `.` or to the end. A key with nothing after it, or an empty value, is missing and stays in
 * the text.
 */
function takeKey(text: string, key: string): { value: string | undefined; rest: string } {
  const at = text.indexOf(key);
  if (at < 0) return { value: undefined, rest: text };
  const from = at + key.length;
  const dot = text.indexOf('.', from);
  const end = dot < 0 ? text.length : dot;
  if (end <= from) return { value: undefined, rest: text };
  return { value: text.slice(from, end), rest: text.slice(0, at) + text.slice(end) };
}

/**
 * A level as the reference reads it: exactly one character, read as a decimal number the way
 * strtol does (a character that is no digit reads as 0), and 0, 2 or 3; 1 ("recommended") is a
 * level only other nodes' lists can give, never a file.
 */
function levelOf(value: string): number | undefined {
  if (value.length !== 1) return undefined;
  const n = /[0-9]/.test(value) ? Number(value) : 0;
  return n === 0 || n === 2 || n === 3 ? n : undefined;
}

/** One directory entry's name read as a trust file (docs/protocol.md §4.11). */
export function parseTrustFileName(name: string): TrustFileName {
  if (name.length < TRUST_ID_HEX_LEN || name.length >= MAX_TRUST_FILE_NAME || !UPPER_HEX.test(name))
    return { kind: 'ignored' };
  const id = name.slice(0, TRUST_ID_HEX_LEN);
  const t = takeKey(name.slice(TRUST_ID_HEX_LEN), TRUST_KEY);
  const trust = t.value === undefined ? DEFAULT_TRUST_LEVEL : levelOf(t.value);
  if (trust === undefined) return { kind: 'invalid', id, reason: `invalid trust level ${t.value}` };
  const s = takeKey(t.rest, SUPPORT_KEY);
  const support = s.value === undefined ? DEFAULT_TRUST_LEVEL : levelOf(s.value);
  if (support === undefined) return { kind: 'invalid', id, reason: `invalid support level ${s.value}` };
  return { kind: 'valid', id, trust, support, tail: s.rest };
}

/** The name `setTrustedNode` gives a file: `<ID>.trust=T.support=S<tail>`. */
export function trustFileName(id: string, trust: number, support: number, tail = ''): string {
  return `${id.toUpperCase()}${TRUST_KEY}${trust}${SUPPORT_KEY}${support}${tail}`;
}

/** A file the scan deleted, and why. */
export interface RemovedTrustFile {
  fileName: string;
  reason: 'invalid' | 'duplicate';
  detail: string;
  /** Why the deletion failed, if it did (the file is then still ignored). */
  error?: string;
}

export interface TrustScan {
  /** One entry per node id, in ascending id order. */
  nodes: TrustedNode[];
  removed: RemovedTrustFile[];
}

/** The file system calls a scan and `setTrustedNode` use (a twin in tests). */
export interface TrustDirFs {
  readdir(dir: string): string[];
  unlink(path: string): void;
}

export const NODE_TRUST_FS: TrustDirFs = {
  readdir: (dir) => readdirSync(dir),
  unlink: (path) => unlinkSync(path),
};

function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/**
 * Reads the whole directory. Throws when it cannot be listed. Files with a bad level are deleted,
 * and so is every file for an id that another file already gave; which one stays is the one named
 * in `keep` (the file the caller already knew for that id), else the first in name order (the
 * reference keeps the first one readdir returns, which no order promises).
 */
export function scanTrustDir(
  dir: string,
  keep: ReadonlyMap<string, string> = new Map(),
  fs: TrustDirFs = NODE_TRUST_FS,
): TrustScan {
  const names = fs.readdir(dir).sort();
  const byId = new Map<string, { fileName: string; trust: number; support: number }>();
  const removed: RemovedTrustFile[] = [];
  const remove = (fileName: string, reason: RemovedTrustFile['reason'], detail: string) => {
    const r: RemovedTrustFile = { fileName, reason, detail };
    try {
      fs.unlink(join(dir, fileName));
    } catch (e) {
      r.error = errorText(e);
    }
    removed.push(r);
  };
  const valid: { name: string; id: string; trust: number; support: number }[] = [];
  for (const name of names) {
    const p = parseTrustFileName(name);
    if (p.kind === 'invalid') remove(name, 'invalid', p.reason);
    else if (p.kind === 'valid') valid.push({ name, id: p.id, trust: p.trust, support: p.support });
  }
  // the known file of an id first, so that a second file never displaces it
  const known = (v: (typeof valid)[number]) => keep.get(v.id) === v.name;
  for (const v of [...valid.filter(known), ...valid.filter((v) => !known(v))]) {
    const first = byId.get(v.id);
    if (first !== undefined)
      remove(v.name, 'duplicate', `a second file for ${v.id} (${first.fileName} stays)`);
    else byId.set(v.id, { fileName: v.name, trust: v.trust, support: v.support });
  }
  const nodes = [...byId.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, e]) => ({ id, trust: e.trust, support: e.support, fileName: e.fileName }));
  return { nodes, removed };
}

/**
 * Creates a missing trusted-nodes directory and its parents (mode 0700), as the reference does
 * when the option is set. Throws with the system's code when the path is no directory or cannot
 * be created.
 */
export function ensureTrustDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!statSync(dir).isDirectory()) {
    const e = new Error(`${dir} is not a directory`) as NodeJS.ErrnoException;
    e.code = 'ENOTDIR';
    throw e;
  }
}

export interface SetTrustedNodeRequest {
  /** The node id, 56 hex digits in either case (written in uppercase). */
  id: string;
  /** `setTrustedNode=-<ID>`: delete the node's file. */
  remove?: boolean;
  /** Given levels (`/trust=N`, `/support=N`); missing ones keep the file's, else 2. */
  trust?: number;
  support?: number;
  /** The node's own id: its given levels are ignored (its entry is always 2/2). */
  ownId: string;
}

export interface SetTrustedNodeResult {
  action: 'created' | 'renamed' | 'unchanged' | 'deleted' | 'none';
  /** The node's file afterwards (undefined after a delete). */
  fileName?: string;
  /** Duplicate or invalid files for the id that were deleted. */
  removed: RemovedTrustFile[];
}

/** A refused `setTrustedNode`, with the reason the reference gives. */
export class SetTrustedNodeError extends Error {
  override readonly name = 'SetTrustedNodeError';
  readonly code: 'bad-id' | 'bad-level' | 'io';
  constructor(code: SetTrustedNodeError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The mode of a file setTrustedNode creates (the reference's S_IRUSR | S_IRGRP | S_IROTH). */
export const TRUST_FILE_MODE = 0o444;

/**
 * `setTrustedNode` (docs/protocol.md §4.11): edits the node's file in `dir` and nothing else. The
 * first valid file for the id gives the starting levels and keeps its other text; every other
 * file for the id (a duplicate, or one with a bad level) is deleted. Given levels override the
 * starting ones (1 is refused: "Invalid trust or support parameter"); for the own id they are
 * ignored. The file is then renamed to `<ID>.trust=T.support=S<tail>`, or created empty with mode
 * 0444. With `remove` the file is deleted instead (nothing happens when there is none).
 */
export function setTrustedNodeFile(
  dir: string,
  req: SetTrustedNodeRequest,
  fs: TrustDirFs & {
    rename(from: string, to: string): void;
    create(path: string, mode: number): void;
  } = { ...NODE_TRUST_FS, rename: renameSync, create: createEmpty },
): SetTrustedNodeResult {
  if (!/^[0-9A-Fa-f]{56}$/.test(req.id))
    throw new SetTrustedNodeError('bad-id', `Invalid Id: ${req.id} is not ${TRUST_ID_HEX_LEN} hex digits`);
  const id = req.id.toUpperCase();
  const own = id === req.ownId.toUpperCase();
  for (const l of [req.trust, req.support])
    if (!own && l !== undefined && l !== 0 && l !== 2 && l !== 3)
      throw new SetTrustedNodeError('bad-level', 'Invalid trust or support parameter');
  let names: string[];
  try {
    names = fs.readdir(dir).sort();
  } catch (e) {
    throw new SetTrustedNodeError('io', `cannot read trustedNodesDir ${dir} (${errorText(e)})`, { cause: e });
  }
  let found: { name: string; trust: number; support: number; tail: string } | undefined;
  const removed: RemovedTrustFile[] = [];
  for (const name of names) {
    const p = parseTrustFileName(name);
    if (p.kind === 'ignored' || p.id !== id) continue;
    if (p.kind === 'valid' && found === undefined) {
      found = { name, trust: p.trust, support: p.support, tail: p.tail };
      continue;
    }
    const r: RemovedTrustFile =
      p.kind === 'invalid'
        ? { fileName: name, reason: 'invalid', detail: p.reason }
        : { fileName: name, reason: 'duplicate', detail: `a second file for ${id}` };
    try {
      fs.unlink(join(dir, name));
    } catch (e) {
      r.error = errorText(e);
    }
    removed.push(r);
  }
  const io = (what: string, e: unknown) =>
    new SetTrustedNodeError('io', `${what} in ${dir} failed (${errorText(e)})`, { cause: e });
  if (req.remove === true) {
    if (found === undefined) return { action: 'none', removed };
    try {
      fs.unlink(join(dir, found.name));
    } catch (e) {
      throw io(`removing ${found.name}`, e);
    }
    return { action: 'deleted', removed };
  }
  const trust = own ? DEFAULT_TRUST_LEVEL : (req.trust ?? found?.trust ?? DEFAULT_TRUST_LEVEL);
  const support = own ? DEFAULT_TRUST_LEVEL : (req.support ?? found?.support ?? DEFAULT_TRUST_LEVEL);
  const fileName = trustFileName(id, trust, support, found?.tail ?? '');
  if (found === undefined) {
    try {
      fs.create(join(dir, fileName), TRUST_FILE_MODE);
    } catch (e) {
      throw io(`creating ${fileName}`, e);
    }
    return { action: 'created', fileName, removed };
  }
  if (found.name === fileName) return { action: 'unchanged', fileName, removed };
  try {
    fs.rename(join(dir, found.name), join(dir, fileName));
  } catch (e) {
    throw io(`renaming ${found.name}`, e);
  }
  return { action: 'renamed', fileName, removed };
}

function createEmpty(path: string, mode: number): void {
  closeSync(openSync(path, 'wx', mode));
  // the mode is the reference's whatever the umask
  chmodSync(path, mode);
}

/** Where `setTrustedNode` writes: its `/trustedNodesDir`, else the configured one, else the default. */
export interface SetTrustedNodeContext {
  ownId: string;
  /** trustedNodesDir in force, if any. */
  configuredDir: string | undefined;
}

export type SetTrustedNodeOutcome =
  | { ok: true; dir: string; result: SetTrustedNodeResult }
  | { ok: false; message: string };

/**
 * Carries out one `setTrustedNode` operation (`setTrustedNode=<ID> /trust=N /support=N
 * /trustedNodesDir=/abs`, or `setTrustedNode=-<ID>`). A `/trust` or `/support` reset (`/trust=-`)
 * means 2, as a key given without a value does in the reference. The default and the configured
 * directory are created when missing (the watcher creates the configured one anyway; at start the
 * actions run before it); a directory given with `/trustedNodesDir` must exist.
 */
export function setTrustedNodeOp(
  op: {
    op: string;
    value?: unknown;
    children: readonly { option: string; op: string; value?: unknown }[];
  },
  ctx: SetTrustedNodeContext,
): SetTrustedNodeOutcome {
  let dir = ctx.configuredDir ?? DEFAULT_TRUSTED_NODES_DIR;
  let trust: number | undefined;
  let support: number | undefined;
  for (const c of op.children) {
    const name = c.option.toLowerCase();
    const level = c.op === 'reset' ? DEFAULT_TRUST_LEVEL : Number(c.value);
    if (name === 'trustednodesdir') {
      const v = String(c.value ?? '');
      if (c.op === 'reset' || !v.startsWith('/')) return { ok: false, message: 'Invalid trustedNodesDir' };
      dir = v;
    } else if (name === 'trust') trust = level;
    else if (name === 'support') support = level;
  }
  try {
    if ((dir === DEFAULT_TRUSTED_NODES_DIR || dir === ctx.configuredDir) && op.op !== 'remove')
      ensureTrustDir(dir);
    const result = setTrustedNodeFile(dir, {
      id: String(op.value ?? ''),
      remove: op.op === 'remove',
      ...(trust === undefined ? {} : { trust }),
      ...(support === undefined ? {} : { support }),
      ownId: ctx.ownId,
    });
    return { ok: true, dir, result };
  } catch (e) {
    if (e instanceof SetTrustedNodeError) return { ok: false, message: e.message };
    return { ok: false, message: `cannot use trustedNodesDir ${dir} (${errorText(e)})` };
  }
}

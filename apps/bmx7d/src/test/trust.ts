/**
 * Helpers for the trust netns tests (docs/protocol.md §4.11): node keys made before the daemons
 * start (so that trust files can name every node), trust directories, and route-set checks that
 * wait for what must appear and then watch that what must not never does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateRsaKey, saveNodeKey } from '@bmx7/crypto';
import type { Mesh } from '@bmx7/testbed';
import { waitFor } from '@bmx7/testenv/netns';
import { primaryOf, tableRoutes } from './helpers.js';

/** Writes a key file for every node (`<dir>/rsa.der`, the path bmx7dArgs uses); returns the ids. */
export function makeKeys(mesh: Mesh, type = 6): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const n of mesh.nodes.values()) {
    const key = generateRsaKey(type);
    saveNodeKey(join(n.dir, 'rsa.der'), key, { overwrite: true });
    ids[n.name] = Buffer.from(key.id).toString('hex').toUpperCase();
  }
  return ids;
}

/** A node's trusted-nodes directory with these files (empty ones); its path. */
export function trustDir(mesh: Mesh, node: string, files: string[]): string {
  const dir = join(mesh.node(node).dir, 'trusted');
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

export async function primaries(mesh: Mesh): Promise<Record<string, string>> {
  const ip: Record<string, string> = {};
  for (const n of mesh.nodes.keys())
    ip[n] = await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 20_000 });
  return ip;
}

/**
 * Waits until every node routes (table 70) to exactly the expected nodes among the others. Then,
 * once `knows` says each node has the description of every node it must not route to (so only
 * trust keeps the route away), the route sets must hold for `holdMs` more (more than one OGM
 * interval): a route that appears or goes fails.
 */
export async function expectRouteSets(
  mesh: Mesh,
  ip: Record<string, string>,
  want: Record<string, string[]>,
  opts: {
    knows?: (node: string, other: string) => boolean;
    timeoutMs?: number;
    holdMs?: number;
    log?: (node: string) => string;
  } = {},
): Promise<void> {
  const names = Object.keys(want);
  const actual = (n: string) => {
    const routes = tableRoutes(mesh, n);
    return names.filter((o) => o !== n && routes.includes(ip[o] as string));
  };
  const describe = () => names.map((n) => `${n} → {${actual(n).join(',')}}`).join('; ');
  const wrong = () => {
    for (const n of names) {
      const extra = actual(n).filter((o) => !want[n]?.includes(o));
      if (extra.length > 0) return `${n} routes to ${extra.join(',')}`;
    }
    return undefined;
  };
  try {
    await waitFor(
      `route sets ${names.map((n) => `${n} → {${want[n]?.join(',')}}`).join('; ')}`,
      () => wrong() === undefined && names.every((n) => want[n]?.every((o) => actual(n).includes(o))),
      { timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 250 },
    );
    const knows = opts.knows;
    if (knows) {
      const pairs = names.flatMap((n) =>
        names.filter((o) => o !== n && !want[n]?.includes(o)).map((o) => [n, o]),
      );
      for (const [n, o] of pairs)
        await waitFor(`${n} has the description of ${o}`, () => knows(n as string, o as string), {
          timeoutMs: 30_000,
          intervalMs: 500,
        });
    }
    const until = Date.now() + (opts.holdMs ?? 8000);
    while (Date.now() < until) {
      const w = wrong();
      if (w) throw new Error(`${w} (${describe()})`);
      const missing = names.find((n) => !want[n]?.every((o) => actual(n).includes(o)));
      if (missing) throw new Error(`${missing} lost a route (${describe()})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    const logs = opts.log ? names.map((n) => `--- ${n} ---\n${opts.log?.(n).slice(-2500)}`).join('\n') : '';
    throw new Error(`${(e as Error).message}\nnow: ${describe()}\n${logs}`);
  }
}

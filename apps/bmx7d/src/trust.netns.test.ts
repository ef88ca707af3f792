/**
 * Trust with real daemons (docs/protocol.md §4.11): an originator's TRUSTS (its trusted-nodes
 * directory, itself always included) decides which neighbours may be next hops towards it.
 *
 *   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3
 *
 * B: n1 and n3 trust only each other (bare-id files), n2 has no directory:
 *    n1 → {n2}, n2 → {n1, n3}, n3 → {n2}.
 * D: n1 has an empty directory, the others none: n1 → {n2, n3}, n2 → {n1, n3}, n3 → {n2}.
 * Then, without a restart: n1 trusts n2 (`setTrustedNode`) → n3 routes to n1 through n2; the file
 * deleted → that route goes; `trustedNodesDir=-` → trust off, the route is back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { afterEach, expect, it } from 'vitest';
import { bmx7dSpec, ctlArgv } from './test/helpers.js';
import { expectRouteSets, makeKeys, primaries, trustDir } from './test/trust.js';

describeNetns('trust in a line of three bmx7d', () => {
  let mesh: Mesh | undefined;
  afterEach(() => {
    mesh?.cleanup();
    mesh = undefined;
  });
  const log = (m: Mesh) => (n: string) => {
    try {
      return readFileSync(join(m.node(n).dir, 'daemon.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const ctl = (m: Mesh, node: string, ...args: string[]) =>
    spawnSync(process.execPath, ctlArgv(['--runtime-dir', join(m.node(node).dir, 'run'), ...args]), {
      encoding: 'utf8',
      timeout: 20_000,
    });
  /** Whether `node` lists `other` among its originators (it has its description). */
  const knows = (m: Mesh) => (node: string, other: string) => {
    const r = ctl(m, node, '--json', 'show', 'originators');
    if (r.status !== 0) return false;
    return (JSON.parse(r.stdout).rows as { name: string }[]).some((x) => x.name === other);
  };

  it('B: n1 and n3 trust only each other, n2 has no directory', async () => {
    mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'tb' });
    const m = mesh;
    const id = makeKeys(m);
    const dirs: Record<string, string> = {
      n1: trustDir(m, 'n1', [id.n3 as string]),
      n3: trustDir(m, 'n3', [id.n1 as string]),
    };
    m.startAll(bmx7dSpec((n) => (dirs[n.name] ? [`trustedNodesDir=${dirs[n.name]}`] : [])));
    const ip = await primaries(m);
    await expectRouteSets(
      m,
      ip,
      { n1: ['n2'], n2: ['n1', 'n3'], n3: ['n2'] },
      { knows: knows(m), log: log(m) },
    );
    // show trusted: the node itself (no file) and its one entry
    const t = ctl(m, 'n1', '--json', 'show', 'trusted');
    expect(t.status, t.stderr).toBe(0);
    const rows = JSON.parse(t.stdout).rows as {
      nodeId: string;
      name: string;
      trust: number;
      fileName: string;
    }[];
    expect(rows.map((r) => [r.nodeId.toUpperCase(), r.trust, r.fileName]).sort()).toEqual(
      [
        [id.n1, 2, ''],
        [id.n3, 2, id.n3],
      ].sort(),
    );
  }, 150_000);

  it('D: n1 has an empty directory; then trust changes at runtime, without a restart', async () => {
    mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'td' });
    const m = mesh;
    const id = makeKeys(m);
    const dir = trustDir(m, 'n1', []);
    m.startAll(bmx7dSpec((n) => (n.name === 'n1' ? [`trustedNodesDir=${dir}`] : [])));
    const ip = await primaries(m);
    const opts = { knows: knows(m), log: log(m) };
    await expectRouteSets(m, ip, { n1: ['n2', 'n3'], n2: ['n1', 'n3'], n3: ['n2'] }, opts);
    const pid = m.exec('n1', 'cat', [join(m.node('n1').dir, 'run', 'pid')]).stdout.trim();

    // n1 trusts n2: n3 may route to n1 through n2 (the watcher applies the new file)
    const set = ctl(m, 'n1', '-c', `setTrustedNode=${id.n2}`, '/support=0');
    expect(set.status, set.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual([`${id.n2}.trust=2.support=0`]);
    await expectRouteSets(m, ip, { n1: ['n2', 'n3'], n2: ['n1', 'n3'], n3: ['n1', 'n2'] }, opts);

    // the file deleted by hand: the route through n2 goes again
    rmSync(join(dir, `${id.n2}.trust=2.support=0`));
    await expectRouteSets(m, ip, { n1: ['n2', 'n3'], n2: ['n1', 'n3'], n3: ['n2'] }, opts);

    // setTrustedNode refuses level 1 and writes nothing
    const bad = ctl(m, 'n1', '-c', `setTrustedNode=${id.n2}`, '/trust=1');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/Invalid trust or support parameter/);
    expect(readdirSync(dir)).toEqual([]);

    // trust off: everybody routes to everybody; and on again with another directory
    const off = ctl(m, 'n1', '-c', 'trustedNodesDir=-');
    expect(off.status, off.stderr).toBe(0);
    await expectRouteSets(m, ip, { n1: ['n2', 'n3'], n2: ['n1', 'n3'], n3: ['n1', 'n2'] }, { log: log(m) });
    const other = join(m.node('n1').dir, 'other-trusted');
    const on = ctl(m, 'n1', '-c', `trustedNodesDir=${other}`);
    expect(on.status, on.stderr).toBe(0);
    expect(existsSync(other)).toBe(true);
    await expectRouteSets(m, ip, { n1: ['n2', 'n3'], n2: ['n1', 'n3'], n3: ['n2'] }, opts);
    // the same daemon all along
    expect(m.exec('n1', 'cat', [join(m.node('n1').dir, 'run', 'pid')]).stdout.trim()).toBe(pid);
    expect(log(m)('n1').match(/bmx7d starting/g)).toHaveLength(1);
    expect(log(m)('n1')).toMatch(/trusted nodes changed/);
    // SIGHUP reads the directory again (and the config file, when there is one)
    process.kill(Number(pid), 'SIGHUP');
    await waitFor('n1 re-reads its directory on SIGHUP', () =>
      /SIGHUP: trustedNodesDir read dir=\S+other-trusted nodes=0/.test(log(m)('n1')),
    );
    expect(() => process.kill(Number(pid), 0)).not.toThrow();
    await waitFor('n1 logs the setTrustedNode', () => /setTrustedNode .*action=created/.test(log(m)('n1')));
  }, 300_000);
});

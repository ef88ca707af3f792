/**
 * Trust between bmx7d and the reference C bmx7 (opt-in): set BMX7_REF_BIN to a reference `bmx7`
 * binary built outside this repository. Scenario B of docs/protocol.md §4.11 (the ends trust only
 * each other, bare-id files; the middle node has no directory) in both mixes:
 *
 *   ref–bmx7d–ref:    n1 (reference) ── n2 (bmx7d) ── n3 (reference)
 *   bmx7d–ref–bmx7d:  n1 (bmx7d) ── n2 (reference) ── n3 (bmx7d)
 *
 * Either way: n1 → {n2}, n2 → {n1, n3}, n3 → {n2}.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { afterEach, describe, it } from 'vitest';
import { ctlArgv, daemonLog } from './test/helpers.js';
import { bmxSpec, REF, refShow, refSpec } from './test/reference.js';
import { expectRouteSets, makeKeys, primaries, trustDir } from './test/trust.js';

/** Whether `node` lists `other` (by its hostname) among its originators. */
function knows(mesh: Mesh, kinds: Record<string, 'ref' | 'bmx'>) {
  return (node: string, other: string): boolean => {
    const name = `${kinds[other]}-${other}`;
    const dir = mesh.node(node).dir;
    if (kinds[node] === 'bmx') {
      const r = spawnSync(
        process.execPath,
        ctlArgv(['--runtime-dir', join(dir, 'run'), '--json', 'show', 'originators']),
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      return r.status === 0 && (JSON.parse(r.stdout).rows as { name: string }[]).some((x) => x.name === name);
    }
    const out = refShow(mesh, node, 'originators');
    return new RegExp(` ${name} `).test(out);
  };
}

async function scenarioB(mesh: Mesh, kinds: Record<string, 'ref' | 'bmx'>): Promise<void> {
  const id = makeKeys(mesh);
  const dirs: Record<string, string> = {
    n1: trustDir(mesh, 'n1', [id.n3 as string]),
    n3: trustDir(mesh, 'n3', [id.n1 as string]),
  };
  mesh.startAll((n) => {
    const extra = dirs[n.name] ? [`trustedNodesDir=${dirs[n.name]}`] : [];
    return kinds[n.name] === 'ref' ? refSpec(n, extra) : bmxSpec(n, extra);
  });
  const ip = await primaries(mesh);
  await expectRouteSets(
    mesh,
    ip,
    { n1: ['n2'], n2: ['n1', 'n3'], n3: ['n2'] },
    {
      knows: knows(mesh, kinds),
      timeoutMs: 90_000,
      log: (n) => daemonLog(mesh, n, Number.POSITIVE_INFINITY),
    },
  );
}

if (!REF) {
  describe('trust interop with the reference bmx7', () => {
    it.skip('skipped: set BMX7_REF_BIN to a reference bmx7 binary built outside the repository', () => {});
  });
} else {
  describeNetns('trust interop with the reference bmx7', () => {
    let mesh: Mesh | undefined;
    afterEach(() => {
      mesh?.cleanup();
      mesh = undefined;
    });

    it('B with reference nodes at the ends and bmx7d in the middle', async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'iv' });
      await scenarioB(mesh, { n1: 'ref', n2: 'bmx', n3: 'ref' });
    }, 180_000);

    it('B with bmx7d at the ends and the reference in the middle', async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'iw' });
      await scenarioB(mesh, { n1: 'bmx', n2: 'ref', n3: 'bmx' });
    }, 180_000);
  });
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bmx7dSpec, primaryOf, tableRoutes } from './test/helpers.js';

//   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3
describeNetns('bmx7d in a line of three namespaces', () => {
  let mesh: Mesh;
  const ip: Record<string, string> = {};
  const log = (n: string) => {
    try {
      return readFileSync(join(mesh.node(n).dir, 'daemon.log'), 'utf8');
    } catch {
      return '';
    }
  };
  beforeAll(async () => {
    mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'bd' });
    mesh.startAll(bmx7dSpec());
    for (const n of ['n1', 'n2', 'n3'])
      ip[n] = await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 15_000 });
  }, 30_000);
  afterAll(() => mesh?.cleanup());

  it('every node routes to both others within 20 s, and ping crosses two hops', async () => {
    try {
      for (const [n, others] of [
        ['n1', ['n2', 'n3']],
        ['n2', ['n1', 'n3']],
        ['n3', ['n1', 'n2']],
      ] as const) {
        await waitFor(
          `${n} routes to ${others.join(', ')}`,
          () => others.every((o) => tableRoutes(mesh, n).includes(ip[o] as string)),
          { timeoutMs: 20_000, intervalMs: 250 },
        );
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- n1 log ---\n${log('n1').slice(-3000)}`);
    }
    expect(mesh.execOk('n1', 'ip', ['-6', 'route', 'show', 'table', '70'])).toMatch(
      new RegExp(`${ip.n3} via fe80:[0-9a-f:]+ dev eth1 proto static metric 1024`),
    );
    expect(mesh.execOk('n1', 'ip', ['-6', 'rule', 'show'])).toMatch(/^70:\s+from all lookup 70/m);
    const ping = mesh.exec('n1', 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ip.n3 as string]);
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);
  }, 40_000);
});

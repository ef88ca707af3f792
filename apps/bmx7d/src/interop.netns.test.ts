/**
 * Interop with the reference C bmx7 (opt-in): set BMX7_REF_BIN to a reference `bmx7` binary built
 * outside this repository. Without it the suite is skipped and says why.
 *
 *   ref–bmx7d–ref:    n1 (reference) ── n2 (bmx7d) ── n3 (reference)
 *   bmx7d–ref–bmx7d:  n1 (bmx7d) ── n2 (reference) ── n3 (bmx7d)
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { afterEach, describe, expect, it } from 'vitest';
import { ctlArgv, primaryOf, tableRoutes } from './test/helpers.js';
import { bmxSpec, REF, refShow, refSpec } from './test/reference.js';

async function converge(mesh: Mesh, kinds: Record<string, 'ref' | 'bmx'>): Promise<Record<string, string>> {
  const names = Object.keys(kinds);
  mesh.startAll((n) => (kinds[n.name] === 'ref' ? refSpec(n) : bmxSpec(n)));
  const ip: Record<string, string> = {};
  for (const n of names)
    ip[n] = await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 20_000 });
  for (const n of names) {
    const others = names.filter((o) => o !== n);
    await waitFor(
      `${n} (${kinds[n]}) routes to ${others.join(', ')}`,
      () => others.every((o) => tableRoutes(mesh, n).includes(ip[o]!)),
      {
        timeoutMs: 45_000,
        intervalMs: 500,
      },
    );
  }
  return ip;
}

const ctl = (mesh: Mesh, node: string, ...args: string[]) =>
  spawnSync(process.execPath, ctlArgv(['--runtime-dir', join(mesh.node(node).dir, 'run'), ...args]), {
    encoding: 'utf8',
    timeout: 20_000,
  });

if (!REF) {
  describe('interop with the reference bmx7', () => {
    it.skip('skipped: set BMX7_REF_BIN to a reference bmx7 binary built outside the repository', () => {});
  });
} else {
  describeNetns('interop with the reference bmx7', () => {
    let mesh: Mesh | undefined;
    afterEach(() => {
      mesh?.cleanup();
      mesh = undefined;
    });

    it('reference–bmx7d–reference converges, routes, pings, and each lists the other by name', async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'ir' });
      const m = mesh;
      const ip = await converge(m, { n1: 'ref', n2: 'bmx', n3: 'ref' });
      const ping = m.exec('n1', 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ip.n3!]);
      expect(ping.status, ping.stdout).toBe(0);
      const ours = ctl(m, 'n2', 'show', 'originators');
      expect(ours.status, ours.stderr).toBe(0);
      expect(ours.stdout).toMatch(/ ref-n1 /);
      expect(ours.stdout).toMatch(/ ref-n3 /);
      await waitFor('the reference lists bmx-n2', () => / bmx-n2 /.test(refShow(m, 'n1', 'originators')), {
        timeoutMs: 10_000,
      });
      // the reference's own client speaks to bmx7d's socket too (plain-text protocol)
      expect(refShow(m, 'n2', 'originators')).toMatch(/^ORIGINATORS:\n[\s\S]* ref-n3 /);
    }, 90_000);

    it('bmx7d–reference–bmx7d converges, routes, pings, and each lists the other by name', async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'is' });
      const m = mesh;
      const ip = await converge(m, { n1: 'bmx', n2: 'ref', n3: 'bmx' });
      const ping = m.exec('n1', 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ip.n3!]);
      expect(ping.status, ping.stdout).toBe(0);
      const ours = ctl(m, 'n1', '-c', 'show=originators');
      expect(ours.stdout).toMatch(/ ref-n2 /);
      expect(ours.stdout).toMatch(/ bmx-n3 /);
      const theirs = refShow(m, 'n2', 'originators');
      expect(theirs).toMatch(/ bmx-n1 /);
      expect(theirs).toMatch(/ bmx-n3 /);
    }, 90_000);

    it('a stopped reference node is routed around no longer, and its restart is learned again', async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'it' });
      const m = mesh;
      const ip = await converge(m, { n1: 'bmx', n2: 'ref', n3: 'bmx' });
      await m.stop('n2', 'SIGTERM');
      // its link times out (linkTimeout 20 s) and every route through it goes (docs/protocol.md §4.10)
      await waitFor(
        'n1 withdraws the routes through the stopped n2',
        () => tableRoutes(m, 'n1').length === 0,
        {
          timeoutMs: 40_000,
          intervalMs: 500,
        },
      );
      expect(tableRoutes(m, 'n3')).toEqual([]);
      // restarted with its key and descSqn file: a new description (higher descSqn, new bootSqn)
      m.start('n2', (n) => refSpec(n));
      for (const [n, others] of [
        ['n1', ['n2', 'n3']],
        ['n3', ['n1', 'n2']],
      ] as const) {
        await waitFor(
          `${n} routes to ${others.join(', ')} again`,
          () => others.every((o) => tableRoutes(m, n).includes(ip[o]!)),
          { timeoutMs: 45_000, intervalMs: 500 },
        );
      }
      const ping = m.exec('n1', 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ip.n3!]);
      expect(ping.status, ping.stdout).toBe(0);
    }, 150_000);

    it('a restarted reference neighbour (new bootSqn) is dropped and learned again by bmx7d', async () => {
      mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'iu' });
      const m = mesh;
      const ip = await converge(m, { n1: 'ref', n2: 'bmx', n3: 'ref' });
      await m.stop('n1', 'SIGTERM');
      await waitFor(
        'bmx7d withdraws its route to the stopped n1',
        () => !tableRoutes(m, 'n2').includes(ip.n1!),
        {
          timeoutMs: 40_000,
          intervalMs: 500,
        },
      );
      m.start('n1', (n) => refSpec(n));
      await waitFor('bmx7d routes to the restarted n1', () => tableRoutes(m, 'n2').includes(ip.n1!), {
        timeoutMs: 45_000,
        intervalMs: 500,
      });
      await waitFor(
        'n3 (reference) routes to the restarted n1 through bmx7d',
        () => tableRoutes(m, 'n3').includes(ip.n1!),
        {
          timeoutMs: 45_000,
          intervalMs: 500,
        },
      );
      await waitFor('the restarted n1 routes back to n3', () => tableRoutes(m, 'n1').includes(ip.n3!), {
        timeoutMs: 45_000,
        intervalMs: 500,
      });
      const ping = m.exec('n3', 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', ip.n1!]);
      expect(ping.status, ping.stdout).toBe(0);
    }, 150_000);
  });
}

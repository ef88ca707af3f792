import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bmx7dSpec, MAIN, primaryOf, tableRoutes } from './test/helpers.js';

//   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3
const spec = bmx7dSpec(() => ['linkTimeout=10000']);
const LINK_TIMEOUT_MS = 10_000;

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
    mesh.startAll(spec);
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
    // the log shows changes (routes) and never key material
    expect(log('n1')).toMatch(/route changed name=n3 .* hops=2/);
    const der = readFileSync(join(mesh.node('n1').dir, 'rsa.der'));
    for (let off = 16; off + 12 <= der.length; off += 97) {
      const chunk = der.subarray(off, off + 12);
      for (const enc of ['hex', 'base64'] as const)
        expect(log('n1')).not.toContain(chunk.toString(enc).slice(0, 16));
    }
  }, 40_000);

  const kernelState = (n: string) => ({
    routes: tableRoutes(mesh, n),
    rule: /^70:/m.test(mesh.execOk(n, 'ip', ['-6', 'rule', 'show'])),
    primary: primaryOf(mesh, n),
    forwarding: mesh.execOk(n, 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding']).trim(),
  });

  it('a second daemon on the same runtime directory is refused and changes nothing', async () => {
    const second = mesh.exec('n3', process.execPath, [
      '--import',
      'tsx',
      '--conditions=@bmx7/source',
      MAIN,
      `runtimeDir=${mesh.node('n3').dir}/run`,
      'nodeRsaKey=6',
      `/keyPath=${mesh.node('n3').dir}/other.der`,
      'dev=eth1',
    ]);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/another bmx7d \(pid \d+\) runs on runtimeDir/);
    expect(tableRoutes(mesh, 'n3')).toHaveLength(2);
  });

  it('kill -9 then a restart removes the leftovers; a clean stop afterwards leaves nothing', async () => {
    await waitFor('n1 has its routes', () => tableRoutes(mesh, 'n1').length === 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await mesh.stop('n1', 'SIGKILL');
    // the crashed run left its routes, rule and address behind
    expect(kernelState('n1')).toMatchObject({ rule: true, primary: ip.n1 });
    expect(tableRoutes(mesh, 'n1').length).toBeGreaterThan(0);
    mesh.start('n1', spec);
    await waitFor('leftovers removed', () => /removing leftovers of the last run/.test(log('n1')), {
      timeoutMs: 15_000,
    });
    await waitFor('n1 routes again', () => tableRoutes(mesh, 'n1').length === 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(mesh.execOk('n1', 'ip', ['-6', 'rule', 'show']).match(/^70:/gm)).toHaveLength(1);
    expect(await mesh.stop('n1', 'SIGINT')).toBe(0);
    expect(kernelState('n1')).toEqual({ routes: [], rule: false, primary: undefined, forwarding: '0' });
    mesh.start('n1', spec);
  }, 70_000);

  it('stopping the middle node puts its kernel back and withdraws the routes through it', async () => {
    await waitFor(
      'the line converged',
      () => tableRoutes(mesh, 'n1').length === 2 && tableRoutes(mesh, 'n3').length === 2,
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
    expect(await mesh.stop('n2', 'SIGTERM')).toBe(0);
    expect(kernelState('n2')).toEqual({ routes: [], rule: false, primary: undefined, forwarding: '0' });
    const t0 = Date.now();
    await waitFor(
      'n1 and n3 withdraw their routes',
      () => tableRoutes(mesh, 'n1').length + tableRoutes(mesh, 'n3').length === 0,
      {
        timeoutMs: LINK_TIMEOUT_MS + 10_000,
        intervalMs: 250,
      },
    );
    expect(Date.now() - t0).toBeLessThan(LINK_TIMEOUT_MS + 10_000);
    mesh.start('n2', spec);
    await waitFor(
      'routes back after the restart',
      () =>
        tableRoutes(mesh, 'n1').includes(ip.n3 as string) &&
        tableRoutes(mesh, 'n3').includes(ip.n1 as string),
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
  }, 100_000);
});

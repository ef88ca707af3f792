/**
 * The wg plugin on engines in the simulator: each node announces its WireGuard key and port in its
 * description (WIREGUARD TLV, docs/protocol.md §4.13) and wants a peer for every other node.
 *
 *   a — b — c
 */
import type { PluginSetting } from '@bmx7/core';
import { wgGeneratePrivateKey, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { type Bmx7Instance, createBmx7Factory, createSimulation, type MemoryFiles } from '@bmx7/testkit';
import { describe, expect, it } from 'vitest';
import { createWgPlugin, type WgPlugin } from './plugin.js';

const GRACE = 20_000;

function line() {
  const plugins = new Map<string, WgPlugin>();
  const files = new Map<string, MemoryFiles>();
  const sim = createSimulation<Bmx7Instance>({
    seed: 'wg',
    engineFactory: createBmx7Factory({
      plugins: (name, components, ctx) => {
        files.set(name, ctx.persistent.get('files') as MemoryFiles);
        const p = createWgPlugin({ peerGraceMs: GRACE })({ random: (n) => components.random.bytes(n) });
        plugins.set(name, p);
        return [p];
      },
    }),
  });
  sim.fromEdges([
    ['a', 'b'],
    ['b', 'c'],
  ]);
  const port = (name: string, n: number) => {
    const s: PluginSetting = { kind: 'single', value: n, children: {} };
    sim.node(name).instance.engine.configurePlugins(new Map([['wgListenPort', s]]));
  };
  return { sim, plugins, files, port };
}

const hexKey = (k: Uint8Array | undefined) => (k ? Buffer.from(k).toString('hex') : undefined);

describe('wg plugin in a three-node line', () => {
  it('peers for the two others with their keys and ports; a new key replaces a peer; a gone node goes after the grace period', () => {
    const { sim, plugins, files, port } = line();
    port('c', 51000);
    sim.start();
    sim.run(60_000);

    const view = (from: string) =>
      Object.fromEntries(
        plugins
          .get(from)!
          .peers()
          .map((p) => [p.name, { key: hexKey(p.publicKey), endpoint: p.endpoint }]),
      );
    const expected = (name: string, listen: number) => ({
      key: hexKey(plugins.get(name)!.publicKey()),
      endpoint: `[${sim.node(name).instance.engine.primaryIp}]:${listen}`,
    });
    for (const [me, others] of [
      ['a', ['b', 'c']],
      ['b', ['a', 'c']],
      ['c', ['a', 'b']],
    ] as const) {
      const want: Record<string, unknown> = {};
      for (const o of others) want[o] = expected(o, o === 'c' ? 51000 : 6271);
      expect(view(me)).toEqual(want);
    }

    // show=wg on a: both peers, the public key in base64, nothing of the private key
    const rows = sim.node('a').instance.engine.show('wg');
    expect(rows.map((r) => r.name).sort()).toEqual(['b', 'c']);
    const rowC = rows.find((r) => r.name === 'c')!;
    expect(rowC).toMatchObject({
      publicKey: wgKeyToBase64(plugins.get('c')!.publicKey()!),
      endpoint: expected('c', 51000).endpoint,
      dev: '---',
      allowedIps: '---',
      lastHandshake: '---',
      rx: 0,
      tx: 0,
      psk: 'none',
    });
    expect(Object.keys(rowC).sort()).toEqual(
      [
        'allowedIps',
        'dev',
        'endpoint',
        'lastHandshake',
        'name',
        'nodeId',
        'pqEpoch',
        'pqRefused',
        'psk',
        'pskAge',
        'publicKey',
        'rx',
        'shortId',
        'tx',
      ].sort(),
    );
    const privateB64 = new TextDecoder().decode(files.get('c')!.read('wg/private.key')!).trim();
    expect(JSON.stringify(sim.node('c').instance.engine.show('wg'))).not.toContain(privateB64);
    expect(JSON.stringify(rows)).not.toContain(privateB64);

    // c restarts with a new key file: a and b replace its peer
    const oldKey = hexKey(plugins.get('c')!.publicKey());
    const fresh = wgGeneratePrivateKey(() => new Uint8Array(32).fill(7));
    files.get('c')!.write('wg/private.key', new TextEncoder().encode(`${wgKeyToBase64(fresh)}\n`));
    sim.restart('c');
    port('c', 51000);
    sim.run(60_000);
    expect(hexKey(plugins.get('c')!.publicKey())).toBe(hexKey(wgPublicKey(fresh)));
    for (const me of ['a', 'b']) {
      const peer = plugins
        .get(me)!
        .peers()
        .find((p) => p.name === 'c');
      expect(hexKey(peer?.publicKey)).toBe(hexKey(wgPublicKey(fresh)));
      expect(hexKey(peer?.publicKey)).not.toBe(oldKey);
    }

    // a stops: b keeps its peer until the node is gone and the grace period is over
    sim.stop('a');
    const peerOfA = () =>
      plugins
        .get('b')!
        .peers()
        .some((p) => p.name === 'a');
    let goneAt: number | undefined;
    let lastSeen = 0;
    for (let t = 0; t < 600_000 && (goneAt === undefined || peerOfA()); t += 1000) {
      sim.run(1000);
      if (
        goneAt === undefined &&
        !sim
          .node('b')
          .instance.engine.show('originators')
          .some((r) => r.name === 'a')
      )
        goneAt = t;
      if (peerOfA()) lastSeen = t;
    }
    expect(goneAt).toBeGreaterThan(0);
    expect(peerOfA()).toBe(false);
    expect(lastSeen - goneAt!).toBeGreaterThanOrEqual(GRACE - 2000);
    expect(
      plugins
        .get('b')!
        .peers()
        .map((p) => p.name),
    ).toEqual(['c']);
    expect(
      sim
        .node('b')
        .instance.engine.show('wg')
        .map((r) => r.name),
    ).toEqual(['c']);
  });
});

/**
 * crypt-tun on engines in the simulator, with the tun plugin's in-memory data plane and the wg
 * plugin on in-memory WireGuard controls: what each node's policy makes of its tunnels, which
 * WireGuard devices and peers exist, and where the routes go.
 *
 *   c — r — g   (g: a gateway with an uplink network; c: a client; r: a relay)
 */

import { createHash } from 'node:crypto';
import type { PluginChildValues } from '@bmx7/core';
import { wgGeneratePrivateKey, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { createMemoryBackend, createTunPlugin, type TunPlugin, type TunSystemPort } from '@bmx7/plugin-tun';
import {
  createMemoryPqBus,
  createWgPlugin,
  type MemoryPqBus,
  type WgPlugin,
  type WgSystemPort,
} from '@bmx7/plugin-wg';
import {
  type Bmx7Instance,
  createBmx7Factory,
  createSimulation,
  type MemoryFiles,
  type PlainPluginSettings,
  pluginSettings,
  type Simulation,
  testRsaKey,
} from '@bmx7/testkit';
import { createMemoryWgctrl, type MemoryWgctrl } from '@bmx7/wgctrl';
import { describe, expect, it } from 'vitest';
import { type CryptTunPlugin, createCryptTunPlugin } from './plugin.js';

type Settings = PlainPluginSettings;
const settings = pluginSettings;

const gateway = (crypt?: number): Settings => ({
  tunDev: { dflt: { tun6Address: 'fdaa:3::1/64', tun4Address: '10.3.0.1/24' } },
  tunIn: {
    up6: { network: '2001:db8:1::/64', bandwidth: '100M', ...(crypt === undefined ? {} : { crypt }) },
    up4: { network: '192.0.2.0/24', bandwidth: '100M', ...(crypt === undefined ? {} : { crypt }) },
  },
  // the way back to the clients, as for plain tunnels
  tunOut: {
    back6: { network: 'fdaa::/16', minPrefixLen: 0, maxPrefixLen: 128 },
    back4: { network: '10.0.0.0/8', minPrefixLen: 0, maxPrefixLen: 32 },
  },
});
const client = (cryptTun: number): Settings => ({
  tunDev: { dflt: { tun6Address: 'fdaa:1::1/64', tun4Address: '10.1.0.1/24' } },
  tunOut: { up6: { network: '2001:db8:1::/64' }, up4: { network: '192.0.2.0/24' } },
  cryptTun,
});

interface Node {
  tun: TunPlugin;
  wg: WgPlugin;
  crypt: CryptTunPlugin;
  wgctrl: MemoryWgctrl | undefined;
}

/** Pre-shared key files of the simulated nodes (as `wg genpsk` writes them). */
const PSK_FILES = new Map<string, Uint8Array>([
  ['/psk-a', new TextEncoder().encode(`${wgKeyToBase64(new Uint8Array(32).fill(0xa1))}\n`)],
  ['/psk-b', new TextEncoder().encode(`${wgKeyToBase64(new Uint8Array(32).fill(0xb2))}\n`)],
  ['/not-a-key', new TextEncoder().encode('hello\n')],
]);
const readSecretFile = (path: string) => {
  const f = PSK_FILES.get(path);
  if (!f) throw new Error(`${path}: ENOENT`);
  return f;
};

function mesh(
  config: Record<string, Settings>,
  opts: {
    noWireguard?: string[];
    trust?: Record<string, string[]>;
    bus?: MemoryPqBus;
  } = {},
) {
  const nodes = new Map<string, Node>();
  const files = new Map<string, MemoryFiles>();
  // node ids come from the test keys, known before the simulation starts
  const idOf = (n: string) => Buffer.from(testRsaKey(`node:${n}`).id).toString('hex');
  const sim = createSimulation<Bmx7Instance>({
    seed: 'crypt-tun',
    engineFactory: createBmx7Factory({
      init: (name) => {
        const trusted = opts.trust?.[name];
        return trusted ? { trustedNodes: trusted.map((n) => ({ id: idOf(n), trust: 2, support: 2 })) } : {};
      },
      plugins: (name, components, ctx) => {
        files.set(name, ctx.persistent.get('files') as MemoryFiles);
        const system: TunSystemPort & WgSystemPort = {
          addAddress: async () => {},
          removeAddress: async () => {},
          sysctl: () => {},
        };
        const wgctrl = opts.noWireguard?.includes(name) ? undefined : createMemoryWgctrl();
        const wg = createWgPlugin()({
          readSecretFile,
          ...(opts.bus ? { pqTransport: (ip: string) => opts.bus!.transport(ip) } : {}),
          random: (n) => components.random.bytes(n),
          wgctrl: () => wgctrl,
          system,
        });
        const crypt = createCryptTunPlugin()({ wg });
        const tun = createTunPlugin()({ tunnels: createMemoryBackend(), system, crypt: crypt.hook });
        crypt.bindTun(tun);
        nodes.set(name, { tun, wg, crypt, wgctrl });
        return [tun, wg, crypt];
      },
    }),
  });
  sim.fromEdges([
    ['c', 'r'],
    ['r', 'g'],
  ]);
  const configure = (name: string, s: Settings) =>
    sim.node(name).instance.engine.configurePlugins(settings(s));
  for (const [name, s] of Object.entries(config)) configure(name, s);
  sim.start();
  return { sim, nodes, configure, files };
}

async function run(sim: Simulation<Bmx7Instance>, nodes: Map<string, Node>, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 500) {
    sim.run(500);
    for (const n of nodes.values()) {
      await n.tun.settled();
      await n.wg.devices()?.settled();
      await n.tun.settled();
    }
  }
}

const tunnelRoutes = (sim: Simulation<Bmx7Instance>, name: string) =>
  sim
    .routesOf(name)
    .filter((r) => r.dev?.startsWith('X7'))
    .map((r) => `${r.prefix} ${r.dev}`)
    .sort();
const short = (sim: Simulation<Bmx7Instance>, name: string) =>
  sim.node(name).instance.engine.shortId.toUpperCase();

describe('crypt-tun in the simulator', () => {
  it('cryptTun=2: the client tunnels through WireGuard, the gateway answers through its receiving device', async () => {
    const { sim, nodes } = mesh({ g: { ...gateway(), cryptTun: 1 }, c: client(2), r: {} });
    await run(sim, nodes, 30_000);
    const dev = `X7wg_${short(sim, 'g')}`;
    expect(tunnelRoutes(sim, 'c')).toEqual([`192.0.2.0/24 ${dev}`, `2001:db8:1::/64 ${dev}`]);
    // explain: the gateway selected and carried by WireGuard, with the policy's terms
    const up4 = nodes
      .get('c')!
      .tun.explain()
      .searches.find((x) => x.search === 'up4')!;
    expect(up4.candidates[0]).toMatchObject({
      verdict: 'selected',
      tunnel: { dev, crypt: 'encrypted' },
      crypt: { setting: 2, offer: 1, peer: true, decision: 'encrypted', admitted: true },
      rule: { code: 'only' },
    });
    // the client's device: the gateway its one peer, everything allowed, at the gateway's address and port
    const c = nodes.get('c')!;
    const g = nodes.get('g')!;
    const cdev = await c.wgctrl!.getDevice(dev);
    expect(cdev.publicKey).toBe(wgKeyToBase64(c.wg.publicKey()!));
    expect(cdev.peers).toHaveLength(1);
    expect(cdev.peers[0]).toMatchObject({
      publicKey: wgKeyToBase64(g.wg.publicKey()!),
      endpoint: `[${sim.node('g').instance.engine.primaryIp}]:6271`,
      allowedIps: ['0.0.0.0/0', '::/0'],
      persistentKeepalive: 25,
    });
    // the gateway's receiving device: the client allowed its own tunnel networks only, no endpoint
    const gdev = await g.wgctrl!.getDevice('X7wgIn');
    expect(gdev.listenPort).toBe(6271);
    expect(gdev.peers).toEqual([
      expect.objectContaining({
        publicKey: wgKeyToBase64(c.wg.publicKey()!),
        allowedIps: ['10.1.0.0/24', 'fdaa:1::/64'],
      }),
    ]);
    expect(gdev.peers[0]!.endpoint).toBeUndefined();
    // the way back goes into it
    expect(tunnelRoutes(sim, 'g')).toEqual(['10.1.0.0/24 X7wgIn', 'fdaa:1::/64 X7wgIn']);
    // show tunnels says so
    const rows = sim
      .node('c')
      .instance.engine.show('tunnels')
      .filter((r) => r.tunName === dev);
    expect(rows.map((r) => `${r.tunOut} ${r.crypt}`).sort()).toEqual(['up4 encrypted', 'up6 encrypted']);
  });

  it("a gateway's new WireGuard key replaces the peer on the client's device", async () => {
    const { sim, nodes, configure, files } = mesh({ g: { ...gateway(), cryptTun: 1 }, c: client(2), r: {} });
    await run(sim, nodes, 30_000);
    const dev = `X7wg_${short(sim, 'g')}`;
    const peerKey = async () => (await nodes.get('c')!.wgctrl!.getDevice(dev)).peers.map((p) => p.publicKey);
    expect(await peerKey()).toEqual([wgKeyToBase64(nodes.get('g')!.wg.publicKey()!)]);
    const fresh = wgGeneratePrivateKey(() => new Uint8Array(32).fill(9));
    files.get('g')!.write('wg/private.key', new TextEncoder().encode(`${wgKeyToBase64(fresh)}\n`));
    sim.restart('g');
    configure('g', { ...gateway(), cryptTun: 1 });
    await run(sim, nodes, 30_000);
    expect(await peerKey()).toEqual([wgKeyToBase64(wgPublicKey(fresh))]);
    expect(tunnelRoutes(sim, 'c')).toEqual([`192.0.2.0/24 ${dev}`, `2001:db8:1::/64 ${dev}`]);
  });

  it("a gone client keeps its place on the gateway's receiving device for the grace period", async () => {
    const { sim, nodes } = mesh({ g: { ...gateway(), cryptTun: 1 }, c: client(2), r: {} });
    await run(sim, nodes, 30_000);
    const cId = sim.node('c').instance.engine.nodeId;
    const peers = async () => (await nodes.get('g')!.wgctrl!.getDevice('X7wgIn')).peers.length;
    expect(await peers()).toBe(1);
    sim.stop('c');
    const known = () =>
      sim
        .node('g')
        .instance.engine.show('originators')
        .some((r) => r.name === 'c');
    let t = 0;
    for (; known() && t < 600_000; t += 1000) await run(sim, nodes, 1000);
    expect(known(), 'g purged c').toBe(false);
    expect(nodes.get('g')!.wg.peer(cId)).toBeDefined();
    expect(await peers()).toBe(1);
    await run(sim, nodes, 65_000);
    expect(nodes.get('g')!.wg.peer(cId)).toBeUndefined();
    expect(await peers()).toBe(0);
  });

  it("static pre-shared keys: wgPsk on both ends, a search's /wgPsk instead, an unreadable one builds no tunnel", async () => {
    const withPsk = (file: string, search?: string): Settings => {
      const c = client(2);
      const outs = c.tunOut as Record<string, PluginChildValues>;
      return {
        ...c,
        ...(search ? {} : { wgPsk: file }),
        tunOut: search
          ? Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, { ...v, wgPsk: search }]))
          : outs,
      };
    };
    const { sim, nodes, configure } = mesh({
      g: { ...gateway(), cryptTun: 1, wgPsk: '/psk-a' },
      c: withPsk('/psk-a'),
      r: {},
    });
    await run(sim, nodes, 30_000);
    const dev = `X7wg_${short(sim, 'g')}`;
    const psk = async (n: string, d: string) =>
      (await nodes.get(n)!.wgctrl!.getDevice(d)).peers.map((p) => p.hasPresharedKey);
    expect(await psk('c', dev)).toEqual([true]);
    expect(await psk('g', 'X7wgIn')).toEqual([true]);
    const rows = sim
      .node('c')
      .instance.engine.show('wg')
      .filter((r) => r.dev === dev);
    expect(rows.map((r) => r.psk)).toEqual(['static']);
    // the search's own file instead of wgPsk (the key itself never appears in a table)
    configure('c', withPsk('/psk-a', '/psk-b'));
    await run(sim, nodes, 5_000);
    expect(await psk('c', dev)).toEqual([true]);
    expect(JSON.stringify(sim.node('c').instance.engine.show('wg'))).not.toContain(
      wgKeyToBase64(new Uint8Array(32).fill(0xb2)),
    );
    // a file without a key: fail closed, no route
    configure('c', withPsk('/psk-a', '/not-a-key'));
    await run(sim, nodes, 5_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([]);
    // wgPsk itself is checked before it is taken
    expect(nodes.get('c')!.wg.check?.(settings({ wgPsk: '/not-a-key' }))).toMatch(
      /wgPsk: \/not-a-key: holds no base64/,
    );
    expect(nodes.get('c')!.wg.check?.(settings({ wgPsk: '/missing' }))).toMatch(/ENOENT/);
  });

  it('post-quantum PSKs: agreed, equal on both ends, rotated, again after a restart; a tampered RESP installs nothing', async () => {
    let tamper = false;
    let tampered = 0;
    const bus = createMemoryPqBus({
      filter: (_from, _to, payload) => {
        // RESP (type 2): flip a bit of the ciphertext while asked to
        if (!tamper || payload[5] !== 2) return payload;
        tampered++;
        const b = Uint8Array.from(payload);
        b[100]! ^= 1;
        return b;
      },
    });
    const g0 = { ...gateway(), cryptTun: 1, pqPskInterval: 20_000 };
    const c0 = { ...client(2), pqPskInterval: 20_000 };
    const { sim, nodes, configure } = mesh({ g: g0, c: c0, r: {} }, { bus });
    await run(sim, nodes, 30_000);
    const cId = sim.node('c').instance.engine.nodeId;
    const gId = sim.node('g').instance.engine.nodeId;
    const hash = (k: Uint8Array | undefined) =>
      k ? createHash('sha256').update(k).digest('hex') : undefined;
    const keys = () => ({
      c: hash(nodes.get('c')!.wg.pqPsk(gId, 'initiator')?.psk),
      g: hash(nodes.get('g')!.wg.pqPsk(cId, 'responder')?.psk),
      epoch: nodes.get('c')!.wg.pqPsk(gId, 'initiator')?.epoch,
    });
    const first = keys();
    expect(first.c).toBeDefined();
    expect(first.g).toBe(first.c);
    const dev = `X7wg_${short(sim, 'g')}`;
    expect(
      sim
        .node('c')
        .instance.engine.show('wg')
        .find((r) => r.dev === dev),
    ).toMatchObject({ psk: 'pq' });
    expect(
      sim
        .node('g')
        .instance.engine.show('wg')
        .find((r) => r.dev === 'X7wgIn'),
    ).toMatchObject({ psk: 'pq' });
    // no table shows a key
    const table = JSON.stringify(sim.node('c').instance.engine.show('wg'));
    expect(table).not.toContain(
      Buffer.from(nodes.get('c')!.wg.pqPsk(gId, 'initiator')!.psk).toString('base64'),
    );
    // rotation every 20 s
    await run(sim, nodes, 60_000);
    const later = keys();
    expect(later.epoch! - first.epoch!).toBeGreaterThanOrEqual(2);
    expect(later.g).toBe(later.c);
    expect(later.c).not.toBe(first.c);
    // a tampered RESP: nothing installed, the key in use stays, a counter shows it
    tamper = true;
    await run(sim, nodes, 25_000);
    tamper = false;
    expect(tampered).toBeGreaterThan(0);
    const row = sim
      .node('c')
      .instance.engine.show('wg')
      .find((r) => r.dev === dev)!;
    expect(Number(row.pqRefused)).toBeGreaterThan(0);
    expect(keys().c).toBe(later.c);
    expect(keys().g).toBe(later.c);
    // the gateway restarts: the keys are agreed again within one interval
    sim.restart('g');
    configure('g', g0);
    await run(sim, nodes, 20_000);
    const again = keys();
    expect(again.g).toBeDefined();
    expect(again.g).toBe(again.c);
    console.log(
      `post-quantum PSK: ${later.epoch} rotations in 90 s at a 20-s interval, ${tampered} tampered RESPs refused`,
    );
  });

  it('a search requiring a post-quantum PSK builds no tunnel towards a gateway without a KEM key', async () => {
    const bus = createMemoryPqBus();
    const c: Settings = { ...client(2), tunOut: { up6: { network: '2001:db8:1::/64', pq: 1 } } };
    const { sim, nodes, configure } = mesh({ g: { ...gateway(), cryptTun: 1, pqPsk: 0 }, c, r: {} }, { bus });
    await run(sim, nodes, 30_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([]);
    // with a KEM key on the gateway, the tunnel comes once the key is agreed
    sim.restart('g');
    configure('g', { ...gateway(), cryptTun: 1 });
    await run(sim, nodes, 30_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([`2001:db8:1::/64 X7wg_${short(sim, 'g')}`]);
  });

  it('cryptTun=0 stays plain; a runtime change to 2 moves the traffic into WireGuard and back', async () => {
    const { sim, nodes, configure } = mesh({ g: { ...gateway(), cryptTun: 1 }, c: client(0), r: {} });
    await run(sim, nodes, 30_000);
    const plain = `X7Out_${short(sim, 'g')}`;
    const wg = `X7wg_${short(sim, 'g')}`;
    expect(tunnelRoutes(sim, 'c')).toEqual([`192.0.2.0/24 ${plain}`, `2001:db8:1::/64 ${plain}`]);
    // c offers nothing encrypted: the gateway returns plain and has no peer for it
    expect(tunnelRoutes(sim, 'g').every((r) => r.includes('X7Out_'))).toBe(true);
    configure('c', client(2));
    await run(sim, nodes, 10_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([`192.0.2.0/24 ${wg}`, `2001:db8:1::/64 ${wg}`]);
    expect(tunnelRoutes(sim, 'g')).toEqual(['10.1.0.0/24 X7wgIn', 'fdaa:1::/64 X7wgIn']);
    configure('c', client(0));
    await run(sim, nodes, 10_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([`192.0.2.0/24 ${plain}`, `2001:db8:1::/64 ${plain}`]);
    expect(await nodes.get('c')!.wgctrl!.listDevices()).toEqual([]);
  });

  it('cryptTun=2 towards a gateway without WireGuard: no route, no plain tunnel', async () => {
    const { sim, nodes } = mesh(
      { g: { ...gateway(), cryptTun: 1 }, c: client(2), r: {} },
      { noWireguard: ['g'] },
    );
    await run(sim, nodes, 30_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([]);
    expect(
      nodes
        .get('c')!
        .tun.selection()
        ?.searches.every((s) => s.winners.length === 0),
    ).toBe(true);
    // the gateway announces neither a key nor offers
    expect(nodes.get('c')!.wg.peer(sim.node('g').instance.engine.nodeId)).toBeUndefined();
    // explain names the policy's refusal, with its terms
    const up6 = nodes
      .get('c')!
      .tun.explain()
      .searches.find((x) => x.search === 'up6')!;
    expect(up6.winners).toEqual([]);
    const refused = up6.candidates.find((x) => x.network === '2001:db8:1::/64')!;
    expect(refused).toMatchObject({
      verdict: 'excluded',
      crypt: { setting: 2, offer: 0, peer: false, noPeer: 'no-peer', decision: 'none', admitted: false },
      rule: {
        code: 'crypt',
        text: 'excluded: crypt: this search wants WireGuard only (crypt 2), the gateway offers plain only (crypt 0)',
      },
    });
  });

  it('cryptTun=1 falls back to plain towards a gateway without WireGuard', async () => {
    const { sim, nodes } = mesh(
      { g: { ...gateway(), cryptTun: 1 }, c: client(1), r: {} },
      { noWireguard: ['g'] },
    );
    await run(sim, nodes, 30_000);
    const plain = `X7Out_${short(sim, 'g')}`;
    expect(tunnelRoutes(sim, 'c')).toEqual([`192.0.2.0/24 ${plain}`, `2001:db8:1::/64 ${plain}`]);
  });

  it('an encrypted-only gateway (tunIn /crypt=2) gets no plain tunnel from a plain client', async () => {
    const { sim, nodes } = mesh({ g: gateway(2), c: client(0), r: {} });
    await run(sim, nodes, 30_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([]);
    // and the gateway refuses plain tunnel traffic to those networks: from its tunDev, prohibited
    const g = sim.node('g').instance;
    expect(g.rules.list()).toEqual(
      expect.arrayContaining([
        { family: 6, priority: 69, table: 69, iif: 'X7dflt', to: '2001:db8:1::/64' },
        { family: 4, priority: 69, table: 69, iif: 'X7dflt', to: '192.0.2.0/24' },
      ]),
    );
    expect(
      sim
        .routesOf('g')
        .filter((r) => r.table === 69)
        .map((r) => `${r.prefix} ${r.type}`)
        .sort(),
    ).toEqual(['0.0.0.0/0 prohibit', '::/0 prohibit']);
  });

  it('a gateway with trust configured admits no untrusted client as a peer', async () => {
    const { sim, nodes } = mesh(
      { g: { ...gateway(), cryptTun: 1 }, c: client(2), r: {} },
      // g trusts r and itself, not c
      { trust: { g: ['g', 'r'] } },
    );
    await run(sim, nodes, 30_000);
    const g = nodes.get('g')!;
    expect(g.wg.peer(sim.node('c').instance.engine.nodeId)).toBeUndefined();
    const gdev = await g.wgctrl!.getDevice('X7wgIn');
    expect(gdev.peers).toEqual([]);
    // the client still builds its side (it trusts everyone), but the gateway answers nothing
    expect(tunnelRoutes(sim, 'g').some((r) => r.includes('X7wgIn'))).toBe(false);
  });
});

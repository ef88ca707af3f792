/**
 * `bmx7ctl topology --netjson|--dot`, `show topology` and `bmx7ctl explain tunnels [--json]`
 * against bmx7d's control backend and socket, over engines in the simulator (virtual time; the
 * socket and bmx7ctl are real, bmx7ctl a process of its own):
 *
 *        g1 (fdbb::/16 at 100M)
 *       /
 *   c — r          r announces a TOPOLOGY TLV (as the reference's topology plugin does)
 *       \
 *        g2 (fdbb::/16 at 50M)
 *
 * c runs the tun plugin (a search for fdbb::/16 with minBandwidth 1G, so the announced bandwidths
 * decide) and the topology reader. Its backend checks a new configuration as the daemon does
 * (settingsOf and the built-in plugins' checks): runtime changes of crypt-tun's children, which
 * bmx7ctl passes on, are accepted and listed by `parameters`, or refused in one line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeTlvBody, TLV_TYPE, umetricToFm8 } from '@bmx7/codec';
import { type ConfigState, EMPTY_CONFIG, type ExplainTunnelsResult, type NetworkGraph } from '@bmx7/control';
import type { EnginePlugin } from '@bmx7/core';
import { createMemoryBackend, createTunPlugin, type TunPlugin } from '@bmx7/plugin-tun';
import {
  type Bmx7Instance,
  createBmx7Factory,
  createSimulation,
  type PlainPluginSettings,
  pluginSettings,
  type Simulation,
  testRsaKey,
} from '@bmx7/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemonBackend } from './control-backend.js';
import { type ControlServer, startControlServer } from './control-server.js';
import { createDaemonLogger } from './log.js';
import { daemonOptionTable, settingsOf } from './options.js';
import { BUILTIN_PLUGINS, checkPluginSettings } from './plugins.js';
import { ctlArgv } from './test/helpers.js';
import { networkGraphErrors } from './test/netjson.js';
import { createTopologyReader, type TopologyReader } from './topology.js';

const run = promisify(execFile);

const gateway = (n: number, bandwidth: string): PlainPluginSettings => ({
  tunDev: { dflt: { tun6Address: `fdaa:${n}::1/64` } },
  tunIn: { net6: { network: 'fdbb::/16', bandwidth } },
});
const client: PlainPluginSettings = {
  tunDev: { dflt: { tun6Address: 'fdaa:9::1/64' } },
  tunOut: { v6: { network: 'fdbb::/16', minBandwidth: '1G' } },
};

const idOf = (n: string) => Buffer.from(testRsaKey(`node:${n}`).id);
const hexOf = (n: string) => idOf(n).toString('hex').toUpperCase();

/** r's TOPOLOGY: its links to g1 and g2, as the reference's topology plugin announces them. */
const announcer: EnginePlugin = {
  name: 'topology-announcer',
  attach(h) {
    h.registerTlv(TLV_TYPE.TOPOLOGY, {
      produce: () =>
        encodeTlvBody({
          type: TLV_TYPE.TOPOLOGY,
          topoType: 0,
          reserved: 0,
          links: ['g1', 'g2'].map((g, i) => ({
            nbId: idOf(g),
            nbDescSqn: 0,
            nbIdx: 0,
            idx: i,
            txBw: umetricToFm8(1e9),
            rxBw: umetricToFm8(1e9),
            tq: 255,
            rq: 255,
            signal: 0,
            noise: 0,
            channel: 0,
            reserved1: 0,
            reserved2: 0,
          })),
        }),
    });
  },
};

describe('topology and explain through the control socket and bmx7ctl (simulated mesh)', () => {
  let sim: Simulation<Bmx7Instance>;
  let tun: TunPlugin;
  let reader: TopologyReader;
  let server: ControlServer;
  let dir: string;
  let state: ConfigState = EMPTY_CONFIG;
  const ctl = async (...args: string[]) => {
    const r = await run(process.execPath, ctlArgv(['--runtime-dir', dir, ...args]), {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return r.stdout;
  };

  beforeAll(async () => {
    sim = createSimulation<Bmx7Instance>({
      seed: 'observe-ctl',
      engineFactory: createBmx7Factory({
        plugins: (name) => {
          if (name === 'r') return [announcer];
          const t = createTunPlugin()({
            tunnels: createMemoryBackend(),
            system: { addAddress: async () => {}, removeAddress: async () => {}, sysctl: () => {} },
          });
          if (name !== 'c') return [t];
          tun = t;
          reader = createTopologyReader();
          return [t, reader];
        },
      }),
    });
    sim.fromEdges([
      ['c', 'r'],
      ['r', 'g1'],
      ['r', 'g2'],
    ]);
    const settings: Record<string, PlainPluginSettings> = {
      g1: gateway(1, '100M'),
      g2: gateway(2, '50M'),
      c: client,
    };
    for (const [n, s] of Object.entries(settings))
      sim.node(n).instance.engine.configurePlugins(pluginSettings(s));
    sim.start();
    for (let t = 0; t < 30_000; t += 500) {
      sim.run(500);
      await tun.settled();
    }
    const engine = sim.node('c').instance.engine;
    const plugins = new Map<string, EnginePlugin>([
      ['tun', tun],
      ['topology', reader],
    ]);
    const table = daemonOptionTable(BUILTIN_PLUGINS);
    const backend = createDaemonBackend({
      engine,
      options: table,
      absent: table,
      host: {
        revision: '0000000',
        devs: [{ name: 'eth0', up: true, rateMax: 1_000_000_000n, channel: 0 }],
        cpuPercent: () => 0,
        memKb: () => 0,
      },
      logger: createDaemonLogger(-1, () => {}),
      version: 'bmx7d-test',
      revision: '0000000',
      // the daemon's own check of a configuration (daemon.ts derive), and a configuration in force
      config: () => state,
      check: (next) => {
        settingsOf(next, { hostname: 'c' });
        checkPluginSettings(next, BUILTIN_PLUGINS);
      },
      adopt: (next) => {
        settingsOf(next, { hostname: 'c' });
        checkPluginSettings(next, BUILTIN_PLUGINS);
        state = next;
      },
      compatibility: () => 21,
      plugin: (name) => plugins.get(name),
      metric: () => undefined,
    });
    dir = mkdtempSync(join(tmpdir(), 'bmx7d-observe-'));
    server = await startControlServer({ path: join(dir, 'sock'), backend, serverVersion: 'test' });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('topology --netjson: a valid NetworkGraph of links, routes and announced links', async () => {
    const g = JSON.parse(await ctl('topology', '--netjson')) as NetworkGraph;
    expect(networkGraphErrors(g)).toEqual([]);
    const name = new Map(g.nodes.map((n) => [n.id, n.label]));
    expect(g.router_id).toBe(hexOf('c'));
    expect([...name.values()].sort()).toEqual(['c', 'g1', 'g2', 'r']);
    const edges = g.links
      .map((l) => `${l.properties?.type} ${name.get(l.source)}>${name.get(l.target)}`)
      .sort();
    expect(edges).toEqual(['announced r>g1', 'announced r>g2', 'link c>r', 'route c>g1', 'route c>g2']);
    const route = g.links.find((l) => l.target === hexOf('g1'))!;
    expect(route.properties).toMatchObject({ via: hexOf('r'), hops: 2 });
    // --json gives the same graph
    expect(JSON.parse(await ctl('--json', 'topology', '--netjson'))).toEqual(g);
  }, 60_000);

  it('topology --dot: the same nodes and edges for Graphviz', async () => {
    const dot = await ctl('topology', '--dot');
    expect(dot.startsWith('digraph "BMX7" {\n')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    expect(dot.match(/ -> /g)).toHaveLength(5);
    for (const n of ['c', 'g1', 'g2', 'r'])
      expect(dot).toContain(`"${hexOf(n)}" [label="${n}\\n${hexOf(n).slice(0, 8)}"`);
  }, 60_000);

  it("show topology: the reference's table from r's announcement", async () => {
    const rows = JSON.parse(await ctl('show', 'topology', '--json')).rows as Record<string, unknown>[];
    expect(rows.map((r) => [r.name, r.neighName])).toEqual([
      ['r', 'g1'],
      ['r', 'g2'],
    ]);
  }, 60_000);

  it('explain tunnels: g1 selected above g2 by their announced bandwidths; --json the same as data', async () => {
    const e = JSON.parse(await ctl('explain', 'tunnels', '--json')) as ExplainTunnelsResult;
    expect(e.subject).toBe('tunnels');
    const v6 = e.searches.find((s) => s.search === 'v6')!;
    const candidates = v6.candidates.filter((c) => c.verdict !== 'excluded');
    expect(candidates.map((c) => `${c.verdict} ${c.gateway.name} ${c.rule.code}`)).toEqual([
      'selected g1 bandwidth',
      'beaten g2 bandwidth',
    ]);
    expect(candidates[0]!.terms).toMatchObject({ inUse: true, hysteresis: 20, hops: 2 });
    expect(candidates[0]!.tunnel).toMatchObject({ crypt: 'plain' });
    const text = await ctl('explain', 'tunnels');
    expect(text.split('\n')[0]).toMatch(
      /^tunOut=v6 \/network=fdbb::\/16: g1 \[[0-9A-F]{8}\] fdbb::\/16 in X7Out_/,
    );
    expect(text).toContain('   2 beaten   g2 [');
    expect(text).toMatch(/below g1: g2's announced bandwidth \S+ is below minBandwidth/);
    // the gateways' own tunDev networks are listed as excluded, with the reason
    expect(text).toContain('excluded: outside the searched network fdbb::/16');
  }, 60_000);

  it("bmx7ctl -c changes crypt-tun's children and wider ranges at runtime; the daemon judges them", async () => {
    const psk = join(dir, 'search.psk');
    await ctl(
      '-c',
      'tunOut=x',
      '/network=10.0.0.0/8',
      '/crypt=2',
      '/pq=1',
      `/wgPsk=${psk}`,
      '/hysteresis=50000',
      '/rating=2000',
      'tunIn=y',
      '/network=192.0.2.0/24',
      '/crypt=1',
    );
    const params = JSON.parse(await ctl('--json', '-c', 'parameters')) as {
      parameters: { name: string; value: string; children?: { name: string; value: string }[] }[];
    };
    const of = (name: string, value: string) =>
      Object.fromEntries(
        (params.parameters.find((p) => p.name === name && p.value === value)?.children ?? []).map((c) => [
          c.name,
          c.value,
        ]),
      );
    expect(of('tunOut', 'x')).toMatchObject({
      network: '10.0.0.0/8',
      crypt: '2',
      pq: '1',
      wgPsk: psk,
      hysteresis: '50000',
      rating: '2000',
    });
    expect(of('tunIn', 'y')).toMatchObject({ network: '192.0.2.0/24', crypt: '1' });
    // and in the reference's table of parameters, with the default beside a changed child
    const text = await ctl('-c', 'parameters');
    expect(text).toMatch(/^ tunOut +x +\(\) *$/m);
    expect(text).toMatch(/^ {4}\/crypt +2 +\(\) *$/m);
    expect(text).toMatch(/^ {4}\/hysteresis +50000 +\(20\) *$/m);
    // what the daemon refuses: one line, exit status 1, and the configuration stays
    const refused = await ctl('-c', 'tunOut=x', '/crypt=3').then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused?.stderr).toBe('bmx7ctl: tunOut /crypt: 3 is out of range 0..2\n');
    expect(state.get('tunOut')).toMatchObject({ kind: 'multi' });
  }, 60_000);
});

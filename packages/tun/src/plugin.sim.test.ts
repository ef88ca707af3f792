/**
 * The tun plugin on engines in the simulator, with the in-memory data plane: gateways announce,
 * clients select and route into a dedicated tunnel; failover when the selected gateway leaves or
 * falls behind; hysteresis keeps a client on its gateway across small changes.
 *
 *        g1 (fdbb::/16 and 192.0.2.0/24 at 100M)
 *       /
 *   c — r
 *       \
 *        g2 (the same at 50M)
 */
import type { PluginChildValues } from '@bmx7/core';
import {
  type Bmx7Instance,
  createBmx7Factory,
  createSimulation,
  type PlainPluginSettings,
  pluginSettings,
  type Simulation,
} from '@bmx7/testkit';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend, type MemoryBackend } from './dataplane/memory.js';
import { createTunPlugin, type TunPlugin, type TunSystemPort } from './plugin.js';

type Settings = PlainPluginSettings;
const settings = pluginSettings;

const gateway = (n: number, bandwidth: string): Settings => ({
  tunDev: { dflt: { tun6Address: `fdaa:${n}::1/64`, tun4Address: `10.${n}.0.1/24` } },
  tunIn: { net6: { network: 'fdbb::/16', bandwidth }, net4: { network: '192.0.2.0/24', bandwidth } },
});
const client: Settings = {
  tunDev: { dflt: { tun6Address: 'fdaa:9::1/64', tun4Address: '10.9.0.1/24' } },
  // bandwidths below minBandwidth count as announced (above it, only the path metric counts)
  tunOut: {
    v6: { network: 'fdbb::/16', minBandwidth: '1G' },
    v4: { network: '192.0.2.0/24', minBandwidth: '1G' },
  },
};

function mesh(config: Record<string, Settings>) {
  const plugins = new Map<string, TunPlugin>();
  const backends = new Map<string, MemoryBackend>();
  const addresses = new Map<string, string[]>();
  const sim = createSimulation({
    seed: 'tun',
    engineFactory: createBmx7Factory({
      plugins: (name) => {
        const log: string[] = [];
        addresses.set(name, log);
        const system: TunSystemPort = {
          addAddress: async (dev, prefix, o) =>
            void log.push(`+${dev} ${prefix}${o?.deprecated ? ' deprecated' : ''}`),
          removeAddress: async (dev, prefix) => void log.push(`-${dev} ${prefix}`),
          sysctl: () => {},
        };
        const tunnels = createMemoryBackend();
        backends.set(name, tunnels);
        const p = createTunPlugin()({ tunnels, system });
        plugins.set(name, p);
        return [p];
      },
    }),
  });
  sim.fromEdges([
    ['c', 'r'],
    ['r', 'g1'],
    ['r', 'g2'],
  ]);
  const configure = (name: string, s: Settings) =>
    sim.node(name).instance.engine.configurePlugins(settings(s));
  for (const [name, s] of Object.entries(config)) configure(name, s);
  sim.start();
  return { sim, plugins, backends, addresses, configure };
}

/** Runs the simulation, letting the plugins' asynchronous work finish between steps. */
async function run(
  sim: Simulation<Bmx7Instance>,
  plugins: Map<string, TunPlugin>,
  ms: number,
): Promise<void> {
  for (let t = 0; t < ms; t += 500) {
    sim.run(500);
    for (const p of plugins.values()) await p.settled();
  }
}

const tunnelRoutes = (sim: Simulation<Bmx7Instance>, name: string) =>
  sim
    .routesOf(name)
    .filter((r) => r.dev?.startsWith('X7'))
    .map((r) => `${r.prefix} ${r.dev} ${r.table ?? ''} ${r.src ?? ''}`.trim())
    .sort();

const shortOf = (sim: Simulation<Bmx7Instance>, name: string) =>
  sim.node(name).instance.engine.shortId.toUpperCase();

describe('tun plugin in the simulator', () => {
  it('the client selects the better gateway, routes both families into its tunnel, and fails over', async () => {
    const { sim, plugins, backends, addresses } = mesh({
      g1: gateway(1, '100M'),
      g2: gateway(2, '50M'),
      c: client,
      r: {},
    });
    await run(sim, plugins, 30_000);
    const dev1 = `X7Out_${shortOf(sim, 'g1')}`;
    expect(tunnelRoutes(sim, 'c')).toEqual([
      `192.0.2.0/24 ${dev1} 254 10.9.0.1`,
      `fdbb::/16 ${dev1} 254 fdaa:9::1`,
    ]);
    // the outer source is g1's endpoint, on the device, deprecated; the inner sources too
    const endpoint1 = plugins.get('g1')!.selection(); // a gateway selects nothing itself
    expect(endpoint1?.searches).toEqual([]);
    expect(addresses.get('c')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^\\+${dev1} fd7[1-9a-f]:.*/128 deprecated$`)),
      ]),
    );
    // the gateways have their own devices with their addresses, and route nothing into tunnels
    expect(addresses.get('g1')).toEqual(
      expect.arrayContaining(['+X7dflt fdaa:1::1/64', '+X7dflt 10.1.0.1/24']),
    );
    expect(tunnelRoutes(sim, 'g1')).toEqual([]);
    const rows = sim.node('c').instance.engine.show('tunnels');
    expect(
      rows
        .filter((r) => r.tunName === dev1)
        .map((r) => r.tunOut)
        .sort(),
    ).toEqual(['v4', 'v6']);
    // g1 leaves: once c purges it, both searches move to g2
    const dev2 = `X7Out_${shortOf(sim, 'g2')}`;
    sim.stop('g1');
    await run(sim, plugins, 120_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([
      `192.0.2.0/24 ${dev2} 254 10.9.0.1`,
      `fdbb::/16 ${dev2} 254 fdaa:9::1`,
    ]);
    // and the device to g1 is gone
    expect(
      backends
        .get('c')!
        .list()
        .map((d) => d.name)
        .sort(),
    ).toEqual(['X7dflt', dev2].sort());
  });

  it('hysteresis keeps the client on its gateway across a small change, a large one moves it', async () => {
    const { sim, plugins, configure } = mesh({
      g1: gateway(1, '100M'),
      g2: gateway(2, '50M'),
      c: client,
      r: {},
    });
    await run(sim, plugins, 30_000);
    const dev1 = `X7Out_${shortOf(sim, 'g1')}`;
    const dev2 = `X7Out_${shortOf(sim, 'g2')}`;
    expect(tunnelRoutes(sim, 'c').every((r) => r.includes(dev1))).toBe(true);
    // explain: per search, g1 selected in its tunnel above g2 by the bandwidth both announce below minBandwidth
    const explained = () =>
      plugins
        .get('c')!
        .explain()
        .searches.find((e) => e.search === 'v6')!;
    const first = explained();
    // (the gateways' own tunDev networks, fdaa:N::/64, lie outside the searched one)
    expect(first.candidates.map((x) => `${x.verdict} ${x.gateway.name} ${x.rule.code}`)).toEqual([
      'selected g1 bandwidth',
      'beaten g2 bandwidth',
      'excluded g1 network',
      'excluded g2 network',
    ]);
    expect(first.candidates[0]!.tunnel).toEqual({ dev: dev1, crypt: 'plain' });
    expect(first.candidates[0]!.terms).toMatchObject({ inUse: true, hysteresis: 20 });
    // g2 announces a little more than g1: within the default hysteresis, c stays
    configure('g2', gateway(2, '110M'));
    await run(sim, plugins, 20_000);
    expect(tunnelRoutes(sim, 'c').every((r) => r.includes(dev1))).toBe(true);
    expect(explained().candidates.map((x) => `${x.verdict} ${x.gateway.name} ${x.rule.code}`)).toEqual([
      'selected g1 hysteresis',
      'beaten g2 hysteresis',
      'excluded g1 network',
      'excluded g2 network',
    ]);
    // twice as much: c moves
    configure('g2', gateway(2, '250M'));
    await run(sim, plugins, 20_000);
    expect(tunnelRoutes(sim, 'c').every((r) => r.includes(dev2))).toBe(true);
    expect(tunnelRoutes(sim, 'c')).toHaveLength(2);
    expect(explained().candidates.map((x) => `${x.verdict} ${x.gateway.name}`)).toEqual([
      'selected g2',
      'beaten g1',
      'excluded g1',
      'excluded g2',
    ]);
  });

  it("a network on a gateway's second tunDev gets a device whose name fits, beside the first tunDev's", async () => {
    // g1 announces fdbb::/16 through its first tunDev (tun6Id 0) and fdcc::/16 through its second
    const twoDevs: Settings = {
      tunDev: {
        a: { tun6Address: 'fdaa:1::1/64', tun4Address: '10.1.0.1/24' },
        b: { tun6Address: 'fdab:1::1/64' },
      },
      tunIn: {
        net6: { network: 'fdbb::/16', bandwidth: '100M' },
        other6: { network: 'fdcc::/16', bandwidth: '100M', tunDev: 'X7b' },
      },
    };
    const searches: Settings = {
      tunDev: client.tunDev as Record<string, PluginChildValues>,
      tunOut: { v6: { network: 'fdbb::/16' }, other6: { network: 'fdcc::/16' } },
    };
    const { sim, plugins, backends } = mesh({ g1: twoDevs, c: searches, r: {}, g2: {} });
    await run(sim, plugins, 30_000);
    const id = shortOf(sim, 'g1');
    const first = `X7Out_${id}`;
    const second = `X7Out1_${id.slice(0, 7)}`;
    expect(tunnelRoutes(sim, 'c')).toEqual([
      `fdbb::/16 ${first} 254 fdaa:9::1`,
      `fdcc::/16 ${second} 254 fdaa:9::1`,
    ]);
    expect(
      backends
        .get('c')!
        .list()
        .map((d) => d.name)
        .sort(),
    ).toEqual(['X7dflt', first, second].sort());
  });

  it('tableRule puts the routes into its table, with a rule of its preference', async () => {
    const tabled: Settings = {
      ...client,
      tunOut: { v6: { network: 'fdbb::/16', tableRule: '30000/60' } },
    };
    const { sim, plugins } = mesh({ g1: gateway(1, '100M'), c: tabled, r: {}, g2: {} });
    await run(sim, plugins, 30_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([`fdbb::/16 X7Out_${shortOf(sim, 'g1')} 60 fdaa:9::1`]);
    expect(sim.node('c').instance.rules.list()).toEqual([{ family: 6, priority: 30000, table: 60 }]);
    sim.stop('c');
    expect(sim.node('c').instance.rules.list()).toEqual([]);
  });

  it('a search without a matching gateway routes nothing; removing the search removes its tunnel', async () => {
    const { sim, plugins, configure } = mesh({ g1: gateway(1, '100M'), c: client, r: {}, g2: {} });
    await run(sim, plugins, 30_000);
    expect(tunnelRoutes(sim, 'c')).toHaveLength(2);
    configure('c', {
      tunDev: client.tunDev as Record<string, PluginChildValues>,
      tunOut: { v6: { network: 'fdcc::/16' } },
    });
    await run(sim, plugins, 5_000);
    expect(tunnelRoutes(sim, 'c')).toEqual([]);
    expect(
      sim
        .node('c')
        .instance.engine.show('tunnels')
        .some((r) => r.tunOut === 'v6'),
    ).toBe(true);
  });
});

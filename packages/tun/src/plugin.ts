/**
 * The tun plugin (docs/protocol.md §4.14), `createTunPlugin(init)(components)`:
 *
 * - gateway side: each `tunDev` is a device of its own (local end the primary address, remote end
 *   its endpoint) carrying its `tun4Address`/`tun6Address`; the description announces the
 *   endpoints (TUN6, and HNA6 /128 with flag 0x01), the devices' networks and the `tunIn` networks
 *   (TUNxIN6_NET), and ingress prefixes where configured;
 * - client side: each `tunOut` search picks gateways from every node's announcements
 *   (selection.ts); a winner gets a dedicated device `<tunDevName>Out_<gateway short id>` (outer
 *   source the gateway's endpoint, or with tunRealSrc the own primary address; outer destination
 *   the gateway's primary address) and its network is routed into it, in the table and rule
 *   preference of `tableRule`. Devices are made when a gateway is selected and removed when it is
 *   not any more: the reference's catch-all device only delays that until traffic shows up.
 *   Device names are names.ts's.
 *
 * Work on the system (devices, addresses) is asynchronous and done one step at a time by
 * `reconcile`, which compares what the selection wants with what exists; routes and rules go
 * through the plugin host, journaled and withdrawn by the daemon like its own.
 */
import { decodeTlvBody, ip6FromString, ip6ToString, TLV_TYPE } from '@bmx7/codec';
import type { EnginePlugin, PluginHost, PluginSettings, Route, Rule, ShowRows } from '@bmx7/core';
import type { Tunnel, TunnelBackend, TunnelSpec } from './dataplane/types.js';
import { type TunnelContributions, tunnelContributions } from './description.js';
import { type CryptTerms, type ExplainInput, explainSelection, type TunnelsExplanation } from './explain.js';
import { outDeviceName } from './names.js';
import { addressToString, type Family, maskAddress, type Prefix, prefixToString } from './net.js';
import {
  EXPORT_DISTANCE_NONE,
  parseTunSettings,
  TUN_PLUGIN_OPTIONS,
  type TunConfig,
  TunConfigError,
  type TunOutConfig,
} from './options.js';
import {
  type ActiveTunnel,
  type AnnouncedNet,
  type Candidate,
  type GatewayAnnouncement,
  type SelectionResult,
  selectGateways,
} from './selection.js';
import { tunnelRows } from './tables.js';

/** Addresses and sysctls on the system; the daemon journals them and undoes them when it stops. */
export interface TunSystemPort {
  /** Adds `prefix` (address/len, either family) to a device; `deprecated`: never chosen as a source. */
  addAddress(dev: string, prefix: string, options?: { deprecated?: boolean }): Promise<void>;
  removeAddress(dev: string, prefix: string): Promise<void>;
  /** Sets a sysctl below /proc/sys (restored when the daemon stops). */
  sysctl(path: string, value: string): void;
}

export interface TunComponents {
  /** The data plane: kernel ip6tnl or its userspace twin (the daemon chooses), memory in simulations. */
  readonly tunnels: TunnelBackend;
  readonly system: TunSystemPort;
  /** crypt-tun: which gateways a search may use, and which tunnels go into WireGuard instead. */
  readonly crypt?: TunCryptHook;
}

/** How a selected tunnel is carried: the plugin's own ip6tnl, or a device crypt-tun made. */
export type TunnelCarrier = { readonly kind: 'plain' } | { readonly kind: 'encrypted'; readonly dev: string };

/**
 * The hook crypt-tun (@bmx7/plugin-crypt-tun) plugs into the selection and the data plane: the
 * selection stays this plugin's, constrained by `admit`; `carry` gets every winner of a selection
 * and makes what the encrypted ones need before their routes are set.
 */
export interface TunCryptHook {
  /** Whether the search may use the gateway's network (false: it is left out of the selection). */
  admit(search: TunOutConfig, gateway: GatewayAnnouncement, net: AnnouncedNet): boolean;
  /**
   * The decision behind `admit`, with its terms (`explain tunnels`); when given, the selection asks
   * it instead of `admit` and uses its `admitted`, so the explanation is the decision that was made.
   */
  terms?(search: TunOutConfig, gateway: GatewayAnnouncement, net: AnnouncedNet): CryptTerms;
  /** How each winner is carried; a winner left out of the map gets no route (not ready yet). */
  carry(winners: readonly Candidate[]): Promise<ReadonlyMap<Candidate, TunnelCarrier>>;
  /** The plugin's configuration, at attach and after every accepted change of its options. */
  configured?(config: TunConfig): void;
  /** How many characters its device names add to tunDevName at most (the option check leaves room). */
  readonly deviceSuffixLength?: number;
}

export interface TunPluginInit {
  /** The core's tablePrefHnas and tableHnas (default 70 and 70): tableRule must stay clear of them. */
  readonly hnaRulePref?: number;
  readonly hnaTable?: number;
  /** Device MTU when tunMtu is 0 (the reference leaves the kernel's: 1452 for ip6tnl). */
  readonly defaultMtu?: number;
}

/** The plugin, with what the daemon needs beyond the engine's plugin interface. */
export interface TunPlugin extends EnginePlugin {
  /** Removes every device the plugin made (the daemon awaits it when it stops). */
  close(): Promise<void>;
  /** Resolves once the system matches the current selection (tests). */
  settled(): Promise<void>;
  /** The current selection (the `tunnels` table reads it). */
  selection(): SelectionResult | undefined;
  /** Why the current selection chose what it did (`bmx7ctl explain tunnels`, explain.ts). */
  explain(): TunnelsExplanation;
  /** Selects again soon (crypt-tun calls it when what its hook decides on changed). */
  reselect(): void;
}

/** The description TLVs the plugin owns (TUN6 … TUN6IN6_NET). */
const TUN_TLVS = [
  TLV_TYPE.TUN6,
  TLV_TYPE.TUN4IN6_INGRESS,
  TLV_TYPE.TUN6IN6_INGRESS,
  TLV_TYPE.TUN4IN6_SRC,
  TLV_TYPE.TUN6IN6_SRC,
  TLV_TYPE.TUN4IN6_NET,
  TLV_TYPE.TUN6IN6_NET,
] as const;

/** ip6tnl's default MTU (1500 − 40 − 8 for the encapsulation limit option). */
const IP6TNL_MTU = 1452;
const MAIN_TABLE = 254;
const DEFAULT_RULE_PREF = 32767;

interface WantedDevice {
  spec: TunnelSpec;
  /** address/len → deprecated */
  addresses: Map<string, boolean>;
}

const hostPrefix = (family: Family, address: Uint8Array): string =>
  `${prefixToString({ family, address, len: family === 4 ? 32 : 128 })}`;

/** Another node's announcements, decoded from its TLVs (undefined: it announces no tunnel). */
function gatewayOf(
  host: PluginHost,
  id: string,
  bodies: (type: number) => Uint8Array | undefined,
): GatewayAnnouncement | undefined {
  const node = host.node(id);
  const tun6 = bodies(TLV_TYPE.TUN6);
  if (!node || !tun6) return undefined;
  const t6 = decodeTlvBody(TLV_TYPE.TUN6, tun6);
  if (!t6.ok || t6.value.type !== TLV_TYPE.TUN6) return undefined;
  const nets: AnnouncedNet[] = [];
  const ingress: { tun6Id: number; prefix: Prefix }[] = [];
  for (const [type, family] of [
    [TLV_TYPE.TUN4IN6_NET, 4],
    [TLV_TYPE.TUN6IN6_NET, 6],
  ] as const) {
    const b = bodies(type);
    const r = b && decodeTlvBody(type, b);
    if (!r?.ok || (r.value.type !== TLV_TYPE.TUN4IN6_NET && r.value.type !== TLV_TYPE.TUN6IN6_NET)) continue;
    for (const e of r.value.entries)
      nets.push({
        tun6Id: e.tun6Id,
        protoType: e.protoType,
        bandwidth: e.bandwidth,
        network: { family, address: maskAddress(e.network, e.networkLen), len: e.networkLen },
      });
  }
  for (const [type, family] of [
    [TLV_TYPE.TUN4IN6_INGRESS, 4],
    [TLV_TYPE.TUN6IN6_INGRESS, 6],
  ] as const) {
    const b = bodies(type);
    const r = b && decodeTlvBody(type, b);
    if (!r?.ok || (r.value.type !== TLV_TYPE.TUN4IN6_INGRESS && r.value.type !== TLV_TYPE.TUN6IN6_INGRESS))
      continue;
    for (const e of r.value.entries)
      ingress.push({ tun6Id: e.tun6Id, prefix: { family, address: e.prefix, len: e.prefixLen } });
  }
  let primaryIp: Uint8Array;
  try {
    primaryIp = ip6FromString(node.primaryIp);
  } catch {
    return undefined;
  }
  return {
    id,
    name: node.name,
    primaryIp,
    pathMetric: node.via ? node.metric : 0,
    hops: node.hops,
    endpoints: t6.value.endpoints,
    ingress,
    nets,
  };
}

/**
 * Why the settings of the tun options are refused, naming the option; undefined when they are fine.
 * `/crypt` needs crypt-tun (`crypt: true`: the caller runs the plugin with a crypt hook).
 */
export function checkTunSettings(
  next: PluginSettings,
  init: TunPluginInit = {},
  opts: { crypt?: boolean; derivedSuffixLength?: number } = {},
): string | undefined {
  let config: TunConfig;
  try {
    config = parseTunSettings(next, {
      ...(init.hnaRulePref === undefined ? {} : { hnaRulePref: init.hnaRulePref }),
      ...(init.hnaTable === undefined ? {} : { hnaTable: init.hnaTable }),
      ...(opts.derivedSuffixLength === undefined ? {} : { derivedSuffixLength: opts.derivedSuffixLength }),
    });
  } catch (e) {
    return e instanceof TunConfigError ? e.message : String(e);
  }
  if (!opts.crypt) {
    const t = [...config.tunIns, ...config.tunOuts].find((x) => x.crypt !== undefined);
    if (t)
      return `${config.tunIns.includes(t as never) ? 'tunIn' : 'tunOut'}=${t.name} /crypt: needs the crypt-tun plugin`;
    const o = config.tunOuts.find((x) => x.wgPsk !== undefined || x.pq !== undefined);
    if (o) return `tunOut=${o.name} /${o.wgPsk !== undefined ? 'wgPsk' : 'pq'}: needs the crypt-tun plugin`;
  }
  return unsupported(config);
}

/**
 * Settings this plugin does not carry out are refused rather than ignored. It makes a tunnel as soon
 * as a gateway is selected, so the reference's catch-all device and its timers have nothing to do;
 * routes are not exported to other routing protocols, carry no protocol type of their own, and
 * srcNet takes part in matching only.
 */
function unsupported(c: TunConfig): string | undefined {
  const catchAll = 'bmx7d makes the tunnel when a gateway is selected (no catch-all device)';
  if (!c.proactiveTunRoutes) return `proactiveTunRoutes: only 1: ${catchAll}`;
  if (c.tunOutTimeout !== 60000) return `tunOutTimeout: only the default 60000: ${catchAll}`;
  if (c.tunCatchDelay !== 100) return `tunCatchDelay: only the default 100: ${catchAll}`;
  for (const o of c.tunOuts) {
    const where = `tunOut=${o.name}`;
    if (o.exportOnly || o.exportDistance !== EXPORT_DISTANCE_NONE)
      return `${where} /exportOnly /exportDistance: route export to other protocols is not implemented`;
    if (o.setProto !== 0) return `${where} /setProto: routes carry bmx7d's own protocol type`;
    if (o.srcNet) return `${where} /srcNet: source routing into tunnels is not implemented`;
  }
  return undefined;
}

export function createTunPlugin(init: TunPluginInit = {}): (components: TunComponents) => TunPlugin {
  return (components) => {
    const { tunnels, system } = components;
    const suffix = components.crypt?.deviceSuffixLength;
    const parseOptions = {
      ...(init.hnaRulePref === undefined ? {} : { hnaRulePref: init.hnaRulePref }),
      ...(init.hnaTable === undefined ? {} : { hnaTable: init.hnaTable }),
      ...(suffix === undefined ? {} : { derivedSuffixLength: suffix }),
    };
    const checkOptions = {
      crypt: !!components.crypt,
      ...(suffix === undefined ? {} : { derivedSuffixLength: suffix }),
    };
    let host: PluginHost | undefined;
    let config: TunConfig = parseTunSettings(new Map(), parseOptions);
    let contributions: TunnelContributions | undefined;
    let result: SelectionResult | undefined;
    /** What the current selection was made from, crypt-tun's answers included (for `explain`). */
    let made: ExplainInput | undefined;
    let running = false;
    /** Devices as they are now (made by this plugin), and their addresses. */
    const devices = new Map<string, { tunnel: Tunnel; addresses: Map<string, boolean> }>();
    /** Which device carries each selected candidate (the tunnels table). */
    const deviceOfCandidate = new Map<Candidate, string>();
    /** The selected candidates carried by WireGuard (crypt-tun). */
    const encrypted = new Set<Candidate>();
    let active: ActiveTunnel[] = [];
    let rulesSet = false;
    let work: Promise<void> = Promise.resolve();
    let again = false;
    let pending = false;

    const log = (level: 0 | 3 | 4, msg: string, fields?: Record<string, unknown>) =>
      host?.log(level, msg, fields);

    const contributionsOf = (): TunnelContributions | undefined => {
      if (!host) return undefined;
      contributions ??= tunnelContributions(config, ip6FromString(host.self().primaryIp));
      return contributions;
    };

    const gateways = (): GatewayAnnouncement[] => {
      if (!host) return [];
      const h = host;
      const byType = new Map(TUN_TLVS.map((t) => [t, h.tlvs(t)] as const));
      const out: GatewayAnnouncement[] = [];
      for (const id of byType.get(TLV_TYPE.TUN6)?.keys() ?? []) {
        const g = gatewayOf(h, id, (type) => byType.get(type as (typeof TUN_TLVS)[number])?.get(id));
        if (g) out.push(g);
      }
      return out;
    };

    /** The devices, addresses, routes and rules the configuration and the selection want. */
    const wanted = (
      carriers: ReadonlyMap<Candidate, TunnelCarrier> | undefined,
    ): { devices: Map<string, WantedDevice>; routes: Route[]; rules: Rule[] } => {
      const devs = new Map<string, WantedDevice>();
      const routes: Route[] = [];
      const rules = new Map<string, Rule>();
      const c = contributionsOf();
      if (!host || !c) return { devices: devs, routes, rules: [] };
      const mtu = config.tunMtu || init.defaultMtu || IP6TNL_MTU;
      const primary = host.self().primaryIp;
      // gateway side: one device per tunDev, carrying its addresses
      for (const t of c.tunDevs) {
        const addresses = new Map<string, boolean>();
        if (t.dev.tun6Address) addresses.set(prefixToString(t.dev.tun6Address.address), false);
        if (t.dev.tun4Address) addresses.set(prefixToString(t.dev.tun4Address.address), false);
        devs.set(t.dev.ifname, {
          spec: { name: t.dev.ifname, local: primary, remote: ip6ToString(t.endpoint), mtu },
          addresses,
        });
      }
      // client side: one device per selected gateway endpoint
      deviceOfCandidate.clear();
      encrypted.clear();
      for (const s of result?.searches ?? []) {
        for (const w of s.winners) {
          const carrier: TunnelCarrier | undefined = carriers ? carriers.get(w) : { kind: 'plain' };
          if (!carrier) continue;
          const family = w.route.family;
          const inner = family === 6 ? w.tunDev.tun6Address : w.tunDev.tun4Address;
          const rule = (): void => {
            if (!(w.search.table === MAIN_TABLE && w.search.pref === DEFAULT_RULE_PREF)) {
              const r: Rule = { family, priority: w.search.pref, table: w.search.table };
              rules.set(`${family}/${r.priority}/${r.table}`, r);
            }
          };
          if (carrier.kind === 'encrypted') {
            encrypted.add(w);
            deviceOfCandidate.set(w, carrier.dev);
            routes.push({
              prefix: prefixToString(w.route),
              dev: carrier.dev,
              metric: w.search.ipMetric,
              table: w.search.table,
              ...(inner ? { src: addressToString(family, inner.address.address) } : {}),
            });
            rule();
            continue;
          }
          const name = outDeviceName(config.tunDevName, w.gateway.id, w.net.tun6Id);
          const local = config.tunRealSrc ? primary : ip6ToString(w.endpoint);
          let d = devs.get(name);
          if (!d) {
            d = {
              spec: { name, local, remote: ip6ToString(w.gateway.primaryIp), mtu },
              addresses: new Map(),
            };
            // the outer source must be an address of this node: the endpoint, never chosen as a source itself
            if (!config.tunRealSrc) d.addresses.set(`${local}/128`, true);
            devs.set(name, d);
          }
          const src = inner ? hostPrefix(family, inner.address.address) : undefined;
          if (src) d.addresses.set(src, false);
          deviceOfCandidate.set(w, name);
          routes.push({
            prefix: prefixToString(w.route),
            dev: name,
            metric: w.search.ipMetric,
            table: w.search.table,
            ...(inner ? { src: addressToString(family, inner.address.address) } : {}),
          });
          rule();
        }
      }
      return { devices: devs, routes, rules: [...rules.values()] };
    };

    /** Brings the system to what is wanted, one step after the other. */
    const reconcileOnce = async (): Promise<void> => {
      if (!host) return;
      const h = host;
      if (!running) return;
      const crypt = components.crypt;
      // crypt-tun's answers are kept: `explain` replays this selection with them
      const answers = new Map<string, CryptTerms>();
      const keyOf = (search: TunOutConfig, gateway: GatewayAnnouncement, net: AnnouncedNet) =>
        `${search.name}\n${gateway.id}\n${net.tun6Id}\n${prefixToString(net.network)}`;
      const input: ExplainInput = {
        searches: config.tunOuts,
        gateways: gateways(),
        tunDevs: config.tunDevs,
        active,
        ...(crypt
          ? {
              admit: (search, gateway, net) => {
                const t = crypt.terms?.(search, gateway, net);
                if (!t) return crypt.admit(search, gateway, net);
                answers.set(keyOf(search, gateway, net), t);
                return t.admitted;
              },
              crypt: (search, gateway, net) => answers.get(keyOf(search, gateway, net)),
            }
          : {}),
      };
      result = selectGateways(input);
      made = {
        ...input,
        ...(crypt
          ? {
              admit: (search, gateway, net) =>
                answers.get(keyOf(search, gateway, net))?.admitted ?? crypt.admit(search, gateway, net),
            }
          : {}),
      };
      let carriers: ReadonlyMap<Candidate, TunnelCarrier> | undefined;
      if (crypt) {
        try {
          carriers = await crypt.carry(result.searches.flatMap((s) => s.winners));
        } catch (e) {
          log(0, 'crypt-tun failed; no tunnel routes this round', { error: String(e) });
          carriers = new Map();
        }
        if (!running) return;
      }
      const want = wanted(carriers);
      // the selected tunnels keep their hysteresis from now on
      active = result.searches.flatMap((s) =>
        s.winners.map((w) => ({
          search: s.search.name,
          gatewayId: w.gateway.id,
          network: prefixToString(w.net.network),
        })),
      );
      // devices that are not wanted any more go first (their routes with them)
      const routed = new Set(want.routes.map((r) => r.dev));
      const isOwn = (dev: string | undefined) => dev !== undefined && devices.has(dev);
      const isCarried = (dev: string | undefined) =>
        dev !== undefined && [...encrypted].some((w) => deviceOfCandidate.get(w) === dev);
      h.setRoutes(
        'tunnels',
        want.routes.filter((r) => isOwn(r.dev) || isCarried(r.dev)),
      );
      for (const [name] of devices) {
        if (want.devices.has(name)) continue;
        try {
          await tunnels.remove(name);
          log(3, 'tunnel removed', { dev: name });
        } catch (e) {
          log(0, 'cannot remove tunnel', { dev: name, error: String(e) });
        }
        devices.delete(name);
      }
      for (const [name, w] of want.devices) {
        let d = devices.get(name);
        try {
          if (!d) {
            const tunnel = await tunnels.create(w.spec);
            d = { tunnel, addresses: new Map() };
            devices.set(name, d);
            // as the reference sets them on its tunnels: IPv4 packets from an own address come back in,
            // and the reverse-path check is loose (replies arrive on another device than requests leave)
            for (const [key, value] of [
              ['accept_local', '1'],
              ['rp_filter', '2'],
            ] as const) {
              try {
                system.sysctl(`net/ipv4/conf/${name}/${key}`, value);
              } catch (e) {
                log(4, 'tunnel sysctl not set', { dev: name, key, error: String(e) });
              }
            }
            log(3, 'tunnel made', { dev: name, local: w.spec.local, remote: w.spec.remote });
          } else if (
            d.tunnel.spec.local !== w.spec.local ||
            d.tunnel.spec.remote !== w.spec.remote ||
            d.tunnel.spec.mtu !== w.spec.mtu
          ) {
            d.tunnel = await tunnels.update(w.spec);
          }
          for (const [a] of d.addresses) {
            if (w.addresses.has(a)) continue;
            await system.removeAddress(name, a);
            d.addresses.delete(a);
          }
          for (const [a, deprecated] of w.addresses) {
            if (d.addresses.has(a)) continue;
            await system.addAddress(name, a, deprecated ? { deprecated } : undefined);
            d.addresses.set(a, deprecated);
          }
        } catch (e) {
          log(0, 'cannot set up tunnel', { dev: name, error: String(e) });
          routed.delete(name);
        }
      }
      if (!running) return;
      h.setRoutes(
        'tunnels',
        want.routes.filter(
          (r) => isCarried(r.dev) || (r.dev !== undefined && routed.has(r.dev) && isOwn(r.dev)),
        ),
      );
      // rules only where a search routes into another table than main (an engine without a rules
      // port then still runs the plugin)
      if (want.rules.length > 0 || rulesSet) {
        h.setRules('tunnels', want.rules);
        rulesSet = want.rules.length > 0;
      }
    };

    /** Runs reconcile soon; calls while one runs make exactly one more run afterwards. */
    const schedule = (): void => {
      if (!host || !running) return;
      if (pending) {
        again = true;
        return;
      }
      pending = true;
      host.clock.schedule(0, () => {
        work = work.then(async () => {
          do {
            again = false;
            try {
              await reconcileOnce();
            } catch (e) {
              log(0, 'tunnel update failed', { error: String(e) });
            }
          } while (again && running);
          pending = false;
        });
      });
    };

    const plugin: TunPlugin = {
      name: 'tun',
      options: TUN_PLUGIN_OPTIONS,
      attach(h) {
        host = h;
        components.crypt?.configured?.(config);
        for (const type of TUN_TLVS)
          h.registerTlv(type, {
            produce: () => contributionsOf()?.bodies.get(type),
            consume: () => schedule(),
          });
        h.contributeHna6(() => contributionsOf()?.hna6 ?? []);
        h.on((e) => {
          if (e.type === 'path-changed' || e.type === 'node-gone' || e.type === 'description-changed')
            schedule();
        });
        h.registerTable(
          'tunnels',
          (): ShowRows =>
            result
              ? tunnelRows(result, {
                  deviceOf: (c: Candidate) => {
                    const tunName = deviceOfCandidate.get(c);
                    if (!tunName) return undefined;
                    if (encrypted.has(c)) return { tunName, tunIn: c.tunDev.ifname, crypt: 'encrypted' };
                    return devices.has(tunName)
                      ? { tunName, tunIn: c.tunDev.ifname, crypt: 'plain' }
                      : undefined;
                  },
                  cryptColumn: components.crypt !== undefined,
                })
              : [],
        );
      },
      check: (next: PluginSettings) => checkTunSettings(next, init, checkOptions),
      reconfigure(next) {
        // the daemon checked them (check); a plugin used without a check still refuses nothing silently
        const why = checkTunSettings(next, init, checkOptions);
        if (why !== undefined) {
          log(0, 'tun settings refused', { reason: why });
          return;
        }
        config = parseTunSettings(next, parseOptions);
        components.crypt?.configured?.(config);
        const before = contributions;
        contributions = undefined;
        const after = contributionsOf();
        if (!sameContributions(before, after)) host?.updateDescription();
        schedule();
      },
      start() {
        running = true;
        schedule();
      },
      stop() {
        running = false;
      },
      async close() {
        running = false;
        await work;
        await tunnels.close();
        devices.clear();
      },
      async settled() {
        for (;;) {
          const w = work;
          await w;
          if (w === work && !pending) return;
        }
      },
      selection: () => result,
      explain() {
        if (!made || !result) return { searches: [] };
        // the devices of the selection in force, by search, gateway and network
        const keyOf = (c: Candidate) =>
          `${c.search.name}\n${c.gateway.id}\n${c.net.tun6Id}\n${prefixToString(c.net.network)}`;
        const tunnels = new Map<string, { dev: string; crypt: 'plain' | 'encrypted' }>();
        for (const [c, dev] of deviceOfCandidate) {
          if (encrypted.has(c)) tunnels.set(keyOf(c), { dev, crypt: 'encrypted' });
          else if (devices.has(dev)) tunnels.set(keyOf(c), { dev, crypt: 'plain' });
        }
        return explainSelection({ ...made, tunnelOf: (c) => tunnels.get(keyOf(c)) });
      },
      reselect: () => schedule(),
    };
    return plugin;
  };
}

function sameContributions(a: TunnelContributions | undefined, b: TunnelContributions | undefined): boolean {
  const text = (c: TunnelContributions | undefined) =>
    c
      ? JSON.stringify({
          bodies: [...c.bodies].map(([t, v]) => [t, Buffer.from(v).toString('hex')]),
          hna: c.hna6.map((e) => [e.prefixLen, e.flags, Buffer.from(e.address).toString('hex')]),
        })
      : '';
  return text(a) === text(b);
}

/**
 * crypt-tun, `createCryptTunPlugin(init)(components)`: the tun plugin's gateway tunnels carried by
 * WireGuard. It plugs into the tun plugin (its `TunCryptHook`) and drives the wg plugin's devices:
 *
 * - it announces the node's offers in CRYPT_TUN (docs/protocol.md §4.13): per tunIn its `/crypt`,
 *   else the node's `cryptTun`; for its tunDev networks (SOURCE) `cryptTun`;
 * - the selection stays the tun plugin's: a search (its `/crypt`, else `cryptTun`) may use a
 *   gateway's network unless the policy (policy.ts) says none, so the next gateway wins instead;
 * - an encrypted winner is routed into a WireGuard device of its own per gateway,
 *   `<tunDevName>wg_<gateway short id>` (random listen port, the gateway its one peer with allowed
 *   IPs 0.0.0.0/0 and ::/0, endpoint the gateway's primary address and announced port, keepalive
 *   25 s). One device per gateway, as the reference has one ip6tnl per gateway: routes in different
 *   tables choose the gateway, and WireGuard's cryptokey routing, which picks a peer by destination
 *   and checks sources, never sees two gateways for one destination;
 * - a node that offers WireGuard on a tunIn has one receiving device, `<tunDevName>wgIn`, on its
 *   announced port. Its peers are the admitted nodes offering their SOURCE networks with WireGuard,
 *   each allowed exactly those networks (so a client can only send from its own tunnel addresses)
 *   and without an endpoint (WireGuard learns it from the client's handshake). The gateway's way
 *   back to a client (its tunOut for the clients' networks, as with plain tunnels) goes into this
 *   device when the policy says encrypted: the replies travel in the session the client opened.
 * - a client that offers WireGuard for its own networks keeps its device to a gateway it uses even
 *   for a plain search there, when the gateway offers WireGuard: that gateway's way back is encrypted.
 */
import { TLV_TYPE } from '@bmx7/codec';
import type { EnginePlugin, PluginHost, PluginOption, PluginSettings, Route, Rule } from '@bmx7/core';
import type {
  AnnouncedNet,
  Candidate,
  CryptLevel,
  CryptTerms,
  GatewayAnnouncement,
  TunConfig,
  TunCryptHook,
  TunnelCarrier,
  TunOutConfig,
  TunPlugin,
} from '@bmx7/plugin-tun';
import { DEFAULT_TUN_DEV_NAME, prefixToString } from '@bmx7/plugin-tun';
import type { WgDeviceWant, WgPeerWant, WgPlugin } from '@bmx7/plugin-wg';
import { CRYPT_TUN_DEVICE_SUFFIX_LENGTH, gatewayDeviceName, receivingDeviceName } from './names.js';
import { type CryptOffers, decodeOffers, NO_OFFERS, offerFor, offersWireguard, ownBody } from './offers.js';
import { type CryptDecision, cryptDecision, cryptLevel } from './policy.js';

/**
 * An encrypted-only gateway (a tunIn at crypt 2) refuses plain tunnel traffic to that network: a
 * policy rule at this preference sends packets that come out of the plain tunDev device towards it
 * to this table, which holds only a `prohibit` route (next to BMX7's rule 70 and table 70).
 */
export const CRYPT_ONLY_RULE_PREF = 69;
export const CRYPT_ONLY_TABLE = 69;

/**
 * A new device to a gateway waits this long after its first post-quantum PSK was installed: the
 * gateway installs the same key when the CONFIRM arrives, a moment later, and a first handshake
 * that meets the gateway's previous key fails; WireGuard retries only 5 s later (docs/pq-psk.md
 * "The mismatch window").
 */
export const PQ_FIRST_USE_DELAY_MS = 500;
/**
 * How long a new device to a gateway that announces a KEM key waits for the post-quantum PSK
 * before it is made with the static key or none: the exchange takes one round trip, and a first
 * handshake with another key than the gateway's fails and is retried only 5 s later.
 */
export const PQ_FIRST_KEY_WAIT_MS = 3000;

/** Seconds between keepalives from a client: keeps its session, and so the gateway's way back, fresh. */
export const CLIENT_KEEPALIVE_S = 25;
const ALL = ['0.0.0.0/0', '::/0'] as const;

export const CRYPT_TUN_OPTIONS: readonly PluginOption[] = [
  {
    name: 'cryptTun',
    type: { kind: 'int', min: 0, max: 2 },
    default: 0,
    help: 'tunnels of this node: 0 plain (as the reference), 1 WireGuard where the gateway offers it, 2 WireGuard only (no route rather than plaintext); also the offer of its tunIns without /crypt',
  },
];

export interface CryptTunPlugin extends EnginePlugin {
  /** The hook to give the tun plugin (its components' `crypt`). */
  readonly hook: TunCryptHook;
  /** Binds the tun plugin made with `hook` (crypt-tun asks it to select again). */
  bindTun(tun: Pick<TunPlugin, 'reselect'>): void;
  /** The decision for one search and gateway network (tests, explain). */
  decide(search: TunOutConfig, gateway: Pick<GatewayAnnouncement, 'id'>, net: AnnouncedNet): CryptDecision;
  /** The node's cryptTun. */
  cryptTun(): CryptLevel;
}

export interface CryptTunComponents {
  /** The wg plugin of the same engine: admitted peers and the WireGuard devices. */
  readonly wg: WgPlugin;
}

function cryptTunOf(next: PluginSettings): CryptLevel | string {
  const s = next.get('cryptTun');
  if (s === undefined) return 0;
  const v = s.kind === 'single' ? cryptLevel(s.value) : undefined;
  return v ?? `cryptTun: ${s.kind === 'single' ? String(s.value) : 'instances'} is not 0, 1 or 2`;
}

export function createCryptTunPlugin() {
  return (components: CryptTunComponents): CryptTunPlugin => {
    const { wg } = components;
    let host: PluginHost | undefined;
    let tun: Pick<TunPlugin, 'reselect'> | undefined;
    let config: TunConfig | undefined;
    let cryptTun: CryptLevel = 0;
    let announced: string | undefined;
    let running = false;

    const reselect = () => tun?.reselect();
    const log = (level: 0 | 2 | 3, msg: string, fields?: Record<string, unknown>) =>
      host?.log(level, msg, fields);

    /**
     * Every node's offers, decoded once when its description brings them. A gone node keeps its
     * offers while the wg plugin keeps its peer: a client that is gone for a moment keeps its place
     * on the receiving device through the wg plugin's grace period.
     */
    const offers = new Map<string, CryptOffers>();
    const offersOf = (id: string): CryptOffers => offers.get(id.toLowerCase()) ?? NO_OFFERS;
    /** When a device to each gateway was first wanted and waited for its post-quantum PSK. */
    const firstWanted = new Map<string, number>();
    const peerOk = (id: string): boolean => wg.available() && wg.peer(id) !== undefined;
    const settingOf = (search: TunOutConfig): CryptLevel => search.crypt ?? cryptTun;

    const decide = (search: TunOutConfig, gateway: Pick<GatewayAnnouncement, 'id'>, net: AnnouncedNet) =>
      cryptDecision(settingOf(search), offerFor(offersOf(gateway.id), net.network), peerOk(gateway.id));

    const body = (): Uint8Array | undefined =>
      config && wg.available() ? ownBody(config, cryptTun) : undefined;
    const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : '');
    const redescribe = (): void => {
      const now = hex(body());
      if (now !== announced) host?.updateDescription();
      refusePlain();
    };

    /** The rules and the prohibit routes that keep plain tunnel traffic from encrypted-only networks. */
    let refusing = false;
    const refusePlain = (): void => {
      if (!host || !config) return;
      const rules: Rule[] = [];
      const families = new Set<4 | 6>();
      const first = config.tunDevs[0]?.ifname;
      for (const t of config.tunIns) {
        const dev = t.tunDev ?? first;
        if ((t.crypt ?? cryptTun) !== 2 || !dev || !wg.available()) continue;
        families.add(t.network.family);
        rules.push({
          family: t.network.family,
          priority: CRYPT_ONLY_RULE_PREF,
          table: CRYPT_ONLY_TABLE,
          iif: dev,
          to: prefixToString(t.network),
        });
      }
      if (rules.length === 0 && !refusing) return;
      const routes: Route[] = [...families].map((f) => ({
        prefix: f === 4 ? '0.0.0.0/0' : '::/0',
        type: 'prohibit',
        metric: 0,
        table: CRYPT_ONLY_TABLE,
      }));
      try {
        host.setRoutes('encrypted-only', routes);
        host.setRules('encrypted-only', rules);
        refusing = rules.length > 0;
      } catch (e) {
        log(0, 'cannot refuse plain tunnels to encrypted-only networks', { error: String(e) });
      }
    };

    const receivingName = () => receivingDeviceName(config?.tunDevName ?? DEFAULT_TUN_DEV_NAME);
    const gatewayDevName = (id: string) => gatewayDeviceName(config?.tunDevName ?? DEFAULT_TUN_DEV_NAME, id);

    /** The receiving device's peers: admitted nodes offering their own networks with WireGuard. */
    /** The PQ PSK pairs of this round (initiator towards gateways, responder for clients). */
    let pairs: { nodeId: string; role: 'initiator' | 'responder' }[] = [];
    /** A peer's PSK: the post-quantum one once agreed, else the static one; its source for show=wg. */
    const pskFor = (
      nodeId: string,
      role: 'initiator' | 'responder',
      staticPsk: Uint8Array | undefined,
    ): Pick<WgPeerWant, 'presharedKey' | 'pskSource'> => {
      if (wg.pqAvailable() && wg.peerKem(nodeId)) pairs.push({ nodeId, role });
      const pq = wg.pqPsk(nodeId, role);
      if (pq) return { presharedKey: pq.psk, pskSource: 'pq' };
      return staticPsk ? { presharedKey: staticPsk, pskSource: 'static' } : {};
    };

    const receivingPeers = (): { peers: WgPeerWant[]; ids: Set<string> } => {
      const peers: WgPeerWant[] = [];
      const ids = new Set<string>();
      let psk: Uint8Array | undefined;
      try {
        psk = wg.staticPsk();
      } catch (e) {
        // fail closed: no peer rather than peers without the configured key
        log(0, 'wgPsk unusable: the receiving device admits nobody', { error: (e as Error).message });
        return { peers, ids };
      }
      const taken = new Map<string, string>();
      const self = host?.self().id;
      const admitted = [...wg.peers()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
      for (const p of admitted) {
        if (p.nodeId === self) continue;
        const sources = offersOf(p.nodeId).sources.filter((s) => {
          const other = taken.get(s);
          if (other === undefined) return true;
          log(2, 'tunnel network announced by two nodes: the first keeps it', {
            network: s,
            node: p.shortId,
          });
          return false;
        });
        if (sources.length === 0) continue;
        for (const s of sources) taken.set(s, p.shortId);
        ids.add(p.nodeId);
        peers.push({ publicKey: p.publicKey, allowedIps: sources, ...pskFor(p.nodeId, 'responder', psk) });
      }
      return { peers, ids };
    };

    /** The policy's decision for a search and a gateway's network, with its terms. */
    const terms = (
      search: TunOutConfig,
      gateway: Pick<GatewayAnnouncement, 'id'>,
      net: AnnouncedNet,
    ): CryptTerms => {
      const setting = settingOf(search);
      const offer = offerFor(offersOf(gateway.id), net.network);
      const here = wg.available();
      const peer = here && wg.peer(gateway.id) !== undefined;
      const decision = cryptDecision(setting, offer, peer);
      const kem = wg.pqAvailable() && wg.peerKem(gateway.id) !== undefined;
      return {
        setting,
        offer,
        peer,
        ...(peer ? {} : { noPeer: here ? ('no-peer' as const) : ('no-wireguard-here' as const) }),
        decision,
        ...(search.pq ? { pq: { kem } } : {}),
        // a search requiring a post-quantum PSK uses only gateways that announce a KEM key
        admitted: decision !== 'none' && !(search.pq && !kem),
      };
    };

    const hook: TunCryptHook = {
      deviceSuffixLength: CRYPT_TUN_DEVICE_SUFFIX_LENGTH,
      admit: (search, gateway, net) => terms(search, gateway, net).admitted,
      terms,
      configured(c) {
        config = c;
        // a search's /wgPsk may name another file, or the file changed: read them again
        wg.reloadPsks();
        redescribe();
      },
      async carry(winners) {
        const out = new Map<Candidate, TunnelCarrier>();
        const devices = wg.devices();
        pairs = [];
        // the offers of nodes that are gone and past the wg plugin's grace period
        for (const id of [...offers.keys()]) if (!host?.node(id) && !wg.peer(id)) offers.delete(id);
        const wants = new Map<string, WgDeviceWant & { addresses: string[] }>();
        const receiving =
          devices && config && offersWireguard(config, cryptTun) ? receivingPeers() : undefined;
        if (receiving)
          wants.set(receivingName(), {
            name: receivingName(),
            listenPort: wg.listenPort(),
            peers: receiving.peers,
            addresses: [],
          });
        /** The PSK file each gateway device got its key from ('' for wgPsk), to report conflicts. */
        const pskOf = new Map<string, string>();
        const toGateway = (w: Candidate): string | undefined => {
          const peer = wg.peer(w.gateway.id);
          if (!peer) return undefined;
          const name = gatewayDevName(w.gateway.id);
          let psk: Uint8Array | undefined;
          try {
            psk = wg.staticPsk(w.search.wgPsk);
          } catch (e) {
            // fail closed: a configured key that cannot be read builds no tunnel
            log(0, 'pre-shared key unusable: no tunnel', {
              tunOut: w.search.name,
              error: (e as Error).message,
            });
            return undefined;
          }
          const file = w.search.wgPsk ?? '';
          const had = pskOf.get(name);
          if (had !== undefined && had !== file)
            log(2, 'two searches give one gateway different pre-shared keys: the first keeps its', {
              tunOut: w.search.name,
              dev: name,
            });
          let d = wants.get(name);
          if (!d) {
            pskOf.set(name, file);
            const key = pskFor(w.gateway.id, 'initiator', psk);
            // a search requiring a post-quantum PSK builds nothing until one is agreed
            if (w.search.pq && key.pskSource !== 'pq') return undefined;
            // a new device waits for the post-quantum PSK (for a while), and then until the gateway
            // surely holds it too
            if (host && !devices?.names().includes(name)) {
              const now = host.clock.now();
              const pq = wg.pqPsk(w.gateway.id, 'initiator');
              if (pq) {
                const age = now - pq.installedAt;
                if (age < PQ_FIRST_USE_DELAY_MS) {
                  host.clock.schedule(PQ_FIRST_USE_DELAY_MS - age, reselect);
                  return undefined;
                }
              } else if (wg.pqAvailable() && wg.peerKem(w.gateway.id)) {
                const since = firstWanted.get(w.gateway.id) ?? now;
                firstWanted.set(w.gateway.id, since);
                if (now - since < PQ_FIRST_KEY_WAIT_MS) {
                  host.clock.schedule(PQ_FIRST_KEY_WAIT_MS - (now - since), reselect);
                  return undefined;
                }
              }
            }
            d = {
              name,
              listenPort: 0,
              peers: [
                {
                  publicKey: peer.publicKey,
                  endpoint: peer.endpoint,
                  allowedIps: [...ALL],
                  persistentKeepalive: CLIENT_KEEPALIVE_S,
                  ...key,
                },
              ],
              addresses: [],
            };
            wants.set(name, d);
          } else if (w.search.pq && d.peers[0]?.pskSource !== 'pq') return undefined;
          const inner = w.route.family === 6 ? w.tunDev.tun6Address : w.tunDev.tun4Address;
          if (inner) {
            const a = `${prefixToString({ ...inner.address, len: w.route.family === 6 ? 128 : 32 })}`;
            if (!d.addresses.includes(a)) d.addresses.push(a);
          }
          return name;
        };
        const pending = new Map<Candidate, string>();
        for (const w of winners) {
          const d = decide(w.search, w.gateway, w.net);
          if (d === 'plain') {
            out.set(w, { kind: 'plain' });
            // the gateway's way back to this node's networks may be encrypted: keep a session to it
            if (
              cryptTun >= 1 &&
              peerOk(w.gateway.id) &&
              [...offersOf(w.gateway.id).nets.values()].some((l) => l >= 1)
            )
              toGateway(w);
            continue;
          }
          if (d === 'none' || !devices) continue;
          const back =
            receiving?.ids.has(w.gateway.id) &&
            offersOf(w.gateway.id).sources.includes(prefixToString(w.net.network));
          const dev = back ? receivingName() : toGateway(w);
          if (dev) pending.set(w, dev);
        }
        if (!devices) return out;
        for (const id of [...firstWanted.keys()])
          if (!winners.some((w) => w.gateway.id === id) || devices.names().includes(gatewayDevName(id)))
            firstWanted.delete(id);
        wg.pqPairs(pairs);
        devices.set([...wants.values()]);
        await devices.settled();
        for (const [w, dev] of pending) if (devices.ready(dev)) out.set(w, { kind: 'encrypted', dev });
        return out;
      },
    };

    return {
      name: 'crypt-tun',
      options: CRYPT_TUN_OPTIONS,
      hook,
      bindTun(t) {
        tun = t;
      },
      decide,
      cryptTun: () => cryptTun,
      attach(h) {
        host = h;
        h.registerTlv(TLV_TYPE.CRYPT_TUN, {
          produce: () => {
            const b = body();
            announced = hex(b);
            return b;
          },
          consume: (node, b) => {
            // a node that stopped announcing loses its offers at once; a gone one keeps them (grace)
            if (b) offers.set(node.id, decodeOffers(b));
            else if (host?.node(node.id)) offers.delete(node.id);
            reselect();
          },
        });
        wg.onPeersChanged(reselect);
        h.on((e) => {
          // a node back from the grace period without offers: the kept ones go
          if (e.type === 'description-changed' && !e.tlvs.has(TLV_TYPE.CRYPT_TUN) && offers.delete(e.node.id))
            reselect();
        });
      },
      start() {
        running = true;
        if (cryptTun >= 1 && !wg.available())
          log(0, 'cryptTun set, but this node has no WireGuard: no encrypted tunnels');
        // wg opened its devices by now (it starts first): the offers can be announced
        redescribe();
        reselect();
      },
      stop() {
        running = false;
      },
      check(next) {
        const v = cryptTunOf(next);
        return typeof v === 'string' ? v : undefined;
      },
      reconfigure(next) {
        const v = cryptTunOf(next);
        if (typeof v === 'string') {
          log(0, 'crypt-tun settings refused', { reason: v });
          return;
        }
        if (v === cryptTun) return;
        cryptTun = v;
        if (v >= 1 && running && !wg.available())
          log(0, 'cryptTun set, but this node has no WireGuard: no encrypted tunnels');
        redescribe();
        reselect();
      },
    };
  };
}

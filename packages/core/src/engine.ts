/**
 * The BMX7 protocol engine (composition): receives datagrams and timer events through the ports,
 * keeps links, keys, descriptions, IIDs and originators, selects paths, and sends datagrams and
 * route changes out. Section numbers refer to ../../shared/reference/bmx7-wire.md.
 *
 * `createEngine(init)(components)` (STYLE.md rule 8); the class stays private.
 */
import {
  type ContentAdvFrame,
  type DecodedFrame,
  decodeDescription,
  decodePacketPrefix,
  encodeTlvBody,
  FM16_MAX,
  FM16_NOT_ROUTABLE,
  type Frame,
  type Hna6Entry,
  type IidAdv,
  ip6FromString,
  ip6ToString,
  isFm16Valid,
  type Ogm,
  type SignatureFrame,
  type SignatureMessage,
} from '@bmx7/codec';
import {
  chainOgmAt,
  chainOgmFor,
  contentHash,
  createChainVerifier,
  createDhmKey,
  createOgmChain,
  type DhmKey,
  dhmMac,
  dhmSecret,
  findChainSqn,
  generateRsaKey,
  type OgmChain,
  type OgmChainVerifier,
  ogmChainConstant,
  packetDigest,
  primaryAddress,
  type RsaPrivateKey,
  shortId,
  signPacketRsa,
  timingSafeEqual,
  verifyPacketRsa,
} from '@bmx7/crypto';
import { type EngineConfig, type EngineInit, resolveConfig } from './config.js';
import {
  COLUMN_LETTERS,
  CREDIT_COLUMNS,
  CREDIT_ROWS,
  CREDIT_SETS,
  type CreditMatrix,
  creditMatrix,
  emptySections,
  hasRoom,
  leastSection,
  ROW_LETTERS,
  type SectionCounts,
  setCount,
} from './credits.js';
import {
  buildOwnDescription,
  type DescriptionFacts,
  descriptionFacts,
  encodeMetricTlv,
  type ParsedDescription,
  parseDescription,
  peekDescription,
  resolveDescription,
  TLV,
} from './descriptions.js';
import { umetricFromFm16, umetricToFm16 } from './fm16.js';
import { hex, unhex } from './hex.js';
import {
  IID_MAX_RX,
  IID_REF_TIMEOUT,
  type IidRef,
  IidRepo,
  mayRequest,
  NO_HISTORY,
  newIidRef,
  restartRef,
} from './iids.js';
import {
  type HelloWindow,
  isLateHello,
  type LinkQuality,
  lqOk,
  newHelloWindow,
  recordHello,
  timeAwareRq,
  timeAwareTq,
} from './links.js';
import {
  linkThroughput,
  type MetricParams,
  pathMetric,
  UMETRIC_MAX,
  UMETRIC_NOT_ROUTABLE,
} from './metrics.js';
import {
  type AggRxWindow,
  type AggTx,
  acceptAggregation,
  aggregationContent,
  aggWindow,
  flushNewest,
  hasPendingOgms,
  missingAggregations,
  newAggRxWindow,
  newAggTx,
  onAggSqnAdv,
  removeOgm,
  scheduleOgm,
} from './ogms.js';
import { bucketRound, doNowOrLater, newTxBucket } from './pacing.js';
import type { EngineEvent, EnginePlugin, NodeView, PluginHost, PluginParameter, ShowRows } from './plugin.js';
import type { EngineComponents, EngineHandle, InterfaceInfo, Route } from './ports.js';
import { RouteExport } from './routes.js';
import { selectPath } from './selection.js';
import { mergeFrames, packPackets, type TaskMessage, TxQueue, type TxTask } from './tx.js';

/** chainOgm XOR C = the anchor link: "sqn 0". */
function isAnchor(v: OgmChainVerifier, chainOgm: Uint8Array): boolean {
  if (chainOgm.length !== 14) return false;
  for (let i = 0; i < 14; i++) if ((chainOgm[i]! ^ v.constant[i]!) !== v.anchorLink[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Index key of an IPv6 prefix: the address masked to `len` bits, and the length. */
function hnaKey(address: Uint8Array, len: number): string {
  const a = address.slice(0, 16);
  for (let bit = len; bit < 128; bit++) a[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${hex(a)}/${len}`;
}

/** Admission columns of 4.11 (rows are reduced to "qualifying or not", see README). */
export const KEY_STATE = { LISTED: 0, TRACKED: 1, CERTIFIED: 2, PROMOTED: 3, NEIGHBOR: 4 } as const;
export type KeyState = (typeof KEY_STATE)[keyof typeof KEY_STATE];
const KS = KEY_STATE;
const STATE_NAMES = ['listed', 'tracked', 'certified', 'promoted', 'neighbor'] as const;
/** A description's size as the reference shows it: root bytes + referenced (virtual) bytes. */
function descSizeText(bytes: Uint8Array, decoded?: { version: { virtLength: number } }): string {
  const d =
    decoded ??
    (() => {
      const r = decodeDescription(bytes);
      return r.ok ? r.value : undefined;
    })();
  return d ? `${bytes.length}+${d.version.virtLength}` : `${bytes.length}`;
}

/** A trust or support level as the reference prints it: 'A' when nothing restricts it, else the digit. */
function levelText(levels: ReadonlyMap<string, number> | undefined, id: string): string {
  return levels ? String(levels.get(id) ?? 0) : 'A';
}

const NQUALIFYING_MS = 30_000; // 4.11
/** Above this burstSqn the next round's description starts the bursts again at 0 (u32 − 999). */
const BURST_SQN_RENEW = 0xffffffff - 999;
const TRACKED_PROMOTION_MS = 20_000; // 4.11
const FIRST_SQN_MIN_MS = 5_000; // 4.10 "during the first 5 s after X's first accepted sqn"
const MAINTENANCE_MS = 1_000;
const SIG_RSA_TYPES = new Set([4, 5, 6]);

/** A content held for resolution and CONTENT_REQ answers, keyed by its hash (hex). */
interface StoredContent {
  header: number;
  body: Uint8Array;
  /** Descriptions using it; unused contents go after idTimeout. */
  uses: number;
  since: number;
}

interface DescRec {
  parsed: ParsedDescription;
  bodies?: Map<number, Uint8Array> | undefined;
  facts?: DescriptionFacts;
  verifier?: OgmChainVerifier;
  contents: string[];
  /** Contents still wanted (hex). */
  missing: Set<string>;
  /** When it arrived (show tables: lastDesc). */
  receivedAt?: number;
}

interface Link {
  id: string;
  /** Originators routed over this link. */
  routed: Set<KeyRec>;
  nb: Neigh;
  devIdx: number;
  ifname: string;
  addr: string;
  window: HelloWindow;
  q: LinkQuality;
  lastHello: number;
}

interface Neigh {
  key: KeyRec;
  links: Map<string, Link>;
  iidRefs: Map<number, IidRef>;
  agg: AggRxWindow;
  /** node hex → IID of this neighbour that maps to it (at most one, 4.9). */
  byNode: Map<string, number>;
  burstSqn: number;
  lastHelloByDev: Map<number, number>;
  addrByDev: Map<number, string>;
}

interface Orig {
  iid: number;
  sqn: number;
  um: bigint;
  fm16: number;
  link: Link | undefined;
  hops: number;
  chainOgm: Uint8Array | undefined;
  history: Ogm['history'];
  minimum: [number, number, number];
  firstAccept: number;
  retry: (() => void) | undefined;
}

interface KeyRec {
  hex: string;
  id: Uint8Array;
  state: KeyState;
  pubkey: Uint8Array | undefined;
  minDescSqn: number;
  pending: DescRec | undefined;
  current: DescRec | undefined;
  qualifyingUntil: number;
  lastPacket: number;
  lastVerified: number;
  lastRef: number;
  trackedSince: number;
  /** Neighbour (hex) that referred this node by IID, for requests (4.3 CONTENT_REQ row). */
  referrer: string | undefined;
  /** Last interface a packet of this node itself arrived on. */
  heardOn: string | undefined;
  iidRefCount: number;
  orig: Orig | undefined;
  nb: Neigh | undefined;
  dhmSecret: Uint8Array | undefined;
  /** The newest verified chainOgm, shared by every neighbour's ref that delivered the same sqn. */
  chain: { descSqn: number; sqn: number; bytes: Uint8Array } | undefined;
}

interface Iface {
  info: InterfaceInfo;
  devIdx: number;
  helloSqn: number;
  ll: Uint8Array;
}

/** Counters of dropped input (STYLE.md rule 13). */
export interface EngineCounters {
  rxPackets: number;
  rxDropped: number;
  rxUnverified: number;
  rxVerified: number;
  /** Packets dropped by packet authentication (source not in LLIP, bad RSA signature: 4.4 "failure"). */
  rxAuthFailed: number;
  /** listenOnly: signed packets verified once their sender's description arrived. */
  rxVerifiedLate: number;
  txPackets: number;
  txBytes: number;
  descRejected: number;
  /** IID_ADV messages whose chainOgm is not on the announced description's chain. */
  iidAdvUnproven: number;
  /** Keys left Listed because the Tracked sets were full (4.11 credit limits). */
  keysNotTracked: number;
  /** Keys lowered one column because a credit set was over its limit. */
  keysLimited: number;
  /** Transmit tasks refused because their interface had 200 queued (maxTxTaskTreeSize). */
  txTasksRefused: number;
}

/** Everything an engine offers beyond the host interface. */
export interface Engine extends EngineHandle {
  readonly nodeId: string;
  readonly shortId: string;
  readonly primaryIp: string;
  /** Rows of a show table: status, interfaces, links, originators, keys. */
  show(table: string): ShowRows;
  /** Known originators (promoted nodes, the node itself excluded). */
  nodes(): NodeView[];
  counters(): EngineCounters;
  /** Attaches a plugin (before start). */
  use(plugin: EnginePlugin): void;
  on(listener: (e: EngineEvent) => void): () => void;
  /** Changes runtime parameters (timings, trust, hostname, announced networks). */
  reconfigure(next: Partial<Omit<EngineInit, 'nodeKey'>>): void;
  /** descUpdate: builds a new own description in the next round. */
  descUpdate(): void;
  /** The own description bytes (for tests and `descriptions`). */
  ownDescription(): Uint8Array | undefined;
  /** Key state of a node (hex id), undefined when unknown. */
  keyState(id: string): (typeof STATE_NAMES)[number] | undefined;
}

class BmxEngine implements Engine {
  readonly #c: EngineComponents;
  #cfg: EngineConfig;
  readonly #key: RsaPrivateKey;
  readonly #id: Uint8Array;
  readonly #hex: string;
  readonly #primary: Uint8Array;
  readonly #primaryText: string;
  #linkRsa: RsaPrivateKey | undefined;
  #dhm: DhmKey | undefined;
  readonly #ifs = new Map<string, Iface>();
  readonly #ownLl = new Set<string>();
  readonly #keys = new Map<string, KeyRec>();
  readonly #links = new Map<string, Link>();
  /** Keys in Neighbor state. */
  readonly #nbs = new Set<KeyRec>();
  /** Keys that sent packets within the qualifying time (superset of the neighbours). */
  readonly #heard = new Set<KeyRec>();
  /** HNA6 prefixes of applied descriptions → owner (hex), and the prefix lengths in use. */
  readonly #hnaIndex = new Map<string, string>();
  readonly #hnaLens = new Map<number, number>();
  /** node hex → (friend hex → level): the SUPPORTS entries of friends with support level 3 (4.11 row R). */
  readonly #recommended = new Map<string, Map<string, number>>();
  readonly #content = new Map<string, StoredContent>();
  readonly #wanted = new Map<string, Set<string>>();
  readonly #heardDesc = new Map<string, { bytes: Uint8Array; from: KeyRec; ifc: Iface }>();
  /** listenOnly: signed packets that arrived before their sender's description (bounded per sender). */
  readonly #stash = new Map<
    string,
    Array<{
      sig: SignatureFrame;
      payload: Uint8Array;
      span: { headerOffset: number; tailOffset: number };
      src: Uint8Array;
      srcText: string;
    }>
  >();
  readonly #iids = new IidRepo();
  /** Effective credit set limits and preferences (setCredits over the reference's defaults). */
  #credits: CreditMatrix;
  /** Keys per credit section, counted by #countSections. */
  #sec: SectionCounts | undefined;
  #secAt = Number.NEGATIVE_INFINITY;
  #agg: AggTx<{ node: string; bytes: number; ogm: Ogm }> = newAggTx();
  #aggLastFlushed = 0;
  readonly #tx: TxQueue;
  readonly #routes: RouteExport;
  readonly #listeners = new Set<(e: EngineEvent) => void>();
  readonly #plugins: EnginePlugin[] = [];
  readonly #tlvProducers = new Map<number, () => Uint8Array | undefined>();
  readonly #tlvConsumers = new Map<number, (n: NodeView, b: Uint8Array | undefined) => void>();
  readonly #tables = new Map<string, () => ShowRows>();
  readonly #params = new Map<string, PluginParameter>();
  readonly #trusted = new Map<string, number>();
  // own description state (4.5)
  #descCounter = 0;
  #bootSqn = 0;
  #descSqn = 0;
  #desc:
    | { bytes: Uint8Array; dHash: Uint8Array; dHashHex: string; contents: string[]; builtAt: number }
    | undefined;
  #descFrame: Frame | undefined;
  #descPending = true;
  #chain: OgmChain | undefined;
  #chainConst: Uint8Array | undefined;
  #ogmSqn = 0;
  #ownOgmNow = false;
  /** Own OGM timers (4.9): the latest time alone, and the ride-along with others' OGMs. */
  readonly #ogmGuarantee = { next: 0 };
  readonly #ogmHitchhike = { next: 0 };
  #burstSqn = 0;
  /** Transmit bucket: coins and when it was last updated. */
  readonly #bucket = newTxBucket();
  /** Minimum gap after the last round (from the bucket). */
  #roundGap = 0;
  #running = false;
  #roundCancel: (() => void) | undefined;
  #roundAt = Infinity;
  #lastRound = -Infinity;
  #lastCasual = -Infinity;
  #nextCasualGap = 0;
  #lastMaintenance = -Infinity;
  #lastRerequest = 0;
  #dhmExpiry: number | undefined;
  #rsaExpiry: number | undefined;
  #maintCancel: (() => void) | undefined;
  #startedAt = 0;
  readonly #cnt: EngineCounters = {
    rxPackets: 0,
    rxDropped: 0,
    rxUnverified: 0,
    rxVerified: 0,
    rxAuthFailed: 0,
    rxVerifiedLate: 0,
    txPackets: 0,
    txBytes: 0,
    descRejected: 0,
    iidAdvUnproven: 0,
    keysNotTracked: 0,
    keysLimited: 0,
    txTasksRefused: 0,
  };

  constructor(init: EngineInit, c: EngineComponents) {
    this.#c = c;
    this.#cfg = resolveConfig(init);
    this.#credits = creditMatrix(this.#cfg.credits);
    this.#key = init.nodeKey;
    this.#id = init.nodeKey.id;
    this.#hex = hex(this.#id);
    this.#primary = primaryAddress(this.#id);
    this.#primaryText = ip6ToString(this.#primary);
    this.#tx = new TxQueue();
    this.#routes = new RouteExport(c.routes);
    this.#linkRsa = this.#cfg.linkRsaKey
      ? (init.linkRsaKeyMaterial ?? generateRsaKey(this.#cfg.linkRsaKey))
      : undefined;
    this.#dhm = this.#cfg.linkDhmKey ? createDhmKey(this.#cfg.linkDhmKey) : undefined;
    this.#applyTrust();
    this.#iids.assign(this.#hex); // IID 1 = myself (4.9)
  }

  get nodeId(): string {
    return this.#hex;
  }
  get shortId(): string {
    return shortId(this.#id);
  }
  get primaryIp(): string {
    return this.#primaryText;
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#startedAt = this.#now();
    // descSqn rules (4.5): stored S → ⌊(S+100)/100⌋·100 + 10, written back at once; none → 10
    const stored = this.#c.storage.loadDescSqn();
    this.#descCounter = stored === undefined ? 10 : Math.floor((stored + 100) / 100) * 100 + 10;
    this.#c.storage.saveDescSqn(this.#descCounter);
    this.#bootSqn = 0;
    this.#descPending = true;
    for (const p of this.#plugins) p.start?.();
    this.#armRound(Math.floor(this.#c.random.float() * this.#cfg.txMinInterval));
    this.#armMaintenance();
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#roundCancel?.();
    this.#roundCancel = undefined;
    this.#roundAt = Infinity;
    this.#maintCancel?.();
    this.#maintCancel = undefined;
    for (const k of this.#keys.values()) {
      k.orig?.retry?.();
      if (k.orig) k.orig.retry = undefined;
    }
    for (const p of this.#plugins) p.stop?.();
    this.#routes.clear();
    this.#tx.clear();
  }

  setInterfaces(list: InterfaceInfo[]): void {
    const next = new Map(list.filter((i) => i.up).map((i) => [i.name, i]));
    let changed = false;
    for (const [name, ifc] of this.#ifs) {
      const n = next.get(name);
      if (!n || n.linkLocal !== ifc.info.linkLocal) {
        this.#ifs.delete(name);
        this.#ownLl.delete(ifc.info.linkLocal);
        for (const l of [...this.#links.values()]) if (l.ifname === name) this.#purgeLink(l);
        this.#tx.dropInterface(name);
        changed = true;
      } else ifc.info = n;
    }
    for (const [name, info] of next) {
      if (this.#ifs.has(name)) continue;
      const used = new Set([...this.#ifs.values()].map((i) => i.devIdx));
      let devIdx = 1; // lowest free ≥ 1 (4.4)
      while (used.has(devIdx)) devIdx++;
      this.#ifs.set(name, {
        info,
        devIdx,
        helloSqn: Math.floor(this.#c.random.float() * 0x10000),
        ll: ip6FromString(info.linkLocal),
      });
      this.#ownLl.add(info.linkLocal);
      changed = true;
    }
    // LLIP changes → new description (4.5)
    if (changed) this.descUpdate();
  }

  descUpdate(): void {
    this.#descPending = true;
    if (this.#running) this.#armRound(this.#nextRoundDelay());
  }

  use(plugin: EnginePlugin): void {
    this.#plugins.push(plugin);
    plugin.attach(this.#host());
  }

  on(listener: (e: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  reconfigure(next: Partial<Omit<EngineInit, 'nodeKey'>>): void {
    const before = this.#cfg;
    this.#cfg = resolveConfig({ ...this.#initOf(before), ...next });
    this.#credits = creditMatrix(this.#cfg.credits);
    this.#applyTrust();
    const described =
      before.hostname !== this.#cfg.hostname ||
      JSON.stringify(before.unicastHna) !== JSON.stringify(this.#cfg.unicastHna) ||
      before.ogmInterval !== this.#cfg.ogmInterval ||
      JSON.stringify(before.trustedNodes) !== JSON.stringify(this.#cfg.trustedNodes) ||
      JSON.stringify(before.metric, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) !==
        JSON.stringify(this.#cfg.metric, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (described) this.descUpdate();
  }

  #initOf(c: EngineConfig): Omit<EngineInit, 'nodeKey'> {
    const { metric, trustedNodes, ...rest } = c;
    return { ...rest, metric, ...(trustedNodes ? { trustedNodes } : {}) };
  }

  #applyTrust(): void {
    this.#trusted.clear();
    for (const t of this.#cfg.trustedNodes ?? []) this.#trusted.set(t.id.toLowerCase(), t.trust);
  }

  /** With trust configured only listed nodes (level ≥ 1) are supported (4.11). */
  #supported(h: string): boolean {
    if (!this.#cfg.trustedNodes) return true;
    return (this.#trusted.get(h) ?? 0) > 0;
  }

  ownDescription(): Uint8Array | undefined {
    return this.#desc?.bytes;
  }

  counters(): EngineCounters {
    return { ...this.#cnt, txTasksRefused: this.#tx.refused };
  }

  keyState(id: string): (typeof STATE_NAMES)[number] | undefined {
    const k = this.#keys.get(id.toLowerCase());
    return k ? STATE_NAMES[k.state] : undefined;
  }

  #now(): number {
    return this.#c.clock.now();
  }

  #emit(e: EngineEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#c.logger.log(0, 'event listener failed', { error: String(err) });
      }
    }
  }

  // ---------------------------------------------------------------- receive (4.1, 4.4)

  receive(ifname: string, src: string, payload: Uint8Array): void {
    if (!this.#running) return;
    this.#cnt.rxPackets++;
    try {
      this.#receive(ifname, src, payload);
    } catch (err) {
      // wire input never throws out of the engine (STYLE.md rule 3); a bug here is counted and logged
      this.#cnt.rxDropped++;
      this.#c.logger.log(0, 'receive failed', { error: String(err) });
    }
  }

  #receive(ifname: string, src: string, payload: Uint8Array): void {
    const ifc = this.#ifs.get(ifname);
    if (!ifc) {
      this.#drop('unknown interface');
      return;
    }
    let srcBytes: Uint8Array;
    try {
      srcBytes = ip6FromString(src);
    } catch {
      this.#drop('bad source');
      return;
    }
    // source must be link-local and not one of ours (4.1)
    if (!(srcBytes[0] === 0xfe && (srcBytes[1]! & 0xc0) === 0x80)) {
      this.#drop('source not link-local');
      return;
    }
    const srcText = ip6ToString(srcBytes);
    if (this.#ownLl.has(srcText)) {
      this.#drop('own address');
      return;
    }
    if (this.#knownDescsOnly(payload, ifname)) return;
    // frames up to a bad one are processed and the rest dropped, as the reference does (4.2)
    const r = decodePacketPrefix(payload, {
      minVersion: this.#cfg.compatibility - 1,
      maxVersion: this.#cfg.compatibility + 1,
    });
    if (!r.ok) {
      this.#drop(r.reason);
      return;
    }
    const pkt = r.value;
    const senderHex = hex(pkt.header.nodeId);
    if (senderHex === this.#hex) {
      this.#drop('neighbor uses my key');
      return;
    }
    const now = this.#now();
    const key = this.#getKey(pkt.header.nodeId, true, senderHex)!;
    key.lastPacket = now;
    key.lastRef = now;
    key.heardOn = ifname;
    this.#heard.add(key);
    this.#grantQualifying(key, now);
    if (key.state < KS.TRACKED) this.#track(key);

    let verified: { nb: Neigh; link: Link } | undefined;
    let checked = false;
    for (const f of pkt.frames) {
      if (f.type === 8) {
        if (checked) continue;
        checked = true;
        const v = this.#verify(
          key,
          f as SignatureFrame & DecodedFrame,
          payload,
          pkt.signature,
          srcBytes,
          srcText,
          ifc,
        );
        if (v === 'failure') {
          this.#cnt.rxDropped++;
          this.#cnt.rxAuthFailed++;
          return;
        }
        verified = v;
        if (verified) this.#cnt.rxVerified++;
        else this.#cnt.rxUnverified++;
        if (!v && this.#cfg.listenOnly && pkt.signature && (f as SignatureFrame).messages.length)
          this.#stashForLater(key, f as SignatureFrame, payload, pkt.signature, srcBytes, srcText);
        continue;
      }
      this.#handleFrame(f, key, verified, ifc, srcText, payload);
    }
    if (pkt.error) this.#drop(`remaining frames: ${pkt.error.reason}`);
  }

  /**
   * Flooded DESC_ADV packets (4.5 unsolicitedDescAdvs) are mostly descriptions already held:
   * recognise a well-formed packet of only such frames from a known sender without decoding
   * the descriptions, refresh the sender's packet credit and drop it.
   */
  #knownDescsOnly(payload: Uint8Array, ifname: string): boolean {
    if (this.#cfg.listenOnly || payload.length < 32 || payload.length > 1232) return false;
    const cv = payload[0]!;
    if (cv < this.#cfg.compatibility - 1 || cv > this.#cfg.compatibility + 1) return false;
    const sender = this.#keys.get(hex(payload.subarray(2, 30)));
    if (!sender || sender.state < KS.TRACKED) return false;
    let pos = 30;
    while (pos < payload.length) {
      if (pos + 2 >= payload.length) return false;
      const w = (payload[pos]! << 8) | payload[pos + 1]!;
      const type = w >> 11;
      const len = w & 0x7ff;
      if (type !== 2 || len <= 2 || pos + len > payload.length) return false;
      const peek = peekDescription(payload.subarray(pos + 2, pos + len));
      if (!peek) return false;
      const k = this.#keys.get(hex(peek.id));
      if (!k || k.state < KS.TRACKED || !k.pubkey) return false;
      const held = Math.max(k.current?.parsed.descSqn ?? 0, k.pending?.parsed.descSqn ?? 0);
      if (peek.descSqn > held) return false;
      pos += len;
    }
    const now = this.#now();
    sender.lastPacket = now;
    sender.lastRef = now;
    sender.heardOn = ifname;
    this.#heard.add(sender);
    this.#grantQualifying(sender, now);
    return true;
  }

  #stashForLater(
    key: KeyRec,
    sig: SignatureFrame,
    payload: Uint8Array,
    span: { headerOffset: number; tailOffset: number },
    src: Uint8Array,
    srcText: string,
  ): void {
    let l = this.#stash.get(key.hex);
    if (!l) {
      l = [];
      this.#stash.set(key.hex, l);
    }
    if (l.length < 64) l.push({ sig, payload: payload.slice(), span, src, srcText });
  }

  /** listenOnly: checks stashed packets of k against its now applied description (4.4 steps 6–7, RSA only). */
  #verifyStash(k: KeyRec): void {
    const l = this.#stash.get(k.hex);
    const cur = k.current;
    if (!l || !cur?.facts) return;
    const rest = l.filter((p) => p.sig.descSqn !== cur.parsed.descSqn);
    for (const p of l) {
      if (p.sig.descSqn !== cur.parsed.descSqn) continue;
      const m = p.sig.messages[0]!;
      if (!cur.facts.llips.includes(p.srcText) || !SIG_RSA_TYPES.has(m.keyType) || !cur.facts.rsaLinkKey)
        continue;
      const digest = packetDigest(
        p.src,
        p.payload.subarray(p.span.headerOffset, p.span.headerOffset + 9),
        p.payload.subarray(p.span.tailOffset),
      );
      const msg = new Uint8Array(1 + m.signature.length);
      msg[0] = m.keyType;
      msg.set(m.signature, 1);
      if (verifyPacketRsa(cur.facts.rsaLinkKey, msg, digest)) this.#cnt.rxVerifiedLate++;
      else this.#cnt.rxAuthFailed++;
    }
    if (rest.length) this.#stash.set(k.hex, rest);
    else this.#stash.delete(k.hex);
  }

  /** A packet authentication stop at `step` of 4.4: the packet stays unverified (logged at level 11). */
  #stop(step: number): undefined {
    this.#c.logger.log(11, 'packet unverified', { step });
    return undefined;
  }

  #drop(reason: string): void {
    this.#cnt.rxDropped++;
    this.#c.logger.log(8, 'packet dropped', { reason });
  }

  /** Packet authentication, steps 1–10 of 4.4. Returns the neighbour and link, undefined (stop) or 'failure'. */
  #verify(
    key: KeyRec,
    sig: SignatureFrame,
    payload: Uint8Array,
    span: { headerOffset: number; tailOffset: number } | undefined,
    srcBytes: Uint8Array,
    srcText: string,
    ifc: Iface,
  ): { nb: Neigh; link: Link } | undefined | 'failure' {
    const now = this.#now();
    const qualifying = key.qualifyingUntil > now;
    // 1
    if (key.state < KS.TRACKED) return this.#stop(1);
    if (!qualifying && key.state < KS.NEIGHBOR) {
      // a non-qualifying key needs to be a neighbour already; still, 2-hop nodes stay promoted
      if (key.state < KS.PROMOTED) return this.#stop(1);
    }
    // 2
    const desc = key.pending ?? key.current;
    if (sig.descSqn < key.minDescSqn) return this.#stop(2);
    if (desc && sig.descSqn < desc.parsed.descSqn) return this.#stop(2);
    // 3
    if (!key.pubkey) {
      this.#requestPubkey(key);
      return this.#stop(3);
    }
    // 4
    if (!desc || desc.parsed.descSqn !== sig.descSqn) {
      this.#requestDesc(key, ifc.info.name, key.id);
      return this.#stop(4);
    }
    // 5
    if (desc === key.pending) {
      if (!this.#tryResolve(key)) return this.#stop(5);
    }
    const cur = key.current;
    if (!cur || cur.parsed.descSqn !== sig.descSqn || key.state < KS.PROMOTED) return this.#stop(5);
    // 6
    if (!cur.facts!.llips.includes(srcText)) return 'failure';
    // 7
    if (this.#cfg.linkVerification) {
      if (!span) return this.#stop(7);
      const digest = packetDigest(
        srcBytes,
        payload.subarray(span.headerOffset, span.headerOffset + 9),
        payload.subarray(span.tailOffset),
      );
      let ok = false;
      let expectedMac: Uint8Array | undefined;
      for (const m of sig.messages) {
        if (SIG_RSA_TYPES.has(m.keyType)) {
          const lk = cur.facts!.rsaLinkKey;
          if (!lk) return 'failure';
          const msg = new Uint8Array(1 + m.signature.length);
          msg[0] = m.keyType;
          msg.set(m.signature, 1);
          if (!verifyPacketRsa(lk, msg, digest)) return 'failure';
          ok = true;
          break;
        }
        if (
          this.#dhm &&
          m.keyType === this.#dhm.type &&
          this.#secretOf(key) &&
          (key.state === KS.NEIGHBOR || qualifying)
        ) {
          expectedMac ??= dhmMac(digest, key.dhmSecret!);
          if (timingSafeEqual(expectedMac, m.signature)) {
            ok = true;
            break;
          }
        }
      }
      if (!ok) return this.#stop(7);
    }
    // 8: with its first verified packet a resolved qualifying key becomes a Neighbor (4.11)
    key.lastVerified = now;
    if (key.state !== KS.NEIGHBOR) {
      if (!qualifying) return this.#stop(8);
      this.#makeNeighbor(key);
    }
    const nb = key.nb!;
    // 9
    if (sig.burstSqn < nb.burstSqn) return this.#stop(9);
    nb.burstSqn = sig.burstSqn;
    // 10
    const known = nb.addrByDev.get(sig.devIdx);
    if (known !== undefined && known !== srcText) {
      for (const l of [...nb.links.values()]) if (l.devIdx === sig.devIdx) this.#purgeLink(l);
      nb.addrByDev.delete(sig.devIdx);
      return this.#stop(10);
    }
    nb.addrByDev.set(sig.devIdx, srcText);
    const lid = `${key.hex}/${sig.devIdx}/${ifc.info.name}`;
    let link = nb.links.get(lid);
    if (!link) {
      link = {
        id: lid,
        nb,
        devIdx: sig.devIdx,
        ifname: ifc.info.name,
        addr: srcText,
        routed: new Set(),
        window: newHelloWindow(),
        q: { rq: 0, rqTime: -1, tq: 0, tqTime: -1 },
        lastHello: now,
      };
      nb.links.set(lid, link);
      this.#links.set(lid, link);
    }
    return { nb, link };
  }

  #handleFrame(
    f: DecodedFrame,
    key: KeyRec,
    v: { nb: Neigh; link: Link } | undefined,
    ifc: Iface,
    src: string,
    payload: Uint8Array,
  ): void {
    const now = this.#now();
    switch (f.type) {
      case 2:
        this.#onDescAdv(payload.subarray(f.offset + 2, f.offset + f.length), key, ifc);
        return;
      case 4:
        this.#onContentAdv(f as ContentAdvFrame);
        return;
      case 29:
        if (!sameBytes(f.dest, this.#id)) return;
        for (const id of f.nodeIds) this.#answerDescReq(id, ifc.info.name, !!v);
        return;
      case 30:
        if (!sameBytes(f.dest, this.#id)) return;
        for (const h of f.hashes) this.#answerContentReq(h, ifc.info.name, !!v);
        return;
    }
    if (!v) return;
    const { nb, link } = v;
    switch (f.type) {
      case 12: {
        if (isLateHello(f.helloSqn, nb.lastHelloByDev.get(link.devIdx))) return;
        link.q.rq = recordHello(link.window, f.helloSqn, this.#cfg.linkWindow);
        link.q.rqTime = now;
        link.lastHello = now;
        nb.lastHelloByDev.set(link.devIdx, f.helloSqn);
        return;
      }
      case 13: {
        // only replies naming my current dHash and the receiving interface's devIdx count (4.10)
        if (!this.#desc) return;
        for (const r of f.replies) {
          if (r.receiverDevIdx === ifc.devIdx && timingSafeEqual(r.dhash, this.#desc.dHash)) {
            link.q.tq = r.rxLq;
            link.q.tqTime = now;
          }
        }
        return;
      }
    }
    // frames 9, 19, 21, 27, 28 need an lq-ok best-tq link (4.3, 4.11)
    if (!this.#nbLqOk(nb)) return;
    switch (f.type) {
      case 9:
        onAggSqnAdv(nb.agg, f.max, f.size);
        return;
      case 19:
        for (const a of f.advs) this.#onIidAdv(nb, a);
        return;
      case 21:
        if (!acceptAggregation(nb.agg, f.aggSqn)) return;
        for (const o of f.ogms) this.#onOgm(nb, o);
        return;
      case 27:
        if (!sameBytes(f.dest, this.#id)) return;
        for (const s of f.aggSqns) this.#answerOgmReq(nb, s);
        return;
      case 28:
        if (!sameBytes(f.dest, this.#id)) return;
        for (const i of f.iids) this.#answerIidReq(nb, i);
        return;
    }
    void src;
  }

  // ---------------------------------------------------------------- keys (4.11)

  /** The key record of a node id (`h`: its hex, when the caller has it already). */
  #getKey(id: Uint8Array, create: boolean, h = hex(id)): KeyRec | undefined {
    let k = this.#keys.get(h);
    if (!k && create) {
      k = {
        hex: h,
        id: Uint8Array.from(id),
        state: KS.LISTED,
        pubkey: undefined,
        minDescSqn: 0,
        pending: undefined,
        current: undefined,
        qualifyingUntil: 0,
        lastPacket: -Infinity,
        lastVerified: -Infinity,
        lastRef: this.#now(),
        trackedSince: 0,
        referrer: undefined,
        heardOn: undefined,
        iidRefCount: 0,
        orig: undefined,
        nb: undefined,
        dhmSecret: undefined,
        chain: undefined,
      };
      this.#keys.set(h, k);
    }
    return k;
  }

  /**
   * nQualifying credit (4.11): a supported key that sends us a packet qualifies for 30 s, once. It is
   * not renewed while it runs, nor granted to a neighbour: after it, a neighbour stays one by its
   * verified packets and link quality alone (nQ becomes nA, or nF for a friend). Fewer than
   * (100 − neighbours without the credit) / 2 keys hold it at once (the reference's nQ set limit;
   * friends already promoted count the whole room).
   */
  #grantQualifying(k: KeyRec, now: number): void {
    if (k.qualifyingUntil > now || k.nb || !this.#supported(k.hex)) return;
    let holders = 1; // the node itself is in row Q
    for (const x of this.#heard) if (x.qualifyingUntil > now) holders++;
    let others = 0;
    for (const x of this.#nbs) if (x.qualifyingUntil <= now) others++;
    const friend = k.state >= KS.PROMOTED && this.#supportLevel(k.hex) >= 2;
    if (holders >= (this.#credits.max[0]![KS.NEIGHBOR]! - others) / (friend ? 1 : 2)) return;
    k.qualifyingUntil = now + NQUALIFYING_MS;
  }

  #track(k: KeyRec): void {
    if (!this.#supported(k.hex)) return; // trust: untrusted keys are never tracked (4.11)
    // room in the Tracked sets, or a less preferred key there to displace (kColCond_tracked)
    const now = this.#now();
    const sec = this.#sections(now);
    const row = this.#rowOf(k, now);
    if (!hasRoom(this.#credits, sec, KS.TRACKED, row, { row, column: k.state })) {
      this.#cnt.keysNotTracked++;
      return;
    }
    sec[row]![k.state]!--;
    sec[row]![KS.TRACKED]!++;
    k.state = KS.TRACKED;
    k.trackedSince = this.#now();
    if (!k.pubkey) this.#requestPubkey(k);
  }

  /** Drops a key to Listed with all its state ("rebooted", metric attack, timeouts). */
  #demoteToListed(k: KeyRec): void {
    this.#indexFacts(k, k.current?.facts, undefined);
    this.#dropNeighbor(k);
    this.#dropOrig(k);
    this.#releaseDesc(k.pending);
    this.#releaseDesc(k.current);
    k.pending = undefined;
    k.current = undefined;
    k.pubkey = undefined;
    k.dhmSecret = undefined;
    k.state = KS.LISTED;
  }

  #makeNeighbor(k: KeyRec): void {
    if (k.nb) return;
    k.nb = {
      key: k,
      links: new Map(),
      iidRefs: new Map(),
      agg: newAggRxWindow(),
      byNode: new Map(),
      burstSqn: 0,
      lastHelloByDev: new Map(),
      addrByDev: new Map(),
    };
    k.state = KS.NEIGHBOR;
    this.#nbs.add(k);
  }

  #dropNeighbor(k: KeyRec): void {
    const nb = k.nb;
    if (!nb) return;
    for (const l of [...nb.links.values()]) this.#purgeLink(l);
    for (const ref of nb.iidRefs.values()) this.#unref(ref);
    nb.iidRefs.clear();
    nb.byNode.clear();
    k.nb = undefined;
    this.#nbs.delete(k);
    if (k.state === KS.NEIGHBOR) k.state = k.current ? KS.PROMOTED : KS.CERTIFIED;
  }

  #unref(ref: IidRef): void {
    if (!ref.node) return;
    const k = this.#keys.get(ref.node);
    if (k) k.iidRefCount = Math.max(0, k.iidRefCount - 1);
  }

  #purgeLink(l: Link): void {
    l.nb.links.delete(l.id);
    this.#links.delete(l.id);
    // routes over it are withdrawn (4.10 "Purge")
    for (const k of [...l.routed]) {
      const o = k.orig;
      l.routed.delete(k);
      if (o && o.link === l) {
        o.link = undefined;
        o.um = UMETRIC_NOT_ROUTABLE;
        o.fm16 = FM16_NOT_ROUTABLE;
        this.#updateRoutes(k);
        this.#scheduleOrigOgm(k);
      }
    }
  }

  // ---------------------------------------------------------------- requests

  /** Where to send a request about node k: to k itself if it talks to us, else via its referrer (4.3). */
  #requestRoute(k: KeyRec): { dest: Uint8Array; ifnames: string[] } | undefined {
    const now = this.#now();
    if (now - k.lastPacket < this.#cfg.linkTimeout) return { dest: k.id, ifnames: [...this.#ifs.keys()] };
    const r = k.referrer ? this.#keys.get(k.referrer) : undefined;
    if (r?.nb) {
      const ifn = this.#bestTqIf(r.nb);
      if (ifn) return { dest: r.id, ifnames: [ifn] };
    }
    return undefined;
  }

  #requestPubkey(k: KeyRec): void {
    this.#wantContent(k.id, k.hex);
  }

  #wantContent(hash: Uint8Array, owner: string): void {
    const h = hex(hash);
    let s = this.#wanted.get(h);
    if (!s) {
      s = new Set();
      this.#wanted.set(h, s);
    }
    s.add(owner);
    const k = this.#keys.get(owner);
    if (!k) return;
    const route = this.#requestRoute(k);
    if (!route) return;
    for (const ifname of route.ifnames) {
      this.#addTask({
        type: 30,
        ifname,
        group: route.dest,
        key: h,
        tries: this.#cfg.resolveIterations,
        interval: this.#cfg.resolveInterval,
        due: this.#now(),
        produce: () => (this.#wanted.has(h) ? { kind: 'contentReq', hash } : undefined),
      });
    }
  }

  #requestDesc(k: KeyRec, ifname: string | undefined, id: Uint8Array, via?: Neigh): void {
    let dest = k.id;
    let ifnames = ifname ? [ifname] : [...this.#ifs.keys()];
    if (via) {
      dest = via.key.id;
      const b = this.#bestTqIf(via);
      if (!b) return;
      ifnames = [b];
    } else if (!ifname) {
      const r = this.#requestRoute(k);
      if (!r) return;
      dest = r.dest;
      ifnames = r.ifnames;
    }
    const wantSqn = () => k.pending?.parsed.descSqn ?? k.current?.parsed.descSqn ?? -1;
    const before = wantSqn();
    for (const ifn of ifnames) {
      this.#addTask({
        type: 29,
        ifname: ifn,
        group: dest,
        key: hex(id),
        tries: this.#cfg.resolveIterations,
        interval: this.#cfg.resolveInterval,
        due: this.#now(),
        produce: () => (wantSqn() === before || !k.pubkey ? { kind: 'descReq', id } : undefined),
      });
    }
  }

  #addTask(t: TxTask): void {
    if (!this.#ifs.has(t.ifname)) return;
    this.#tx.add(t);
    if (this.#running) this.#armRound(this.#nextRoundDelay());
  }

  /** Delay until the next round may run: the round gap (txMinInterval, or more with a full bucket) after the last. */
  #nextRoundDelay(): number {
    return Math.max(0, this.#lastRound + this.#roundGap - this.#now());
  }

  #answerDescReq(id: Uint8Array, ifname: string, verified: boolean): void {
    const h = hex(id);
    if (h === this.#hex) {
      if (this.#descFrame) this.#sendDescAdv(this.#descFrame, ifname, () => this.#descFrame);
      return;
    }
    const k = this.#keys.get(h);
    if (!verified || !k?.current || !k.orig) return;
    const cur = k.current;
    this.#sendDescAdv(
      undefined,
      ifname,
      () => (k.current === cur ? this.#descAdvFrame(cur.parsed.bytes) : undefined),
      h,
    );
  }

  #descAdvFrame(bytes: Uint8Array): Frame | undefined {
    const d = decodeDescription(bytes);
    return d.ok ? { type: 2, description: d.value } : undefined;
  }

  #sendDescAdv(
    frame: Frame | undefined,
    ifname: string,
    check: () => Frame | undefined,
    keyHex = this.#hex,
  ): void {
    void frame;
    this.#addTask({
      type: 2,
      ifname,
      group: undefined,
      key: keyHex,
      tries: 1,
      interval: this.#cfg.txFrameInterval,
      due: this.#now(),
      produce: () => {
        const f = check();
        return f ? { kind: 'frame', frame: f } : undefined;
      },
    });
  }

  #answerContentReq(hash: Uint8Array, ifname: string, verified: boolean): void {
    const h = hex(hash);
    const c = this.#content.get(h) ?? this.#nodeKeyContent(h);
    if (!c || c.body.length > 1197) return;
    const own = this.#desc?.contents.includes(h) ?? false;
    if (!verified && !own) return;
    this.#addTask({
      type: 4,
      ifname,
      group: undefined,
      key: h,
      tries: 1,
      interval: this.#cfg.txFrameInterval,
      due: this.#now(),
      produce: () => {
        const cc = this.#content.get(h) ?? this.#nodeKeyContent(h);
        return cc
          ? {
              kind: 'frame',
              frame: {
                type: 4,
                gzip: (cc.header & 1) === 1,
                nesting: cc.header >> 1,
                reserved: 0,
                body: cc.body,
              },
            }
          : undefined;
      },
    });
  }

  #answerOgmReq(nb: Neigh, sqn: number): void {
    const ifname = this.#bestTqIf(nb);
    if (!ifname) return;
    if (aggregationContent(this.#agg, sqn) === undefined || ((this.#aggLastFlushed - sqn) & 0xffff) > 255)
      return;
    this.#addTask({
      type: 21,
      ifname,
      group: undefined,
      key: `req${sqn}`,
      tries: 1,
      interval: this.#cfg.txFrameInterval,
      due: this.#now(),
      produce: () => {
        const c = aggregationContent(this.#agg, sqn);
        return c ? { kind: 'frame', frame: { type: 21, aggSqn: sqn, ogms: c.map((x) => x.ogm) } } : undefined;
      },
    });
  }

  #answerIidReq(nb: Neigh, iid: number): void {
    const node = this.#iids.get(iid);
    if (!node) return;
    const ifname = this.#bestTqIf(nb);
    if (!ifname) return;
    this.#addTask({
      type: 19,
      ifname,
      group: nb.key.id,
      key: String(iid),
      tries: 1,
      interval: this.#cfg.txFrameInterval,
      due: this.#now(),
      produce: () => {
        const m = this.#iidAdvOf(iid);
        return m ? { kind: 'iidAdv', msg: m } : undefined;
      },
    });
  }

  #iidAdvOf(iid: number): IidAdv | undefined {
    const node = this.#iids.get(iid);
    if (!node) return undefined;
    if (node === this.#hex) {
      if (!this.#chain || !this.#chainConst || this.#ogmSqn < 1) return undefined;
      return {
        iid,
        descSqn: this.#descSqn,
        chainOgm: chainOgmFor(this.#chain, this.#chainConst, this.#ogmSqn),
        nodeId: this.#id,
      };
    }
    const k = this.#keys.get(node);
    const v = k?.current?.verifier;
    // nothing to prove before the first sqn of its current description (4.9)
    if (!k?.orig || !v || k.orig.sqn < 1) return undefined;
    const chainOgm = k.orig.chainOgm ?? chainOgmAt(v, Math.min(k.orig.sqn, v.maxRcvd));
    if (!chainOgm) return undefined;
    return { iid, descSqn: k.current!.parsed.descSqn, chainOgm, nodeId: k.id };
  }

  // ---------------------------------------------------------------- descriptions and contents (4.5)

  #onDescAdv(bytes: Uint8Array, from: KeyRec, ifc: Iface): void {
    // most DESC_ADVs are floods of descriptions already held: drop those before decoding
    const peek = peekDescription(bytes);
    if (peek && !this.#cfg.listenOnly) {
      const kk = this.#keys.get(hex(peek.id));
      if (!kk || kk.state < KS.TRACKED || !kk.pubkey) return;
      const held = Math.max(kk.current?.parsed.descSqn ?? 0, kk.pending?.parsed.descSqn ?? 0);
      if (peek.descSqn <= held) return;
    }
    const quick = decodeDescription(bytes, {
      minVersion: this.#cfg.compatibility - 1,
      maxVersion: this.#cfg.compatibility + 1,
    });
    if (!quick.ok) {
      this.#cnt.descRejected++;
      return;
    }
    const id = quick.value.nodeId;
    const h = hex(id);
    if (h === this.#hex) return;
    const k = this.#keys.get(h);
    // (2) key ≥ Tracked with its public key held
    if (this.#cfg.listenOnly && !k?.pubkey) {
      // passive monitoring: remember it until the node's public key shows up
      this.#heardDesc.set(h, { bytes: bytes.slice(), from, ifc });
      const kk = this.#getKey(id, true)!;
      kk.lastRef = this.#now();
      const c = this.#content.get(h);
      if (!c) return;
      kk.pubkey = c.body.slice();
      if (kk.state < KS.TRACKED) kk.state = KS.TRACKED;
      this.#onDescAdv(bytes, from, ifc);
      return;
    }
    if (!k || k.state < KS.TRACKED || !k.pubkey) return;
    const v = quick.value.version;
    // (3) descSqn ≠ 0, ≥ minimum, > pending and current
    if (v.descSqn === 0 || v.descSqn < k.minDescSqn) return;
    if (k.pending && v.descSqn <= k.pending.parsed.descSqn) return;
    if (k.current && v.descSqn <= k.current.parsed.descSqn) return;
    // (5) signature
    const p = parseDescription(bytes.slice(), k.pubkey, this.#cfg.compatibility);
    if (!p.ok) {
      this.#cnt.descRejected++;
      return;
    }
    // (6) rebooted: another bootSqn → ignored, key demoted to Listed
    const prev = k.pending ?? k.current;
    if (prev && prev.parsed.bootSqn !== p.value.bootSqn) {
      this.#demoteToListed(k);
      return;
    }
    // (7) becomes pending; missing contents requested
    this.#releaseDesc(k.pending);
    k.pending = { parsed: p.value, contents: [], missing: new Set(), receivedAt: this.#now() };
    if (k.state < KS.CERTIFIED) k.state = KS.CERTIFIED;
    if (from !== k && !k.referrer) k.referrer = from.hex;
    void ifc;
    this.#tryResolve(k);
  }

  /**
   * A known node's public key as content (its hash is the node id, 4.6): kept with the key record,
   * so a CONTENT_REQ for it is answered even after the content store dropped the entry.
   */
  #nodeKeyContent(h: string): { header: number; body: Uint8Array } | undefined {
    const k = this.#keys.get(h);
    return k?.pubkey && k.state >= KS.CERTIFIED ? { header: 0, body: k.pubkey } : undefined;
  }

  #onContentAdv(f: ContentAdvFrame): void {
    // contents are accepted only while wanted (4.5): with nothing wanted there is nothing to hash
    if (this.#wanted.size === 0 && !this.#cfg.listenOnly) return;
    const header = (f.nesting << 1) | (f.gzip ? 1 : 0);
    const hash = contentHash(header, f.body);
    const h = hex(hash);
    const owners = this.#wanted.get(h);
    if (!owners && this.#cfg.listenOnly) {
      // passive monitoring keeps unrequested contents for descriptions still to come
      const body = this.#storeContent(h, header, f.body);
      const k = this.#keys.get(h);
      if (k && !k.pubkey) {
        k.pubkey = body;
        if (k.state < KS.TRACKED) k.state = KS.TRACKED;
      }
      const held = this.#heardDesc.get(h);
      if (held) this.#onDescAdv(held.bytes, held.from, held.ifc);
      for (const kk of this.#keys.values()) if (kk.pending) this.#tryResolve(kk);
      return;
    }
    if (!owners) return; // accepted only while wanted (4.5)
    this.#wanted.delete(h);
    const body = this.#storeContent(h, header, f.body);
    for (const o of owners) {
      const k = this.#keys.get(o);
      if (!k) continue;
      if (!k.pubkey && o === h) {
        // the node's public key (content hash = node id)
        k.pubkey = body;
        if (k.state < KS.TRACKED) k.state = KS.TRACKED;
        this.#requestDesc(k, undefined, k.id);
        continue;
      }
      this.#tryResolve(k);
    }
    // contents no description uses are dropped by the maintenance after idTimeout
  }

  /** Keeps a received content (one copy, shared by every user of it); returns the stored body. */
  #storeContent(h: string, header: number, body: Uint8Array): Uint8Array {
    const c = this.#content.get(h);
    if (c) return c.body;
    const copy = body.slice();
    this.#content.set(h, { header, body: copy, uses: 0, since: this.#now() });
    return copy;
  }

  /** Resolves the pending description; applies it when complete and allowed. Returns true when current. */
  #tryResolve(k: KeyRec): boolean {
    const d = k.pending;
    if (!d) return !!k.current;
    if (!d.facts) {
      // re-assemble only once every content it waited for is here
      if (d.missing.size) {
        for (const h of [...d.missing]) if (this.#content.has(h)) d.missing.delete(h);
        if (d.missing.size) return false;
      }
      const r = resolveDescription(d.parsed, this.#content);
      if (r.status === 'bad') {
        // contents that cannot be assembled raise the minimum (4.5)
        k.minDescSqn = d.parsed.descSqn + 1;
        this.#releaseDesc(d);
        k.pending = undefined;
        this.#cnt.descRejected++;
        return false;
      }
      if (r.status === 'missing') {
        for (const hsh of r.hashes) {
          d.missing.add(hex(hsh));
          this.#wantContent(hsh, k.hex);
        }
        return false;
      }
      const facts = descriptionFacts(k.id, r.bodies, ip6ToString);
      if (!facts.ok) {
        this.#cnt.descRejected++;
        return false; // TLV test failed: stays pending (4.5)
      }
      d.bodies = r.bodies;
      d.facts = facts.value;
      d.missing.clear();
      // keep the contents it uses (for CONTENT_REQ answers and relaying)
      for (const ref of d.parsed.refs) this.#useRefContents(d, ref);
    }
    if (this.#hnaBlocked(k, d.facts.hna)) return false;
    // Promoted: (qualifying, or referred by IID) and resolved (4.11)
    const now = this.#now();
    if (!(k.qualifyingUntil > now || k.iidRefCount > 0 || this.#cfg.listenOnly)) return false;
    if (!this.#supported(k.hex)) return false;
    this.#applyDesc(k);
    return true;
  }

  #useRefContents(d: DescRec, ref: ParsedDescription['refs'][number]): void {
    const use = (h: string) => {
      const c = this.#content.get(h);
      if (c) {
        c.uses++;
        d.contents.push(h);
      }
    };
    if (ref.nesting === 0) return;
    if (ref.nesting === 1 && ref.hashes.length === 0) {
      use(hex(ref.expandedHash));
      return;
    }
    for (const hh of ref.hashes) {
      const h = hex(hh);
      use(h);
      if (ref.nesting === 2) {
        const list = this.#content.get(h);
        if (list)
          for (let o = 0; o + 28 <= list.body.length; o += 28) use(hex(list.body.subarray(o, o + 28)));
      }
    }
  }

  #releaseDesc(d: DescRec | undefined): void {
    if (!d) return;
    for (const h of d.contents) {
      const c = this.#content.get(h);
      if (c && --c.uses <= 0) c.since = this.#now();
    }
    d.contents = [];
  }

  /** An HNA6 entry overlapping one of another node or of myself blocks the description (4.8). */
  #hnaBlocked(k: KeyRec, hna: Hna6Entry[]): boolean {
    const mine = this.#ownHna();
    const overlaps = (a: Hna6Entry, b: Hna6Entry) => {
      const len = Math.min(a.prefixLen, b.prefixLen);
      for (let bit = 0; bit < len; bit++) {
        const m = 0x80 >> (bit & 7);
        if ((a.address[bit >> 3]! & m) !== (b.address[bit >> 3]! & m)) return false;
      }
      return true;
    };
    for (const e of hna) {
      for (const o of mine) if (overlaps(e, o)) return true;
      // prefixes of other nodes that contain e: look up e masked to every length in use
      for (const len of this.#hnaLens.keys()) {
        if (len > e.prefixLen) continue;
        const owner = this.#hnaIndex.get(hnaKey(e.address, len));
        if (owner !== undefined && owner !== k.hex) return true;
      }
      // longer prefixes inside e (only for announced networks, rarely)
      if (e.prefixLen < 128) {
        for (const other of this.#keys.values()) {
          if (other === k || !other.current?.facts) continue;
          for (const o of other.current.facts.hna)
            if (o.prefixLen > e.prefixLen && overlaps(e, o)) return true;
        }
      }
    }
    return false;
  }

  #indexFacts(k: KeyRec, old: DescriptionFacts | undefined, next: DescriptionFacts | undefined): void {
    this.#indexHna(k, old, next);
    this.#indexSupports(k, old, next);
  }

  /**
   * SUPPORTS count only from a friend I support at level 3: each node it lists (at any level) is
   * recommended (row R of the key states); the reference does nothing else with them (4.11).
   */
  #indexSupports(k: KeyRec, old: DescriptionFacts | undefined, next: DescriptionFacts | undefined): void {
    for (const id of old?.supports?.keys() ?? []) {
      const by = this.#recommended.get(id);
      by?.delete(k.hex);
      if (by && !by.size) this.#recommended.delete(id);
    }
    if (this.#supportLevel(k.hex) < 3) return;
    for (const [id, level] of next?.supports ?? []) {
      if (id === k.hex) continue;
      let by = this.#recommended.get(id);
      if (!by) {
        by = new Map();
        this.#recommended.set(id, by);
      }
      by.set(k.hex, level);
    }
  }

  /** Keeps the HNA index (prefix → owner) in step with the applied descriptions. */
  #indexHna(k: KeyRec, old: DescriptionFacts | undefined, next: DescriptionFacts | undefined): void {
    for (const e of old?.hna ?? []) {
      const key = hnaKey(e.address, e.prefixLen);
      if (this.#hnaIndex.get(key) === k.hex) {
        this.#hnaIndex.delete(key);
        const n = (this.#hnaLens.get(e.prefixLen) ?? 1) - 1;
        if (n > 0) this.#hnaLens.set(e.prefixLen, n);
        else this.#hnaLens.delete(e.prefixLen);
      }
    }
    for (const e of next?.hna ?? []) {
      const key = hnaKey(e.address, e.prefixLen);
      if (this.#hnaIndex.has(key)) continue;
      this.#hnaIndex.set(key, k.hex);
      this.#hnaLens.set(e.prefixLen, (this.#hnaLens.get(e.prefixLen) ?? 0) + 1);
    }
  }

  #applyDesc(k: KeyRec): void {
    const d = k.pending!;
    const old = k.current;
    this.#indexFacts(k, old?.facts, d.facts);
    this.#releaseDesc(old);
    k.current = d;
    k.pending = undefined;
    d.verifier = createChainVerifier({
      descriptionHash: d.parsed.dHash,
      anchor: d.parsed.anchor,
      nodeId: k.id,
      descSqn: d.parsed.descSqn,
      range: d.parsed.ogmSqnRange,
    });
    // descSqn ≥ old + 10 with unchanged bootSqn demotes a neighbour to Promoted (4.5)
    if (old && k.nb && d.parsed.descSqn >= old.parsed.descSqn + 10) this.#dropNeighbor(k);
    if (k.state < KS.PROMOTED) k.state = KS.PROMOTED;
    const facts = d.facts!;
    k.dhmSecret = undefined; // computed when first needed (#secretOf)
    if (k.nb) {
      k.nb.burstSqn = 0;
      // links to addresses that left the LLIP go (4.8)
      for (const l of [...k.nb.links.values()]) if (!facts.llips.includes(l.addr)) this.#purgeLink(l);
    }
    const isNew = !k.orig;
    if (!k.orig) {
      const iid = this.#iids.assign(k.hex);
      k.orig = {
        iid,
        sqn: 0,
        um: 0n,
        fm16: 0,
        link: undefined,
        hops: 0,
        chainOgm: undefined,
        history: [],
        minimum: [d.parsed.descSqn, 0, 0],
        firstAccept: -1,
        retry: undefined,
      };
    } else {
      // a new description resets the minimum and the OGM state (4.10)
      k.orig.minimum = [d.parsed.descSqn, 0, 0];
      k.orig.sqn = 0;
      k.orig.firstAccept = -1;
      k.orig.chainOgm = undefined;
    }
    // unsolicited re-broadcast (4.5 unsolicitedDescAdvs)
    const frame: Frame = { type: 2, description: d.parsed.decoded! };
    for (const ifname of this.#ifs.keys()) {
      this.#sendDescAdv(undefined, ifname, () => (k.current === d ? frame : undefined), k.hex);
    }
    const view = this.#view(k);
    if (isNew) this.#emit({ type: 'node-appeared', node: view });
    this.#emit({ type: 'description-changed', node: view, tlvs: d.bodies! });
    for (const [type, consume] of this.#tlvConsumers) consume(view, d.bodies!.get(type));
    // what is only needed until it is applied goes (memory in large meshes): the expanded bodies
    // live on in the content store, the decoded form is rebuilt from the bytes when asked for
    d.bodies = undefined;
    d.parsed.decoded = undefined;
    d.parsed.refs = [];
    d.parsed.inline.clear();
    this.#updateRoutes(k);
    if (this.#cfg.listenOnly) this.#verifyStash(k);
    // OGMs waiting for this description (4.9 step 1)
    for (const kk of [...this.#nbs]) {
      const nb = kk.nb;
      if (!nb) continue;
      const iid = nb.byNode.get(k.hex);
      const ref = iid === undefined ? undefined : nb.iidRefs.get(iid);
      if (ref) {
        if (ref.descSqn < d.parsed.descSqn) restartRef(ref, d.parsed.descSqn);
        const p = ref.pending;
        if (p) {
          ref.pending = undefined;
          this.#processOgm(nb, ref, p.chainOgm, p.fm16, p.hops, p.history, false);
        }
      }
    }
  }

  // ---------------------------------------------------------------- IIDs and OGMs (4.9)

  #onIidAdv(nb: Neigh, a: IidAdv): void {
    if (a.iid === 0 || a.iid > IID_MAX_RX) return;
    const now = this.#now();
    const h = hex(a.nodeId);
    let ref = nb.iidRefs.get(a.iid);
    if (!ref) {
      ref = newIidRef(a.iid, now);
      nb.iidRefs.set(a.iid, ref);
    }
    ref.refreshed = now;
    if (ref.node !== h) {
      // a different node id replaces the mapping; other IIDs of this neighbour for that node go
      const other = nb.byNode.get(h);
      if (other !== undefined && other !== a.iid) {
        const r = nb.iidRefs.get(other);
        if (r) this.#unref(r);
        nb.iidRefs.delete(other);
      }
      this.#unref(ref);
      if (ref.node && nb.byNode.get(ref.node) === a.iid) nb.byNode.delete(ref.node);
      // the key record's own id text, so that every neighbour's ref shares one string
      const node = h === this.#hex ? this.#hex : this.#getKey(a.nodeId, true, h)!.hex;
      ref.node = node;
      nb.byNode.set(node, a.iid);
      restartRef(ref, a.descSqn);
      if (h !== this.#hex) this.#keys.get(node)!.iidRefCount++;
    } else if (a.descSqn < ref.descSqn) return;
    else if (a.descSqn > ref.descSqn) restartRef(ref, a.descSqn); // a new description of the same node
    if (h === this.#hex) return;
    const k = this.#getKey(a.nodeId, true, h)!;
    k.lastRef = now;
    if (!k.referrer || !this.#keys.get(k.referrer)?.nb) k.referrer = nb.key.hex;
    if (k.state < KS.TRACKED) this.#track(k);
    if (k.state < KS.TRACKED) return;
    const cur = k.current;
    if (!cur || cur.parsed.descSqn < a.descSqn) {
      if (!k.pubkey) this.#requestPubkey(k);
      else if (!k.pending || k.pending.parsed.descSqn < a.descSqn) {
        if (mayRequest(ref, now, this.#cfg.descRetryIterations, this.#cfg.descRetryInterval))
          this.#requestDesc(k, undefined, k.id, nb);
      } else this.#tryResolve(k);
      return;
    }
    if (cur.parsed.descSqn !== a.descSqn || !cur.verifier) return;
    // learn the current sqn with no path (4.9 IID_ADV)
    // the anchor itself (sqn 0) proves nothing and would cost a search over the whole range
    const anchor = isAnchor(cur.verifier, a.chainOgm);
    const s = anchor ? 0 : findChainSqn(cur.verifier, a.chainOgm, { fullRange: true });
    if (!anchor && s === 0) this.#cnt.iidAdvUnproven++;
    if (s > ref.sqn) {
      ref.sqn = s;
      ref.fm16 = FM16_NOT_ROUTABLE;
      ref.hops = 1;
      ref.history = NO_HISTORY;
      ref.sqnTime = now;
      ref.chainOgm = a.chainOgm;
    }
    const p = ref.pending;
    if (p) {
      ref.pending = undefined;
      this.#processOgm(nb, ref, p.chainOgm, p.fm16, p.hops, p.history, false);
    } else this.#evaluate(k, nb, ref);
  }

  #onOgm(nb: Neigh, o: Ogm): void {
    if (o.iid === 0 || o.iid > IID_MAX_RX) return;
    const now = this.#now();
    let ref = nb.iidRefs.get(o.iid);
    if (!ref) {
      ref = newIidRef(o.iid, now);
      nb.iidRefs.set(o.iid, ref);
    }
    ref.refreshed = now;
    this.#processOgm(
      nb,
      ref,
      o.chainOgm,
      o.metric,
      o.hops,
      o.history.length ? [...o.history] : NO_HISTORY,
      true,
    );
  }

  /** OGM acceptance per message (4.9 steps 1–4). */
  #processOgm(
    nb: Neigh,
    ref: IidRef,
    chainOgm: Uint8Array,
    fm16: number,
    hops: number,
    history: Ogm['history'][number][],
    mayAsk: boolean,
  ): void {
    const now = this.#now();
    if (!ref.node) {
      this.#pendOgm(nb, ref, chainOgm, fm16, hops, history, mayAsk, now);
      return;
    }
    if (ref.node === this.#hex) {
      // metric attack check (4.9 step 3)
      if (this.#chain && this.#chainConst) {
        const v = this.#ownVerifier();
        const s = v ? findChainSqn(v, chainOgm, { deviation: this.#cfg.ogmSqnDeviation }) : 0;
        if (s > this.#ogmSqn || (s === this.#ogmSqn && s > 0 && fm16 >= FM16_MAX))
          this.#demoteToListed(nb.key);
      }
      return;
    }
    const k = this.#keys.get(ref.node);
    const d = k?.current;
    if (!k || !d?.verifier || d.parsed.descSqn < ref.descSqn) {
      if (!k) {
        this.#pendOgm(nb, ref, chainOgm, fm16, hops, history, mayAsk, now);
        return;
      }
      // mapped, but its (newer) description is missing: fetch that instead of asking for the IID again
      ref.pending = { chainOgm, fm16, hops, history };
      if (k.state < KS.TRACKED) this.#track(k);
      else if (!k.pubkey) this.#requestPubkey(k);
      else if (k.pending && k.pending.parsed.descSqn >= ref.descSqn) this.#tryResolve(k);
      else if (mayAsk && mayRequest(ref, now, this.#cfg.descRetryIterations, this.#cfg.descRetryInterval))
        this.#requestDesc(k, undefined, k.id, nb);
      return;
    }
    const s = findChainSqn(d.verifier, chainOgm, { deviation: this.#cfg.ogmSqnDeviation });
    if (s === 0) {
      this.#pendOgm(nb, ref, chainOgm, fm16, hops, history, mayAsk, now);
      return;
    }
    if (ref.descSqn < d.parsed.descSqn) restartRef(ref, d.parsed.descSqn);
    if (s < ref.sqn) return;
    if (s > ref.sqn) {
      // one copy of a verified chainOgm per sqn, shared by the refs of every neighbour that sends it
      const c = k.chain;
      if (c && c.descSqn === d.parsed.descSqn && c.sqn === s) chainOgm = c.bytes;
      else k.chain = { descSqn: d.parsed.descSqn, sqn: s, bytes: chainOgm };
      ref.sqn = s;
      ref.fm16 = fm16;
      ref.hops = hops + 1;
      ref.history = history;
      ref.sqnTime = now;
      ref.chainOgm = chainOgm;
    } else if (fm16 > ref.fm16) {
      ref.fm16 = fm16;
      ref.hops = hops + 1;
      ref.history = history;
    }
    this.#evaluate(k, nb, ref);
  }

  /** An OGM waits for its IID mapping or description; the IID is asked for, rate-limited (4.9 step 1). */
  #pendOgm(
    nb: Neigh,
    ref: IidRef,
    chainOgm: Uint8Array,
    fm16: number,
    hops: number,
    history: Ogm['history'][number][],
    mayAsk: boolean,
    now: number,
  ): void {
    ref.pending = { chainOgm, fm16, hops, history };
    if (!mayAsk || !mayRequest(ref, now, this.#cfg.descRetryIterations, this.#cfg.descRetryInterval)) return;
    const ifname = this.#bestTqIf(nb);
    if (!ifname) return;
    this.#addTask({
      type: 28,
      ifname,
      group: nb.key.id,
      key: String(ref.iid),
      tries: this.#cfg.resolveIterations,
      interval: this.#cfg.resolveInterval,
      due: now,
      produce: () =>
        ref.pending && nb.iidRefs.get(ref.iid) === ref ? { kind: 'iidReq', iid: ref.iid } : undefined,
    });
  }

  #ownVerifier(): OgmChainVerifier | undefined {
    if (!this.#desc || !this.#chain) return undefined;
    const v = createChainVerifier({
      descriptionHash: this.#desc.dHash,
      anchor: this.#chain.anchor,
      nodeId: this.#id,
      descSqn: this.#descSqn,
      range: this.#chain.range,
    });
    if (this.#ogmSqn > 0) {
      v.maxRcvd = this.#ogmSqn;
      v.linkMaxRcvd = chainOgmFor(this.#chain, this.#chainConst!, this.#ogmSqn).map(
        (b, i) => b ^ this.#chainConst![i]!,
      );
    }
    return v;
  }

  /** The neighbour's offer via its best lq-ok link (4.10 "The neighbour's offer"). */
  #offer(
    k: KeyRec,
    nb: Neigh,
    claimed: bigint,
    history: Ogm['history'],
  ): { um: bigint; link: Link | undefined } {
    const now = this.#now();
    const p = k.current!.facts!.metric;
    let best: { um: bigint; link: Link | undefined } = { um: UMETRIC_NOT_ROUTABLE, link: undefined };
    for (const l of nb.links.values()) {
      if (!lqOk(l.q, now, this.#cfg.linkTimeout, this.#cfg.minLinkQuality)) continue;
      const ifc = this.#ifs.get(l.ifname);
      if (!ifc) continue;
      const rate = ifc.info.rateMax ?? 1_000_000_000n;
      const channel = ifc.info.channel ?? 0;
      const um = pathMetric(
        {
          claimed,
          rq: timeAwareRq(l.q, now, this.#cfg.linkTimeout),
          tq: timeAwareTq(l.q, now, this.#cfg.linkTimeout),
          rateMax: rate,
          wireless: channel !== 0,
          channel,
          history: history.map((h) => ({ metric: umetricFromFm16(h.metric), channel: h.channel })),
        },
        p,
      );
      if (um > best.um) best = { um, link: l };
    }
    return best;
  }

  /** Path evaluation for originator k with neighbour nb's ref (4.10 "Path selection"). */
  #evaluate(k: KeyRec, nb: Neigh, ref: IidRef): void {
    const o = k.orig;
    const d = k.current;
    if (!o || !d?.facts || ref.descSqn !== d.parsed.descSqn || !isFm16Valid(ref.fm16)) return;
    const now = this.#now();
    const p = d.facts.metric;
    const claimed = umetricFromFm16(ref.fm16);
    // not applicable at all: older sqn, or same sqn without a better claim (4.10)
    if (ref.sqn < o.sqn || !(ref.sqn > o.sqn || claimed > o.um)) return;
    let cand = this.#offer(k, nb, claimed, ref.history);
    const minimum = o.minimum;
    const lexGreater =
      d.parsed.descSqn > minimum[0] ||
      (d.parsed.descSqn === minimum[0] &&
        (ref.sqn > minimum[1] || (ref.sqn === minimum[1] && ref.fm16 > minimum[2])));
    const trustsOk = !d.facts.trusts || d.facts.trusts.has(nb.key.hex);
    if (
      !trustsOk ||
      !lexGreater ||
      claimed < p.pathMetricMin ||
      claimed === UMETRIC_NOT_ROUTABLE ||
      ref.hops < 1 ||
      !this.#supported(nb.key.hex)
    ) {
      cand = { um: UMETRIC_NOT_ROUTABLE, link: undefined };
    }
    if (cand.um <= UMETRIC_NOT_ROUTABLE) cand = { um: UMETRIC_NOT_ROUTABLE, link: undefined };
    const r = selectPath(
      { sqn: o.sqn, um: o.um, link: o.link?.id },
      {
        sqn: ref.sqn,
        claimed,
        um: cand.um,
        link: cand.link?.id,
        sqnAgeMs: now - ref.sqnTime,
        bestSince: ref.bestSince,
      },
      p,
    );
    if (r.skipped) return;
    ref.bestSince = r.bestSince;
    if (!r.rule) {
      if (r.retryInMs !== undefined && r.retryInMs > 0 && !o.retry) {
        o.retry = this.#c.clock.schedule(r.retryInMs, () => {
          o.retry = undefined;
          if (this.#running && k.orig === o && nb.iidRefs.get(ref.iid) === ref) this.#evaluate(k, nb, ref);
        });
      }
      return;
    }
    o.retry?.();
    o.retry = undefined;
    const linkChanged = o.link !== cand.link;
    o.sqn = ref.sqn;
    o.um = cand.um;
    o.fm16 = cand.um > UMETRIC_NOT_ROUTABLE ? umetricToFm16(cand.um) : FM16_NOT_ROUTABLE;
    if (o.link !== cand.link) {
      o.link?.routed.delete(k);
      cand.link?.routed.add(k);
    }
    o.link = cand.link;
    o.hops = ref.hops;
    o.history = ref.history;
    o.chainOgm = ref.chainOgm;
    if (o.firstAccept < 0) o.firstAccept = now;
    o.minimum =
      now - o.firstAccept < FIRST_SQN_MIN_MS
        ? [d.parsed.descSqn, o.sqn + 1, 0]
        : [d.parsed.descSqn, o.sqn, o.fm16];
    this.#scheduleOrigOgm(k);
    if (linkChanged) {
      this.#updateRoutes(k);
      this.#emit({ type: 'route-changed', node: this.#view(k) });
    }
  }

  /** (Re)schedules an originator's OGM into the newest aggregation (4.9 "forwarding"). */
  #scheduleOrigOgm(k: KeyRec): void {
    const o = k.orig;
    if (!o?.chainOgm || o.sqn < 1) return;
    const p = k.current?.facts?.metric;
    if (p && o.hops >= p.maxHops) return;
    const history = this.#hopHistory(k, o, p);
    const ogm: Ogm = {
      chainOgm: o.chainOgm,
      iid: o.iid,
      hops: o.hops,
      metric: o.fm16 || FM16_NOT_ROUTABLE,
      history,
    };
    if (scheduleOgm(this.#agg, { node: k.hex, bytes: 18 + 3 * history.length, ogm }))
      this.#flushAggregation();
  }

  /**
   * Hop history of a forwarded OGM (4.9): only with CP in the originator's algorithm; my own link
   * first if its interface is not exclusive, then the received entries with channel ≠ 0, at most
   * the originator's ogmHistorySize.
   */
  #hopHistory(k: KeyRec, o: Orig, p: MetricParams | undefined): Ogm['history'][number][] {
    if (!p || !(p.algo & 1) || p.ogmHistorySize === 0 || !o.link) return [];
    const out: Ogm['history'][number][] = [];
    const ifc = this.#ifs.get(o.link.ifname);
    const channel = ifc?.info.channel ?? 0;
    if (channel !== 0) {
      const now = this.#now();
      const tp = linkThroughput(
        timeAwareRq(o.link.q, now, this.#cfg.linkTimeout),
        timeAwareTq(o.link.q, now, this.#cfg.linkTimeout),
        ifc?.info.rateMax ?? 1_000_000_000n,
        true,
        p,
      );
      out.push({ metric: umetricToFm16(tp), directional: false, channel });
    }
    for (const h of o.history) if (h.channel !== 0 && out.length < p.ogmHistorySize) out.push(h);
    void k;
    return out.slice(0, p.ogmHistorySize);
  }

  #flushAggregation(): void {
    const f = flushNewest(this.#agg);
    if (!f) return;
    this.#aggLastFlushed = f.sqn;
    const frame: Frame = { type: 21, aggSqn: f.sqn, ogms: f.ogms.map((x) => x.ogm) };
    for (const ifname of this.#ifs.keys()) {
      this.#addTask({
        type: 21,
        ifname,
        group: undefined,
        key: `agg${f.sqn}`,
        tries: 1,
        interval: this.#cfg.txFrameInterval,
        due: this.#now(),
        produce: () => ({ kind: 'frame', frame }),
      });
    }
  }

  // ---------------------------------------------------------------- links and neighbours

  /** The pairwise DHM secret (4.4), computed on first use: only neighbours ever need it. */
  #secretOf(k: KeyRec): Uint8Array | undefined {
    if (k.dhmSecret) return k.dhmSecret;
    const g = k.current?.facts?.dhmKey;
    if (!this.#dhm || !g || g.type !== this.#dhm.type) return undefined;
    const r = dhmSecret(this.#dhm, g.gx);
    if (r.ok) k.dhmSecret = r.value;
    return k.dhmSecret;
  }

  #bestTqLink(nb: Neigh): Link | undefined {
    const now = this.#now();
    let best: Link | undefined;
    let bestTq = -1;
    let bestRq: Link | undefined;
    let bestRqV = -1;
    for (const l of nb.links.values()) {
      const tq = timeAwareTq(l.q, now, this.#cfg.linkTimeout);
      const rq = timeAwareRq(l.q, now, this.#cfg.linkTimeout);
      if (tq > bestTq) {
        bestTq = tq;
        best = l;
      }
      if (rq > bestRqV) {
        bestRqV = rq;
        bestRq = l;
      }
    }
    return bestTq > 0 ? best : bestRq;
  }

  #bestTqIf(nb: Neigh): string | undefined {
    return this.#bestTqLink(nb)?.ifname;
  }

  #nbLqOk(nb: Neigh): boolean {
    if (this.#cfg.listenOnly) return true;
    const l = this.#bestTqLink(nb);
    return !!l && lqOk(l.q, this.#now(), this.#cfg.linkTimeout, this.#cfg.minLinkQuality);
  }

  // ---------------------------------------------------------------- routes (4.10 "Routes")

  #updateRoutes(k: KeyRec): void {
    const o = k.orig;
    const facts = k.current?.facts;
    if (!o || !facts || !o.link || o.um <= UMETRIC_NOT_ROUTABLE) {
      this.#routes.setOwner(k.hex, []);
      return;
    }
    const routes: Route[] = [];
    for (const e of facts.hna) {
      if (e.flags & 0x01) continue; // DESC_MSG_HNA_FLAG_NO_ROUTE
      routes.push({
        prefix: `${ip6ToString(e.address)}/${e.prefixLen}`,
        via: o.link.addr,
        dev: o.link.ifname,
        metric: this.#cfg.routeMetric,
      });
    }
    this.#routes.setOwner(k.hex, routes);
  }

  #dropOrig(k: KeyRec): void {
    const o = k.orig;
    if (!o) return;
    o.retry?.();
    o.link?.routed.delete(k);
    this.#routes.setOwner(k.hex, []);
    this.#iids.free(o.iid);
    removeOgm(this.#agg, k.hex);
    k.orig = undefined;
    // forget the applied description too: referenced again with the same descSqn, it is fetched
    // and applied anew, which creates the originator again (otherwise #evaluate never routes it)
    this.#indexFacts(k, k.current?.facts, undefined);
    this.#releaseDesc(k.current);
    k.current = undefined;
    if (k.state >= KS.PROMOTED) k.state = KS.CERTIFIED;
    this.#emit({ type: 'node-gone', id: k.hex });
  }

  // ---------------------------------------------------------------- own description (4.5)

  #ownHna(): Hna6Entry[] {
    const out: Hna6Entry[] = [{ prefixLen: 128, flags: 0, address: this.#primary }];
    const seen = new Set([`${hex(this.#primary)}/128`]);
    for (const net of this.#cfg.unicastHna) {
      const [a, l] = net.split('/');
      let addr: Uint8Array;
      try {
        addr = ip6FromString(a ?? '');
      } catch {
        continue;
      }
      const e = { prefixLen: Number(l ?? 128), flags: 0, address: addr };
      const k = `${hex(addr)}/${e.prefixLen}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(e);
      }
    }
    return out;
  }

  #buildDescription(): void {
    this.#descPending = false;
    if (this.#burstSqn > BURST_SQN_RENEW) this.#burstSqn = 0;
    this.#descCounter++;
    if (this.#descCounter % 100 === 0) this.#c.storage.saveDescSqn(this.#descCounter);
    this.#descSqn = this.#descCounter;
    if (!this.#bootSqn) this.#bootSqn = this.#descSqn;
    const range = this.#cfg.ogmSqnRange;
    this.#chain = createOgmChain({
      nodeId: this.#id,
      descSqn: this.#descSqn,
      range,
      random: (n) => this.#c.random.bytes(n),
    });
    const bodies = new Map<number, Uint8Array>();
    if (this.#linkRsa) bodies.set(TLV.RSA_LINK_PUBKEY, this.#linkRsa.publicContent);
    if (this.#dhm)
      bodies.set(
        TLV.DHM_LINK_PUBKEY,
        encodeTlvBody({ type: 6, keyType: this.#dhm.type, gx: this.#dhm.publicValue }),
      );
    if (this.#cfg.trustedNodes) {
      const entries = (lvl: 'trust' | 'support') =>
        this.#cfg
          .trustedNodes!.filter((t) => t[lvl] > 0)
          .map((t) => ({
            nodeId: new Uint8Array(Buffer.from(t.id, 'hex')),
            level: Math.min(3, t[lvl]),
            reserved: 0,
          }))
          .sort((a, b) => Buffer.compare(a.nodeId, b.nodeId));
      const sup = entries('support');
      const tru = entries('trust');
      if (sup.length) bodies.set(TLV.SUPPORTS, encodeTlvBody({ type: 9, entries: sup }));
      if (tru.length) bodies.set(TLV.TRUSTS, encodeTlvBody({ type: 10, entries: tru }));
    }
    bodies.set(TLV.METRIC, encodeMetricTlv(this.#cfg.metric));
    const lls = [...new Set([...this.#ifs.values()].map((i) => hex(i.ll)))]
      .sort()
      .map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    if (lls.length) bodies.set(TLV.LLIP, encodeTlvBody({ type: 14, addresses: lls }));
    bodies.set(TLV.HNA6, encodeTlvBody({ type: 15, entries: this.#ownHna() }));
    for (const [type, produce] of this.#tlvProducers) {
      const b = produce();
      if (b?.length) bodies.set(type, b);
    }
    if (this.#cfg.describeNodeInfos) {
      bodies.set(
        TLV.INFO,
        encodeTlvBody({
          type: 28,
          infoType: 0,
          infoOffset: 20,
          codeRevision: 0,
          reservedA: 0,
          reservedB: 0,
          reservedC: 0,
          name: this.#cfg.hostname.slice(0, 63),
          mail: '',
          extra: new Uint8Array(0),
        }),
      );
    }
    const built = buildOwnDescription({
      nodeKey: this.#key,
      descSqn: this.#descSqn,
      bootSqn: this.#bootSqn,
      ogmSqnRange: range,
      anchor: this.#chain.anchor,
      compatibility: this.#cfg.compatibility,
      bodies,
    });
    // keep own contents for CONTENT_REQ answers
    if (this.#desc) {
      for (const h of this.#desc.contents) {
        const c = this.#content.get(h);
        if (c && --c.uses <= 0) this.#content.delete(h);
      }
    }
    const contents: string[] = [];
    for (const it of built.contents) {
      const h = hex(it.hash);
      const c = this.#content.get(h);
      if (c) c.uses++;
      else this.#content.set(h, { header: it.header, body: it.body, uses: 1, since: this.#now() });
      contents.push(h);
    }
    this.#desc = {
      bytes: built.bytes,
      dHash: built.dHash,
      dHashHex: hex(built.dHash),
      contents,
      builtAt: this.#now(),
    };
    this.#chainConst = ogmChainConstant(built.dHash, this.#chain.anchor, this.#id, this.#descSqn);
    this.#descFrame = this.#descAdvFrame(built.bytes);
    // sent once as DESC_ADV on all interfaces; own OGM sqn restarts at 1 (4.5)
    for (const ifname of this.#ifs.keys()) {
      const f = this.#descFrame;
      this.#sendDescAdv(f, ifname, () => (this.#descFrame === f ? f : undefined));
    }
    this.#ogmSqn = 0;
    this.#ownOgmNow = true;
    this.#c.logger.log(3, 'own description', { descSqn: this.#descSqn, size: built.bytes.length });
  }

  #ownOgm(): void {
    if (!this.#chain || !this.#chainConst) return;
    if (this.#ogmSqn >= this.#chain.range) {
      this.descUpdate(); // sqn range used up → new description (4.5)
      return;
    }
    this.#ogmSqn++;
    this.#ownOgmNow = false;
    const ogm: Ogm = {
      chainOgm: chainOgmFor(this.#chain, this.#chainConst, this.#ogmSqn),
      iid: 1,
      hops: 0,
      metric: FM16_MAX,
      history: [],
    };
    scheduleOgm(this.#agg, { node: this.#hex, bytes: 18, ogm });
  }

  // ---------------------------------------------------------------- rounds (4.1 "Round timing")

  #armRound(delay: number): void {
    if (!this.#running) return;
    const at = this.#now() + Math.max(0, delay);
    if (at >= this.#roundAt) return;
    this.#roundCancel?.();
    this.#roundAt = at;
    this.#roundCancel = this.#c.clock.schedule(Math.max(0, delay), () => {
      this.#roundCancel = undefined;
      this.#roundAt = Infinity;
      this.#round();
    });
  }

  #round(): void {
    if (!this.#running) return;
    const now = this.#now();
    this.#lastRound = now;
    if (this.#descPending && this.#ifs.size) this.#buildDescription();
    if (now - this.#lastCasual >= this.#nextCasualGap) this.#casual(now);
    const due = this.#tx.takeDue(now);
    for (const [ifname, items] of due) {
      const ifc = this.#ifs.get(ifname);
      if (!ifc) continue;
      const frames = mergeFrames(items.map(({ task, msg }) => ({ task, msg })));
      let packets: Uint8Array[];
      try {
        packets = packPackets(this.#id, frames, this.#signParams(ifc));
      } catch (err) {
        // a programmer error in packet assembly must not stop the node (counted and logged)
        this.#c.logger.log(0, 'packet assembly failed', { error: String(err) });
        continue;
      }
      for (const pkt of packets) {
        if (!this.#cfg.listenOnly) this.#c.datagrams.send(ifname, pkt);
        this.#cnt.txPackets++;
        this.#cnt.txBytes += pkt.length;
      }
    }
    const busy = due.size > 0;
    if (busy) {
      // one burst per round with something to send (4.4); near the end of the u32 range a new
      // description lets it start again at 0
      this.#burstSqn++;
      if (this.#burstSqn > BURST_SQN_RENEW) this.descUpdate();
    }
    const gap = this.#bucketGap(now, busy);
    this.#roundGap = gap;
    const nextCasual = this.#lastCasual + this.#nextCasualGap;
    const nextTask = this.#tx.nextDue();
    const next = Math.max(now + gap, Math.min(nextCasual, nextTask));
    this.#armRound(next - now);
  }

  /** The gap before the next round: the transmit bucket's (4.12), ±5 %. */
  #bucketGap(now: number, busy: boolean): number {
    return bucketRound(this.#bucket, this.#cfg, now, busy) * (0.95 + 0.1 * this.#c.random.float());
  }

  /** The casual frames of a round (4.1 step 2). */
  #casual(now: number): void {
    this.#lastCasual = now;
    // txAvgInterval ± 5 % jitter (4.12)
    this.#nextCasualGap = this.#cfg.txAvgInterval * (0.95 + 0.1 * this.#c.random.float());
    for (const [ifname, ifc] of this.#ifs) {
      this.#tx.add({
        type: 12,
        ifname,
        group: undefined,
        key: 'hello',
        tries: 1,
        interval: 0,
        due: now,
        // the sqn counts HELLOs sent, so it is taken when the frame is made (as the reference's
        // tx_msg_hello_adv): a HELLO not sent leaves no gap that neighbours would count as loss
        produce: () => {
          ifc.helloSqn = (ifc.helloSqn + 1) & 0xffff;
          return { kind: 'frame', frame: { type: 12, helloSqn: ifc.helloSqn } };
        },
      });
    }
    // HELLO_REPLY per link, one frame per neighbour (4.10)
    for (const l of this.#links.values()) {
      const cur = l.nb.key.current;
      if (!cur) continue;
      const rq = timeAwareRq(l.q, now, this.#cfg.linkTimeout);
      this.#tx.add({
        type: 13,
        ifname: l.ifname,
        group: l.nb.key.id,
        key: l.id,
        tries: 1,
        interval: 0,
        due: now,
        produce: () => ({
          kind: 'reply',
          msg: { dhash: cur.parsed.dHash, rxLq: rq, receiverDevIdx: l.devIdx },
        }),
      });
    }
    // own OGM (4.9): it rides along with others' OGMs once ogmInterval has passed on a timer that
    // keeps its phase, and goes out alone at the latest ogmInterval·factor after the last one
    // (restarted from now), or at once as the first OGM of a new description
    const guarantee = (this.#cfg.ogmInterval * this.#cfg.ogmIntervalFactor) / 100;
    const alone = !this.#descPending && doNowOrLater(this.#ogmGuarantee, now, guarantee, this.#ownOgmNow);
    if (
      (alone || hasPendingOgms(this.#agg)) &&
      doNowOrLater(this.#ogmHitchhike, now, this.#cfg.ogmInterval, alone)
    ) {
      doNowOrLater(this.#ogmGuarantee, now, guarantee, true);
      this.#ownOgm();
    }
    this.#flushAggregation();
    // OGM_REQ for missing aggregations of every lq-ok neighbour (4.9)
    for (const k of this.#nbs) {
      const nb = k.nb;
      if (!nb || !this.#nbLqOk(nb)) continue;
      const ifname = this.#bestTqIf(nb);
      if (!ifname) continue;
      for (const sqn of missingAggregations(nb.agg)) {
        this.#tx.add({
          type: 27,
          ifname,
          group: k.id,
          key: String(sqn),
          tries: 1,
          interval: this.#cfg.txFrameInterval,
          due: now,
          produce: () => (nb.agg.got[sqn & 255] ? undefined : { kind: 'ogmReq', sqn }),
        });
      }
    }
  }

  /** The signature method for my packets (4.4 table). */
  #signParams(ifc: Iface) {
    const now = this.#now();
    const peers = [...this.#heard]
      .filter((k) => k.state === KS.NEIGHBOR || (k.state === KS.PROMOTED && k.qualifyingUntil > now))
      .sort((a, b) => (a.hex < b.hex ? -1 : 1));
    let reserve: Array<{ keyType: number; length: number }> = [];
    let sign: (header: Uint8Array, tail: Uint8Array) => SignatureMessage[] = () => [];
    const digestOf = (header: Uint8Array, tail: Uint8Array) => packetDigest(ifc.ll, header, tail);
    if (peers.length) {
      const dhmOk =
        this.#dhm && peers.length <= this.#cfg.maxDhmNeighs && peers.every((k) => this.#secretOf(k));
      if (dhmOk) {
        const type = this.#dhm!.type;
        reserve = peers.map(() => ({ keyType: type, length: 14 }));
        sign = (h, t) => {
          const dg = digestOf(h, t);
          return peers.map((k) => ({ keyType: type, signature: dhmMac(dg, k.dhmSecret!) }));
        };
      } else if (this.#linkRsa) {
        const lk = this.#linkRsa;
        reserve = [{ keyType: lk.type, length: lk.publicContent.length - 1 }];
        sign = (h, t) => {
          const m = signPacketRsa(lk, digestOf(h, t));
          return [{ keyType: m[0]!, signature: m.subarray(1) }];
        };
      }
    }
    const flushed = this.#aggLastFlushed;
    const size = flushed
      ? Math.max(1, Math.min(256, aggWindow(this.#agg) - (this.#agg.newestFlushed ? 0 : 1)))
      : 0;
    return {
      descSqn: this.#descSqn,
      burstSqn: this.#burstSqn,
      devIdx: ifc.devIdx,
      aggMax: flushed,
      aggSize: size,
      reserve,
      sign,
    };
  }

  // ---------------------------------------------------------------- maintenance (4.10 purge, 4.11 timers)

  /**
   * Link keys expire after linkKeyLifetime; the first of each kind after a random 1…lifetime s
   * (4.5, 4.7). A renewal makes a new description; DHM secrets with the old key are dropped.
   */
  #renewLinkKeys(now: number): void {
    const life = this.#cfg.linkKeyLifetime * 1000;
    if (!life) return;
    const first = () => now + Math.max(1000, Math.floor(this.#c.random.float() * life));
    if (this.#dhmExpiry === undefined) this.#dhmExpiry = first();
    if (this.#rsaExpiry === undefined) this.#rsaExpiry = first();
    let renewed = false;
    if (this.#dhm && now >= this.#dhmExpiry) {
      this.#dhm = createDhmKey(this.#dhm.type);
      for (const k of this.#keys.values()) k.dhmSecret = undefined;
      this.#dhmExpiry = now + life;
      renewed = true;
    }
    if (this.#linkRsa && now >= this.#rsaExpiry) {
      this.#linkRsa = generateRsaKey(this.#linkRsa.type);
      this.#rsaExpiry = now + life;
      renewed = true;
    }
    if (renewed) this.descUpdate();
  }

  #armMaintenance(): void {
    this.#maintCancel = this.#c.clock.schedule(MAINTENANCE_MS, () => {
      if (!this.#running) return;
      this.#maintenance();
      this.#armMaintenance();
    });
  }

  #maintenance(): void {
    const now = this.#now();
    this.#lastMaintenance = now;
    this.#renewLinkKeys(now);
    const T = this.#cfg.linkTimeout;
    for (const l of [...this.#links.values()]) if (now - l.lastHello >= T) this.#purgeLink(l);
    for (const k of [...this.#keys.values()]) {
      // the packet credit ends linkTimeout after the last packet, and takes nQualifying with it
      if (k.qualifyingUntil > now && now - k.lastPacket > T) k.qualifyingUntil = 0;
      const nb = k.nb;
      if (nb) {
        for (const [i, ref] of nb.iidRefs) {
          if (now - ref.refreshed >= IID_REF_TIMEOUT) {
            this.#unref(ref);
            nb.iidRefs.delete(i);
            if (ref.node && nb.byNode.get(ref.node) === i) nb.byNode.delete(ref.node);
          }
        }
        const qualifying = k.qualifyingUntil > now;
        if (now - k.lastVerified >= T || nb.links.size === 0 || (!qualifying && !this.#nbLqOk(nb)))
          this.#dropNeighbor(k);
      }
    }
    for (const k of this.#heard) if (k.qualifyingUntil <= now && !k.nb) this.#heard.delete(k);
    const rerequest = now - this.#lastRerequest >= this.#cfg.maintainanceInterval;
    if (rerequest) this.#lastRerequest = now;
    for (const k of [...this.#keys.values()]) {
      const qualifying = k.qualifyingUntil > now;
      // a referenced key left Listed for want of room tries again (keyNodes_triggerNonTracktedNodesBecomingTracked)
      if (k.state === KS.LISTED && (qualifying || k.iidRefCount > 0)) this.#track(k);
      if (k.state === KS.PROMOTED && !qualifying && k.iidRefCount === 0) this.#dropOrig(k);
      if (!this.#supported(k.hex) && k.state > KS.LISTED) this.#demoteToListed(k);
      if ((k.state === KS.TRACKED || k.state === KS.CERTIFIED) && !qualifying && k.iidRefCount === 0) {
        if (now - k.trackedSince >= TRACKED_PROMOTION_MS) this.#demoteToListed(k);
      }
      if (
        k.state === KS.LISTED &&
        !qualifying &&
        k.iidRefCount === 0 &&
        now - k.lastRef >= this.#cfg.idTimeout
      ) {
        this.#forgetKey(k);
      }
      // promote resolved pending descriptions whose promotion condition now holds
      if (k.pending && k.state >= KS.CERTIFIED) this.#tryResolve(k);
      // re-resolve what is still missing every maintainanceInterval (4.12)
      if (rerequest && k.state >= KS.TRACKED) {
        if (!k.pubkey) this.#requestPubkey(k);
        else if (k.pending && !k.pending.facts)
          for (const h of k.pending.missing) this.#wantContent(unhex(h), k.hex);
      }
    }
    for (const [h, c] of this.#content) {
      if (c.uses <= 0 && now - c.since >= this.#cfg.idTimeout) this.#content.delete(h);
    }
    this.#fixLimits(now);
    void this.#lastMaintenance;
  }

  // ---------------------------------------------------------------- views, tables, plugins

  #view(k: KeyRec): NodeView {
    const o = k.orig;
    const facts = k.current?.facts;
    const primary = facts?.hna[0] ? ip6ToString(facts.hna[0].address) : '';
    const v: NodeView = {
      id: k.hex,
      shortId: shortId(k.id),
      name: facts?.name ?? '',
      descSqn: k.current?.parsed.descSqn ?? 0,
      primaryIp: primary,
      metric: o && o.um > UMETRIC_NOT_ROUTABLE && o.link ? Number(o.um) : 0,
      hops: o?.hops ?? 0,
    };
    if (o?.link && o.um > UMETRIC_NOT_ROUTABLE) v.via = { dev: o.link.ifname, address: o.link.addr };
    return v;
  }

  nodes(): NodeView[] {
    return [...this.#keys.values()].filter((k) => k.orig).map((k) => this.#view(k));
  }

  /** The key's row (4.11): 0 qualifying (and the node itself), 1 friend, 2 recommended, 3 alien. */
  #rowOf(k: KeyRec, now: number): number {
    if (now < k.qualifyingUntil || k.hex === this.#hex) return 0;
    if (this.#supportLevel(k.hex) >= 2) return 1;
    return this.#recommended.has(k.hex) ? 2 : 3;
  }

  /** The reference's `as` acronym: key column (l t c p n) and row (Q F R A), 4.11. */
  #assessedState(k: KeyRec, now: number): string {
    return `${COLUMN_LETTERS[k.state]}${ROW_LETTERS[this.#rowOf(k, now)]}`;
  }

  /** Keys per credit section [row][column]; the node itself counts as nQ. */
  #countSections(now: number): SectionCounts {
    const sec = emptySections();
    sec[0]![KS.NEIGHBOR]!++;
    for (const k of this.#keys.values()) sec[this.#rowOf(k, now)]![k.state]!++;
    this.#sec = sec;
    this.#secAt = now;
    return sec;
  }

  /** The section counts, counted at most once per maintenance second and kept current by #track. */
  #sections(now: number): SectionCounts {
    return this.#sec && now - this.#secAt < MAINTENANCE_MS ? this.#sec : this.#countSections(now);
  }

  /** A key's preference within its section (prefGet): neighbours of rows F, R, A gain 1 with a usable link; lA gains from the neighbours that reference it. */
  #prefOf(k: KeyRec, row: number, now: number): number {
    const m = this.#credits;
    const base = m.pref[row]![k.state]!;
    if (k.state === KS.NEIGHBOR && row > 0) return base + (k.nb && this.#nbLqOk(k.nb) ? 1 : 0);
    if (k.state === KS.LISTED && row === 3) {
      let refs = 0;
      for (const x of this.#nbs)
        if (x.nb?.byNode.has(k.hex)) refs += this.#prefOf(x, this.#rowOf(x, now), now);
      return Math.min(m.pref[3]![KS.TRACKED]! - 1, base + Math.floor(refs / 1000));
    }
    return base;
  }

  /**
   * Set limits (4.11, key.c keyNodes_fixLimits): while a set holds more keys than its limit, a key
   * of its least preferred occupied section is lowered one column: a random one where every key
   * has the section's preference, else the one with the lowest. A Listed key lowered is forgotten.
   */
  #fixLimits(now: number): void {
    const m = this.#credits;
    const sec = this.#countSections(now);
    for (let c = KS.NEIGHBOR; c >= KS.LISTED; c--) {
      for (let r = 0; r < 4; r++) {
        while (setCount(sec, r, c) > m.max[r]![c]!) {
          const at = leastSection(m, sec, r, c);
          if (!at) break;
          const k = this.#leastKey(at.row, at.column, now);
          if (!k) break; // only the node itself is left there
          sec[at.row]![at.column]!--;
          this.#lowerOneColumn(k);
          this.#cnt.keysLimited++;
          if (this.#keys.has(k.hex)) sec[this.#rowOf(k, now)]![k.state]!++;
        }
      }
    }
  }

  #leastKey(row: number, column: number, now: number): KeyRec | undefined {
    const inSec: KeyRec[] = [];
    for (const k of this.#keys.values()) if (k.state === column && this.#rowOf(k, now) === row) inSec.push(k);
    if (!inSec.length) return undefined;
    const base = this.#credits.pref[row]![column]!;
    const start = Math.floor(this.#c.random.float() * inSec.length);
    let least: KeyRec | undefined;
    let leastPref = Number.POSITIVE_INFINITY;
    for (let i = 0; i < inSec.length; i++) {
      const k = inSec[(start + i) % inSec.length]!;
      const p = this.#prefOf(k, row, now);
      if (p === base) return k;
      if (p < leastPref) {
        least = k;
        leastPref = p;
      }
    }
    return least;
  }

  /** One column down (keyNode_setState to the left section); from Listed the key is forgotten. */
  #lowerOneColumn(k: KeyRec): void {
    switch (k.state) {
      case KS.NEIGHBOR:
        this.#dropNeighbor(k); // to Promoted (Certified without an applied description)
        return;
      case KS.PROMOTED:
        this.#dropOrig(k);
        return;
      case KS.CERTIFIED:
        this.#releaseDesc(k.pending);
        k.pending = undefined;
        k.state = KS.TRACKED;
        return;
      case KS.TRACKED:
        this.#demoteToListed(k);
        return;
      default:
        this.#forgetKey(k);
    }
  }

  #forgetKey(k: KeyRec): void {
    this.#demoteToListed(k);
    this.#keys.delete(k.hex);
    this.#heard.delete(k);
    for (const [h, s] of this.#wanted) {
      s.delete(k.hex);
      if (!s.size) this.#wanted.delete(h);
    }
  }

  /**
   * The credits table (4.11) as the reference prints it: per row, for each column
   * `acro=keys in the section/keys in the set/set limit` and the set's preference. The node itself
   * counts as nQ.
   */
  #creditRows(now: number): ShowRows {
    const sec = this.#countSections(now);
    const m = this.#credits;
    return CREDIT_SETS.map((set, r) => {
      const row: Record<string, string | number> = { set, row: CREDIT_ROWS[r]! };
      CREDIT_COLUMNS.forEach((col, c) => {
        const acro = `${COLUMN_LETTERS[c]}${ROW_LETTERS[r]}`;
        row[col] = `${acro}=${sec[r]![c]}/${setCount(sec, r, c)}/${m.max[r]![c]}`;
        row[`${COLUMN_LETTERS[c]}Pref`] = m.pref[r]![c]!;
      });
      return row;
    });
  }

  /** The S column: 'A' without trust configuration, my support level when ≥ 2, 1 when a level-3 friend supports it at ≥ 2. */
  #supportText(h: string): string {
    if (!this.#cfg.trustedNodes) return 'A';
    const own = this.#supportLevel(h);
    if (own >= 2) return String(own);
    for (const level of this.#recommended.get(h)?.values() ?? []) if (level >= 2) return '1';
    return '0';
  }

  #supportLevel(h: string): number {
    return this.#cfg.trustedNodes?.find((t) => t.id.toLowerCase() === h)?.support ?? 0;
  }

  show(table: string): ShowRows {
    const now = this.#now();
    switch (table) {
      case 'status':
        return [
          {
            shortId: this.shortId,
            name: this.#cfg.hostname,
            nodeKey: `RSA${(this.#key.publicContent.length - 1) * 8}`,
            cv: this.#cfg.compatibility,
            primaryIp: this.#primaryText,
            descSqn: this.#descSqn,
            ogmSqn: this.#ogmSqn,
            lastDesc: this.#desc ? Math.floor((now - this.#desc.builtAt) / 1000) : '---',
            descSize: this.#desc ? descSizeText(this.#desc.bytes) : '---',
            uptime: Math.floor((now - this.#startedAt) / 1000),
            txQ: `${Math.floor(this.#bucket.coins)}/${this.#cfg.txBucketSize}`,
            nbs: [...this.#keys.values()].filter((k) => k.nb).length,
            rts: this.#routes.size,
            nodes: this.nodes().length + 1,
          },
        ];
      case 'interfaces':
        return [...this.#ifs.values()].map((i) => ({
          dev: i.info.name,
          state: 'UP',
          idx: i.devIdx,
          localIp: i.info.linkLocal,
          helloSqn: i.helloSqn,
          txTasks: this.#tx.queued(i.info.name),
        }));
      case 'links':
        return [...this.#links.values()].map((l) => ({
          shortId: shortId(l.nb.key.id),
          name: l.nb.key.current?.facts?.name ?? '',
          nbLocalIp: l.addr,
          dev: l.ifname,
          nbIdx: l.devIdx,
          rq: timeAwareRq(l.q, now, this.#cfg.linkTimeout),
          tq: timeAwareTq(l.q, now, this.#cfg.linkTimeout),
          linkKey: l.nb.key.dhmSecret ? 'DHM' : 'RSA',
          lastHelloSqn: l.window.last >= 0 ? l.window.last : '---',
        }));
      case 'originators':
        return [...this.#keys.values()]
          .filter((k) => k.orig)
          .map((k) => {
            const n = this.#view(k);
            const d = k.current;
            return {
              shortId: n.shortId,
              nodeId: k.hex.toUpperCase(),
              name: n.name,
              as: this.#assessedState(k, now),
              S: this.#supportText(k.hex),
              s: levelText(d?.facts?.supports, this.nodeId),
              T: this.#cfg.trustedNodes ? String(this.#trusted.get(k.hex) ?? 0) : 'A',
              t: levelText(d?.facts?.trusts, this.nodeId),
              myIid: k.orig?.iid ?? '---',
              descSqn: n.descSqn,
              lastDesc: d?.receivedAt !== undefined ? Math.floor((now - d.receivedAt) / 1000) : '---',
              descSize: d ? descSizeText(d.parsed.bytes, d.parsed.decoded) : '---',
              primaryIp: n.primaryIp,
              dev: n.via?.dev ?? '---',
              nbLocalIp: n.via?.address ?? '---',
              metric: n.metric,
              hops: n.hops,
              ogmSqn: k.orig?.sqn ?? '---',
              lastRef: Math.floor((now - k.lastRef) / 1000),
            };
          });
      case 'credits':
        return this.#creditRows(now);
      case 'keys':
        return [...this.#keys.values()].map((k) => ({
          shortId: shortId(k.id),
          nodeId: k.hex,
          state: STATE_NAMES[k.state],
          as: this.#assessedState(k, now),
          descSqn: k.current?.parsed.descSqn ?? 0,
          pendingSqn: k.pending?.parsed.descSqn ?? 0,
          unresolveds: k.pending?.missing.size ?? 0,
          pendingResolved: k.pending?.facts ? 1 : 0,
        }));
      default: {
        const t = this.#tables.get(table);
        return t ? t() : [];
      }
    }
  }

  #host(): PluginHost {
    return {
      registerTlv: (type, produce, consume) => {
        this.#tlvProducers.set(type, produce);
        if (consume) this.#tlvConsumers.set(type, consume);
      },
      updateDescription: () => this.descUpdate(),
      on: (l) => this.on(l),
      registerTable: (name, rows) => {
        this.#tables.set(name, rows);
      },
      registerParameter: (p) => {
        this.#params.set(p.name, p);
      },
      nodes: () => this.nodes(),
    };
  }
}

/** Creates an engine: `createEngine(init)(components)` (STYLE.md rule 8). */
export function createEngine(init: EngineInit): (components: EngineComponents) => Engine {
  return (components) => new BmxEngine(init, components);
}

export type { TaskMessage };
// exported for tests
export { UMETRIC_MAX };

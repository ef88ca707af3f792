/**
 * The engine's state as plain records (STYLE.md rule 11): keys, neighbours, links, originators,
 * descriptions and contents, the own description and the send rounds. Every module of the engine
 * takes the one `EngineState` explicitly; nothing here does I/O.
 */
import type { Frame, Hna6Entry, Ogm, SignatureFrame } from '@bmx7/codec';
import { ip6ToString } from '@bmx7/codec';
import {
  createDhmKey,
  type DhmKey,
  generateRsaKey,
  type OgmChain,
  type OgmChainVerifier,
  primaryAddress,
  type RsaPrivateKey,
} from '@bmx7/crypto';
import { type EngineConfig, type EngineInit, resolveConfig } from './config.js';
import { type CreditMatrix, creditMatrix, type SectionCounts } from './credits.js';
import type { DescriptionFacts, ParsedDescription } from './descriptions.js';
import { hex } from './hex.js';
import { type IidRef, IidRepo } from './iids.js';
import type { HelloWindow, LinkQuality } from './links.js';
import { type AggRxWindow, type AggTx, newAggTx } from './ogms.js';
import { newTxBucket, type TxBucket } from './pacing.js';
import type { EngineEvent } from './plugin.js';
import { newPluginRegistry, type PluginRegistry } from './plugin-host.js';
import type { EngineComponents, InterfaceInfo } from './ports.js';
import { RouteExport } from './routes.js';
import { newTrafficCounters, type TrafficCounters } from './traffic.js';
import type { TrustEntry } from './trust.js';
import { TxQueue } from './tx.js';

/** Admission columns of docs/protocol.md §4.11 (rows: see admission.ts). */
export const KEY_STATE = { LISTED: 0, TRACKED: 1, CERTIFIED: 2, PROMOTED: 3, NEIGHBOR: 4 } as const;
export type KeyState = (typeof KEY_STATE)[keyof typeof KEY_STATE];
export const STATE_NAMES = ['listed', 'tracked', 'certified', 'promoted', 'neighbor'] as const;

/** The maintenance period: timeouts, credit limits, re-requests. */
export const MAINTENANCE_MS = 1_000;

/** A content held for resolution and CONTENT_REQ answers, keyed by its hash (hex). */
export interface StoredContent {
  header: number;
  body: Uint8Array;
  /** Descriptions using it; unused contents go after idTimeout. */
  uses: number;
  since: number;
}

export interface DescRec {
  parsed: ParsedDescription;
  /** Every expanded TLV body, only until the description is applied. */
  bodies?: Map<number, Uint8Array> | undefined;
  /** The bodies of plugin-registered types, kept while the description is current. */
  kept?: Map<number, Uint8Array> | undefined;
  facts?: DescriptionFacts;
  verifier?: OgmChainVerifier;
  contents: string[];
  /** Contents still wanted (hex). */
  missing: Set<string>;
  /** When it arrived (show tables: lastDesc). */
  receivedAt?: number;
}

export interface Link {
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

export interface Neigh {
  key: KeyRec;
  links: Map<string, Link>;
  iidRefs: Map<number, IidRef>;
  agg: AggRxWindow;
  /** node hex → IID of this neighbour that maps to it (at most one, §4.9). */
  byNode: Map<string, number>;
  burstSqn: number;
  lastHelloByDev: Map<number, number>;
  addrByDev: Map<number, string>;
}

export interface Orig {
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

export interface KeyRec {
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
  /** Neighbour (hex) that referred this node by IID, for requests (§4.3 CONTENT_REQ row). */
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

export interface Iface {
  info: InterfaceInfo;
  devIdx: number;
  helloSqn: number;
  ll: Uint8Array;
}

/** A signed packet kept by a listenOnly engine until its sender's description arrives. */
export interface StashedPacket {
  sig: SignatureFrame;
  payload: Uint8Array;
  span: { headerOffset: number; tailOffset: number };
  src: Uint8Array;
  srcText: string;
}

/** Counters of dropped input and of work refused (STYLE.md rule 13). */
export interface EngineCounters {
  rxPackets: number;
  rxDropped: number;
  rxUnverified: number;
  rxVerified: number;
  /** Packets dropped by packet authentication (source not in LLIP, bad RSA signature: §4.4 "failure"). */
  rxAuthFailed: number;
  /** listenOnly: signed packets verified once their sender's description arrived. */
  rxVerifiedLate: number;
  txPackets: number;
  txBytes: number;
  descRejected: number;
  /** IID_ADV messages whose chainOgm is not on the announced description's chain. */
  iidAdvUnproven: number;
  /** Keys left Listed because the Tracked sets were full (§4.11 credit limits). */
  keysNotTracked: number;
  /** Keys lowered one column because a credit set was over its limit. */
  keysLimited: number;
  /** Transmit tasks refused because their interface had 200 queued (maxTxTaskTreeSize). */
  txTasksRefused: number;
  /** Exceptions caught in plugin callbacks (each logged with the plugin's name). */
  pluginErrors: number;
}

export interface OwnDescription {
  bytes: Uint8Array;
  dHash: Uint8Array;
  dHashHex: string;
  contents: string[];
  builtAt: number;
}

export interface EngineState {
  readonly c: EngineComponents;
  cfg: EngineConfig;
  readonly key: RsaPrivateKey;
  readonly id: Uint8Array;
  readonly hex: string;
  readonly primary: Uint8Array;
  readonly primaryText: string;
  linkRsa: RsaPrivateKey | undefined;
  dhm: DhmKey | undefined;
  readonly ifs: Map<string, Iface>;
  readonly ownLl: Set<string>;
  readonly keys: Map<string, KeyRec>;
  readonly links: Map<string, Link>;
  /** Keys in Neighbor state. */
  readonly nbs: Set<KeyRec>;
  /** Keys that sent packets within the qualifying time (superset of the neighbours). */
  readonly heard: Set<KeyRec>;
  /** HNA6 prefixes of applied descriptions → owner (hex), and the prefix lengths in use. */
  readonly hnaIndex: Map<string, string>;
  readonly hnaLens: Map<number, number>;
  /** node hex → (friend hex → level): the SUPPORTS entries of friends with support level 3 (§4.11 row R). */
  readonly recommended: Map<string, Map<string, number>>;
  readonly content: Map<string, StoredContent>;
  readonly wanted: Map<string, Set<string>>;
  readonly heardDesc: Map<string, { bytes: Uint8Array; from: KeyRec; ifc: Iface }>;
  /** listenOnly: signed packets that arrived before their sender's description (bounded per sender). */
  readonly stash: Map<string, StashedPacket[]>;
  readonly iids: IidRepo;
  /** Effective credit set limits and preferences (setCredits over the reference's defaults). */
  credits: CreditMatrix;
  /** Keys per credit section, counted by countSections. */
  sec: SectionCounts | undefined;
  secAt: number;
  agg: AggTx<{ node: string; bytes: number; ogm: Ogm }>;
  aggLastFlushed: number;
  readonly tx: TxQueue;
  readonly routes: RouteExport;
  readonly listeners: Set<(e: EngineEvent) => void>;
  readonly plugins: PluginRegistry;
  /** The own trust list (trust.ts): node hex → levels; empty without trust. */
  readonly trusted: Map<string, TrustEntry>;
  /** The own TRUSTS and SUPPORTS as published: node hex → level (2 or 3). */
  readonly ownTrusts: Map<string, number>;
  readonly ownSupports: Map<string, number>;
  // own description state (§4.5)
  descCounter: number;
  bootSqn: number;
  descSqn: number;
  desc: OwnDescription | undefined;
  /** The HNA6 entries of the own description (checked against others' for overlaps, §4.8). */
  ownHna: Hna6Entry[] | undefined;
  descFrame: Frame | undefined;
  descPending: boolean;
  chain: OgmChain | undefined;
  chainConst: Uint8Array | undefined;
  ogmSqn: number;
  ownOgmNow: boolean;
  /** Own OGM timers (§4.9): the latest time alone, and the ride-along with others' OGMs. */
  readonly ogmGuarantee: { next: number };
  readonly ogmHitchhike: { next: number };
  burstSqn: number;
  /** Transmit bucket: coins and when it was last updated. */
  readonly bucket: TxBucket;
  /** Minimum gap after the last round (from the bucket). */
  roundGap: number;
  running: boolean;
  roundCancel: (() => void) | undefined;
  roundAt: number;
  lastRound: number;
  lastCasual: number;
  nextCasualGap: number;
  lastRerequest: number;
  dhmExpiry: number | undefined;
  rsaExpiry: number | undefined;
  maintCancel: (() => void) | undefined;
  startedAt: number;
  readonly cnt: EngineCounters;
  /** Frames and bytes per frame type, dropped packets by reason (traffic.ts). */
  readonly traffic: TrafficCounters;
}

/** A new engine's state: no keys, no interfaces, not running. */
export function createState(init: EngineInit, c: EngineComponents): EngineState {
  const cfg = resolveConfig(init);
  const id = init.nodeKey.id;
  const primary = primaryAddress(id);
  return {
    c,
    cfg,
    key: init.nodeKey,
    id,
    hex: hex(id),
    primary,
    primaryText: ip6ToString(primary),
    linkRsa: cfg.linkRsaKey ? (init.linkRsaKeyMaterial ?? generateRsaKey(cfg.linkRsaKey)) : undefined,
    dhm: cfg.linkDhmKey ? createDhmKey(cfg.linkDhmKey) : undefined,
    ifs: new Map(),
    ownLl: new Set(),
    keys: new Map(),
    links: new Map(),
    nbs: new Set(),
    heard: new Set(),
    hnaIndex: new Map(),
    hnaLens: new Map(),
    recommended: new Map(),
    content: new Map(),
    wanted: new Map(),
    heardDesc: new Map(),
    stash: new Map(),
    iids: new IidRepo(),
    credits: creditMatrix(cfg.credits),
    sec: undefined,
    secAt: Number.NEGATIVE_INFINITY,
    agg: newAggTx(),
    aggLastFlushed: 0,
    tx: new TxQueue(),
    routes: new RouteExport(c.routes),
    listeners: new Set(),
    plugins: newPluginRegistry(),
    trusted: new Map(),
    ownTrusts: new Map(),
    ownSupports: new Map(),
    descCounter: 0,
    bootSqn: 0,
    descSqn: 0,
    desc: undefined,
    ownHna: undefined,
    descFrame: undefined,
    descPending: true,
    chain: undefined,
    chainConst: undefined,
    ogmSqn: 0,
    ownOgmNow: false,
    ogmGuarantee: { next: 0 },
    ogmHitchhike: { next: 0 },
    burstSqn: 0,
    bucket: newTxBucket(),
    roundGap: 0,
    running: false,
    roundCancel: undefined,
    roundAt: Infinity,
    lastRound: -Infinity,
    lastCasual: -Infinity,
    nextCasualGap: 0,
    lastRerequest: 0,
    dhmExpiry: undefined,
    rsaExpiry: undefined,
    maintCancel: undefined,
    startedAt: 0,
    cnt: {
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
      pluginErrors: 0,
    },
    traffic: newTrafficCounters(),
  };
}

/** Tells every listener (the engine's and the plugins'); a throwing listener is logged. */
export function emit(s: EngineState, e: EngineEvent): void {
  for (const l of s.listeners) {
    try {
      l(e);
    } catch (err) {
      s.c.logger.log(0, 'event listener failed', { error: String(err) });
    }
  }
}

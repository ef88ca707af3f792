/**
 * Engine configuration: the reference's option defaults (docs/protocol.md §4.12, §5.4). Every timing is
 * configurable; `createEngine(init)` merges `init` over these defaults.
 */
import type { RsaPrivateKey } from '@bmx7/crypto';
import { type CreditSettings, creditMatrix } from './credits.js';
import { DEFAULT_METRIC_PARAMS, type MetricParams } from './metrics.js';

/** Trust levels of `setTrustedNode` (§4.11): 0 none … 3; ≥ 2 is "friend". */
export interface TrustedNode {
  /** Node id in hex (56 hex digits). */
  id: string;
  trust: number;
  support: number;
  /** The file in trustedNodesDir it was read from (shown by `show trusted`). */
  fileName?: string;
}

export interface EngineInit {
  /** The node's RSA key (nodeRsaKey). Required: the daemon loads it, tests generate it. */
  nodeKey: RsaPrivateKey;
  /** hostname announced in the INFO TLV (≤ 63 chars). */
  hostname?: string;
  /** RSA link key type (linkRsaKey): 0 = none, 4–6. Default 4 (RSA1024). */
  linkRsaKey?: number;
  /** DHM link key type (linkDhmKey): 0 = none, 17 or 18. Default 17. */
  linkDhmKey?: number;
  /** A pre-made RSA link key (tests and simulations save the key generation). */
  linkRsaKeyMaterial?: RsaPrivateKey;
  maxDhmNeighs?: number;
  /**
   * Announced IPv6 networks (unicastHna), e.g. "fd00:1::/64". HNA6 holds IPv6 prefixes only
   * (docs/protocol.md §4.8): anything else is left out, so callers refuse it first.
   */
  unicastHna?: string[];
  /**
   * Trust configuration (trustedNodesDir): when set, even empty, the node trusts itself and these
   * nodes, and publishes TRUSTS and SUPPORTS; other nodes still become neighbours and originators
   * (as aliens) but route to it only through next hops it trusts (§4.11).
   */
  trustedNodes?: TrustedNode[] | undefined;
  /** Publish SUPPORTS (publishSupportedNodes, default true). */
  publishSupportedNodes?: boolean;
  /**
   * Credit set limits and preferences by section acronym (setCredits, §4.11), e.g.
   * `{ nA: { maxNodes: 40 } }`; unset sets keep the reference's defaults.
   */
  credits?: CreditSettings;
  describeNodeInfos?: boolean;
  txMinInterval?: number;
  txAvgInterval?: number;
  /** Send rounds allowed above the average rate before rounds slow to txAvgInterval (txBucketSize). */
  txBucketSize?: number;
  /** How fast the bucket drains, in percent between txMinInterval (0) and txAvgInterval (100) per round (txBucketDrain). */
  txBucketDrain?: number;
  txFrameInterval?: number;
  resolveInterval?: number;
  resolveIterations?: number;
  descRetryInterval?: number;
  descRetryIterations?: number;
  maintainanceInterval?: number;
  ogmInterval?: number;
  ogmIntervalFactor?: number;
  ogmSqnRange?: number;
  ogmSqnDeviation?: number;
  linkWindow?: number;
  minLinkQuality?: number;
  linkTimeout?: number;
  idTimeout?: number;
  /** Route metric in the kernel (1024 like the reference). */
  routeMetric?: number;
  /** Metric parameters announced in the METRIC TLV and used for nodes without one. */
  metric?: Partial<MetricParams>;
  /** linkVerification (0 skips packet signature checks). Default true. */
  linkVerification?: boolean;
  /** Link key renewal in seconds (linkKeyLifetime, 0 = never); the first key lives a random 1…lifetime s. */
  linkKeyLifetime?: number;
  /**
   * Passive monitoring: send nothing, keep every advertised content and description (not only
   * wanted ones) and process OGM frames without link quality. For dissecting captures; a node in
   * this mode never routes traffic for others.
   */
  listenOnly?: boolean;
  /** Compatibility version (21). */
  compatibility?: number;
}

export interface EngineConfig {
  hostname: string;
  linkRsaKey: number;
  linkDhmKey: number;
  maxDhmNeighs: number;
  unicastHna: string[];
  trustedNodes: TrustedNode[] | undefined;
  publishSupportedNodes: boolean;
  credits: CreditSettings;
  describeNodeInfos: boolean;
  txMinInterval: number;
  txAvgInterval: number;
  txBucketSize: number;
  txBucketDrain: number;
  txFrameInterval: number;
  resolveInterval: number;
  resolveIterations: number;
  descRetryInterval: number;
  descRetryIterations: number;
  maintainanceInterval: number;
  ogmInterval: number;
  ogmIntervalFactor: number;
  ogmSqnRange: number;
  ogmSqnDeviation: number;
  linkWindow: number;
  minLinkQuality: number;
  linkTimeout: number;
  idTimeout: number;
  routeMetric: number;
  metric: MetricParams;
  linkVerification: boolean;
  linkKeyLifetime: number;
  listenOnly: boolean;
  compatibility: number;
}

export const DEFAULTS = {
  hostname: 'bmx7d',
  linkRsaKey: 4,
  linkDhmKey: 17,
  maxDhmNeighs: 17,
  describeNodeInfos: true,
  txMinInterval: 100,
  txAvgInterval: 800,
  txBucketSize: 50,
  txBucketDrain: 34,
  txFrameInterval: 500,
  resolveInterval: 200,
  resolveIterations: 4,
  descRetryInterval: 10000,
  descRetryIterations: 4,
  maintainanceInterval: 5000,
  ogmInterval: 6000,
  ogmIntervalFactor: 110,
  ogmSqnRange: 6000,
  ogmSqnDeviation: 10,
  linkWindow: 48,
  minLinkQuality: 25,
  linkTimeout: 20000,
  idTimeout: 20000,
  routeMetric: 1024,
  linkVerification: true,
  linkKeyLifetime: 6000,
  listenOnly: false,
  compatibility: 21,
} as const;

export function resolveConfig(init: Omit<EngineInit, 'nodeKey'>): EngineConfig {
  const pick = <K extends keyof typeof DEFAULTS>(k: K) =>
    ((init as Record<string, unknown>)[k] ?? DEFAULTS[k]) as (typeof DEFAULTS)[K] extends boolean
      ? boolean
      : (typeof DEFAULTS)[K] extends number
        ? number
        : string;
  return {
    hostname: pick('hostname') as string,
    linkRsaKey: pick('linkRsaKey') as number,
    linkDhmKey: pick('linkDhmKey') as number,
    maxDhmNeighs: pick('maxDhmNeighs') as number,
    unicastHna: init.unicastHna ?? [],
    trustedNodes: init.trustedNodes,
    publishSupportedNodes: init.publishSupportedNodes ?? true,
    credits: checkedCredits(init.credits),
    describeNodeInfos: pick('describeNodeInfos') as boolean,
    txMinInterval: pick('txMinInterval') as number,
    txAvgInterval: pick('txAvgInterval') as number,
    txBucketSize: pick('txBucketSize') as number,
    txBucketDrain: pick('txBucketDrain') as number,
    txFrameInterval: pick('txFrameInterval') as number,
    resolveInterval: pick('resolveInterval') as number,
    resolveIterations: pick('resolveIterations') as number,
    descRetryInterval: pick('descRetryInterval') as number,
    descRetryIterations: pick('descRetryIterations') as number,
    maintainanceInterval: pick('maintainanceInterval') as number,
    ogmInterval: pick('ogmInterval') as number,
    ogmIntervalFactor: pick('ogmIntervalFactor') as number,
    ogmSqnRange: pick('ogmSqnRange') as number,
    ogmSqnDeviation: pick('ogmSqnDeviation') as number,
    linkWindow: pick('linkWindow') as number,
    minLinkQuality: pick('minLinkQuality') as number,
    linkTimeout: pick('linkTimeout') as number,
    idTimeout: pick('idTimeout') as number,
    routeMetric: pick('routeMetric') as number,
    metric: {
      ...DEFAULT_METRIC_PARAMS,
      ...init.metric,
      ogmIntervalSec: Math.round((pick('ogmInterval') as number) / 1000),
    },
    linkVerification: pick('linkVerification') as boolean,
    listenOnly: pick('listenOnly') as boolean,
    linkKeyLifetime: pick('linkKeyLifetime') as number,
    compatibility: pick('compatibility') as number,
  };
}

/** The setCredits overrides, checked (RangeError naming the section and value). */
function checkedCredits(credits: CreditSettings | undefined): CreditSettings {
  creditMatrix(credits);
  return credits ?? {};
}

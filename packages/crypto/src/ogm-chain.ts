/**
 * OGM hash chains (docs/protocol.md §4.9). A chain element is link 14 ‖ seed 14; one step hashes the
 * 76-byte input block link ‖ seed ‖ node id 28 ‖ descSqn u32 and keeps the first 14 bytes as the
 * next link. The sender draws link(range) and seed at random and steps down to link(0), the
 * anchor, which VERSION publishes with the seed. The OGM of sqn s carries
 * chainOgm = link(s) XOR C[0..14], C = SHA-224(dHash ‖ anchor link ‖ seed ‖ node id ‖ descSqn).
 */
import { randomBytes } from 'node:crypto';
import { requireBytes } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { SHA112_LEN, SHA224_LEN, sha224 } from './hash.js';

/** The reference's default `ogmSqnRange`. */
export const DEFAULT_OGM_SQN_RANGE = 6000;
export const MIN_OGM_SQN_RANGE = 10;
/** Receivers reject a VERSION with a larger ogmSqnRange. */
export const MAX_OGM_SQN_RANGE = 8192;
/** The reference's default `ogmSqnDeviation`: how far above its last sqn an OGM_ADV is searched. */
export const DEFAULT_OGM_SQN_DEVIATION = 10;
/** Length of the VERSION TLV's chain anchor: anchor link 14 ‖ seed 14. */
export const CHAIN_ANCHOR_LEN = SHA224_LEN;

/** The fixed part of one description's chain: seed, node id and descSqn. */
class Stepper {
  // link ‖ seed ‖ node id ‖ descSqn, the reference's ChainInputs_T.
  readonly block = Buffer.alloc(SHA112_LEN + SHA112_LEN + SHA224_LEN + 4);
  constructor(seed: Uint8Array, nodeId: Uint8Array, descSqn: number) {
    this.block.set(seed, SHA112_LEN);
    this.block.set(nodeId, SHA224_LEN);
    this.block.writeUInt32BE(descSqn >>> 0, 2 * SHA224_LEN);
  }
  /** step(link) into out (which may be link). */
  step(link: Uint8Array, out: Uint8Array): void {
    this.block.set(link, 0);
    out.set(sha224(this.block).subarray(0, SHA112_LEN));
  }
  /** step^n(link), a new array. */
  steps(link: Uint8Array, n: number): Uint8Array {
    const out = Uint8Array.from(link);
    for (let i = 0; i < n; i++) this.step(out, out);
    return out;
  }
}

function checkDescSqn(descSqn: number): void {
  if (!Number.isInteger(descSqn) || descSqn < 0 || descSqn > 0xffffffff) {
    throw new CryptoInputError(`descSqn must be a u32, got ${descSqn}`);
  }
}

function checkRange(range: number, min = 1): void {
  if (!Number.isInteger(range) || range < min || range > MAX_OGM_SQN_RANGE) {
    throw new CryptoInputError(`ogmSqnRange must be ${min}-${MAX_OGM_SQN_RANGE}, got ${range}`);
  }
}

/**
 * C = SHA-224(dHash 28 ‖ anchor link 14 ‖ seed 14 ‖ node id 28 ‖ descSqn u32), per description.
 * `anchor` is the VERSION field: anchor link ‖ seed (28 bytes).
 */
export function ogmChainConstant(
  descriptionHash: Uint8Array,
  anchor: Uint8Array,
  nodeId: Uint8Array,
  descSqn: number,
): Uint8Array {
  requireBytes(descriptionHash, SHA224_LEN, 'description hash');
  requireBytes(anchor, CHAIN_ANCHOR_LEN, 'chain anchor');
  requireBytes(nodeId, SHA224_LEN, 'node id');
  checkDescSqn(descSqn);
  const sqn = new Uint8Array(4);
  new DataView(sqn.buffer).setUint32(0, descSqn);
  return sha224(descriptionHash, anchor, nodeId, sqn);
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const LINKS = Symbol('chain links');

/**
 * A node's own OGM hash chain for one description. Links above the last sent sqn are secret (they
 * authenticate future OGMs): the object's text forms show only its public fields.
 */
export interface OgmChain {
  readonly nodeId: Uint8Array;
  readonly descSqn: number;
  readonly range: number;
  /** VERSION's ogmHChainAnchor: link(0) 14 ‖ seed 14. */
  readonly anchor: Uint8Array;
  readonly [LINKS]: Uint8Array;
}

class OwnChain implements OgmChain {
  readonly nodeId: Uint8Array;
  readonly descSqn: number;
  readonly range: number;
  readonly anchor: Uint8Array;
  readonly [LINKS]: Uint8Array;
  constructor(nodeId: Uint8Array, descSqn: number, range: number, anchor: Uint8Array, links: Uint8Array) {
    this.nodeId = nodeId;
    this.descSqn = descSqn;
    this.range = range;
    this.anchor = anchor;
    this[LINKS] = links;
    Object.defineProperty(this, LINKS, { enumerable: false });
  }
  toJSON() {
    return {
      descSqn: this.descSqn,
      range: this.range,
      anchor: Buffer.from(this.anchor).toString('hex'),
    };
  }
  toString(): string {
    return `OgmChain(descSqn ${this.descSqn}, range ${this.range})`;
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}

/**
 * Creates the chain of a new own description: random link(range) and seed, then `range` steps
 * down to the anchor. All links are kept ((range + 1) · 14 bytes, 115 KiB at 8192), so the link
 * of any sqn is a lookup.
 */
export function createOgmChain(init: {
  nodeId: Uint8Array;
  descSqn: number;
  range?: number;
  random?: (n: number) => Uint8Array;
}): OgmChain {
  const { nodeId, descSqn, range = DEFAULT_OGM_SQN_RANGE, random = randomBytes } = init;
  requireBytes(nodeId, SHA224_LEN, 'node id');
  checkDescSqn(descSqn);
  checkRange(range);
  const start = Uint8Array.from(random(SHA224_LEN));
  requireBytes(start, SHA224_LEN, 'random chain element');
  const seed = start.slice(SHA112_LEN);
  const stepper = new Stepper(seed, nodeId, descSqn);
  const links = new Uint8Array((range + 1) * SHA112_LEN);
  links.set(start.subarray(0, SHA112_LEN), range * SHA112_LEN);
  for (let s = range; s > 0; s--) {
    stepper.step(
      links.subarray(s * SHA112_LEN, (s + 1) * SHA112_LEN),
      links.subarray((s - 1) * SHA112_LEN, s * SHA112_LEN),
    );
  }
  const anchor = new Uint8Array(CHAIN_ANCHOR_LEN);
  anchor.set(links.subarray(0, SHA112_LEN));
  anchor.set(seed, SHA112_LEN);
  return new OwnChain(Uint8Array.from(nodeId), descSqn, range, anchor, links);
}

/** link(sqn) of an own chain, 0 ≤ sqn ≤ range (link(0) is the anchor link). */
export function ogmChainLink(chain: OgmChain, sqn: number): Uint8Array {
  if (!Number.isInteger(sqn) || sqn < 0 || sqn > chain.range) {
    throw new CryptoInputError(`OGM sqn must be 0-${chain.range}, got ${sqn}`);
  }
  return chain[LINKS].slice(sqn * SHA112_LEN, (sqn + 1) * SHA112_LEN);
}

/**
 * Link comparison in the search. Plain, not constant-time: both sides are public (chainOgm was on
 * the wire, link(maxRcvd) and the anchor derive from it and the description), and the search runs
 * up to 2 · range comparisons.
 */
function equal14(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < SHA112_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

function xor14(a: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(SHA112_LEN);
  for (let i = 0; i < SHA112_LEN; i++) out[i] = a[i]! ^ c[i]!;
  return out;
}

/**
 * chainOgm of own OGM sqn s (1 ≤ s ≤ range): link(s) XOR C[0..14], with C from
 * `ogmChainConstant` over the finished description. O(1).
 */
export function chainOgmFor(chain: OgmChain, constant: Uint8Array, sqn: number): Uint8Array {
  requireBytes(constant, SHA224_LEN, 'chain constant');
  if (!Number.isInteger(sqn) || sqn < 1 || sqn > chain.range) {
    throw new CryptoInputError(`OGM sqn must be 1-${chain.range}, got ${sqn}`);
  }
  return xor14(ogmChainLink(chain, sqn), constant);
}

/**
 * A receiver's verification state for one description (the reference's desc_content fields):
 * plain data, updated in place by `findChainSqn`.
 */
export interface OgmChainVerifier {
  readonly nodeId: Uint8Array;
  readonly descSqn: number;
  readonly range: number;
  readonly anchorLink: Uint8Array;
  readonly seed: Uint8Array;
  /** C of the description. */
  readonly constant: Uint8Array;
  /** Highest verified sqn (0 = only the anchor known). */
  maxRcvd: number;
  /** link(maxRcvd). */
  linkMaxRcvd: Uint8Array;
}

/**
 * Verification state for a received description, from its dHash, VERSION anchor (28 bytes),
 * node id, descSqn and ogmSqnRange. The reference accepts a VERSION with ogmSqnRange 0-8192 (a
 * range of 0 verifies nothing); a description with more must be rejected before this is called
 * (it throws CryptoInputError, as for wrong-length arguments).
 */
export function createChainVerifier(init: {
  descriptionHash: Uint8Array;
  anchor: Uint8Array;
  nodeId: Uint8Array;
  descSqn: number;
  range: number;
}): OgmChainVerifier {
  const { descriptionHash, anchor, nodeId, descSqn, range } = init;
  checkRange(range, 0);
  const constant = ogmChainConstant(descriptionHash, anchor, nodeId, descSqn);
  return {
    nodeId: Uint8Array.from(nodeId),
    descSqn,
    range,
    anchorLink: anchor.slice(0, SHA112_LEN),
    seed: anchor.slice(SHA112_LEN),
    constant,
    maxRcvd: 0,
    linkMaxRcvd: anchor.slice(0, SHA112_LEN),
  };
}

/**
 * The OGM sqn a chainOgm proves, as the reference's chainOgmFind computes it, or 0 for "not
 * found". With L = chainOgm XOR C it tests, for k = 0 … d: step^k(L) = link(maxRcvd) (sqn
 * maxRcvd + k, then maxRcvd advances to it); for k < maxRcvd/2: L = step^(k+1)(link(maxRcvd))
 * (sqn maxRcvd − k − 1); for k ≤ maxRcvd/2: step^k(L) = anchor (sqn k). d is `deviation`
 * (`ogmSqnDeviation`, 10) for OGM_ADV, the description's whole range with `fullRange` (IID_ADV).
 * Malformed input gives 0, never an exception.
 */
export function findChainSqn(
  v: OgmChainVerifier,
  chainOgm: Uint8Array,
  options: { fullRange?: boolean; deviation?: number } = {},
): number {
  if (!(chainOgm instanceof Uint8Array) || chainOgm.length !== SHA112_LEN) return 0;
  // the common case first, without allocating: the sqn already verified (the same OGM again,
  // from another neighbour)
  let same = true;
  for (let i = 0; i < SHA112_LEN; i++) {
    if ((chainOgm[i]! ^ v.constant[i]!) !== v.linkMaxRcvd[i]) {
      same = false;
      break;
    }
  }
  if (same && v.maxRcvd <= v.range) return v.maxRcvd;
  const maxDev = options.fullRange ? v.range : (options.deviation ?? DEFAULT_OGM_SQN_DEVIATION);
  const stepper = new Stepper(v.seed, v.nodeId, v.descSqn);
  const start = xor14(chainOgm, v.constant);
  const up = Uint8Array.from(start);
  const down = Uint8Array.from(v.linkMaxRcvd);
  const half = Math.floor(v.maxRcvd / 2);
  for (let off = 0; off <= maxDev; ) {
    if (off + v.maxRcvd <= v.range && equal14(up, v.linkMaxRcvd)) {
      if (off) {
        v.linkMaxRcvd = start;
        v.maxRcvd += off;
      }
      return v.maxRcvd;
    }
    if (v.maxRcvd > 0) {
      if (off < half) {
        stepper.step(down, down);
        if (equal14(down, start)) return v.maxRcvd - (off + 1);
      }
      if (off <= half && equal14(up, v.anchorLink)) return off;
    }
    off++;
    if (off + v.maxRcvd <= v.range || off <= half) stepper.step(up, up);
    else break;
  }
  return 0;
}

/**
 * chainOgm of a sqn at or below the highest verified one (what a forwarder sends in IID_ADV, the
 * reference's chainOgmCalc), or undefined above it.
 */
export function chainOgmAt(v: OgmChainVerifier, sqn: number): Uint8Array | undefined {
  if (!Number.isInteger(sqn) || sqn < 0 || sqn > v.maxRcvd) return undefined;
  const stepper = new Stepper(v.seed, v.nodeId, v.descSqn);
  return xor14(stepper.steps(v.linkMaxRcvd, v.maxRcvd - sqn), v.constant);
}

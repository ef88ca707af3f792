/**
 * The description and content store (docs/protocol.md §4.5, §4.6, §4.8): DESC_ADV and CONTENT_ADV,
 * resolution of pending descriptions, the HNA6 and SUPPORTS indexes, and applying a description.
 */

import {
  type ContentAdvFrame,
  decodeDescription,
  FRAME_TYPE,
  type Frame,
  type Hna6Entry,
  ip6ToString,
} from '@bmx7/codec';
import { contentHash, createChainVerifier } from '@bmx7/crypto';
import { demoteToListed, dropNeighbor, getKey } from './admission.js';
import {
  type DescriptionFacts,
  descriptionFacts,
  type ParsedDescription,
  parseDescription,
  peekDescription,
  resolveDescription,
} from './descriptions.js';
import { hex } from './hex.js';
import { restartRef } from './iids.js';
import { purgeLink } from './neighbours.js';
import { processOgm, recheckTrust, updateRoutes } from './originators.js';
import { ownHna } from './own.js';
import { consumePluginTlvs, registeredTypes } from './plugin-host.js';
import { verifyStash } from './receive.js';
import { requestDesc, sendDescAdv, wantContent } from './requests.js';
import { type DescRec, type EngineState, emit, type Iface, KEY_STATE, type KeyRec } from './state.js';
import { view } from './tables.js';
import { supportLevel } from './trust.js';

/** Index key of an IPv6 prefix: the address masked to `len` bits, and the length. */
export function hnaKey(address: Uint8Array, len: number): string {
  const a = address.slice(0, 16);
  for (let bit = len; bit < 128; bit++) a[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${hex(a)}/${len}`;
}

export function onDescAdv(s: EngineState, bytes: Uint8Array, from: KeyRec, ifc: Iface): void {
  // most DESC_ADVs are floods of descriptions already held: drop those before decoding
  const peek = peekDescription(bytes);
  if (peek && !s.cfg.listenOnly) {
    const kk = s.keys.get(hex(peek.id));
    if (!kk || kk.state < KEY_STATE.TRACKED || !kk.pubkey) return;
    const held = Math.max(kk.current?.parsed.descSqn ?? 0, kk.pending?.parsed.descSqn ?? 0);
    if (peek.descSqn <= held) return;
  }
  const quick = decodeDescription(bytes, {
    minVersion: s.cfg.compatibility - 1,
    maxVersion: s.cfg.compatibility + 1,
  });
  if (!quick.ok) {
    s.cnt.descRejected++;
    return;
  }
  const id = quick.value.nodeId;
  const h = hex(id);
  if (h === s.hex) return;
  const k = s.keys.get(h);
  // (2) key ≥ Tracked with its public key held
  if (s.cfg.listenOnly && !k?.pubkey) {
    // passive monitoring: remember it until the node's public key shows up
    s.heardDesc.set(h, { bytes: bytes.slice(), from, ifc });
    const kk = getKey(s, id, true)!;
    kk.lastRef = s.c.clock.now();
    const c = s.content.get(h);
    if (!c) return;
    kk.pubkey = c.body.slice();
    if (kk.state < KEY_STATE.TRACKED) kk.state = KEY_STATE.TRACKED;
    onDescAdv(s, bytes, from, ifc);
    return;
  }
  if (!k || k.state < KEY_STATE.TRACKED || !k.pubkey) return;
  const v = quick.value.version;
  // (3) descSqn ≠ 0, ≥ minimum, > pending and current
  if (v.descSqn === 0 || v.descSqn < k.minDescSqn) return;
  if (k.pending && v.descSqn <= k.pending.parsed.descSqn) return;
  if (k.current && v.descSqn <= k.current.parsed.descSqn) return;
  // (5) signature
  const p = parseDescription(bytes.slice(), k.pubkey, s.cfg.compatibility);
  if (!p.ok) {
    s.cnt.descRejected++;
    return;
  }
  // (6) rebooted: another bootSqn → ignored, key demoted to Listed
  const prev = k.pending ?? k.current;
  if (prev && prev.parsed.bootSqn !== p.value.bootSqn) {
    demoteToListed(s, k);
    return;
  }
  // (7) becomes pending; missing contents requested
  releaseDesc(s, k.pending);
  k.pending = { parsed: p.value, contents: [], missing: new Set(), receivedAt: s.c.clock.now() };
  if (k.state < KEY_STATE.CERTIFIED) k.state = KEY_STATE.CERTIFIED;
  if (from !== k && !k.referrer) k.referrer = from.hex;
  void ifc;
  tryResolve(s, k);
}

/**
 * A known node's public key as content (its hash is the node id, §4.6): kept with the key record,
 * so a CONTENT_REQ for it is answered even after the content store dropped the entry.
 */
export function nodeKeyContent(s: EngineState, h: string): { header: number; body: Uint8Array } | undefined {
  const k = s.keys.get(h);
  return k?.pubkey && k.state >= KEY_STATE.CERTIFIED ? { header: 0, body: k.pubkey } : undefined;
}

export function onContentAdv(s: EngineState, f: ContentAdvFrame): void {
  // contents are accepted only while wanted (§4.5): with nothing wanted there is nothing to hash
  if (s.wanted.size === 0 && !s.cfg.listenOnly) return;
  const header = (f.nesting << 1) | (f.gzip ? 1 : 0);
  const hash = contentHash(header, f.body);
  const h = hex(hash);
  const owners = s.wanted.get(h);
  if (!owners && s.cfg.listenOnly) {
    // passive monitoring keeps unrequested contents for descriptions still to come
    const body = storeContent(s, h, header, f.body);
    const k = s.keys.get(h);
    if (k && !k.pubkey) {
      k.pubkey = body;
      if (k.state < KEY_STATE.TRACKED) k.state = KEY_STATE.TRACKED;
    }
    const held = s.heardDesc.get(h);
    if (held) onDescAdv(s, held.bytes, held.from, held.ifc);
    for (const kk of s.keys.values()) if (kk.pending) tryResolve(s, kk);
    return;
  }
  if (!owners) return; // accepted only while wanted (§4.5)
  s.wanted.delete(h);
  const body = storeContent(s, h, header, f.body);
  for (const o of owners) {
    const k = s.keys.get(o);
    if (!k) continue;
    if (!k.pubkey && o === h) {
      // the node's public key (content hash = node id)
      k.pubkey = body;
      if (k.state < KEY_STATE.TRACKED) k.state = KEY_STATE.TRACKED;
      requestDesc(s, k, undefined, k.id);
      continue;
    }
    tryResolve(s, k);
  }
  // contents no description uses are dropped by the maintenance after idTimeout
}

/** Keeps a received content (one copy, shared by every user of it); returns the stored body. */
export function storeContent(s: EngineState, h: string, header: number, body: Uint8Array): Uint8Array {
  const c = s.content.get(h);
  if (c) return c.body;
  const copy = body.slice();
  s.content.set(h, { header, body: copy, uses: 0, since: s.c.clock.now() });
  return copy;
}

/** Resolves the pending description; applies it when complete and allowed. Returns true when current. */
export function tryResolve(s: EngineState, k: KeyRec): boolean {
  const d = k.pending;
  if (!d) return !!k.current;
  if (!d.facts) {
    // re-assemble only once every content it waited for is here
    if (d.missing.size) {
      for (const h of [...d.missing]) if (s.content.has(h)) d.missing.delete(h);
      if (d.missing.size) return false;
    }
    const r = resolveDescription(d.parsed, s.content);
    if (r.status === 'bad') {
      // contents that cannot be assembled raise the minimum (§4.5)
      k.minDescSqn = d.parsed.descSqn + 1;
      releaseDesc(s, d);
      k.pending = undefined;
      s.cnt.descRejected++;
      return false;
    }
    if (r.status === 'missing') {
      for (const hsh of r.hashes) {
        d.missing.add(hex(hsh));
        wantContent(s, hsh, k.hex);
      }
      return false;
    }
    const facts = descriptionFacts(k.id, r.bodies, ip6ToString);
    if (!facts.ok) {
      s.cnt.descRejected++;
      return false; // TLV test failed: stays pending (§4.5)
    }
    d.bodies = r.bodies;
    d.facts = facts.value;
    d.missing.clear();
    // keep the contents it uses (for CONTENT_REQ answers and relaying)
    for (const ref of d.parsed.refs) useRefContents(s, d, ref);
  }
  if (hnaBlocked(s, k, d.facts.hna)) return false;
  // Promoted: (qualifying, or referred by IID) and resolved (§4.11)
  const now = s.c.clock.now();
  if (!(k.qualifyingUntil > now || k.iidRefCount > 0 || s.cfg.listenOnly)) return false;
  applyDesc(s, k);
  return true;
}

export function useRefContents(s: EngineState, d: DescRec, ref: ParsedDescription['refs'][number]): void {
  const use = (h: string) => {
    const c = s.content.get(h);
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
      const list = s.content.get(h);
      if (list) for (let o = 0; o + 28 <= list.body.length; o += 28) use(hex(list.body.subarray(o, o + 28)));
    }
  }
}

export function releaseDesc(s: EngineState, d: DescRec | undefined): void {
  if (!d) return;
  for (const h of d.contents) {
    const c = s.content.get(h);
    if (c && --c.uses <= 0) c.since = s.c.clock.now();
  }
  d.contents = [];
}

/** An HNA6 entry overlapping one of another node or of myself blocks the description (§4.8). */
export function hnaBlocked(s: EngineState, k: KeyRec, hna: Hna6Entry[]): boolean {
  const mine = s.ownHna ?? ownHna(s);
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
    for (const len of s.hnaLens.keys()) {
      if (len > e.prefixLen) continue;
      const owner = s.hnaIndex.get(hnaKey(e.address, len));
      if (owner !== undefined && owner !== k.hex) return true;
    }
    // longer prefixes inside e (only for announced networks, rarely)
    if (e.prefixLen < 128) {
      for (const other of s.keys.values()) {
        if (other === k || !other.current?.facts) continue;
        for (const o of other.current.facts.hna) if (o.prefixLen > e.prefixLen && overlaps(e, o)) return true;
      }
    }
  }
  return false;
}

export function indexFacts(
  s: EngineState,
  k: KeyRec,
  old: DescriptionFacts | undefined,
  next: DescriptionFacts | undefined,
): void {
  indexHna(s, k, old, next);
  indexSupports(s, k, old, next);
}

/**
 * SUPPORTS count only from a friend I support at level 3: each node it lists (at any level) is
 * recommended (row R of the key states); the reference does nothing else with them (§4.11).
 */
export function indexSupports(
  s: EngineState,
  k: KeyRec,
  old: DescriptionFacts | undefined,
  next: DescriptionFacts | undefined,
): void {
  for (const id of old?.supports?.keys() ?? []) {
    const by = s.recommended.get(id);
    by?.delete(k.hex);
    if (by && !by.size) s.recommended.delete(id);
  }
  if (supportLevel(s, k.hex) < 3) return;
  for (const [id, level] of next?.supports ?? []) {
    if (id === k.hex) continue;
    let by = s.recommended.get(id);
    if (!by) {
      by = new Map();
      s.recommended.set(id, by);
    }
    by.set(k.hex, level);
  }
}

/** Keeps the HNA index (prefix → owner) in step with the applied descriptions. */
export function indexHna(
  s: EngineState,
  k: KeyRec,
  old: DescriptionFacts | undefined,
  next: DescriptionFacts | undefined,
): void {
  for (const e of old?.hna ?? []) {
    const key = hnaKey(e.address, e.prefixLen);
    if (s.hnaIndex.get(key) === k.hex) {
      s.hnaIndex.delete(key);
      const n = (s.hnaLens.get(e.prefixLen) ?? 1) - 1;
      if (n > 0) s.hnaLens.set(e.prefixLen, n);
      else s.hnaLens.delete(e.prefixLen);
    }
  }
  for (const e of next?.hna ?? []) {
    const key = hnaKey(e.address, e.prefixLen);
    if (s.hnaIndex.has(key)) continue;
    s.hnaIndex.set(key, k.hex);
    s.hnaLens.set(e.prefixLen, (s.hnaLens.get(e.prefixLen) ?? 0) + 1);
  }
}

export function applyDesc(s: EngineState, k: KeyRec): void {
  const d = k.pending!;
  const old = k.current;
  indexFacts(s, k, old?.facts, d.facts);
  releaseDesc(s, old);
  k.current = d;
  k.pending = undefined;
  d.verifier = createChainVerifier({
    descriptionHash: d.parsed.dHash,
    anchor: d.parsed.anchor,
    nodeId: k.id,
    descSqn: d.parsed.descSqn,
    range: d.parsed.ogmSqnRange,
  });
  // descSqn ≥ old + 10 with unchanged bootSqn demotes a neighbour to Promoted (§4.5)
  if (old && k.nb && d.parsed.descSqn >= old.parsed.descSqn + 10) dropNeighbor(s, k);
  if (k.state < KEY_STATE.PROMOTED) k.state = KEY_STATE.PROMOTED;
  const facts = d.facts!;
  k.dhmSecret = undefined; // computed when first needed (#secretOf)
  if (k.nb) {
    k.nb.burstSqn = 0;
    // links to addresses that left the LLIP go (§4.8)
    for (const l of [...k.nb.links.values()]) if (!facts.llips.includes(l.addr)) purgeLink(s, l);
  }
  const isNew = !k.orig;
  if (!k.orig) {
    const iid = s.iids.assign(k.hex);
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
    // a new description resets the minimum and the OGM state (§4.10)
    k.orig.minimum = [d.parsed.descSqn, 0, 0];
    k.orig.sqn = 0;
    k.orig.firstAccept = -1;
    k.orig.chainOgm = undefined;
  }
  // unsolicited re-broadcast (§4.5 unsolicitedDescAdvs)
  const frame: Frame = { type: FRAME_TYPE.DESC_ADV, description: d.parsed.decoded! };
  for (const ifname of s.ifs.keys()) {
    sendDescAdv(s, undefined, ifname, () => (k.current === d ? frame : undefined), k.hex);
  }
  // the bodies of plugin-registered types stay while the description is current (plugins read them)
  const bodies = d.bodies!;
  d.kept = keptBodies(s, bodies);
  const nv = view(k);
  if (isNew) emit(s, { type: 'node-appeared', node: nv });
  emit(s, { type: 'description-changed', node: nv, tlvs: bodies, previous: old?.kept });
  consumePluginTlvs(s, nv, d.kept, old?.kept);
  // what is only needed until it is applied goes (memory in large meshes): the expanded bodies
  // live on in the content store, the decoded form is rebuilt from the bytes when asked for
  d.bodies = undefined;
  d.parsed.decoded = undefined;
  d.parsed.refs = [];
  d.parsed.inline.clear();
  updateRoutes(s, k);
  // other routes may rest on this node's TRUSTS (its own, or as a level-3 trustee: §4.11)
  if (!sameLevels(old?.facts?.trusts, d.facts?.trusts)) recheckTrust(s);
  if (s.cfg.listenOnly) verifyStash(s, k);
  // OGMs waiting for this description (§4.9 step 1)
  for (const kk of [...s.nbs]) {
    const nb = kk.nb;
    if (!nb) continue;
    const iid = nb.byNode.get(k.hex);
    const ref = iid === undefined ? undefined : nb.iidRefs.get(iid);
    if (ref) {
      if (ref.descSqn < d.parsed.descSqn) restartRef(ref, d.parsed.descSqn);
      const p = ref.pending;
      if (p) {
        ref.pending = undefined;
        processOgm(s, nb, ref, p.chainOgm, p.fm16, p.hops, p.history, false);
      }
    }
  }
}

/** The bodies of the types plugins registered, or undefined when there are none. */
function keptBodies(
  s: EngineState,
  bodies: ReadonlyMap<number, Uint8Array>,
): Map<number, Uint8Array> | undefined {
  let kept: Map<number, Uint8Array> | undefined;
  for (const type of registeredTypes(s)) {
    const b = bodies.get(type);
    if (!b) continue;
    kept ??= new Map();
    kept.set(type, b);
  }
  return kept;
}

/**
 * A plugin registered `type` after descriptions were applied (a late attach): their bodies of that
 * type are expanded again from the kept description bytes and the content store, without a second
 * signature check (each was verified when it arrived).
 */
export function keepType(s: EngineState, type: number): void {
  for (const k of s.keys.values()) {
    const d = k.current;
    if (!d?.facts || d.kept?.has(type)) continue;
    const p = parseDescription(d.parsed.bytes, undefined, s.cfg.compatibility);
    if (!p.ok) continue;
    const r = resolveDescription(p.value, s.content);
    const b = r.status === 'ok' ? r.bodies.get(type) : undefined;
    if (!b) continue;
    d.kept ??= new Map();
    d.kept.set(type, b);
  }
}

function sameLevels(
  a: ReadonlyMap<string, number> | undefined,
  b: ReadonlyMap<string, number> | undefined,
): boolean {
  if (a === b) return true;
  if (!a || !b || a.size !== b.size) return false;
  for (const [id, level] of a) if (b.get(id) !== level) return false;
  return true;
}

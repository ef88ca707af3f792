/**
 * Receiving (docs/protocol.md §4.1, §4.2, §4.4): packet checks, packet authentication and the
 * dispatch of frames to the modules that handle them.
 */

import {
  type ContentAdvFrame,
  type DecodedFrame,
  decodePacketPrefix,
  FRAME_TYPE,
  ip6FromString,
  ip6ToString,
  type SignatureFrame,
} from '@bmx7/codec';
import { dhmMac, packetDigest, timingSafeEqual, verifyPacketRsa } from '@bmx7/crypto';
import { getKey, grantQualifying, makeNeighbor, track } from './admission.js';
import { peekDescription } from './descriptions.js';
import { hex } from './hex.js';
import { isLateHello, newHelloWindow, recordHello } from './links.js';
import { nbLqOk, purgeLink, secretOf } from './neighbours.js';
import { acceptAggregation, onAggSqnAdv } from './ogms.js';
import { onIidAdv, onOgm } from './originators.js';
import {
  answerContentReq,
  answerDescReq,
  answerIidReq,
  answerOgmReq,
  requestDesc,
  requestPubkey,
} from './requests.js';
import { type EngineState, type Iface, KEY_STATE, type KeyRec, type Link, type Neigh } from './state.js';
import { onContentAdv, onDescAdv, tryResolve } from './store.js';
import { countFrame, countPacketFrames, type DropReason } from './traffic.js';

const SIG_RSA_TYPES = new Set([4, 5, 6]);
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function receive(s: EngineState, ifname: string, src: string, payload: Uint8Array): void {
  if (!s.running) return;
  s.cnt.rxPackets++;
  s.traffic.rxBytes += payload.length;
  try {
    receivePacket(s, ifname, src, payload);
  } catch (err) {
    // wire input never throws out of the engine (STYLE.md rule 3); a bug here is counted and logged
    s.cnt.rxDropped++;
    s.traffic.drops.internal_error++;
    s.c.logger.log(0, 'receive failed', { error: String(err) });
  }
}

export function receivePacket(s: EngineState, ifname: string, src: string, payload: Uint8Array): void {
  const ifc = s.ifs.get(ifname);
  if (!ifc) {
    drop(s, 'unknown_interface', 'unknown interface');
    return;
  }
  let srcBytes: Uint8Array;
  try {
    srcBytes = ip6FromString(src);
  } catch {
    drop(s, 'bad_source', 'bad source');
    return;
  }
  // source must be link-local and not one of ours (§4.1)
  if (!(srcBytes[0] === 0xfe && (srcBytes[1]! & 0xc0) === 0x80)) {
    drop(s, 'bad_source', 'source not link-local');
    return;
  }
  const srcText = ip6ToString(srcBytes);
  if (s.ownLl.has(srcText)) {
    drop(s, 'own_address', 'own address');
    return;
  }
  if (knownDescsOnly(s, payload, ifname)) return;
  // frames up to a bad one are processed and the rest dropped, as the reference does (§4.2)
  const r = decodePacketPrefix(payload, {
    minVersion: s.cfg.compatibility - 1,
    maxVersion: s.cfg.compatibility + 1,
  });
  if (!r.ok) {
    drop(s, 'malformed', r.reason);
    return;
  }
  const pkt = r.value;
  for (const f of pkt.frames) countFrame(s.traffic.rx, f.type, f.length);
  const senderHex = hex(pkt.header.nodeId);
  if (senderHex === s.hex) {
    drop(s, 'own_node_id', 'neighbor uses my key');
    return;
  }
  const now = s.c.clock.now();
  const key = getKey(s, pkt.header.nodeId, true, senderHex)!;
  key.lastPacket = now;
  key.lastRef = now;
  key.heardOn = ifname;
  s.heard.add(key);
  grantQualifying(s, key, now);
  if (key.state < KEY_STATE.TRACKED) track(s, key);

  let verified: { nb: Neigh; link: Link } | undefined;
  let checked = false;
  for (const f of pkt.frames) {
    if (f.type === FRAME_TYPE.SIGNATURE_ADV) {
      if (checked) continue;
      checked = true;
      const v = verify(
        s,
        key,
        f as SignatureFrame & DecodedFrame,
        payload,
        pkt.signature,
        srcBytes,
        srcText,
        ifc,
      );
      if (v === 'failure') {
        s.cnt.rxDropped++;
        s.cnt.rxAuthFailed++;
        s.traffic.drops.auth_failed++;
        return;
      }
      verified = v;
      if (verified) s.cnt.rxVerified++;
      else s.cnt.rxUnverified++;
      if (!v && s.cfg.listenOnly && pkt.signature && (f as SignatureFrame).messages.length)
        stashForLater(s, key, f as SignatureFrame, payload, pkt.signature, srcBytes, srcText);
      continue;
    }
    handleFrame(s, f, key, verified, ifc, srcText, payload);
  }
  if (pkt.error) drop(s, 'bad_frame', `remaining frames: ${pkt.error.reason}`);
}

/**
 * Flooded DESC_ADV packets (§4.5 unsolicitedDescAdvs) are mostly descriptions already held:
 * recognise a well-formed packet of only such frames from a known sender without decoding
 * the descriptions, refresh the sender's packet credit and drop it.
 */
export function knownDescsOnly(s: EngineState, payload: Uint8Array, ifname: string): boolean {
  if (s.cfg.listenOnly || payload.length < 32 || payload.length > 1232) return false;
  const cv = payload[0]!;
  if (cv < s.cfg.compatibility - 1 || cv > s.cfg.compatibility + 1) return false;
  const sender = s.keys.get(hex(payload.subarray(2, 30)));
  if (!sender || sender.state < KEY_STATE.TRACKED) return false;
  let pos = 30;
  while (pos < payload.length) {
    if (pos + 2 >= payload.length) return false;
    const w = (payload[pos]! << 8) | payload[pos + 1]!;
    const type = w >> 11;
    const len = w & 0x7ff;
    if (type !== FRAME_TYPE.DESC_ADV || len <= 2 || pos + len > payload.length) return false;
    const peek = peekDescription(payload.subarray(pos + 2, pos + len));
    if (!peek) return false;
    const k = s.keys.get(hex(peek.id));
    if (!k || k.state < KEY_STATE.TRACKED || !k.pubkey) return false;
    const held = Math.max(k.current?.parsed.descSqn ?? 0, k.pending?.parsed.descSqn ?? 0);
    if (peek.descSqn > held) return false;
    pos += len;
  }
  // every frame was a DESC_ADV (the walk above checked each one's length)
  countPacketFrames(s.traffic.rx, payload);
  const now = s.c.clock.now();
  sender.lastPacket = now;
  sender.lastRef = now;
  sender.heardOn = ifname;
  s.heard.add(sender);
  grantQualifying(s, sender, now);
  return true;
}

export function stashForLater(
  s: EngineState,
  key: KeyRec,
  sig: SignatureFrame,
  payload: Uint8Array,
  span: { headerOffset: number; tailOffset: number },
  src: Uint8Array,
  srcText: string,
): void {
  let l = s.stash.get(key.hex);
  if (!l) {
    l = [];
    s.stash.set(key.hex, l);
  }
  if (l.length < 64) l.push({ sig, payload: payload.slice(), span, src, srcText });
}

/** listenOnly: checks stashed packets of k against its now applied description (§4.4 steps 6–7, RSA only). */
export function verifyStash(s: EngineState, k: KeyRec): void {
  const l = s.stash.get(k.hex);
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
    if (verifyPacketRsa(cur.facts.rsaLinkKey, msg, digest)) s.cnt.rxVerifiedLate++;
    else s.cnt.rxAuthFailed++;
  }
  if (rest.length) s.stash.set(k.hex, rest);
  else s.stash.delete(k.hex);
}

/** A packet authentication stop at `step` of §4.4: the packet stays unverified (logged at level 11). */
export function authStop(s: EngineState, step: number): undefined {
  s.c.logger.log(11, 'packet unverified', { step });
  return undefined;
}

/** Counts a dropped packet under its reason; `detail` goes to the log (level 8). */
export function drop(s: EngineState, reason: DropReason, detail: string): void {
  s.cnt.rxDropped++;
  s.traffic.drops[reason]++;
  s.c.logger.log(8, 'packet dropped', { reason: detail });
}

/** Packet authentication, steps 1–10 of 4.4. Returns the neighbour and link, undefined (stop) or 'failure'. */
export function verify(
  s: EngineState,
  key: KeyRec,
  sig: SignatureFrame,
  payload: Uint8Array,
  span: { headerOffset: number; tailOffset: number } | undefined,
  srcBytes: Uint8Array,
  srcText: string,
  ifc: Iface,
): { nb: Neigh; link: Link } | undefined | 'failure' {
  const now = s.c.clock.now();
  const qualifying = key.qualifyingUntil > now;
  // 1
  if (key.state < KEY_STATE.TRACKED) return authStop(s, 1);
  if (!qualifying && key.state < KEY_STATE.NEIGHBOR) {
    // a non-qualifying key needs to be a neighbour already; still, 2-hop nodes stay promoted
    if (key.state < KEY_STATE.PROMOTED) return authStop(s, 1);
  }
  // 2
  const desc = key.pending ?? key.current;
  if (sig.descSqn < key.minDescSqn) return authStop(s, 2);
  if (desc && sig.descSqn < desc.parsed.descSqn) return authStop(s, 2);
  // 3
  if (!key.pubkey) {
    requestPubkey(s, key);
    return authStop(s, 3);
  }
  // 4
  if (!desc || desc.parsed.descSqn !== sig.descSqn) {
    requestDesc(s, key, ifc.info.name, key.id);
    return authStop(s, 4);
  }
  // 5
  if (desc === key.pending) {
    if (!tryResolve(s, key)) return authStop(s, 5);
  }
  const cur = key.current;
  if (!cur || cur.parsed.descSqn !== sig.descSqn || key.state < KEY_STATE.PROMOTED) return authStop(s, 5);
  // 6
  if (!cur.facts!.llips.includes(srcText)) return 'failure';
  // 7
  if (s.cfg.linkVerification) {
    if (!span) return authStop(s, 7);
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
        s.dhm &&
        m.keyType === s.dhm.type &&
        secretOf(s, key) &&
        (key.state === KEY_STATE.NEIGHBOR || qualifying)
      ) {
        expectedMac ??= dhmMac(digest, key.dhmSecret!);
        if (timingSafeEqual(expectedMac, m.signature)) {
          ok = true;
          break;
        }
      }
    }
    if (!ok) return authStop(s, 7);
  }
  // 8: with its first verified packet a resolved qualifying key becomes a Neighbor (§4.11)
  key.lastVerified = now;
  if (key.state !== KEY_STATE.NEIGHBOR) {
    if (!qualifying) return authStop(s, 8);
    makeNeighbor(s, key);
  }
  const nb = key.nb!;
  // 9
  if (sig.burstSqn < nb.burstSqn) return authStop(s, 9);
  nb.burstSqn = sig.burstSqn;
  // 10
  const known = nb.addrByDev.get(sig.devIdx);
  if (known !== undefined && known !== srcText) {
    for (const l of [...nb.links.values()]) if (l.devIdx === sig.devIdx) purgeLink(s, l);
    nb.addrByDev.delete(sig.devIdx);
    return authStop(s, 10);
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
    s.links.set(lid, link);
  }
  return { nb, link };
}

export function handleFrame(
  s: EngineState,
  f: DecodedFrame,
  key: KeyRec,
  v: { nb: Neigh; link: Link } | undefined,
  ifc: Iface,
  src: string,
  payload: Uint8Array,
): void {
  const now = s.c.clock.now();
  switch (f.type) {
    case FRAME_TYPE.DESC_ADV:
      onDescAdv(s, payload.subarray(f.offset + 2, f.offset + f.length), key, ifc);
      return;
    case FRAME_TYPE.CONTENT_ADV:
      onContentAdv(s, f as ContentAdvFrame);
      return;
    case FRAME_TYPE.DESC_REQ:
      if (!sameBytes(f.dest, s.id)) return;
      for (const id of f.nodeIds) answerDescReq(s, id, ifc.info.name, !!v);
      return;
    case FRAME_TYPE.CONTENT_REQ:
      if (!sameBytes(f.dest, s.id)) return;
      for (const h of f.hashes) answerContentReq(s, h, ifc.info.name, !!v);
      return;
  }
  if (!v) return;
  const { nb, link } = v;
  switch (f.type) {
    case FRAME_TYPE.HELLO_ADV: {
      if (isLateHello(f.helloSqn, nb.lastHelloByDev.get(link.devIdx))) return;
      link.q.rq = recordHello(link.window, f.helloSqn, s.cfg.linkWindow);
      link.q.rqTime = now;
      link.lastHello = now;
      nb.lastHelloByDev.set(link.devIdx, f.helloSqn);
      return;
    }
    case FRAME_TYPE.HELLO_REPLY_DHASH: {
      // only replies naming my current dHash and the receiving interface's devIdx count (§4.10)
      if (!s.desc) return;
      for (const r of f.replies) {
        if (r.receiverDevIdx === ifc.devIdx && timingSafeEqual(r.dhash, s.desc.dHash)) {
          link.q.tq = r.rxLq;
          link.q.tqTime = now;
        }
      }
      return;
    }
  }
  // frames 9, 19, 21, 27, 28 need an lq-ok best-tq link (§4.3, §4.11)
  if (!nbLqOk(s, nb)) return;
  switch (f.type) {
    case FRAME_TYPE.OGM_AGG_SQN_ADV:
      onAggSqnAdv(nb.agg, f.max, f.size);
      return;
    case FRAME_TYPE.IID_ADV:
      for (const a of f.advs) onIidAdv(s, nb, a);
      return;
    case FRAME_TYPE.OGM_ADV:
      if (!acceptAggregation(nb.agg, f.aggSqn)) return;
      for (const o of f.ogms) onOgm(s, nb, o);
      return;
    case FRAME_TYPE.OGM_REQ:
      if (!sameBytes(f.dest, s.id)) return;
      for (const sqn of f.aggSqns) answerOgmReq(s, nb, sqn);
      return;
    case FRAME_TYPE.IID_REQ:
      if (!sameBytes(f.dest, s.id)) return;
      for (const i of f.iids) answerIidReq(s, nb, i);
      return;
  }
  void src;
}

/**
 * `bmx7ctl dump --verify`: checks every node id, description signature, RSA packet signature and
 * OGM chain value of a capture whose key or description is in the capture (docs/protocol.md §4.4-4.9).
 *
 * A pure verifier over the dump's packet stream. It collects CONTENT_ADV bodies by content hash
 * and DESC_ADV descriptions, and checks:
 * - `node-id`: a description's node-key content (the first TLV, a reference whose expanded hash
 *   is the node id, 4.5) hashes to the node id (4.6); also a CONTENT_ADV carrying an RSA key that
 *   hashes to nothing the capture references or requests while a description lacks a key of that
 *   type and length (a node key corrupted on the way: content is only sent on request);
 * - `description-signature`: the DSC_SIGNATURE over VERSION…end with that key (4.5);
 * - `packet-signature`: an RSA SIGNATURE_ADV message over llip ‖ 9-byte header ‖ frames after it,
 *   with the RSA link key of the sender's description at the header's descSqn (4.4);
 * - `ogm-chain`: every own OGM (IID 1) against the sender's description chain (4.9), and
 *   `iid-chain`: every IID_ADV chain value against the named description.
 *
 * An item waits for the description or content it needs, which may come later in the capture;
 * what never arrives is "unverifiable", as are DHM-MAC signed packets (the MAC needs a private
 * exponent). Only descriptions whose signature verified vouch for link keys and chains; at the end
 * of the capture, descriptions whose node key never arrived are used too. A failure is a check
 * that ran and failed.
 */
import {
  assembleContent,
  type ContentLookup,
  type ContentRef,
  contentHash as codecContentHash,
  type DecodedPacket,
  type Description,
  FRAME_TYPE,
  hashKey,
  keyTypeName,
  RSA_KEY_LEN,
  TLV_TYPE,
} from '@bmx7/codec';
import { inflate } from '@bmx7/codec/zlib';
import {
  createChainVerifier,
  findChainSqn,
  isRsaKeyType,
  MAX_OGM_SQN_RANGE,
  nodeIdOf,
  type OgmChainVerifier,
  packetDigest,
  sha224,
  shortId,
  verifyDescription,
  verifyPacketRsa,
} from '@bmx7/crypto';
import { type CliIo, type Command, EXIT, type ExitCode } from './cli.js';
import { type DumpedPacket, dumpCommand, type PacketCheck, parseDumpArgs, runDump } from './dump.js';
import { DUMP_VERIFY_SUMMARY, DUMP_VERIFY_USAGE } from './dump-usage.js';

export const CHECK_KINDS = [
  'node-id',
  'description-signature',
  'packet-signature',
  'ogm-chain',
  'iid-chain',
] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];
export type Outcome = 'verified' | 'failed' | 'unverifiable';

/** One check of one item. */
export interface VerifyEvent {
  readonly kind: CheckKind;
  readonly outcome: Outcome;
  /** Number of the packet that carried the item (as the dump numbers packets). */
  readonly packet: number;
  /** Seconds since the first BMX7 packet of the capture. */
  readonly time: number;
  /** Short id of the node the item belongs to. */
  readonly node: string;
  readonly detail: string;
  /** Why an item is unverifiable: DHM MAC, key/description not in the capture, or invalid description. */
  readonly why?: 'dhm' | 'missing' | 'invalid-description';
}

export interface KindCounts {
  verified: number;
  failed: number;
  unverifiable: number;
}

export interface VerifySummary {
  readonly checks: Record<CheckKind, KindCounts>;
  /** Packets signed with DHM MACs (counted as unverifiable packet signatures). */
  readonly dhmPackets: number;
  /** Packets without any signature message. */
  readonly unsignedPackets: number;
  /** Distinct descriptions seen. */
  readonly descriptions: number;
  readonly failures: number;
}

/** What the verifier needs of a dumped packet. */
export interface VerifyInput {
  readonly number: number;
  readonly time: number;
  readonly src: Uint8Array;
  readonly payload: Uint8Array;
  readonly decoded: { readonly ok: true; readonly value: DecodedPacket } | { readonly ok: false };
}

export interface CaptureVerifier {
  /** Checks one packet; returns the checks that completed (of this or earlier packets). */
  packet(p: VerifyInput): VerifyEvent[];
  /** End of capture: settles every waiting item (checked with what there is, or unverifiable). */
  finish(): VerifyEvent[];
  summary(): VerifySummary;
}

interface DescRecord {
  readonly nodeId: Uint8Array;
  readonly descSqn: number;
  readonly raw: Uint8Array;
  readonly desc: Description;
  readonly dHash: Uint8Array;
  readonly packet: number;
  readonly time: number;
  /** pending: node key not (yet) held; failed: node id or signature check failed. */
  state: 'pending' | 'verified' | 'failed';
  chain?: OgmChainVerifier | null;
}

interface Waiting {
  readonly kind: 'packet-signature' | 'ogm-chain' | 'iid-chain';
  readonly packet: number;
  readonly time: number;
  /** The node whose description decides (sender, or the IID_ADV's node). */
  readonly node: Uint8Array;
  readonly descSqn: number;
  /** packet-signature: the RSA message (type ‖ signature) and the digest. */
  readonly message?: Uint8Array;
  readonly digest?: Uint8Array;
  /** chain checks: the 14-byte chain value. */
  readonly chainOgm?: Uint8Array;
}

interface StoredContent {
  readonly nesting: number;
  readonly gzip: boolean;
  readonly body: Uint8Array;
  readonly packet: number;
  readonly time: number;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const hash224 = (d: Uint8Array) => sha224(d);
const at = (s: number) => `+${s.toFixed(6)}`;

export function createCaptureVerifier(): CaptureVerifier {
  const contents = new Map<string, StoredContent>();
  const descs = new Map<string, DescRecord[]>(); // node id hex → its distinct descriptions
  const seenDesc = new Set<string>(); // dHash hex
  const referenced = new Set<string>(); // content hashes named by descriptions or hash lists
  const requested = new Set<string>(); // content hashes named by CONTENT_REQ
  let waitingDescs: DescRecord[] = [];
  let waiting: Waiting[] = [];
  const keyContents: { hash: string; packet: number; time: number; keyType: number; length: number }[] = [];
  const counts = Object.fromEntries(
    CHECK_KINDS.map((k) => [k, { verified: 0, failed: 0, unverifiable: 0 }]),
  ) as Record<CheckKind, KindCounts>;
  let dhmPackets = 0;
  let unsignedPackets = 0;
  let failures = 0;
  let t0: number | undefined;

  const lookup: ContentLookup = (h) => contents.get(hashKey(h));

  const emit = (out: VerifyEvent[], e: VerifyEvent) => {
    counts[e.kind][e.outcome]++;
    if (e.outcome === 'failed') failures++;
    out.push(e);
  };

  /** A description TLV's body: inline, or assembled from content (undefined while missing). */
  function tlvBody(r: DescRecord, type: number): Uint8Array | undefined | null {
    for (const t of r.desc.tlvs) {
      if (t.type === TLV_TYPE.CONTENT_HASH) {
        const ref = (t as { ref: ContentRef }).ref;
        if (ref.expandedType !== type) continue;
        const a = assembleContent(ref, lookup, { hash: hash224, inflate });
        return a.ok ? a.value : undefined;
      }
      if (t.type === type) return r.raw.subarray(t.offset + 2, t.offset + t.length);
    }
    return null; // no such TLV
  }

  function noteReferences(d: Description): void {
    for (const t of d.tlvs) {
      if (t.type !== TLV_TYPE.CONTENT_HASH) continue;
      const ref = (t as { ref: ContentRef }).ref;
      referenced.add(hashKey(ref.expandedHash));
      for (const h of ref.hashes) referenced.add(hashKey(h));
    }
  }

  /** Node id and signature of a description, once its node key is held. */
  function checkDescription(r: DescRecord, out: VerifyEvent[]): boolean {
    const pk = tlvBody(r, TLV_TYPE.NODE_PUBKEY);
    if (!pk) return false;
    const base = { packet: r.packet, time: r.time, node: shortId(r.nodeId) };
    const what = `description descSqn ${r.descSqn}`;
    if (pk.length < 2 || !sameBytes(nodeIdOf(pk), r.nodeId)) {
      r.state = 'failed';
      emit(out, {
        ...base,
        kind: 'node-id',
        outcome: 'failed',
        detail: `${what}: node key content does not hash to the node id`,
      });
      emit(out, {
        ...base,
        kind: 'description-signature',
        outcome: 'unverifiable',
        detail: `${what}: node key invalid`,
        why: 'invalid-description',
      });
      return true;
    }
    emit(out, {
      ...base,
      kind: 'node-id',
      outcome: 'verified',
      detail: `${what}: RSA${(pk.length - 1) * 8} node key`,
    });
    const sig = r.desc.tlvs[1]!;
    const message = r.raw.subarray(sig.offset + 2, sig.offset + sig.length);
    if (verifyDescription(pk, message, r.raw.subarray(r.desc.versionOffset))) {
      r.state = 'verified';
      emit(out, { ...base, kind: 'description-signature', outcome: 'verified', detail: what });
    } else {
      r.state = 'failed';
      emit(out, {
        ...base,
        kind: 'description-signature',
        outcome: 'failed',
        detail: `${what}: signature does not verify with the node key`,
      });
    }
    return true;
  }

  function chainOf(r: DescRecord): OgmChainVerifier | null {
    if (r.chain === undefined) {
      const v = r.desc.version;
      r.chain =
        v.ogmSqnRange > MAX_OGM_SQN_RANGE
          ? null
          : createChainVerifier({
              descriptionHash: r.dHash,
              anchor: Uint8Array.from([...v.anchorLink, ...v.anchorSeed]),
              nodeId: r.nodeId,
              descSqn: r.descSqn,
              range: v.ogmSqnRange,
            });
    }
    return r.chain;
  }

  /** Tries a waiting item; undefined = keep waiting (only before the end). */
  function settle(w: Waiting, final: boolean): VerifyEvent | undefined {
    const all = descs.get(hashKey(w.node)) ?? [];
    const usable = all.filter((r) => r.state === 'verified' || (final && r.state === 'pending'));
    const exact = usable.filter((r) => r.descSqn === w.descSqn);
    const base = { kind: w.kind, packet: w.packet, time: w.time, node: shortId(w.node) };
    const missing = (detail: string): VerifyEvent | undefined => {
      if (!final) return undefined;
      const invalid = all.some((r) => r.descSqn === w.descSqn && r.state === 'failed');
      return {
        ...base,
        outcome: 'unverifiable',
        detail: invalid ? `description descSqn ${w.descSqn} failed its checks` : detail,
        why: invalid ? 'invalid-description' : 'missing',
      };
    };
    if (w.kind === 'packet-signature') {
      if (exact.length === 0) return missing(`description descSqn ${w.descSqn} not in the capture`);
      let lacking = false;
      for (const r of exact) {
        const lk = tlvBody(r, TLV_TYPE.RSA_LINK_PUBKEY);
        if (lk === undefined) {
          lacking = true;
          continue;
        }
        if (lk === null)
          return {
            ...base,
            outcome: 'failed',
            detail: `RSA signed, but description descSqn ${w.descSqn} has no RSA link key`,
          };
        const ok = verifyPacketRsa(lk, w.message!, w.digest!);
        return ok
          ? {
              ...base,
              outcome: 'verified',
              detail: `RSA${(lk.length - 1) * 8} link key of descSqn ${w.descSqn}`,
            }
          : {
              ...base,
              outcome: 'failed',
              detail: `RSA signature does not verify with the link key of descSqn ${w.descSqn}`,
            };
      }
      return lacking ? missing(`RSA link key of descSqn ${w.descSqn} not in the capture`) : undefined;
    }
    // Chain values: the header's (IID_ADV's) description first, then the node's others, newest
    // first (an OGM sent across a description change belongs to the other one).
    if (exact.length === 0) return missing(`description descSqn ${w.descSqn} not in the capture`);
    const order =
      w.kind === 'iid-chain'
        ? exact
        : [...exact, ...usable.filter((r) => r.descSqn !== w.descSqn).sort((a, b) => b.descSqn - a.descSqn)];
    for (const r of order) {
      const v = chainOf(r);
      if (!v) continue;
      const sqn = findChainSqn(v, w.chainOgm!, { fullRange: true });
      if (sqn > 0)
        return {
          ...base,
          outcome: 'verified',
          detail: `sqn ${sqn} of descSqn ${r.descSqn}${r.descSqn === w.descSqn ? '' : ` (header descSqn ${w.descSqn})`}`,
        };
      // Sqn 0 is the published anchor: it proves nothing, and the reference counts it as not found.
      if (isAnchorValue(v, w.chainOgm!))
        return {
          ...base,
          outcome: 'unverifiable',
          detail: `sqn 0 (the anchor) of descSqn ${r.descSqn}`,
          why: 'missing',
        };
    }
    return {
      ...base,
      outcome: 'failed',
      detail: `chain value matches no sqn of descSqn ${w.descSqn}${order.length > exact.length ? ' nor of the older descriptions' : ''}`,
    };
  }

  function retry(out: VerifyEvent[], final: boolean): void {
    const still: DescRecord[] = [];
    for (const r of waitingDescs) if (!checkDescription(r, out)) still.push(r);
    waitingDescs = still;
    const rest: Waiting[] = [];
    for (const w of waiting) {
      const e = settle(w, final);
      if (e) emit(out, e);
      else rest.push(w);
    }
    waiting = rest;
  }

  function packet(p: VerifyInput): VerifyEvent[] {
    const out: VerifyEvent[] = [];
    t0 ??= p.time;
    if (!p.decoded.ok) return out;
    const d = p.decoded.value;
    const time = p.time - t0;
    const sender = d.header.nodeId;
    let learned = false;
    // Frames come in ascending type order: DESC_ADV (2), CONTENT_ADV (4), SIGNATURE (8), the rest.
    const newDescs: DescRecord[] = [];
    for (const f of d.frames) {
      if (f.type === FRAME_TYPE.CONTENT_ADV && !('unknown' in f)) {
        const h = hashKey(codecContentHash(hash224, f.body, f.nesting, f.gzip, f.reserved));
        if (contents.has(h)) continue;
        contents.set(h, { nesting: f.nesting, gzip: f.gzip, body: f.body, packet: p.number, time });
        learned = true;
        if (f.nesting)
          for (let o = 0; o + 28 <= f.body.length; o += 28)
            referenced.add(hashKey(f.body.subarray(o, o + 28)));
        const kt = f.body[0]!;
        if (!f.nesting && !f.gzip && isRsaKeyType(kt) && f.body.length === 1 + (RSA_KEY_LEN[kt] ?? -1))
          keyContents.push({ hash: h, packet: p.number, time, keyType: kt, length: f.body.length });
      } else if (f.type === FRAME_TYPE.CONTENT_REQ && !('unknown' in f)) {
        for (const h of f.hashes) requested.add(hashKey(h));
      } else if (f.type === FRAME_TYPE.DESC_ADV && !('unknown' in f)) {
        const raw = p.payload.subarray(f.offset + 2, f.offset + f.length);
        const dHash = sha224(raw);
        const k = hashKey(dHash);
        if (seenDesc.has(k)) continue;
        seenDesc.add(k);
        const desc = f.description;
        const r: DescRecord = {
          nodeId: desc.nodeId,
          descSqn: desc.version.descSqn,
          raw,
          desc,
          dHash,
          packet: p.number,
          time,
          state: 'pending',
        };
        const list = descs.get(hashKey(desc.nodeId)) ?? [];
        list.push(r);
        descs.set(hashKey(desc.nodeId), list);
        noteReferences(desc);
        newDescs.push(r);
        learned = true;
      }
    }
    for (const r of newDescs) if (!checkDescription(r, out)) waitingDescs.push(r);
    if (learned) retry(out, false);

    const sigFrame = d.frames.find((f) => f.type === FRAME_TYPE.SIGNATURE_ADV && !('unknown' in f));
    if (!sigFrame || sigFrame.type !== FRAME_TYPE.SIGNATURE_ADV || !d.signature) return out;
    const descSqn = sigFrame.descSqn;
    const first = sigFrame.messages[0];
    const base = { packet: p.number, time, node: sender, descSqn };
    if (!first) unsignedPackets++;
    else if (isRsaKeyType(first.keyType)) {
      const s = d.signature;
      const message = p.payload.subarray(s.messagesOffset, s.messagesOffset + 1 + first.signature.length);
      const digest = packetDigest(
        p.src,
        p.payload.subarray(s.headerOffset, s.headerOffset + 9),
        p.payload.subarray(s.tailOffset),
      );
      add(out, { ...base, kind: 'packet-signature', message, digest });
    } else {
      // DHM types 16-18 (the only other messages the codec parses): a MAC needs a private exponent.
      dhmPackets++;
      emit(out, {
        kind: 'packet-signature',
        outcome: 'unverifiable',
        packet: p.number,
        time,
        node: shortId(sender),
        detail: `${keyTypeName(first.keyType)} MAC (${sigFrame.messages.length} message${sigFrame.messages.length === 1 ? '' : 's'}): needs a private key`,
        why: 'dhm',
      });
    }
    for (const f of d.frames) {
      if (f.type === FRAME_TYPE.OGM_ADV && !('unknown' in f)) {
        for (const o of f.ogms)
          if (o.iid === 1) add(out, { ...base, kind: 'ogm-chain', chainOgm: o.chainOgm });
      } else if (f.type === FRAME_TYPE.IID_ADV && !('unknown' in f)) {
        for (const a of f.advs)
          add(out, {
            kind: 'iid-chain',
            packet: p.number,
            time,
            node: a.nodeId,
            descSqn: a.descSqn,
            chainOgm: a.chainOgm,
          });
      }
    }
    return out;
  }

  function add(out: VerifyEvent[], w: Waiting): void {
    const e = settle(w, false);
    if (e) emit(out, e);
    else waiting.push(w);
  }

  function finish(): VerifyEvent[] {
    const out: VerifyEvent[] = [];
    retry(out, true);
    const waitingKeyless = waitingDescs;
    for (const r of waitingDescs) {
      const base = { packet: r.packet, time: r.time, node: shortId(r.nodeId), why: 'missing' as const };
      emit(out, {
        ...base,
        kind: 'node-id',
        outcome: 'unverifiable',
        detail: `description descSqn ${r.descSqn}: node key content not in the capture`,
      });
      emit(out, {
        ...base,
        kind: 'description-signature',
        outcome: 'unverifiable',
        detail: `description descSqn ${r.descSqn}: node key content not in the capture`,
      });
    }
    waitingDescs = [];
    // A CONTENT_ADV that carries an RSA key nobody in the capture references or asks for: the
    // reference only sends content on request (4.5), so this is a key content corrupted on the
    // way (its hash no longer is the node id it was sent for).
    for (const k of keyContents) {
      if (referenced.has(k.hash) || requested.has(k.hash)) continue;
      const wanting = waitingKeyless.find(
        (r) => r.desc.signature.keyType === k.keyType && nodeKeyLength(r.desc) === k.length,
      );
      if (!wanting) continue;
      emit(out, {
        kind: 'node-id',
        outcome: 'failed',
        packet: k.packet,
        time: k.time,
        node: shortId(wanting.nodeId),
        detail: `CONTENT_ADV carries an RSA${RSA_KEY_LEN[k.keyType]! * 8} key whose content hash ${k.hash.slice(0, 8).toUpperCase()} is no node id or content the capture references or requests, while description descSqn ${wanting.descSqn} of ${shortId(wanting.nodeId)} lacks its key`,
      });
    }
    return out;
  }

  function summary(): VerifySummary {
    return {
      checks: structuredClone(counts),
      dhmPackets,
      unsignedPackets,
      descriptions: seenDesc.size,
      failures,
    };
  }

  return { packet, finish, summary };
}

/** Expanded length of a description's node-key reference (its first TLV, 4.5). */
function nodeKeyLength(d: Description): number | undefined {
  const t = d.tlvs[0];
  return t?.type === TLV_TYPE.CONTENT_HASH ? (t as { ref: ContentRef }).ref.expandedLength : undefined;
}

/** chainOgm XOR C = the anchor link: the value of sqn 0. */
function isAnchorValue(v: OgmChainVerifier, chainOgm: Uint8Array): boolean {
  return v.anchorLink.every((x, i) => x === ((chainOgm[i] ?? 0) ^ v.constant[i]!));
}

/** Runs a verifier over a whole packet stream. */
export function verifyPackets(packets: Iterable<VerifyInput>): {
  events: VerifyEvent[];
  summary: VerifySummary;
} {
  const v = createCaptureVerifier();
  const events: VerifyEvent[] = [];
  for (const p of packets) events.push(...v.packet(p));
  events.push(...v.finish());
  return { events, summary: v.summary() };
}

/** The one-line form of an event: `#12 +3.456789 packet-signature C6792132: detail`. */
export function eventText(e: VerifyEvent): string {
  return `#${e.packet} ${at(e.time)} ${e.kind} ${e.node}: ${e.detail}`;
}

/** Summary lines: per check kind verified / failed / unverifiable. */
export function summaryLines(s: VerifySummary): string[] {
  const w = Math.max(...CHECK_KINDS.map((k) => k.length));
  return [
    `verify: ${s.descriptions} descriptions, ${s.dhmPackets} DHM-signed packets (unverifiable without private keys), ${s.unsignedPackets} unsigned packets`,
    ...CHECK_KINDS.map((k) => {
      const c = s.checks[k];
      return `verify: ${k.padEnd(w)} verified=${c.verified} failed=${c.failed} unverifiable=${c.unverifiable}`;
    }),
  ];
}

const eventNote = (e: VerifyEvent, current: number) =>
  `${e.kind} ${e.outcome}${e.packet === current ? '' : ` for #${e.packet}`} (${e.detail})`;

/** The verifier as a dump check: per packet its completed checks, and a report at the end. */
export interface VerifyCheck extends PacketCheck {
  /** Settles what still waits; returns its events (failures among them count too). */
  finish(): VerifyEvent[];
  /** Every failure so far, in the order found. */
  readonly failures: readonly VerifyEvent[];
  summary(): VerifySummary;
  /** BMX7 packets seen. */
  readonly packets: number;
}

export function createVerifyCheck(): VerifyCheck {
  const v = createCaptureVerifier();
  const failures: VerifyEvent[] = [];
  let packets = 0;
  return {
    name: 'verify',
    check(p: DumpedPacket) {
      packets++;
      const events = v.packet(p);
      if (events.length === 0) return undefined;
      const failed = events.filter((e) => e.outcome === 'failed');
      failures.push(...failed);
      if (failed.length) return { ok: false, reason: failed.map(eventText).join('; ') };
      return { ok: true, note: events.map((e) => eventNote(e, p.number)).join('; ') };
    },
    finish() {
      const events = v.finish();
      failures.push(...events.filter((e) => e.outcome === 'failed'));
      return events;
    },
    failures,
    summary: () => v.summary(),
    get packets() {
      return packets;
    },
  };
}

/** The JSON form of an event (`--json`). */
export function eventJson(e: VerifyEvent): Record<string, unknown> {
  return { ...e, time: Number(e.time.toFixed(6)) };
}

/**
 * Runs dump with \`--verify\`: the verifier runs as a per-packet check, then settles what waits
 * for keys or descriptions and prints the failures and the summary (one JSON line with --json).
 */
export async function runDumpVerify(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const rest = args.filter((a) => a !== '--verify');
  const json = parseDumpArgs(rest).json;
  const vc = createVerifyCheck();
  const code = await runDump(rest, io, [vc]);
  if (vc.packets === 0) return code;
  const late = vc.finish().filter((e) => e.outcome === 'failed');
  const s = vc.summary();
  if (json) io.out(JSON.stringify({ verify: s, failures: vc.failures.map(eventJson) }));
  else {
    for (const e of vc.failures) io.out(`verify: FAILED ${eventText(e)}`);
    for (const l of summaryLines(s)) io.out(l);
  }
  if (late.length && code === EXIT.OK) {
    io.err(
      `bmx7ctl dump: verify: ${late.length} failure${late.length === 1 ? '' : 's'}; first: ${eventText(late[0]!)}`,
    );
    return EXIT.FAILURE;
  }
  return code;
}

/** \`dump\` with the \`--verify\` option. */
export const dumpVerifyCommand: Command = {
  ...dumpCommand,
  summary: DUMP_VERIFY_SUMMARY,
  usage: DUMP_VERIFY_USAGE,
  run: (args, io) => (args.includes('--verify') ? runDumpVerify(args, io) : dumpCommand.run(args, io)),
};

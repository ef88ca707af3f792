/**
 * `bmx7ctl dump FILE.pcap [--json] [--roundtrip]`: a dissector for captured BMX7 traffic (UDP
 * port 6270 over IPv6; pcap or pcapng with Ethernet, Linux cooked SLL/SLL2 or raw-IP link types).
 *
 * - default: a readable dissection, one header line per packet and one line per frame;
 * - `--json`: one JSON object per packet (time, addresses, header, frames with decoded fields);
 * - `--roundtrip`: re-encode every packet and report the first byte that differs.
 *
 * Exit 0 only when every BMX7 packet decoded (and round-tripped when asked), otherwise 1 naming
 * the first failing packet and the reason; 2 for usage errors.
 *
 * Extension point: `dumpPackets` yields every BMX7 packet with its raw bytes, source address and
 * decode result; `PacketCheck`s (e.g. a signature verifier) run on each one and their failures
 * count like decode failures (see `runDump`'s `checks`).
 */
import { createHash } from 'node:crypto';
import {
  assembleContent,
  BMX7_PORT,
  type Capture,
  type ContentItem,
  type ContentRef,
  contentHash,
  type DecodedPacket,
  decodePacket,
  decodeTlvBody,
  encodePacket,
  firstDifference,
  fm8ToUmetric,
  fm16ToUmetric,
  frameTypeName,
  hashKey,
  ip4ToString,
  ip6ToString,
  keyTypeName,
  missingContent,
  type Result,
  readCapture,
  type TlvValue,
  tlvTypeName,
  toHex,
  udp6FromRecord,
  umetricToHuman,
} from '@bmx7/codec';
import { inflate } from '@bmx7/codec/zlib';
import { type CliIo, type Command, EXIT, type ExitCode, UsageError } from './cli.js';
import { DUMP_SUMMARY, DUMP_USAGE } from './dump-usage.js';

/** One BMX7 datagram of a capture with its decode (and round-trip) result. */
export interface DumpedPacket {
  /** 1-based number of the packet in the capture (as Wireshark counts records). */
  readonly number: number;
  readonly time: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly srcPort: number;
  readonly dstPort: number;
  /** The UDP payload. */
  readonly payload: Uint8Array;
  readonly decoded: Result<DecodedPacket>;
  /** With `roundtrip`: -1 when re-encoding gives identical bytes, else the first differing offset. */
  readonly roundtripDifference?: number;
  /** Set when the capture's snap length cut the datagram (the UDP length is larger). */
  readonly snapped?: { readonly udpLength: number };
  /** Referenced description TLVs whose contents became complete with this packet. */
  readonly resolved?: readonly ResolvedTlv[];
}

export interface DumpOptions {
  readonly roundtrip?: boolean;
  /** UDP port (default 6270). */
  readonly port?: number;
}

/** A referenced description TLV that became complete with this packet's contents. */
export interface ResolvedTlv {
  /** Node id of the description that references it. */
  readonly nodeId: Uint8Array;
  readonly descSqn: number;
  readonly tlv: TlvValue;
}

/**
 * Follows content references across a capture: remembers every CONTENT_ADV item and every
 * description's references, and reports each referenced TLV once all its items were seen.
 */
function contentTracker() {
  const items = new Map<string, ContentItem>();
  const pending = new Map<string, { nodeId: Uint8Array; descSqn: number; ref: ContentRef }>();
  const done = new Set<string>();
  const lookup = (h: Uint8Array) => items.get(hashKey(h));
  return (d: DecodedPacket): ResolvedTlv[] => {
    for (const f of d.frames) {
      if (f.type === 4) {
        const hash = contentHash(sha224, f.body, f.nesting, f.gzip, f.reserved);
        items.set(hashKey(hash), { hash, nesting: f.nesting, gzip: f.gzip, body: f.body });
      } else if (f.type === 2) {
        for (const t of f.description.tlvs) {
          if (t.type !== 0) continue;
          const key = `${hashKey(f.description.nodeId)}/${f.description.version.descSqn}/${hashKey(t.ref.expandedHash)}/${t.ref.expandedType}`;
          if (!done.has(key))
            pending.set(key, {
              nodeId: f.description.nodeId,
              descSqn: f.description.version.descSqn,
              ref: t.ref,
            });
        }
      }
    }
    const out: ResolvedTlv[] = [];
    for (const [key, p] of pending) {
      if (missingContent(p.ref, lookup).length) continue;
      pending.delete(key);
      done.add(key);
      const body = assembleContent(p.ref, lookup, { hash: sha224, inflate });
      const tlv = body.ok ? decodeTlvBody(p.ref.expandedType, body.value) : body;
      if (tlv.ok) out.push({ nodeId: p.nodeId, descSqn: p.descSqn, tlv: tlv.value });
    }
    return out;
  };
}

/** Every BMX7 datagram of a capture, decoded. */
export function* dumpPackets(cap: Capture, opts: DumpOptions = {}): Generator<DumpedPacket> {
  const port = opts.port ?? BMX7_PORT;
  const track = contentTracker();
  for (const rec of cap.records) {
    const d = udp6FromRecord(rec);
    if (!d || (d.srcPort !== port && d.dstPort !== port)) continue;
    const decoded = decodePacket(d.payload);
    const roundtripDifference =
      opts.roundtrip && decoded.ok
        ? firstDifference(encodePacket(decoded.value.header, decoded.value.frames), d.payload)
        : undefined;
    const resolved = decoded.ok ? track(decoded.value) : [];
    yield {
      number: rec.index + 1,
      time: d.time,
      src: d.src,
      dst: d.dst,
      srcPort: d.srcPort,
      dstPort: d.dstPort,
      payload: d.payload,
      decoded,
      ...(roundtripDifference === undefined ? {} : { roundtripDifference }),
      ...(d.udpLength - 8 > d.payload.length ? { snapped: { udpLength: d.udpLength } } : {}),
      ...(resolved.length ? { resolved } : {}),
    };
  }
}

/** A check run on every dumped packet (the hook for `--verify`). */
export interface PacketCheck {
  readonly name: string;
  /** undefined: not applicable; otherwise ok or a failure with a reason. */
  check(
    p: DumpedPacket,
  ):
    | { readonly ok: true; readonly note?: string }
    | { readonly ok: false; readonly reason: string }
    | undefined;
}

/** Why a packet failed (decode, round-trip or a check), or undefined. */
export function packetProblem(p: DumpedPacket): string | undefined {
  if (!p.decoded.ok)
    return `${p.decoded.code}: ${p.decoded.reason}${p.snapped ? ` (capture holds only ${p.payload.length} of ${p.snapped.udpLength - 8} bytes: snap length)` : ''}`;
  if (p.roundtripDifference !== undefined && p.roundtripDifference >= 0)
    return `re-encoded packet differs at byte ${p.roundtripDifference} of ${p.payload.length}`;
  return undefined;
}

const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());

const IP6_KEYS = new Set(['address', 'addresses', 'endpoints', 'prefix', 'network', 'src', 'dst']);
const HASH_KEYS = new Set(['nodeId', 'dest', 'dhash', 'expandedHash', 'hashes', 'nodeIds', 'nbId', 'hash']);
const FM8_KEYS = new Set(['bandwidth', 'txBw', 'rxBw']);
const SKIP_KEYS = new Set(['offset', 'length', 'type', 'unknown']);

function bytesJson(key: string, b: Uint8Array): string {
  if (IP6_KEYS.has(key) && b.length === 16) return ip6ToString(b);
  if (IP6_KEYS.has(key) && b.length === 4) return ip4ToString(b);
  return toHex(b);
}

/** A JSON-ready copy: bytes as hex (addresses as text), frame and TLV types with their names. */
export function toJsonValue(v: unknown, key = '', kind: 'frame' | 'tlv' = 'frame'): unknown {
  if (v instanceof Uint8Array) return bytesJson(key, v);
  if (Array.isArray(v)) return v.map((x) => toJsonValue(x, key, key === 'tlvs' ? 'tlv' : kind));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    if (typeof o.type === 'number' && (key === 'frames' || key === 'tlvs' || key === 'tlv'))
      out.name = kind === 'tlv' || key === 'tlv' ? tlvTypeName(o.type) : frameTypeName(o.type);
    if (key === 'ref' && typeof o.expandedType === 'number') out.expandedName = tlvTypeName(o.expandedType);
    for (const [k, x] of Object.entries(o)) out[k] = toJsonValue(x, k, kind);
    return out;
  }
  return v;
}

/** The JSON object of one packet (`--json`). */
export function packetJson(p: DumpedPacket): Record<string, unknown> {
  const o: Record<string, unknown> = {
    number: p.number,
    time: p.time,
    src: ip6ToString(p.src),
    dst: ip6ToString(p.dst),
    length: p.payload.length,
  };
  if (p.decoded.ok) {
    o.header = toJsonValue(p.decoded.value.header);
    o.frames = toJsonValue(p.decoded.value.frames, 'frames');
    if (p.decoded.value.signature) o.signature = p.decoded.value.signature;
  }
  if (p.resolved)
    o.resolved = p.resolved.map((r) => ({
      node: toHex(r.nodeId),
      descSqn: r.descSqn,
      tlv: toJsonValue(r.tlv, 'tlv'),
    }));
  if (p.roundtripDifference !== undefined)
    o.roundtrip = p.roundtripDifference < 0 ? 'identical' : { firstDifference: p.roundtripDifference };
  const problem = packetProblem(p);
  o.ok = problem === undefined;
  if (problem) o.error = problem;
  return o;
}

const short = (b: Uint8Array) => toHex(b.subarray(0, 4)).toUpperCase();

function fieldText(key: string, v: unknown): string {
  if (v instanceof Uint8Array) {
    if (IP6_KEYS.has(key) && v.length === 16) return ip6ToString(v);
    if (IP6_KEYS.has(key) && v.length === 4) return ip4ToString(v);
    if (HASH_KEYS.has(key) || v.length === 28) return short(v);
    return v.length <= 16 ? toHex(v) : `<${v.length}B>`;
  }
  if (typeof v === 'number') {
    if (key === 'metric' || key === 'fmetricMin') return umetricToHuman(fm16ToUmetric(v));
    if (FM8_KEYS.has(key)) return v ? umetricToHuman(fm8ToUmetric(v)) : '0';
    if (key === 'keyType') return keyTypeName(v);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => fieldText(key, x)).join(' ')}]`;
  if (v && typeof v === 'object')
    return `{${Object.entries(v)
      .filter(([k]) => !SKIP_KEYS.has(k))
      .map(([k, x]) => `${k}=${fieldText(k, x)}`)
      .join(' ')}}`;
  return String(v);
}

function fieldsText(o: object, skip: readonly string[] = []): string {
  return Object.entries(o)
    .filter(([k]) => !SKIP_KEYS.has(k) && !skip.includes(k))
    .map(([k, v]) => `${k}=${fieldText(k, v)}`)
    .join(' ');
}

/** The readable dissection of one packet. */
export function packetText(p: DumpedPacket, t0: number): string[] {
  const head = `#${p.number} +${(p.time - t0).toFixed(6)} ${ip6ToString(p.src)} > ${ip6ToString(p.dst)} len=${p.payload.length}`;
  if (!p.decoded.ok) return [`${head} DECODE ERROR ${p.decoded.code}: ${p.decoded.reason}`];
  const d = p.decoded.value;
  const lines = [
    `${head} cv=${d.header.version} node=${short(d.header.nodeId)}${d.signature ? '' : ' unsigned'}`,
  ];
  for (const f of d.frames) {
    const name = frameTypeName(f.type);
    if ('unknown' in f && f.unknown) {
      lines.push(`  ${name} (unknown) ${f.raw.length} bytes ${toHex(f.raw.subarray(0, 16))}`);
      continue;
    }
    switch (f.type) {
      case 2: {
        const desc = f.description;
        const v = desc.version;
        lines.push(
          `  ${name} node=${short(desc.nodeId)} descSqn=${v.descSqn} bootSqn=${v.bootSqn} size=${desc.length}+${v.virtLength} contents=${v.virtContents}`,
        );
        for (const t of desc.tlvs) {
          if (t.type === 0) {
            const r = t.ref;
            lines.push(
              `    ${tlvTypeName(r.expandedType)} ref len=${r.expandedLength} nesting=${r.nesting} gzip=${r.gzip ? 1 : 0} hash=${short(r.expandedHash)}${r.nesting === 0 ? ` inline=${r.inline.length}B` : r.hashes.length ? ` list=[${r.hashes.map(short).join(' ')}]` : ''}`,
            );
          } else lines.push(`    ${tlvTypeName(t.type)} ${fieldsText(t)}`);
        }
        break;
      }
      case 4:
        lines.push(
          `  ${name} hash=${short(contentHash(sha224, f.body, f.nesting, f.gzip, f.reserved))} nesting=${f.nesting} gzip=${f.gzip ? 1 : 0} len=${f.body.length}`,
        );
        break;
      case 8:
        lines.push(
          `  ${name} descSqn=${f.descSqn} burstSqn=${f.burstSqn} devIdx=${f.devIdx} sig=${f.messages.length ? f.messages.map((m) => keyTypeName(m.keyType)).join(',') : 'none'}${f.rest ? ` rest=${f.rest.length}B` : ''}`,
        );
        break;
      case 21:
        lines.push(
          `  ${name} agg=${f.aggSqn} ogms=${f.ogms.length}${f.unparsed ? ` unparsed=${f.unparsed.length}B` : ''}`,
        );
        for (const o of f.ogms) lines.push(`    ${fieldsText(o)}`);
        break;
      default:
        lines.push(`  ${name} ${fieldsText(f)}`);
    }
  }
  for (const r of p.resolved ?? [])
    lines.push(
      `  resolved ${tlvTypeName(r.tlv.type)} of ${short(r.nodeId)}/${r.descSqn}: ${fieldsText(r.tlv)}`,
    );
  if (p.roundtripDifference !== undefined)
    lines.push(
      p.roundtripDifference < 0
        ? '  roundtrip: identical'
        : `  roundtrip: DIFFERS at byte ${p.roundtripDifference}`,
    );
  return lines;
}

export interface DumpArgs {
  readonly file: string;
  readonly json: boolean;
  readonly roundtrip: boolean;
  /** UDP port of the BMX7 traffic (default 6270). */
  readonly port: number;
}

export function parseDumpArgs(args: readonly string[]): DumpArgs {
  let file: string | undefined;
  let json = false;
  let roundtrip = false;
  let port: number = BMX7_PORT;
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a === '--roundtrip') roundtrip = true;
    else if (a.startsWith('--port=')) {
      port = Number(a.slice(7));
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`bad port in ${a}`);
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (file === undefined) throw new UsageError('missing capture file');
  return { file, json, roundtrip, port };
}

/** Runs dump; `checks` are extra per-packet checks (e.g. signature verification). */
export async function runDump(
  args: readonly string[],
  io: CliIo,
  checks: readonly PacketCheck[] = [],
): Promise<ExitCode> {
  const a = parseDumpArgs(args);
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(a.file === '-' ? '/dev/stdin' : a.file);
  } catch (e) {
    io.err(`bmx7ctl dump: cannot read ${a.file}: ${(e as Error).message}`);
    return EXIT.FAILURE;
  }
  const cap = readCapture(bytes);
  if (!cap.ok) {
    io.err(`bmx7ctl dump: ${a.file}: ${cap.reason}`);
    return EXIT.FAILURE;
  }
  if (cap.value.warning) io.err(`bmx7ctl dump: ${a.file}: ${cap.value.warning} (ignored)`);
  let first: string | undefined;
  let count = 0;
  let failed = 0;
  let t0: number | undefined;
  for (const p of dumpPackets(cap.value, { roundtrip: a.roundtrip, port: a.port })) {
    count++;
    t0 ??= p.time;
    let problem = packetProblem(p);
    const notes: string[] = [];
    for (const c of checks) {
      const r = c.check(p);
      if (!r) continue;
      if (!r.ok) problem ??= `${c.name}: ${r.reason}`;
      else if (r.note) notes.push(`${c.name}: ${r.note}`);
    }
    if (a.json) {
      const o = packetJson(p);
      if (notes.length) o.checks = notes;
      if (problem && o.ok) Object.assign(o, { ok: false, error: problem });
      io.out(JSON.stringify(o));
    } else {
      for (const l of packetText(p, t0)) io.out(l);
      for (const n of notes) io.out(`  ${n}`);
      if (problem && p.decoded.ok && packetProblem(p) === undefined) io.out(`  FAILED ${problem}`);
    }
    if (problem) {
      failed++;
      first ??= `packet #${p.number} from ${ip6ToString(p.src)}: ${problem}`;
    }
  }
  if (first) {
    io.err(`bmx7ctl dump: ${failed} of ${count} BMX7 packets failed; first: ${first}`);
    return EXIT.FAILURE;
  }
  if (count === 0) io.err(`bmx7ctl dump: no BMX7 packets (UDP port ${a.port} over IPv6) in ${a.file}`);
  return EXIT.OK;
}

export const dumpCommand: Command = {
  name: 'dump',
  summary: DUMP_SUMMARY,
  usage: DUMP_USAGE,
  run: (args, io) => runDump(args, io),
};

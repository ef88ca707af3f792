/**
 * Packet frames (docs/protocol.md §4.3): one table entry per type with its decoder, encoder and the
 * reference's size rules (data header, minimum message, fixed-size messages, whether zero
 * messages are allowed). Frame types nobody handles are kept as `{ unknown: true, raw }`.
 */
import { put16, put32, take, u16, u32 } from './bytes.js';
import {
  DHM_KEY_LEN,
  DHM_MAC_MESSAGE_SIZE,
  FRAME_TYPE,
  MAX_OGM_HOP_HISTORY_SZ,
  MSG_SIZE,
  OGM_HISTORY_ENTRY_SIZE,
  OGM_MSG_SIZE,
  REF_CONTENT_BODY_SIZE_MAX,
  RSA_KEY_LEN,
  SHA_LEN,
  SHA112_LEN,
  SIGNATURE_HEADER_SIZE,
  type UnknownFrameType,
} from './constants.js';
import {
  type Description,
  type DescriptionOptions,
  decodeDescription,
  encodeDescription,
} from './description.js';
import { CodecError, ensure, fail, ok, type Result } from './result.js';

/** One signature message: an RSA signature (key-length bytes) or a DHM MAC (14 bytes). */
export interface SignatureMessage {
  /** RSA key type 1-8 or DHM key type 16-18. */
  readonly keyType: number;
  readonly signature: Uint8Array;
}

/** SIGNATURE_ADV (8): data header + 0, 1 RSA or N DHM messages (4.4). */
export interface SignatureFrame {
  readonly type: typeof FRAME_TYPE.SIGNATURE_ADV;
  readonly descSqn: number;
  readonly burstSqn: number;
  readonly devIdx: number;
  readonly messages: readonly SignatureMessage[];
  /**
   * Message bytes that do not parse as messages of a known key type (the reference stops reading
   * messages there without failing the packet). Absent when there are none.
   */
  readonly rest?: Uint8Array;
}

/** OGM_AGG_SQN_ADV (9): newest aggregation sqn and window size. */
export interface OgmAggSqnFrame {
  readonly type: typeof FRAME_TYPE.OGM_AGG_SQN_ADV;
  readonly max: number;
  readonly size: number;
}

/** HELLO_ADV (12). */
export interface HelloFrame {
  readonly type: typeof FRAME_TYPE.HELLO_ADV;
  readonly helloSqn: number;
}

export interface HelloReply {
  /** The addressed neighbour's current description hash as held by the sender. */
  readonly dhash: Uint8Array;
  /** Sender's time-aware rq of the link, 0-255. */
  readonly rxLq: number;
  /** The addressed neighbour's devIdx of the link. */
  readonly receiverDevIdx: number;
}

/** HELLO_REPLY_DHASH (13): one 30-byte message per link to the addressed neighbour. */
export interface HelloReplyFrame {
  readonly type: typeof FRAME_TYPE.HELLO_REPLY_DHASH;
  readonly replies: readonly HelloReply[];
}

export interface IidAdv {
  readonly iid: number;
  readonly descSqn: number;
  /** 14 bytes. */
  readonly chainOgm: Uint8Array;
  readonly nodeId: Uint8Array;
}

/** IID_ADV (19): 48-byte messages. */
export interface IidAdvFrame {
  readonly type: typeof FRAME_TYPE.IID_ADV;
  readonly advs: readonly IidAdv[];
}

/** One hop-history entry (type 0: the only one defined). */
export interface OgmHop {
  /** FM16 (e << 8 | m) of the link metric. */
  readonly metric: number;
  readonly directional: boolean;
  /** 0 wired, 255 unknown wireless, else the channel. */
  readonly channel: number;
}

export interface Ogm {
  /** 14 bytes: link(sqn) XOR first 14 bytes of the per-description constant (4.9). */
  readonly chainOgm: Uint8Array;
  /** Transmitter's IID of the originator (14 bits; 1 = the transmitter itself, never 0). */
  readonly iid: number;
  /** Hop count as sent (6 bits). */
  readonly hops: number;
  /** Metric as FM16 (e << 8 | m). */
  readonly metric: number;
  readonly history: readonly OgmHop[];
}

/** OGM_ADV (21): aggregation sqn + OGMs (possibly none). */
export interface OgmAdvFrame {
  readonly type: typeof FRAME_TYPE.OGM_ADV;
  readonly aggSqn: number;
  readonly ogms: readonly Ogm[];
  /**
   * Message bytes that do not parse as OGMs (a history entry of type ≠ 0, more than 10 entries,
   * trailing bytes): the reference ignores such a frame's messages as a whole. `ogms` is then
   * empty. Absent when the messages parse.
   */
  readonly unparsed?: Uint8Array;
}

/** OGM_REQ (27): destination node id + wanted aggregation sqns. */
export interface OgmReqFrame {
  readonly type: typeof FRAME_TYPE.OGM_REQ;
  readonly dest: Uint8Array;
  readonly aggSqns: readonly number[];
}

/** IID_REQ (28): destination node id + IIDs as used by the destination (may be empty). */
export interface IidReqFrame {
  readonly type: typeof FRAME_TYPE.IID_REQ;
  readonly dest: Uint8Array;
  readonly iids: readonly number[];
}

/** DESC_REQ (29): destination node id + node ids whose current description is wanted. */
export interface DescReqFrame {
  readonly type: typeof FRAME_TYPE.DESC_REQ;
  readonly dest: Uint8Array;
  readonly nodeIds: readonly Uint8Array[];
}

/** CONTENT_REQ (30): destination node id + wanted content hashes. */
export interface ContentReqFrame {
  readonly type: typeof FRAME_TYPE.CONTENT_REQ;
  readonly dest: Uint8Array;
  readonly hashes: readonly Uint8Array[];
}

/**
 * DESC_ADV (2): exactly one description. Encoding uses `description.tlvs` only; build one for
 * sending with `makeDescription(tlvs)` or `decodeDescription(bytes)`.
 */
export interface DescAdvFrame {
  readonly type: typeof FRAME_TYPE.DESC_ADV;
  readonly description: Description;
}

/** CONTENT_ADV (4): 1-byte header + content body (a hash list if nesting ≠ 0). */
export interface ContentAdvFrame {
  readonly type: typeof FRAME_TYPE.CONTENT_ADV;
  readonly gzip: boolean;
  readonly nesting: number;
  /** The 5 reserved header bits. */
  readonly reserved: number;
  readonly body: Uint8Array;
}

/** TRASH_ADV (1): padding (iwinfo plugin capacity probes). */
export interface TrashFrame {
  readonly type: typeof FRAME_TYPE.TRASH_ADV;
  readonly data: Uint8Array;
}

/** NOP (31): defined, never registered by the reference. */
export interface NopFrame {
  readonly type: typeof FRAME_TYPE.NOP;
  readonly data: Uint8Array;
}

/** A frame type nobody handles, relayed unchanged. */
export interface UnknownFrame {
  readonly type: UnknownFrameType;
  readonly unknown: true;
  readonly raw: Uint8Array;
}

export type Frame =
  | TrashFrame
  | DescAdvFrame
  | ContentAdvFrame
  | SignatureFrame
  | OgmAggSqnFrame
  | HelloFrame
  | HelloReplyFrame
  | IidAdvFrame
  | OgmAdvFrame
  | OgmReqFrame
  | IidReqFrame
  | DescReqFrame
  | ContentReqFrame
  | NopFrame
  | UnknownFrame;

/** A frame of a decoded packet, with its place in the packet. */
export type DecodedFrame = Frame & {
  /** Offset of the frame header in the packet. */
  readonly offset: number;
  /** Frame length including its 2-byte header. */
  readonly length: number;
};

/** Size rules of a registered frame type (msg.c rx_frame_iterate, frame_handl). */
export interface FrameBounds {
  readonly header: number;
  readonly minMsg: number;
  readonly fixed: boolean;
  /** Message handlers need ≥ 1 message; frame handlers also accept none. */
  readonly needsMessage: boolean;
}

export interface FrameCodec<F extends Frame = Frame> {
  readonly name: string;
  /** Undefined for types the core reference does not register (no size or order checks). */
  readonly bounds?: FrameBounds;
  decode(data: Uint8Array, opts: DescriptionOptions): Result<F>;
  /** Frame data (without the 2-byte header). */
  encode(f: F): Uint8Array;
}

/** Key-length of a signature message type (RSA 1-8, DHM 17/18), 0 when unknown. */
export function signatureMessageSize(keyType: number): number {
  const rsa = RSA_KEY_LEN[keyType];
  if (rsa !== undefined) return 1 + rsa;
  if (DHM_KEY_LEN[keyType] !== undefined) return DHM_MAC_MESSAGE_SIZE;
  return 0;
}

function bytesOf(b: Uint8Array, len: number, what: string): Uint8Array {
  if (b.length !== len) throw new CodecError('ERR_CODEC_INPUT', `${what} must be ${len} bytes`);
  return b;
}

function uint(v: number, bits: number, what: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v < 2 ** bits))
    throw new CodecError('ERR_CODEC_INPUT', `${what} ${v} out of range (${bits} bits)`);
  return v;
}

const signatureCodec: FrameCodec<SignatureFrame> = {
  name: 'SIGNATURE_ADV',
  bounds: { header: SIGNATURE_HEADER_SIZE, minMsg: 1, fixed: false, needsMessage: false },
  decode(d) {
    const messages: SignatureMessage[] = [];
    let p = SIGNATURE_HEADER_SIZE;
    // sec.c process_packet_signature: messages until an unknown type or one that does not fit.
    while (p < d.length) {
      const size = signatureMessageSize(d[p]!);
      if (!size || p + size > d.length) break;
      messages.push({ keyType: d[p]!, signature: take(d, p + 1, size - 1) });
      p += size;
    }
    const f: SignatureFrame = {
      type: FRAME_TYPE.SIGNATURE_ADV,
      descSqn: u32(d, 0),
      burstSqn: u32(d, 4),
      devIdx: d[8]!,
      messages,
    };
    return ok(p < d.length ? { ...f, rest: take(d, p, d.length - p) } : f);
  },
  encode(f) {
    const msgs = f.messages.map((m) => {
      ensure(
        signatureMessageSize(m.keyType) === 1 + m.signature.length,
        `signature message of type ${m.keyType}: wrong length`,
      );
      return m;
    });
    const n = msgs.reduce((a, m) => a + 1 + m.signature.length, 0) + (f.rest?.length ?? 0);
    const d = new Uint8Array(SIGNATURE_HEADER_SIZE + n);
    put32(d, 0, uint(f.descSqn, 32, 'descSqn'));
    put32(d, 4, uint(f.burstSqn, 32, 'burstSqn'));
    d[8] = uint(f.devIdx, 8, 'devIdx');
    let p = SIGNATURE_HEADER_SIZE;
    for (const m of msgs) {
      d[p] = m.keyType;
      d.set(m.signature, p + 1);
      p += 1 + m.signature.length;
    }
    if (f.rest) d.set(f.rest, p);
    return d;
  },
};

const ogmAggSqnCodec: FrameCodec<OgmAggSqnFrame> = {
  name: 'OGM_AGG_SQN_ADV',
  bounds: { header: 0, minMsg: MSG_SIZE.OGM_AGG_SQN_ADV, fixed: true, needsMessage: false },
  decode(d) {
    if (d.length !== MSG_SIZE.OGM_AGG_SQN_ADV)
      return fail('ERR_LENGTH', `OGM_AGG_SQN_ADV of ${d.length} bytes, must be 4`);
    return ok({ type: FRAME_TYPE.OGM_AGG_SQN_ADV, max: u16(d, 0), size: u16(d, 2) });
  },
  encode(f) {
    const d = new Uint8Array(4);
    put16(d, 0, uint(f.max, 16, 'aggregation max'));
    put16(d, 2, uint(f.size, 16, 'aggregation window'));
    return d;
  },
};

const helloCodec: FrameCodec<HelloFrame> = {
  name: 'HELLO_ADV',
  bounds: { header: 0, minMsg: MSG_SIZE.HELLO_ADV, fixed: true, needsMessage: true },
  decode(d) {
    if (d.length !== MSG_SIZE.HELLO_ADV)
      return fail('ERR_LENGTH', `HELLO_ADV of ${d.length} bytes, must be 2`);
    return ok({ type: FRAME_TYPE.HELLO_ADV, helloSqn: u16(d, 0) });
  },
  encode(f) {
    const d = new Uint8Array(2);
    put16(d, 0, uint(f.helloSqn, 16, 'helloSqn'));
    return d;
  },
};

function listFrame<F extends Frame, M>(
  name: string,
  header: number,
  size: number,
  needsMessage: boolean,
  build: (hdr: Uint8Array, msgs: M[]) => F,
  hdrOf: (f: F) => Uint8Array,
  msgsOf: (f: F) => readonly M[],
  dec: (d: Uint8Array, o: number) => M,
  enc: (m: M, d: Uint8Array, o: number) => void,
): FrameCodec<F> {
  return {
    name,
    bounds: { header, minMsg: size, fixed: true, needsMessage },
    decode(d) {
      const n = d.length - header;
      if (n < 0 || n % size || (needsMessage && n === 0))
        return fail('ERR_LENGTH', `${name}: ${d.length} bytes do not fit ${header} + k·${size}`);
      const msgs: M[] = [];
      for (let o = header; o < d.length; o += size) msgs.push(dec(d, o));
      return ok(build(take(d, 0, header), msgs));
    },
    encode(f) {
      const ms = msgsOf(f);
      if (!(!needsMessage || ms.length > 0))
        throw new CodecError('ERR_CODEC_INPUT', `${name} needs at least one message`);
      const d = new Uint8Array(header + ms.length * size);
      if (header) d.set(bytesOf(hdrOf(f), header, `${name} destination`), 0);
      ms.forEach((m, i) => {
        enc(m, d, header + i * size);
      });
      return d;
    },
  };
}

const noHeader = () => new Uint8Array(0);

const helloReplyCodec = listFrame<HelloReplyFrame, HelloReply>(
  'HELLO_REPLY_DHASH',
  0,
  MSG_SIZE.HELLO_REPLY_DHASH,
  true,
  (_h, replies) => ({ type: FRAME_TYPE.HELLO_REPLY_DHASH, replies }),
  noHeader,
  (f) => f.replies,
  (d, o) => ({ dhash: take(d, o, SHA_LEN), rxLq: d[o + 28]!, receiverDevIdx: d[o + 29]! }),
  (m, d, o) => {
    d.set(bytesOf(m.dhash, SHA_LEN, 'HELLO_REPLY dhash'), o);
    d[o + 28] = uint(m.rxLq, 8, 'rxLq');
    d[o + 29] = uint(m.receiverDevIdx, 8, 'receiverDevIdx');
  },
);

const iidAdvCodec = listFrame<IidAdvFrame, IidAdv>(
  'IID_ADV',
  0,
  MSG_SIZE.IID_ADV,
  true,
  (_h, advs) => ({ type: FRAME_TYPE.IID_ADV, advs }),
  noHeader,
  (f) => f.advs,
  (d, o) => ({
    iid: u16(d, o),
    descSqn: u32(d, o + 2),
    chainOgm: take(d, o + 6, SHA112_LEN),
    nodeId: take(d, o + 20, SHA_LEN),
  }),
  (m, d, o) => {
    put16(d, o, uint(m.iid, 16, 'iid'));
    put32(d, o + 2, uint(m.descSqn, 32, 'descSqn'));
    d.set(bytesOf(m.chainOgm, SHA112_LEN, 'chainOgm'), o + 6);
    d.set(bytesOf(m.nodeId, SHA_LEN, 'nodeId'), o + 20);
  },
);

const ogmReqCodec = listFrame<OgmReqFrame, number>(
  'OGM_REQ',
  SHA_LEN,
  MSG_SIZE.OGM_REQ,
  true,
  (h, aggSqns) => ({ type: FRAME_TYPE.OGM_REQ, dest: h, aggSqns }),
  (f) => f.dest,
  (f) => f.aggSqns,
  (d, o) => u16(d, o),
  (m, d, o) => put16(d, o, uint(m, 16, 'aggregation sqn')),
);

const iidReqCodec = listFrame<IidReqFrame, number>(
  'IID_REQ',
  SHA_LEN,
  MSG_SIZE.IID_REQ,
  false,
  (h, iids) => ({ type: FRAME_TYPE.IID_REQ, dest: h, iids }),
  (f) => f.dest,
  (f) => f.iids,
  (d, o) => u16(d, o),
  (m, d, o) => put16(d, o, uint(m, 16, 'iid')),
);

const descReqCodec = listFrame<DescReqFrame, Uint8Array>(
  'DESC_REQ',
  SHA_LEN,
  MSG_SIZE.DESC_REQ,
  true,
  (h, nodeIds) => ({ type: FRAME_TYPE.DESC_REQ, dest: h, nodeIds }),
  (f) => f.dest,
  (f) => f.nodeIds,
  (d, o) => take(d, o, SHA_LEN),
  (m, d, o) => d.set(bytesOf(m, SHA_LEN, 'DESC_REQ node id'), o),
);

const contentReqCodec = listFrame<ContentReqFrame, Uint8Array>(
  'CONTENT_REQ',
  SHA_LEN,
  MSG_SIZE.CONTENT_REQ,
  true,
  (h, hashes) => ({ type: FRAME_TYPE.CONTENT_REQ, dest: h, hashes }),
  (f) => f.dest,
  (f) => f.hashes,
  (d, o) => take(d, o, SHA_LEN),
  (m, d, o) => d.set(bytesOf(m, SHA_LEN, 'CONTENT_REQ hash'), o),
);

/** Parses OGM messages as ogm.c iterate_msg_ogm_adv does; undefined where the reference gives up. */
function parseOgms(d: Uint8Array, start: number): Ogm[] | undefined {
  const ogms: Ogm[] = [];
  let p = start;
  while (p < d.length) {
    if (p + OGM_MSG_SIZE > d.length) return undefined;
    const w = u32(d, p + SHA112_LEN);
    const ogm = {
      chainOgm: take(d, p, SHA112_LEN),
      iid: (w >>> 17) & 0x3fff,
      hops: (w >>> 11) & 0x3f,
      metric: (((w >>> 6) & 0x1f) << 8) | (w & 0x3f),
      history: [] as OgmHop[],
    };
    p += OGM_MSG_SIZE;
    let more = w >>> 31;
    while (more) {
      if (ogm.history.length >= MAX_OGM_HOP_HISTORY_SZ || p + OGM_HISTORY_ENTRY_SIZE > d.length)
        return undefined;
      const h = u16(d, p);
      if ((h >> 12) & 7) return undefined; // only type 0 entries are defined
      ogm.history.push({
        metric: (((h >> 6) & 0x1f) << 8) | (h & 0x3f),
        directional: ((h >> 11) & 1) === 1,
        channel: d[p + 2]!,
      });
      more = h >> 15;
      p += OGM_HISTORY_ENTRY_SIZE;
    }
    ogms.push(ogm);
  }
  return ogms;
}

const ogmAdvCodec: FrameCodec<OgmAdvFrame> = {
  name: 'OGM_ADV',
  bounds: { header: 2, minMsg: OGM_MSG_SIZE, fixed: false, needsMessage: false },
  decode(d) {
    const aggSqn = u16(d, 0);
    const ogms = parseOgms(d, 2);
    if (ogms) return ok({ type: FRAME_TYPE.OGM_ADV, aggSqn, ogms });
    return ok({ type: FRAME_TYPE.OGM_ADV, aggSqn, ogms: [], unparsed: take(d, 2, d.length - 2) });
  },
  encode(f) {
    if (f.unparsed) {
      ensure(f.ogms.length === 0, 'OGM_ADV with unparsed bytes must have no ogms');
      const d = new Uint8Array(2 + f.unparsed.length);
      put16(d, 0, uint(f.aggSqn, 16, 'aggSqn'));
      d.set(f.unparsed, 2);
      return d;
    }
    const n = f.ogms.reduce((a, o) => a + OGM_MSG_SIZE + o.history.length * OGM_HISTORY_ENTRY_SIZE, 0);
    const d = new Uint8Array(2 + n);
    put16(d, 0, uint(f.aggSqn, 16, 'aggSqn'));
    let p = 2;
    for (const o of f.ogms) {
      ensure(o.history.length <= MAX_OGM_HOP_HISTORY_SZ, 'OGM history longer than 10');
      d.set(bytesOf(o.chainOgm, SHA112_LEN, 'chainOgm'), p);
      const e = (o.metric >> 8) & 0xff;
      const m = o.metric & 0xff;
      if (!(e <= 31 && m <= 63))
        throw new CodecError('ERR_CODEC_INPUT', `OGM metric 0x${o.metric.toString(16)} is not an FM16`);
      const w =
        (o.history.length ? 0x80000000 : 0) +
        uint(o.iid, 14, 'iid') * 2 ** 17 +
        (uint(o.hops, 6, 'hops') << 11) +
        (e << 6) +
        m;
      put32(d, p + SHA112_LEN, w);
      p += OGM_MSG_SIZE;
      o.history.forEach((h, i) => {
        const he = (h.metric >> 8) & 0xff;
        const hm = h.metric & 0xff;
        ensure(he <= 31 && hm <= 63, 'OGM history metric is not an FM16');
        put16(d, p, (i + 1 < o.history.length ? 0x8000 : 0) | (h.directional ? 0x800 : 0) | (he << 6) | hm);
        d[p + 2] = uint(h.channel, 8, 'channel');
        p += OGM_HISTORY_ENTRY_SIZE;
      });
    }
    return d;
  },
};

const descAdvCodec: FrameCodec<DescAdvFrame> = {
  name: 'DESC_ADV',
  bounds: { header: 0, minMsg: 2 + 32 + 2 + 1 + 2 + 44, fixed: false, needsMessage: false },
  decode(d, opts) {
    const r = decodeDescription(d, opts);
    if (!r.ok) return fail(r.code, `DESC_ADV: ${r.reason}`);
    return ok({ type: FRAME_TYPE.DESC_ADV, description: r.value });
  },
  encode(f) {
    return encodeDescription(f.description.tlvs);
  },
};

const contentAdvCodec: FrameCodec<ContentAdvFrame> = {
  name: 'CONTENT_ADV',
  bounds: { header: 1, minMsg: 1, fixed: false, needsMessage: false },
  decode(d) {
    const n = d.length - 1;
    // content.c rx_frame_content_adv
    if (n < 1 || n > REF_CONTENT_BODY_SIZE_MAX)
      return fail('ERR_LENGTH', `CONTENT_ADV body of ${n} bytes, must be 1-1197`);
    const nesting = (d[0]! >> 1) & 3;
    if (nesting && n % SHA_LEN) return fail('ERR_LENGTH', `CONTENT_ADV hash list of ${n} bytes`);
    return ok({
      type: FRAME_TYPE.CONTENT_ADV,
      gzip: (d[0]! & 1) === 1,
      nesting,
      reserved: d[0]! >> 3,
      body: take(d, 1, n),
    });
  },
  encode(f) {
    const d = new Uint8Array(1 + f.body.length);
    d[0] = (uint(f.reserved, 5, 'reserved') << 3) | (uint(f.nesting, 2, 'nesting') << 1) | (f.gzip ? 1 : 0);
    d.set(f.body, 1);
    return d;
  },
};

const rawCodec = <F extends TrashFrame | NopFrame>(name: string, type: F['type']): FrameCodec<F> => ({
  name,
  decode: (d) => ok({ type, data: d.slice() } as F),
  encode: (f) => f.data.slice(),
});

/** Frame types → codec. Types absent here are unknown and kept raw. */
export const FRAME_CODECS: Readonly<Partial<Record<number, FrameCodec>>> = {
  [FRAME_TYPE.TRASH_ADV]: rawCodec<TrashFrame>('TRASH_ADV', FRAME_TYPE.TRASH_ADV) as FrameCodec,
  [FRAME_TYPE.DESC_ADV]: descAdvCodec as FrameCodec,
  [FRAME_TYPE.CONTENT_ADV]: contentAdvCodec as FrameCodec,
  [FRAME_TYPE.SIGNATURE_ADV]: signatureCodec as FrameCodec,
  [FRAME_TYPE.OGM_AGG_SQN_ADV]: ogmAggSqnCodec as FrameCodec,
  [FRAME_TYPE.HELLO_ADV]: helloCodec as FrameCodec,
  [FRAME_TYPE.HELLO_REPLY_DHASH]: helloReplyCodec as FrameCodec,
  [FRAME_TYPE.IID_ADV]: iidAdvCodec as FrameCodec,
  [FRAME_TYPE.OGM_ADV]: ogmAdvCodec as FrameCodec,
  [FRAME_TYPE.OGM_REQ]: ogmReqCodec as FrameCodec,
  [FRAME_TYPE.IID_REQ]: iidReqCodec as FrameCodec,
  [FRAME_TYPE.DESC_REQ]: descReqCodec as FrameCodec,
  [FRAME_TYPE.CONTENT_REQ]: contentReqCodec as FrameCodec,
  [FRAME_TYPE.NOP]: rawCodec<NopFrame>('NOP', FRAME_TYPE.NOP) as FrameCodec,
};

/** Decodes the data of one frame (after its 2-byte header) of the given type. */
export function decodeFrameData(
  type: number,
  data: Uint8Array,
  opts: DescriptionOptions = {},
): Result<Frame> {
  const c = FRAME_CODECS[type];
  if (!c) return ok({ type: type as UnknownFrameType, unknown: true, raw: data.slice() });
  if (c.bounds) {
    const { header, minMsg, fixed, needsMessage } = c.bounds;
    const msgs = data.length - header;
    if (needsMessage ? msgs < minMsg : msgs < minMsg && msgs !== 0)
      return fail('ERR_LENGTH', `${c.name}: ${data.length} data bytes too few`);
    if (fixed && minMsg && msgs % minMsg)
      return fail('ERR_LENGTH', `${c.name}: ${msgs} message bytes not a multiple of ${minMsg}`);
  }
  return c.decode(data, opts);
}

/** Encodes the data of a frame (without its 2-byte header). */
export function encodeFrameData(f: Frame): Uint8Array {
  if ('unknown' in f && f.unknown) return f.raw.slice();
  const c = FRAME_CODECS[f.type];
  if (!(c !== undefined)) throw new CodecError('ERR_CODEC_INPUT', `frame type ${f.type} has no codec`);
  return c.encode(f);
}

/** Whether the core reference registers a handler for the frame type (these are order-checked). */
export function isCheckedFrameType(type: number): boolean {
  return FRAME_CODECS[type]?.bounds !== undefined;
}

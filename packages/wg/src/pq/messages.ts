/**
 * The messages of the post-quantum PSK exchange (docs/pq-psk.md "Messages"): UDP datagrams between
 * two nodes' primary addresses, port 6272, each small enough for an IPv6 minimum-MTU packet (1232
 * bytes of UDP payload) so that the mesh never fragments them.
 *
 * Every message starts with a 68-byte header, big-endian:
 *
 *   magic "B7PQ" (4) | version u8 = 1 | type u8 | reserved u16 = 0 | epoch u32 |
 *   sender node id (28) | receiver node id (28)
 *
 * then, by type: INIT an ML-KEM-768 ciphertext to the responder (1088); RESP a ciphertext to the
 * initiator (1088) and the responder's confirmation tag (32); CONFIRM the initiator's tag (32);
 * REKEY nothing. Each type has exactly one length.
 *
 * `decodePqMessage` never throws on received bytes: it returns a result with a stable code.
 * `encodePqMessage` throws `PqMessageError` only for programmer errors (a field of the wrong size).
 */

/** UDP port of the exchange (`pqPskPort`): next to BMX7's 6270 and WireGuard's 6271. */
export const DEFAULT_PQ_PSK_PORT = 6272;

/** "B7PQ" in ASCII. */
export const PQ_MAGIC: Uint8Array = Uint8Array.of(0x42, 0x37, 0x50, 0x51);
export const PQ_VERSION = 1;
/** The type byte of each message. */
export const PQ_MSG_TYPE = { INIT: 1, RESP: 2, CONFIRM: 3, REKEY: 4 } as const;

/** A BMX7 node id (SHA-224, docs/protocol.md §4.6). */
export const PQ_NODE_ID_LEN = 28;
/** An ML-KEM-768 ciphertext (FIPS 203). */
export const PQ_CIPHERTEXT_LEN = 1088;
/** A key confirmation tag (HMAC-SHA256). */
export const PQ_TAG_LEN = 32;
/** magic 4 + version 1 + type 1 + reserved 2 + epoch 4 + sender 28 + receiver 28. */
export const PQ_HEADER_LEN = 68;

/** The one length of each message type. */
export const PQ_MSG_LEN = {
  INIT: PQ_HEADER_LEN + PQ_CIPHERTEXT_LEN,
  RESP: PQ_HEADER_LEN + PQ_CIPHERTEXT_LEN + PQ_TAG_LEN,
  CONFIRM: PQ_HEADER_LEN + PQ_TAG_LEN,
  REKEY: PQ_HEADER_LEN,
} as const;

/** UDP payload of an IPv6 minimum-MTU packet: 1280 − 40 (IPv6 header) − 8 (UDP header). */
export const PQ_MAX_MESSAGE_LEN = 1232;

/** The largest epoch: epochs are u32 labels, and the next after this one is 1 again. */
export const PQ_MAX_EPOCH = 0xffff_ffff;

interface PqHeader {
  /** The exchange this message belongs to: 1 … 2³²−1 (REKEY: the sender's installed epoch, or 0). */
  readonly epoch: number;
  /** Node id of the sender, 28 bytes. */
  readonly sender: Uint8Array;
  /** Node id of the receiver, 28 bytes. */
  readonly receiver: Uint8Array;
}

export interface PqInit extends PqHeader {
  readonly type: 'init';
  /** ML-KEM-768 ciphertext to the responder's announced key. */
  readonly ciphertext: Uint8Array;
}
export interface PqResp extends PqHeader {
  readonly type: 'resp';
  /** ML-KEM-768 ciphertext to the initiator's announced key. */
  readonly ciphertext: Uint8Array;
  /** The responder's confirmation tag. */
  readonly tag: Uint8Array;
}
export interface PqConfirm extends PqHeader {
  readonly type: 'confirm';
  /** The initiator's confirmation tag. */
  readonly tag: Uint8Array;
}
export interface PqRekey extends PqHeader {
  readonly type: 'rekey';
}
export type PqMessage = PqInit | PqResp | PqConfirm | PqRekey;
export type PqMessageType = PqMessage['type'];

export type PqDecodeCode =
  /** Not a byte array. */
  | 'ERR_PQ_INPUT'
  /** Shorter than the header. */
  | 'ERR_PQ_SHORT'
  /** Longer than any message (more than 1232 bytes). */
  | 'ERR_PQ_LONG'
  /** Does not start with "B7PQ". */
  | 'ERR_PQ_MAGIC'
  /** A version other than 1. */
  | 'ERR_PQ_VERSION'
  /** A type other than 1–4. */
  | 'ERR_PQ_TYPE'
  /** Reserved bytes that are not zero. */
  | 'ERR_PQ_RESERVED'
  /** A length other than the one of its type. */
  | 'ERR_PQ_LENGTH'
  /** Epoch 0 in an INIT, RESP or CONFIRM. */
  | 'ERR_PQ_EPOCH';

export type PqDecodeResult =
  | { readonly ok: true; readonly value: PqMessage }
  | { readonly ok: false; readonly code: PqDecodeCode; readonly reason: string };

/** Thrown by `encodePqMessage` for a message that cannot be encoded (programmer errors only). */
export class PqMessageError extends Error {
  override readonly name = 'PqMessageError';
  readonly code = 'ERR_PQ_ENCODE';
}

const TYPE_BY_BYTE: Record<number, PqMessageType> = { 1: 'init', 2: 'resp', 3: 'confirm', 4: 'rekey' };
const BYTE_BY_TYPE: Record<PqMessageType, number> = {
  init: PQ_MSG_TYPE.INIT,
  resp: PQ_MSG_TYPE.RESP,
  confirm: PQ_MSG_TYPE.CONFIRM,
  rekey: PQ_MSG_TYPE.REKEY,
};
const LEN_BY_TYPE: Record<PqMessageType, number> = {
  init: PQ_MSG_LEN.INIT,
  resp: PQ_MSG_LEN.RESP,
  confirm: PQ_MSG_LEN.CONFIRM,
  rekey: PQ_MSG_LEN.REKEY,
};

/** The length of a message of this type. */
export function pqMessageLength(type: PqMessageType): number {
  return LEN_BY_TYPE[type];
}

function bytesOf(v: unknown, len: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len)
    throw new PqMessageError(
      `${what} must be ${len} bytes, got ${v instanceof Uint8Array ? v.length : typeof v}`,
    );
  return v;
}

/** The datagram of a message; throws `PqMessageError` for a field of the wrong size or range. */
export function encodePqMessage(m: PqMessage): Uint8Array {
  const len = LEN_BY_TYPE[m.type];
  if (len === undefined) throw new PqMessageError(`unknown message type ${String(m.type)}`);
  const minEpoch = m.type === 'rekey' ? 0 : 1;
  if (!Number.isInteger(m.epoch) || m.epoch < minEpoch || m.epoch > PQ_MAX_EPOCH)
    throw new PqMessageError(`epoch must be an integer ${minEpoch}-${PQ_MAX_EPOCH}, got ${m.epoch}`);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  out.set(PQ_MAGIC, 0);
  out[4] = PQ_VERSION;
  out[5] = BYTE_BY_TYPE[m.type];
  dv.setUint16(6, 0);
  dv.setUint32(8, m.epoch);
  out.set(bytesOf(m.sender, PQ_NODE_ID_LEN, 'sender'), 12);
  out.set(bytesOf(m.receiver, PQ_NODE_ID_LEN, 'receiver'), 12 + PQ_NODE_ID_LEN);
  const body = PQ_HEADER_LEN;
  switch (m.type) {
    case 'init':
      out.set(bytesOf(m.ciphertext, PQ_CIPHERTEXT_LEN, 'ciphertext'), body);
      break;
    case 'resp':
      out.set(bytesOf(m.ciphertext, PQ_CIPHERTEXT_LEN, 'ciphertext'), body);
      out.set(bytesOf(m.tag, PQ_TAG_LEN, 'tag'), body + PQ_CIPHERTEXT_LEN);
      break;
    case 'confirm':
      out.set(bytesOf(m.tag, PQ_TAG_LEN, 'tag'), body);
      break;
    case 'rekey':
      break;
  }
  return out;
}

const fail = (code: PqDecodeCode, reason: string): PqDecodeResult => ({ ok: false, code, reason });

/**
 * A received datagram as a message, or why it is refused. Never throws; the fields of a message are
 * fresh copies (they do not alias the datagram's buffer).
 */
export function decodePqMessage(b: Uint8Array): PqDecodeResult {
  if (!(b instanceof Uint8Array)) return fail('ERR_PQ_INPUT', 'not a byte array');
  if (b.length < PQ_HEADER_LEN) return fail('ERR_PQ_SHORT', `${b.length} bytes, under the 68-byte header`);
  if (b.length > PQ_MAX_MESSAGE_LEN)
    return fail('ERR_PQ_LONG', `${b.length} bytes, over the ${PQ_MAX_MESSAGE_LEN}-byte maximum`);
  for (let i = 0; i < PQ_MAGIC.length; i++)
    if (b[i] !== PQ_MAGIC[i]) return fail('ERR_PQ_MAGIC', 'not "B7PQ"');
  if (b[4] !== PQ_VERSION) return fail('ERR_PQ_VERSION', `version ${b[4]}, not ${PQ_VERSION}`);
  const type = TYPE_BY_BYTE[b[5]!];
  if (type === undefined) return fail('ERR_PQ_TYPE', `type ${b[5]}`);
  if (b[6] !== 0 || b[7] !== 0) return fail('ERR_PQ_RESERVED', 'reserved bytes not zero');
  const len = LEN_BY_TYPE[type];
  if (b.length !== len) return fail('ERR_PQ_LENGTH', `${type} of ${b.length} bytes, not ${len}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const epoch = dv.getUint32(8);
  if (epoch === 0 && type !== 'rekey') return fail('ERR_PQ_EPOCH', `${type} with epoch 0`);
  const sender = b.slice(12, 12 + PQ_NODE_ID_LEN);
  const receiver = b.slice(12 + PQ_NODE_ID_LEN, PQ_HEADER_LEN);
  const body = PQ_HEADER_LEN;
  let value: PqMessage;
  switch (type) {
    case 'init':
      value = { type, epoch, sender, receiver, ciphertext: b.slice(body, body + PQ_CIPHERTEXT_LEN) };
      break;
    case 'resp':
      value = {
        type,
        epoch,
        sender,
        receiver,
        ciphertext: b.slice(body, body + PQ_CIPHERTEXT_LEN),
        tag: b.slice(body + PQ_CIPHERTEXT_LEN, body + PQ_CIPHERTEXT_LEN + PQ_TAG_LEN),
      };
      break;
    case 'confirm':
      value = { type, epoch, sender, receiver, tag: b.slice(body, body + PQ_TAG_LEN) };
      break;
    case 'rekey':
      value = { type, epoch, sender, receiver };
      break;
  }
  return { ok: true, value };
}

/**
 * Packets (docs/protocol.md §4.1-4.4): the 30-byte header and a sequence of frames, decoded with the
 * reference's receive rules (msg.c rx_packet, rx_frame_iterate):
 *
 * - UDP payload exactly 30 or 32-1232 bytes; compatibility version within own ±1;
 * - every frame header needs at least one data byte and must fit; 1-2 stray bytes after the last
 *   frame are an error (they crash a reference receiver);
 * - frame types handled by the reference must not decrease (the same type may repeat), and a
 *   frame of type > 8 needs a SIGNATURE frame before it (position-mandatory). Types the reference
 *   does not handle are not checked themselves but count as the previous type for the next one;
 * - size rules per frame type (frames.ts).
 *
 * The SIGNATURE frame signs: sender's link-local address ‖ its 9-byte data header ‖ all frame
 * bytes after the SIGNATURE frame (4.4). Decoded and encoded packets expose that region.
 */
import { concatBytes } from './bytes.js';
import {
  COMPATIBILITY_VERSION,
  FRAME_HEADER_SIZE,
  FRAME_TYPE,
  FRAME_TYPE_SIGN_MUST_MIN,
  MAX_UDPD_SIZE,
  PACKET_HEADER_SIZE,
  SIGNATURE_HEADER_SIZE,
} from './constants.js';
import type { DescriptionOptions } from './description.js';
import {
  type DecodedFrame,
  decodeFrameData,
  encodeFrameData,
  type Frame,
  isCheckedFrameType,
  type SignatureMessage,
} from './frames.js';
import {
  decodePacketHeader,
  encodePacketHeader,
  type PacketHeader,
  readFrameHeader,
  writeFrameHeader,
} from './header.js';
import { type DecodeError, type DecodeErrorCode, ensure, fail, ok, type Result } from './result.js';

/** Where the SIGNATURE frame and the bytes it signs sit in a packet. */
export interface SignatureSpan {
  /** Offset of the SIGNATURE frame header. */
  readonly frameOffset: number;
  /** Offset of its 9-byte data header (descSqn, burstSqn, devIdx). */
  readonly headerOffset: number;
  /** Offset and length of the signature messages. */
  readonly messagesOffset: number;
  readonly messagesLength: number;
  /** Offset of the first byte after the SIGNATURE frame: signed bytes run from here to the end. */
  readonly tailOffset: number;
}

export interface DecodedPacket {
  readonly header: PacketHeader;
  readonly frames: readonly DecodedFrame[];
  /** Present when the packet has a SIGNATURE frame (the first one counts). */
  readonly signature?: SignatureSpan;
  /** Total length in bytes. */
  readonly length: number;
}

export interface PacketOptions extends DescriptionOptions {}

/**
 * A packet decoded up to its first bad frame. The reference processes the frames before a frame
 * error and drops the rest of the packet (4.1), so an engine that mirrors it takes `frames` and
 * ignores what follows `error.offset`.
 */
export interface PartialPacket extends DecodedPacket {
  /** The first frame error and the offset of the frame (or stray bytes) it concerns. */
  readonly error?: DecodeError & { readonly offset: number };
}

/**
 * Decodes a UDP payload as far as the reference would process it: fails only for packet-level
 * errors (size, header, compatibility version); a frame error ends the frame list and is reported
 * in `error`. Never throws.
 */
export function decodePacketPrefix(b: Uint8Array, opts: PacketOptions = {}): Result<PartialPacket> {
  const minV = opts.minVersion ?? COMPATIBILITY_VERSION - 1;
  const maxV = opts.maxVersion ?? COMPATIBILITY_VERSION + 1;
  const h = decodePacketHeader(b);
  if (!h.ok) return h;
  if (h.value.version < minV || h.value.version > maxV)
    return fail('ERR_VALUE', `compatibility version ${h.value.version} outside ${minV}-${maxV}`);
  if (
    (b.length !== PACKET_HEADER_SIZE && b.length < PACKET_HEADER_SIZE + FRAME_HEADER_SIZE) ||
    b.length > MAX_UDPD_SIZE
  )
    return fail('ERR_LENGTH', `packet of ${b.length} bytes (must be 30 or 32-${MAX_UDPD_SIZE})`);
  const frames: DecodedFrame[] = [];
  let signature: SignatureSpan | undefined;
  let error: (DecodeError & { offset: number }) | undefined;
  let prev = -1;
  let pos = PACKET_HEADER_SIZE;
  const stop = (code: DecodeErrorCode, reason: string) => {
    error = { code, reason, offset: pos };
  };
  while (pos < b.length) {
    if (pos + FRAME_HEADER_SIZE >= b.length) {
      stop('ERR_TRAILING', `${b.length - pos} stray byte(s) after the last frame at ${pos}`);
      break;
    }
    const { type, length } = readFrameHeader(b, pos);
    if (length <= FRAME_HEADER_SIZE || pos + length > b.length) {
      stop(
        'ERR_LENGTH',
        `frame type ${type} at ${pos}: length ${length} invalid (${b.length - pos} bytes left)`,
      );
      break;
    }
    if (isCheckedFrameType(type)) {
      if (prev > type) {
        stop('ERR_ORDER', `frame type ${type} at ${pos} after type ${prev}`);
        break;
      }
      if (type > FRAME_TYPE_SIGN_MUST_MIN && prev < FRAME_TYPE_SIGN_MUST_MIN) {
        stop('ERR_ORDER', `frame type ${type} at ${pos} without a preceding SIGNATURE frame`);
        break;
      }
    }
    prev = type;
    const data = b.subarray(pos + FRAME_HEADER_SIZE, pos + length);
    const r = decodeFrameData(type, data, opts);
    if (!r.ok) {
      stop(r.code, `frame at ${pos}: ${r.reason}`);
      break;
    }
    if (type === FRAME_TYPE.SIGNATURE_ADV && !signature) {
      const headerOffset = pos + FRAME_HEADER_SIZE;
      signature = {
        frameOffset: pos,
        headerOffset,
        messagesOffset: headerOffset + SIGNATURE_HEADER_SIZE,
        messagesLength: length - FRAME_HEADER_SIZE - SIGNATURE_HEADER_SIZE,
        tailOffset: pos + length,
      };
    }
    frames.push({ ...r.value, offset: pos, length } as DecodedFrame);
    pos += length;
  }
  return ok({
    header: h.value,
    frames,
    length: b.length,
    ...(signature ? { signature } : {}),
    ...(error ? { error } : {}),
  });
}

/**
 * Decodes a UDP payload; any bad frame fails the whole packet (use `decodePacketPrefix` for the
 * reference's "earlier frames stay processed"). Never throws; allocations are bounded by a small
 * multiple of the input.
 */
export function decodePacket(b: Uint8Array, opts: PacketOptions = {}): Result<DecodedPacket> {
  const r = decodePacketPrefix(b, opts);
  if (!r.ok) return r;
  const { error, ...value } = r.value;
  if (error) return fail(error.code, error.reason);
  return ok(value);
}

/** Encodes one frame, its 2-byte header included. */
export function encodeFrame(f: Frame): Uint8Array {
  const data = encodeFrameData(f);
  const out = new Uint8Array(FRAME_HEADER_SIZE + data.length);
  writeFrameHeader(out, 0, f.type, out.length);
  out.set(data, FRAME_HEADER_SIZE);
  return out;
}

export interface EncodedPacket {
  readonly bytes: Uint8Array;
  /** Offset and length of each frame, in order. */
  readonly frames: readonly { readonly type: number; readonly offset: number; readonly length: number }[];
  readonly signature?: SignatureSpan;
}

/**
 * Encodes a packet with its layout. Frames are written in the given order (sender practice:
 * SIGNATURE, OGM_AGG_SQN, then ascending types; unsigned types < 8 in packets of their own).
 * Reserve the signature by giving the SIGNATURE frame messages of the right key type and length
 * (zeros), then sign `signedRegion(...)` and write the result with `fillSignatureMessages`.
 */
export function encodePacketLayout(header: PacketHeader, frames: readonly Frame[]): EncodedPacket {
  const parts = frames.map(encodeFrame);
  const bytes = new Uint8Array(PACKET_HEADER_SIZE + parts.reduce((a, p) => a + p.length, 0));
  ensure(
    bytes.length <= MAX_UDPD_SIZE,
    `packet of ${bytes.length} bytes exceeds ${MAX_UDPD_SIZE}`,
    'ERR_CODEC_SIZE',
  );
  encodePacketHeader(header, bytes, 0);
  const layout: { type: number; offset: number; length: number }[] = [];
  let signature: SignatureSpan | undefined;
  let pos = PACKET_HEADER_SIZE;
  parts.forEach((p, i) => {
    const type = frames[i]!.type;
    bytes.set(p, pos);
    layout.push({ type, offset: pos, length: p.length });
    if (type === FRAME_TYPE.SIGNATURE_ADV && !signature)
      signature = {
        frameOffset: pos,
        headerOffset: pos + FRAME_HEADER_SIZE,
        messagesOffset: pos + FRAME_HEADER_SIZE + SIGNATURE_HEADER_SIZE,
        messagesLength: p.length - FRAME_HEADER_SIZE - SIGNATURE_HEADER_SIZE,
        tailOffset: pos + p.length,
      };
    pos += p.length;
  });
  return signature ? { bytes, frames: layout, signature } : { bytes, frames: layout };
}

/** Encodes a packet (header + frames) to bytes. */
export function encodePacket(header: PacketHeader, frames: readonly Frame[]): Uint8Array {
  return encodePacketLayout(header, frames).bytes;
}

/** The two pieces of a packet that its signature covers after the sender's link-local address. */
export interface SignedRegion {
  /** The 9-byte SIGNATURE data header. */
  readonly header: Uint8Array;
  /** All frame bytes after the SIGNATURE frame, to the end of the packet. */
  readonly tail: Uint8Array;
}

/**
 * The signed region of a packet (views into `packet`, no copy), or undefined for an unsigned
 * packet. The digest input is `llip ‖ header ‖ tail` (4.4); see `signedBytes`.
 */
export function signedRegion(
  packet: Uint8Array,
  layout: { readonly signature?: SignatureSpan | undefined },
): SignedRegion | undefined {
  const s = layout.signature;
  if (!s) return undefined;
  return {
    header: packet.subarray(s.headerOffset, s.headerOffset + SIGNATURE_HEADER_SIZE),
    tail: packet.subarray(s.tailOffset),
  };
}

/** `llip ‖ 9-byte SIGNATURE header ‖ bytes after the SIGNATURE frame` as one array. */
export function signedBytes(
  llip: Uint8Array,
  packet: Uint8Array,
  layout: { readonly signature?: SignatureSpan | undefined },
): Uint8Array | undefined {
  ensure(llip.length === 16, 'llip must be 16 bytes');
  const r = signedRegion(packet, layout);
  return r ? concatBytes([llip, r.header, r.tail]) : undefined;
}

/**
 * Writes signature messages into the space reserved by `encodePacketLayout` (in place). The
 * messages must have exactly the reserved total length.
 */
export function fillSignatureMessages(
  packet: Uint8Array,
  span: SignatureSpan,
  messages: readonly SignatureMessage[],
): void {
  const total = messages.reduce((a, m) => a + 1 + m.signature.length, 0);
  ensure(
    total === span.messagesLength,
    `signature messages of ${total} bytes, reserved ${span.messagesLength}`,
  );
  let p = span.messagesOffset;
  for (const m of messages) {
    packet[p] = m.keyType;
    packet.set(m.signature, p + 1);
    p += 1 + m.signature.length;
  }
}

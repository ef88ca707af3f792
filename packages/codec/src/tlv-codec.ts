/**
 * The shape of a TLV codec and the building blocks the core's and the plugins' TLV codecs share:
 * lists of fixed-size entries, address lists, and checked encoder inputs (docs/protocol.md §4.8).
 */
import { take } from './bytes.js';
import { CodecError, fail, ok, type Result } from './result.js';
import type { TlvValue } from './tlv.js';

/** Size rules of a TLV type as the reference's frame iterator applies them (msg.c rx_frame_iterate). */
export interface TlvBounds {
  /** Bytes of a data header before the messages. */
  readonly header: number;
  /** Smallest message; messages of zero bytes are also accepted (frame handlers). */
  readonly minMsg: number;
  /** Messages have exactly minMsg bytes each. */
  readonly fixed: boolean;
}

export interface TlvCodec<T extends TlvValue = TlvValue> {
  readonly name: string;
  readonly bounds: TlvBounds;
  /**
   * A bmx7d extension in a free type (§4.13): the reference skips the type, so a description is
   * checked as the reference checks it (no bounds or order check, and a body that does not decode
   * is kept raw) and every node accepts the same descriptions.
   */
  readonly extension?: true;
  decode(type: number, body: Uint8Array): Result<T>;
  encode(value: T): Uint8Array;
}

export function listCodec<T extends TlvValue, E>(
  name: string,
  size: number,
  build: (type: number, entries: E[]) => T,
  get: (v: T) => readonly E[],
  dec: (b: Uint8Array, off: number) => E,
  enc: (e: E, out: Uint8Array, off: number) => void,
): TlvCodec<T> {
  return {
    name,
    bounds: { header: 0, minMsg: size, fixed: true },
    decode(type, body) {
      if (body.length % size)
        return fail('ERR_LENGTH', `${name}: ${body.length} bytes is not a multiple of ${size}`);
      const entries: E[] = [];
      for (let o = 0; o < body.length; o += size) entries.push(dec(body, o));
      return ok(build(type, entries));
    },
    encode(v) {
      const es = get(v);
      const out = new Uint8Array(es.length * size);
      es.forEach((e, i) => {
        enc(e, out, i * size);
      });
      return out;
    },
  };
}

export function fixedBytes(b: Uint8Array, len: number, what: string): Uint8Array {
  if (b.length !== len) throw new CodecError('ERR_CODEC_INPUT', `${what} must be ${len} bytes`);
  return b;
}

export function byte(v: number, what: string, max = 255): number {
  if (!(Number.isInteger(v) && v >= 0 && v <= max))
    throw new CodecError('ERR_CODEC_INPUT', `${what} ${v} out of range 0-${max}`);
  return v;
}

export const addrList = <
  T extends TlvValue & ({ addresses: readonly Uint8Array[] } | { endpoints: readonly Uint8Array[] }),
>(
  name: string,
  field: 'addresses' | 'endpoints',
) =>
  listCodec<T, Uint8Array>(
    name,
    16,
    (type, es) => ({ type, [field]: es }) as unknown as T,
    (v) => (v as unknown as Record<string, Uint8Array[]>)[field]!,
    (b, o) => take(b, o, 16),
    (e, out, o) => out.set(fixedBytes(e, 16, `${name} address`), o),
  );

/**
 * Results and errors. Decoders never throw on wire input: they return a `Result` whose failure
 * carries a stable `code` and a human `reason`. Encoders throw `CodecError` only for programmer
 * errors (a field out of range, a frame that cannot fit), never for anything received.
 */

export type DecodeErrorCode =
  /** Input ends before a field (truncated packet, frame or TLV). */
  | 'ERR_TRUNCATED'
  /** A length field that is zero, too small or larger than the data. */
  | 'ERR_LENGTH'
  /** Frames or TLVs out of the reference's order, or a mandatory one missing. */
  | 'ERR_ORDER'
  /** A field value the reference rejects (compatibility version, header word, nesting, …). */
  | 'ERR_VALUE'
  /** Bytes left over after the last frame or message. */
  | 'ERR_TRAILING'
  /** Content references that cannot be assembled (missing item, hash or length mismatch, zlib). */
  | 'ERR_CONTENT'
  /** A capture file that is not pcap/pcapng or is cut short. */
  | 'ERR_PCAP';

export interface DecodeError {
  readonly code: DecodeErrorCode;
  /** What went wrong and where, for logs and `bmx7ctl dump` (never contains key material). */
  readonly reason: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | ({ readonly ok: false } & DecodeError);

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: DecodeErrorCode, reason: string): Result<T> {
  return { ok: false, code, reason };
}

export type CodecErrorCode = 'ERR_CODEC_INPUT' | 'ERR_CODEC_SIZE';

/** Thrown by encoders for arguments that cannot be encoded (programmer errors only). */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Throws a CodecError when `cond` is false (encoder argument checks). */
export function ensure(
  cond: boolean,
  message: string,
  code: CodecErrorCode = 'ERR_CODEC_INPUT',
): asserts cond {
  if (!cond) throw new CodecError(code, message);
}

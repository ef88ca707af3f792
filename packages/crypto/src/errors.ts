/**
 * Errors of @bmx7/crypto. Each has a stable `code`; messages never contain key material (a path,
 * a key type or a length at most). Wire input never throws: verification returns false or a result.
 */

export type CryptoErrorCode =
  | 'ERR_CRYPTO_INPUT'
  | 'ERR_KEY_TYPE'
  | 'ERR_KEY_FILE'
  | 'ERR_KEY_FILE_EXISTS'
  | 'ERR_KEY_INVALID';

/** Base class of every error this package throws (programmer errors and key-file problems). */
export class CryptoError extends Error {
  override readonly name: string = 'CryptoError';
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A byte string of the wrong length or an argument out of range, given by the caller. */
export class CryptoInputError extends CryptoError {
  override readonly name = 'CryptoInputError';
  constructor(message: string) {
    super('ERR_CRYPTO_INPUT', message);
  }
}

/** A key type number that is not one of the reference's RSA (1-8) or DHM (17, 18) types. */
export class KeyTypeError extends CryptoError {
  override readonly name = 'KeyTypeError';
  constructor(message: string) {
    super('ERR_KEY_TYPE', message);
  }
}

/** A key file that cannot be read, parsed or written (the path is named, the key never). */
export class KeyFileError extends CryptoError {
  override readonly name = 'KeyFileError';
  readonly path: string;
  constructor(
    code: 'ERR_KEY_FILE' | 'ERR_KEY_FILE_EXISTS' | 'ERR_KEY_INVALID',
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${path}: ${message}`, options);
    this.path = path;
  }
}

/** Result of checking wire input: never thrown. */
export type CryptoResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * One accepted control connection, transport-independent: the daemon feeds it the bytes it reads
 * and gets back what to do. The first bytes choose the protocol: `{` starts JSON frames (version
 * 1), anything else the reference's plain-text protocol.
 */
import { createLegacyRequestDecoder, type LegacyRequestDecoder } from './legacy.js';
import {
  type ControlRequest,
  createRequestDecoder,
  detectProtocol,
  type ErrorReply,
  MAX_REQUEST_BYTES,
  type RequestDecoder,
} from './protocol.js';

export type ConnectionEvent =
  /** A checked request: dispatch it and write one reply with its id. */
  | { readonly kind: 'request'; readonly request: ControlRequest }
  /** A malformed frame: write this reply; the connection stays usable. */
  | { readonly kind: 'error'; readonly reply: ErrorReply }
  /** A plain-text request (reference client): answer with text ended by "$", then close. */
  | { readonly kind: 'legacy'; readonly words: readonly string[] }
  /** A plain-text request that could not be read: answer with the message ended by "$", then close. */
  | { readonly kind: 'legacy-error'; readonly message: string };

export interface ConnectionDecoder {
  push(chunk: Uint8Array): ConnectionEvent[];
  /** The peer closed its writing side. */
  end(): ConnectionEvent[];
  protocol(): 'json' | 'legacy' | undefined;
}

export function createConnectionDecoder(maxRequestBytes: number = MAX_REQUEST_BYTES): ConnectionDecoder {
  let json: RequestDecoder | undefined;
  let legacy: LegacyRequestDecoder | undefined;
  const fromLegacy = (evs: ReturnType<LegacyRequestDecoder['push']>): ConnectionEvent[] =>
    evs.map((e) =>
      e.kind === 'request'
        ? { kind: 'legacy', words: e.words }
        : { kind: 'legacy-error', message: e.message },
    );
  return {
    protocol: () => (json !== undefined ? 'json' : legacy !== undefined ? 'legacy' : undefined),
    push(chunk) {
      if (json === undefined && legacy === undefined) {
        const p = detectProtocol(chunk);
        if (p === undefined) return []; // only white space so far
        if (p === 'json') json = createRequestDecoder(maxRequestBytes);
        else legacy = createLegacyRequestDecoder();
      }
      if (json !== undefined)
        return json.push(chunk).map((d) => (d.kind === 'request' ? d : { kind: 'error', reply: d.reply }));
      return fromLegacy((legacy as LegacyRequestDecoder).push(chunk));
    },
    end() {
      if (json !== undefined) return json.push(new Uint8Array([0x0a]));
      if (legacy !== undefined) return fromLegacy(legacy.end());
      return [];
    },
  };
}

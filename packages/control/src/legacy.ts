/**
 * The reference's plain-text control protocol (bmx7-wire.md 5.1), for old clients and scripts:
 * the client writes its option string followed by " #" (the quit option); the daemon answers in
 * plain text, ends the answer with "$" and closes. Our daemon accepts it on the same socket (a
 * JSON client's first byte is "{"); bmx7ctl can speak it to a reference daemon.
 */
import { splitWords } from './args.js';

/** The reference's MAX_UNIX_MSG_SIZE: longest request. */
export const MAX_LEGACY_REQUEST_BYTES = 2000;
/** Ends the request stream (the reference's CHR_QUIT). */
export const LEGACY_QUIT = '#';
/** Ends the answer (the reference's CONNECTION_END_CHR). */
export const LEGACY_END = '$';

export type LegacyRequestEvent =
  | { readonly kind: 'request'; readonly words: readonly string[] }
  | { readonly kind: 'error'; readonly message: string };

export interface LegacyRequestDecoder {
  /** Feeds bytes; returns the request once its "#" arrives, or an error; then nothing more. */
  push(chunk: Uint8Array): LegacyRequestEvent[];
  /** The peer closed its side: a request without "#" still counts. */
  end(): LegacyRequestEvent[];
}

export function createLegacyRequestDecoder(
  maxBytes: number = MAX_LEGACY_REQUEST_BYTES,
): LegacyRequestDecoder {
  const latin = new TextDecoder('utf-8', { fatal: false });
  let text = '';
  let bytes = 0;
  let done = false;
  const finish = (): LegacyRequestEvent[] => {
    done = true;
    const words = splitWords(text);
    const q = words.indexOf(LEGACY_QUIT);
    return [{ kind: 'request', words: q < 0 ? words : words.slice(0, q) }];
  };
  return {
    push(chunk) {
      if (done) return [];
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done = true;
        return [{ kind: 'error', message: `request longer than ${maxBytes} bytes` }];
      }
      text += latin.decode(chunk, { stream: true });
      if (splitWords(text).includes(LEGACY_QUIT)) return finish();
      return [];
    },
    end() {
      if (done) return [];
      text += latin.decode();
      return finish();
    },
  };
}

/** The words a reference client sends for a request (`dev=eth2 show=links` → `"dev=eth2 show=links #"`). */
export function encodeLegacyRequest(words: readonly string[]): string {
  return `${words.join(' ')} ${LEGACY_QUIT}`;
}

/** An answer in the reference's framing: the text, then "$" (a "$" inside the text cannot be sent). */
export function encodeLegacyReply(text: string): string {
  return `${text.replaceAll(LEGACY_END, '?')}${LEGACY_END}`;
}

export interface LegacyReplyDecoder {
  /** Feeds bytes; returns the text so far; `done` once "$" arrived (later bytes are ignored). */
  push(chunk: Uint8Array): { text: string; done: boolean };
}

export function createLegacyReplyDecoder(maxBytes: number = 16 * 1024 * 1024): LegacyReplyDecoder {
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let done = false;
  let size = 0;
  return {
    push(chunk) {
      if (done) return { text: '', done };
      size += chunk.length;
      let text = utf8.decode(chunk, { stream: true });
      const end = text.indexOf(LEGACY_END);
      if (end >= 0) {
        text = text.slice(0, end);
        done = true;
      } else if (size > maxBytes) {
        done = true;
      }
      return { text, done };
    },
  };
}

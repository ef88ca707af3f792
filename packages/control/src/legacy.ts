/**
 * The reference's plain-text control protocol (docs/protocol.md §5.1), for old clients and
 * scripts: the client writes its option string followed by " #" (the quit option) in one write
 * and keeps its side open; the daemon reads once, answers in plain text, ends the answer with "$"
 * and closes. A request the daemon refuses gets its error lines and a close without "$" (the
 * reference's control.c checks the whole stream before applying any of it, so nothing of a refused
 * request was applied). Our daemon accepts this protocol on the same socket (a JSON client's first
 * byte is "{"); bmx7ctl speaks it to a reference daemon.
 */
import { splitWords } from './args.js';
import { decodeServerFrame } from './protocol.js';

/**
 * The reference's MAX_UNIX_MSG_SIZE. Its daemon reads a request with one read of this many bytes
 * and drops a request that fills them, so a request must stay below it.
 */
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

// ---------------------------------------------------------------------------------------------
// Client side: what bmx7ctl needs to talk to a reference daemon

export type LegacyRequestResult = { ok: true; text: string } | { ok: false; message: string };

/**
 * The request a reference client writes for `words` (what follows its `-c`), checked against the
 * reference's limits: below MAX_LEGACY_REQUEST_BYTES, no "$" (it ends answers) and no "#" word
 * before the end (the quit option would cut the request short).
 */
export function legacyRequest(words: readonly string[]): LegacyRequestResult {
  if (words.length === 0) return { ok: false, message: 'nothing to send to the daemon' };
  for (const w of words) {
    if (w.length === 0 || /\s/.test(w)) return { ok: false, message: `${JSON.stringify(w)}: not one word` };
    if (w === LEGACY_QUIT) return { ok: false, message: `"${LEGACY_QUIT}" would end the request early` };
    if (w.includes(LEGACY_END))
      return { ok: false, message: `${JSON.stringify(w)}: "${LEGACY_END}" cannot be sent` };
  }
  const text = encodeLegacyRequest(words);
  const size = new TextEncoder().encode(text).length;
  if (size >= MAX_LEGACY_REQUEST_BYTES)
    return {
      ok: false,
      message: `request of ${size} bytes; the reference daemon reads at most ${MAX_LEGACY_REQUEST_BYTES - 1}`,
    };
  return { ok: true, text };
}

export interface LegacyAnswerChunk {
  /** The lines this chunk finished, without their newline. */
  readonly lines: readonly string[];
  /** The end mark "$" arrived: the answer is complete (later bytes are ignored). */
  readonly complete: boolean;
}

export interface LegacyAnswerReader {
  /** Feeds bytes from the daemon. */
  push(chunk: Uint8Array): LegacyAnswerChunk;
  /** The daemon closed the connection: the unfinished last line, if any. */
  end(): LegacyAnswerChunk;
  /** Bytes received so far (the end mark and what follows it included). */
  received(): number;
}

/**
 * Splits a reference daemon's answer into lines as they arrive, up to its "$" (the reference's
 * client writes everything before the first "$" and stops there). A line longer than
 * `maxLineBytes` is cut into pieces of that length, so memory stays bounded during a log stream.
 */
export function createLegacyAnswerReader(maxLineBytes: number = 64 * 1024): LegacyAnswerReader {
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError('maxLineBytes');
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let partial = '';
  let complete = false;
  let received = 0;
  const split = (text: string, last: boolean): string[] => {
    const parts = (partial + text).split('\n');
    partial = last ? '' : (parts.pop() as string);
    const lines = last && parts.at(-1) === '' ? parts.slice(0, -1) : parts;
    while (partial.length > maxLineBytes) {
      lines.push(partial.slice(0, maxLineBytes));
      partial = partial.slice(maxLineBytes);
    }
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  };
  return {
    received: () => received,
    push(chunk) {
      received += chunk.length;
      if (complete) return { lines: [], complete };
      const text = utf8.decode(chunk, { stream: true });
      const at = text.indexOf(LEGACY_END);
      if (at < 0) return { lines: split(text, false), complete };
      complete = true;
      return { lines: split(text.slice(0, at), true), complete };
    },
    end() {
      if (complete) return { lines: [], complete };
      return { lines: split(utf8.decode(), true), complete };
    },
  };
}

export type LegacyOutcome =
  /** Ended with "$" and no error line: print `lines`. */
  | { readonly kind: 'ok'; readonly lines: readonly string[] }
  /**
   * Closed without "$" (the reference refused the request; its reasons are in `errors`), or ended
   * with error lines (bmx7d's plain-text answers say `ERROR: …` and still end with "$").
   */
  | { readonly kind: 'refused'; readonly lines: readonly string[]; readonly errors: readonly string[] }
  /** bmx7d at its connection limit answers any client with one JSON `busy` reply (MAX_CLIENTS). */
  | { readonly kind: 'busy'; readonly message: string };

/** Lines of an answer that report an error: the reference's "ERROR …" log lines. */
export const isLegacyErrorLine = (line: string): boolean => /^ERROR\b/.test(line);

/** What a whole answer means: the lines received and whether its "$" arrived. */
export function legacyOutcome(lines: readonly string[], complete: boolean): LegacyOutcome {
  const first = lines.find((l) => l.trim().length > 0);
  if (first?.trimStart().startsWith('{')) {
    const f = decodeServerFrame(first.trim());
    if (f.ok && f.frame.type === 'reply' && !f.frame.ok && f.frame.error.code === 'busy')
      return { kind: 'busy', message: f.frame.error.message };
  }
  const errors = lines.filter(isLegacyErrorLine);
  if (complete && errors.length === 0) return { kind: 'ok', lines };
  if (complete) return { kind: 'refused', lines: lines.filter((l) => !isLegacyErrorLine(l)), errors };
  // the reference writes its reasons ("requested <VAL> must be one of: …", "ERROR …") and closes
  return { kind: 'refused', lines: [], errors: lines.filter((l) => l.length > 0) };
}

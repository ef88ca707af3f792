/**
 * The logger port's in-memory twin: keeps the lines at or below a debug level (docs/protocol.md §5.1
 * levels) so tests can look for them, and can echo them while debugging a test.
 */
import type { Clock, Logger, LogLevel, Millis } from '@bmx7/core';

export interface LogLine {
  level: LogLevel;
  msg: string;
  fields?: Record<string, unknown>;
  /** Virtual time, when the logger was given a clock. */
  at?: Millis;
}

export interface MemoryLogger extends Logger {
  /** Kept lines, oldest first (at most `maxLines`). */
  readonly lines: readonly LogLine[];
  /** Kept lines whose message matches (substring or regular expression). */
  find(pattern: string | RegExp): LogLine[];
  /** Whether `text` occurs in any kept message or field value (e.g. to prove a secret never leaked). */
  mentions(text: string): boolean;
  clear(): void;
}

export interface MemoryLoggerInit {
  /** Keep lines with level ≤ this (default 4, "verbose"). */
  level?: LogLevel;
  /** Also print each kept line: true for console.error, or a function of the formatted line. */
  echo?: boolean | ((line: string) => void);
  /** Put in front of echoed lines, e.g. the node name. */
  prefix?: string;
  clock?: Clock;
  /** How many lines to keep (default 10 000). */
  maxLines?: number;
}

export function formatLogLine(line: LogLine, prefix = ''): string {
  const at = line.at === undefined ? '' : `${(line.at / 1000).toFixed(3)} `;
  const fields = line.fields ? ` ${safeJson(line.fields)}` : '';
  return `${at}${prefix}[${line.level}] ${line.msg}${fields}`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
    );
  } catch {
    return String(value);
  }
}

export function createMemoryLogger(init: MemoryLoggerInit = {}): MemoryLogger {
  const level = init.level ?? 4;
  const maxLines = init.maxLines ?? 10_000;
  const prefix = init.prefix ?? '';
  const echo =
    init.echo === true ? (s: string) => console.error(s) : init.echo === false ? undefined : init.echo;
  let lines: LogLine[] = [];
  return {
    log(lvl, msg, fields) {
      if (lvl > level) return;
      const line: LogLine = { level: lvl, msg };
      if (fields !== undefined) line.fields = fields;
      if (init.clock) line.at = init.clock.now();
      lines.push(line);
      if (lines.length > 2 * maxLines) lines = lines.slice(-maxLines);
      echo?.(formatLogLine(line, prefix));
    },
    get lines() {
      return lines.length > maxLines ? lines.slice(-maxLines) : lines;
    },
    find(pattern) {
      const test =
        typeof pattern === 'string' ? (m: string) => m.includes(pattern) : (m: string) => pattern.test(m);
      return lines.filter((l) => test(l.msg));
    },
    mentions(text) {
      return lines.some(
        (l) => l.msg.includes(text) || (l.fields !== undefined && safeJson(l.fields).includes(text)),
      );
    },
    clear() {
      lines = [];
    },
  };
}

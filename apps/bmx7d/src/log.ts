/**
 * The daemon's log: lines at the reference's debug levels (docs/protocol.md §5.1: 0 system, 3 changes,
 * 4 verbose, 8 details, 12 traffic dump) to stderr up to `debug=N`, and to every control client
 * that subscribed (`bmx7ctl -cd3`) up to its own level. Private keys never reach a logger: the
 * engine and the daemon pass only ids, addresses and counters.
 */
import type { Logger, LogLevel } from '@bmx7/core';

export interface DaemonLogger extends Logger {
  /** Current stderr level. */
  level: number;
  /**
   * Receives every line up to `level`, a number or a function asked at each line (the control
   * server's highest subscribed level, -1 for none); returns an unsubscribe function.
   */
  subscribe(level: number | (() => number), sink: (level: number, line: string) => void): () => void;
}

const LEVEL_NAMES: Record<number, string> = { 0: 'SYS', 1: 'ERR', 2: 'WARN', 3: 'CHANGE', 4: 'VERB' };

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'bigint') return v.toString();
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

export function formatLine(level: number, msg: string, fields?: Record<string, unknown>): string {
  let line = `${LEVEL_NAMES[level] ?? `DBG${level}`} ${msg}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${fieldText(v)}`;
  return line;
}

export function createDaemonLogger(
  level: number,
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  now: () => number = () => Date.now(),
): DaemonLogger {
  const subs = new Set<{ level: () => number; sink: (level: number, line: string) => void }>();
  const started = now();
  const logger: DaemonLogger = {
    level,
    log(l: LogLevel, msg, fields) {
      let needed = l <= logger.level;
      for (const s of subs) if (!needed && l <= s.level()) needed = true;
      if (!needed) return;
      const t = ((now() - started) / 1000).toFixed(3).padStart(9);
      const line = `${t} ${formatLine(l, msg, fields)}`;
      if (l <= logger.level) write(line);
      for (const s of subs) if (l <= s.level()) s.sink(l, line);
    },
    subscribe(lv, sink) {
      const s = { level: typeof lv === 'number' ? () => lv : lv, sink };
      subs.add(s);
      return () => subs.delete(s);
    },
  };
  return logger;
}

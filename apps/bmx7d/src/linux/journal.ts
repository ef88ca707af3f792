/**
 * The change journal (`<runtimeDir>/journal`): one JSON line per change the daemon makes to the
 * system, written before the change (so a crash between the two leaves at most an entry for
 * nothing, which undoing tolerates). A clean stop undoes everything and empties it; the next
 * start after a crash (kill -9) finds the entries of the last run and undoes them first.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

export type JournalEntry =
  /** `ip -6 rule add pref P lookup T` */
  | { kind: 'rule'; family: number; priority: number; table: number }
  /** The primary address on an interface (by name: indexes change across restarts). */
  | { kind: 'addr'; dev: string; address: string; prefixLen: number }
  /** Host routes of this protocol in this table (flushed as a whole). */
  | { kind: 'routes'; family: number; table: number; protocol: number }
  /** A sysctl and its value before the daemon changed it. */
  | { kind: 'sysctl'; path: string; old: string };

export interface Journal {
  /** Entries of the last run that were never undone (read at open). */
  readonly leftovers: JournalEntry[];
  /** Records a change (appended and flushed at once). */
  add(e: JournalEntry): void;
  /** Forgets an entry that was undone. */
  remove(match: (e: JournalEntry) => boolean): void;
  entries(): JournalEntry[];
}

export function openJournal(path: string): Journal {
  const leftovers: JournalEntry[] = [];
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as JournalEntry;
        if (e && typeof e === 'object' && typeof e.kind === 'string') leftovers.push(e);
      } catch {
        // a line cut short by the crash: nothing was changed for it yet
      }
    }
  } catch {
    // no journal: a clean previous stop, or the first start
  }
  let live: JournalEntry[] = [...leftovers];
  const rewrite = () =>
    writeFileSync(path, live.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  return {
    leftovers,
    add(e) {
      live.push(e);
      appendFileSync(path, `${JSON.stringify(e)}\n`, { mode: 0o600 });
    },
    remove(match) {
      const before = live.length;
      live = live.filter((e) => !match(e));
      if (live.length !== before) rewrite();
    },
    entries: () => [...live],
  };
}

/**
 * The change journal (`<runtimeDir>/journal`): one JSON line per change the daemon makes to the
 * system, written before the change (so a crash between the two leaves at most an entry for
 * nothing, which undoing tolerates). A change undone while running appends `{"undone": entry}`
 * instead of rewriting the file, so routes coming and going cost one short write each; the file is
 * compacted when the undone lines outnumber the live ones. A clean stop undoes everything and
 * empties it; the next start after a crash (kill -9) finds the entries of the last run and undoes
 * them first.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

export type JournalEntry =
  /** `ip rule add pref P [from S] [to D] [iif I] [oif O] lookup T` (prefixes as the kernel prints them). */
  | {
      kind: 'rule';
      family: number;
      priority: number;
      table: number;
      src?: string;
      dst?: string;
      iif?: string;
      oif?: string;
    }
  /** The primary address on an interface (by name: indexes change across restarts). */
  | { kind: 'addr'; dev: string; address: string; prefixLen: number }
  /** One route, by the kernel's identity of it (family, table, destination, metric), and its protocol. */
  | { kind: 'route'; family: number; table: number; dst: string; metric: number; protocol: number }
  /** Every route of this protocol in this table (written by earlier versions; still undone). */
  | { kind: 'routes'; family: number; table: number; protocol: number }
  /** A network device the daemon made (a kernel ip6tnl tunnel), removed by name. */
  | { kind: 'link'; name: string }
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

/** Text that is equal for equal entries, whatever the order of their keys. */
export function entryKey(e: JournalEntry): string {
  return JSON.stringify(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const isEntry = (e: unknown): e is JournalEntry =>
  !!e && typeof e === 'object' && typeof (e as { kind?: unknown }).kind === 'string';

/** Compact when this many more undone lines than live entries are in the file. */
const COMPACT_SLACK = 64;

export function openJournal(path: string): Journal {
  let live: JournalEntry[] = [];
  let undoneLines = 0;
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as unknown;
        if (isEntry(e)) live.push(e);
        else if (e && typeof e === 'object' && isEntry((e as { undone?: unknown }).undone)) {
          const k = entryKey((e as { undone: JournalEntry }).undone);
          const i = live.findIndex((x) => entryKey(x) === k);
          if (i >= 0) live.splice(i, 1);
          undoneLines++;
        }
      } catch {
        // a line cut short by the crash: nothing was changed for it yet
      }
    }
  } catch {
    // no journal: a clean previous stop, or the first start
  }
  const leftovers = [...live];
  const rewrite = () => {
    writeFileSync(path, live.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    undoneLines = 0;
  };
  if (undoneLines > 0) rewrite();
  return {
    leftovers,
    add(e) {
      live.push(e);
      appendFileSync(path, `${JSON.stringify(e)}\n`, { mode: 0o600 });
    },
    remove(match) {
      const gone = live.filter(match);
      if (gone.length === 0) return;
      live = live.filter((e) => !match(e));
      if (live.length === 0 || undoneLines + gone.length > live.length + COMPACT_SLACK) {
        rewrite();
        return;
      }
      appendFileSync(path, gone.map((e) => `${JSON.stringify({ undone: e })}\n`).join(''), { mode: 0o600 });
      undoneLines += gone.length;
    },
    entries: () => [...live],
  };
}

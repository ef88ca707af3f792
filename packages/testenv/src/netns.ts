/**
 * A small network-namespace bed for tests: namespaces and veth links with unique, prefixed names,
 * commands and long-running processes inside them, and cleanup on every exit path (the test's own
 * afterAll, process exit, SIGINT and SIGTERM), wireguard-go sockets of its devices included.
 * infra/testbed builds whole meshes on top of it.
 *
 *   bed.ns('a') ──veth── bed.ns('b')        names: b7<bed id><tag>, interfaces ≤ 15 characters
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { bedLeftovers, clearLeftovers } from './leftovers.js';

export {
  bedLeftovers,
  clearLeftovers,
  type Leftovers,
  processesIn,
  socketServed,
  UAPI_DIR,
} from './leftovers.js';

export interface ExecResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface NetnsBed {
  /** Unique id of this bed, part of every name it creates. */
  readonly id: string;
  /** Creates a namespace (loopback up) and returns its full name. */
  ns(tag: string): string;
  /** A veth pair between two namespaces, both ends up; returns the interface names. */
  veth(nsA: string, nsB: string, opts?: { nameA?: string; nameB?: string }): [string, string];
  /** Runs a command in a namespace and waits for it. */
  exec(ns: string, cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): ExecResult;
  /** Like exec, but throws with the command's output when it fails. */
  execOk(ns: string, cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number }): string;
  /** Starts a long-running process in a namespace; it is killed on cleanup. */
  spawn(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** A name for something machine-wide (e.g. a wireguard-go device), unique to this bed. */
  name(tag: string): string;
  /**
   * Kills every process and deletes every namespace of this bed, then what outlived them: processes
   * still in them, and the wireguard-go sockets of their devices that nobody serves (leftovers.ts).
   * Idempotent.
   */
  cleanup(): void;
}

const live = new Set<NetnsBed>();
let hooked = false;
let bedSeq = 0;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const all = () => {
    for (const bed of [...live]) bed.cleanup();
  };
  process.once('exit', all);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      all();
      process.kill(process.pid, sig);
    });
  }
}

function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): ExecResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 30_000,
  });
  return {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''),
  };
}

/** Creates a bed. `prefix` (≤ 3 characters) keeps names of different test files apart in listings. */
export function createNetnsBed(prefix = 't'): NetnsBed {
  hookExit();
  const id = `${prefix.slice(0, 3)}${(process.pid % 46656).toString(36)}${(bedSeq++).toString(36)}`;
  const namespaces: string[] = [];
  const procs: ChildProcess[] = [];
  const linkNames: string[] = [];
  let vethSeq = 0;

  const bed: NetnsBed = {
    id,
    name(tag) {
      const n = `b7${id}${tag}`;
      if (n.length > 15) throw new Error(`name ${n} is longer than 15 characters`);
      return n;
    },
    ns(tag) {
      const name = `b7${id}-${tag}`;
      const r = sh('ip', ['netns', 'add', name]);
      if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
      namespaces.push(name);
      bed.execOk(name, 'ip', ['link', 'set', 'lo', 'up']);
      return name;
    },
    veth(nsA, nsB, opts = {}) {
      const n = vethSeq++;
      const a = opts.nameA ?? bed.name(`v${n}a`);
      const b = opts.nameB ?? bed.name(`v${n}b`);
      const r = sh('ip', ['link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
      if (r.status !== 0) throw new Error(`veth ${a}/${b}: ${r.stderr.trim()}`);
      linkNames.push(a);
      bed.execOk(nsA, 'ip', ['link', 'set', a, 'up']);
      bed.execOk(nsB, 'ip', ['link', 'set', b, 'up']);
      return [a, b];
    },
    exec(ns, cmd, args, opts) {
      return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
    },
    execOk(ns, cmd, args, opts) {
      const r = bed.exec(ns, cmd, args, opts);
      if (r.status !== 0) {
        throw new Error(
          `[${ns}] ${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`,
        );
      }
      return r.stdout;
    },
    spawn(ns, cmd, args, opts = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', ...opts });
      procs.push(child);
      return child;
    },
    cleanup() {
      // what the namespaces hold, read while they have names
      const left = bedLeftovers(namespaces);
      for (const p of procs) {
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
      procs.length = 0;
      // Processes started with `ip netns exec` may have children of their own: kill whatever is left.
      for (const ns of namespaces) {
        const pids = sh('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      for (const ns of namespaces.reverse()) sh('ip', ['netns', 'del', ns]);
      clearLeftovers(left);
      namespaces.length = 0;
      linkNames.length = 0;
      live.delete(bed);
    },
  };
  live.add(bed);
  return bed;
}

/** Polls `cond` until it returns a truthy value or `timeoutMs` passes; returns the value or throws. */
export async function waitFor<T>(
  what: string,
  cond: () => T | Promise<T>,
  { timeoutMs = 20_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

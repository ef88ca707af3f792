/**
 * Supervises one wireguard-go device: starts `wireguard-go -f <name>` (inside a network namespace
 * through `ip netns exec` when asked), waits until its UAPI socket answers, applies the desired
 * state, and when the process exits restarts it with exponential backoff and applies the last
 * desired state again. stop() ends the process, which deletes the TUN device, and removes a
 * leftover socket. Process spawning and the clock are injected so the lifecycle is testable.
 *
 *   idle → starting → running ⇄ (exited → waiting → starting) … → stopped
 */
import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { WgctrlError } from './errors.js';

export interface ChildLike {
  readonly pid?: number | undefined;
  /** wireguard-go's output, when piped (it logs to stdout): its last lines explain an exit. */
  readonly stdout?: NodeJS.ReadableStream | null;
  readonly stderr?: NodeJS.ReadableStream | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'exit', fn: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
}

export type SpawnFn = (cmd: string, args: string[], env: Record<string, string> | undefined) => ChildLike;

export interface SupervisorClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: SupervisorClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type SupervisorEvent =
  | { type: 'started'; name: string; pid: number | undefined; restarts: number }
  | {
      type: 'exited';
      name: string;
      code: number | null;
      signal: string | null;
      restartInMs: number;
      log: string;
    }
  | { type: 'restart-failed'; name: string; error: Error };

export interface SupervisorOptions {
  name: string;
  /** Start wireguard-go inside this namespace (`ip netns exec <netns> …`). */
  netns?: string | undefined;
  /** Path or name of the wireguard-go binary. Default "wireguard-go". */
  binary?: string | undefined;
  /** Extra environment for wireguard-go (e.g. LOG_LEVEL). */
  env?: Record<string, string> | undefined;
  /** Resolves once the device answers on its UAPI socket; rejects if it does not in time. */
  waitReady: () => Promise<void>;
  /** Sets the device up after each (re)start: apply the desired WireGuard state, bring the link up. */
  setUp: () => Promise<void>;
  /** Removes a stale UAPI socket (before a restart and after stop). */
  removeSocket: () => void;
  spawn?: SpawnFn | undefined;
  clock?: SupervisorClock | undefined;
  /** First restart delay, doubling per quick failure up to maxBackoffMs. Defaults 100 ms and 10 s. */
  backoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  /** A run this long counts as healthy and resets the backoff. Default 30 s. */
  stableMs?: number | undefined;
  onEvent?: ((e: SupervisorEvent) => void) | undefined;
}

export interface Supervisor {
  readonly name: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  /** Starts the process and sets it up; rejects (leaving nothing running) if it does not come up. */
  start(): Promise<void>;
  /** Stops supervising and ends the process; idempotent. */
  stop(): Promise<void>;
}

const defaultSpawn: SpawnFn = (cmd, args, env) => {
  const child: ChildProcess = nodeSpawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  // A spawn failure (ENOENT) arrives as 'error' followed by 'exit'/'close'; keep it from throwing.
  child.on('error', () => undefined);
  return child;
};

export function createSupervisor(o: SupervisorOptions): Supervisor {
  const clock = o.clock ?? systemClock;
  const spawn = o.spawn ?? defaultSpawn;
  const backoff0 = o.backoffMs ?? 100;
  const backoffMax = o.maxBackoffMs ?? 10_000;
  const stableMs = o.stableMs ?? 30_000;
  let child: ChildLike | undefined;
  let startedAt = 0;
  let restarts = 0;
  let failures = 0;
  let stopping = false;
  let timer: unknown;
  let exitWaiters: (() => void)[] = [];
  /** The tail of the current process's log (wireguard-go logs no keys). */
  let logTail = '';

  const cmd = () => {
    const wg = o.binary ?? 'wireguard-go';
    return o.netns
      ? { cmd: 'ip', args: ['netns', 'exec', o.netns, wg, '-f', o.name] }
      : { cmd: wg, args: ['-f', o.name] };
  };

  const lastLines = () => logTail.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
  const processError = (what: string) =>
    new WgctrlError('ERR_WG_PROCESS', lastLines() ? `${what}: ${lastLines()}` : what, {
      device: o.name,
      backend: 'uapi',
    });

  const alive = (c: ChildLike | undefined) => c !== undefined && c.exitCode === null && c.signalCode === null;

  function launch(): ChildLike {
    o.removeSocket();
    const { cmd: c, args } = cmd();
    // WG_PROCESS_FOREGROUND=1 is what wireguard-go sets for its own foreground child; it also
    // silences the start-up banner.
    const ch = spawn(c, args, { WG_PROCESS_FOREGROUND: '1', ...o.env });
    child = ch;
    logTail = '';
    const keep = (d: Buffer | string) => {
      // Skip the boxed banner about the kernel module that wireguard-go prints on start.
      const text = d
        .toString()
        .split('\n')
        .filter((l) => !/^[│┌└]/.test(l))
        .join('\n');
      logTail = (logTail + text).slice(-2048);
    };
    ch.stdout?.on('data', keep);
    ch.stderr?.on('data', keep);
    startedAt = clock.now();
    ch.once('exit', (code, signal) => onExit(ch, code, signal));
    return ch;
  }

  function onExit(ch: ChildLike, code: number | null, signal: NodeJS.Signals | null) {
    if (child === ch) child = undefined;
    const waiters = exitWaiters;
    exitWaiters = [];
    for (const w of waiters) w();
    if (stopping) return;
    if (clock.now() - startedAt >= stableMs) failures = 0;
    const delay = Math.min(backoffMax, backoff0 * 2 ** failures);
    failures++;
    o.onEvent?.({ type: 'exited', name: o.name, code, signal, restartInMs: delay, log: lastLines() });
    timer = clock.setTimeout(() => {
      timer = undefined;
      void restart();
    }, delay);
  }

  async function bringUp(ch: ChildLike): Promise<void> {
    const exited = new Promise<never>((_, reject) => {
      if (!alive(ch)) reject(processError('wireguard-go exited at once'));
      exitWaiters.push(() => reject(processError('wireguard-go exited while starting')));
    });
    exited.catch(() => undefined);
    await Promise.race([o.waitReady(), exited]);
    await Promise.race([o.setUp(), exited]);
  }

  async function restart(): Promise<void> {
    if (stopping) return;
    const ch = launch();
    try {
      await bringUp(ch);
      restarts++;
      o.onEvent?.({ type: 'started', name: o.name, pid: ch.pid, restarts });
    } catch (err) {
      if (stopping) return;
      o.onEvent?.({ type: 'restart-failed', name: o.name, error: err as Error });
      // Kill it: the exit handler schedules the next try with a longer delay.
      if (alive(ch)) ch.kill('SIGKILL');
    }
  }

  async function kill(ch: ChildLike): Promise<void> {
    if (!alive(ch)) return;
    const gone = new Promise<void>((r) => exitWaiters.push(r));
    ch.kill('SIGTERM');
    const t = clock.setTimeout(() => {
      if (alive(ch)) ch.kill('SIGKILL');
    }, 3000);
    await gone;
    clock.clearTimeout(t);
  }

  return {
    name: o.name,
    get pid() {
      return alive(child) ? child?.pid : undefined;
    },
    get restarts() {
      return restarts;
    },
    async start() {
      stopping = false;
      const ch = launch();
      try {
        await bringUp(ch);
        o.onEvent?.({ type: 'started', name: o.name, pid: ch.pid, restarts });
      } catch (err) {
        stopping = true;
        await kill(ch);
        o.removeSocket();
        throw err;
      }
    },
    async stop() {
      stopping = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      if (child) await kill(child);
      o.removeSocket();
    },
  };
}

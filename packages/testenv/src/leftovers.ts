/**
 * What processes in a bed's namespaces can leave outside them: wireguard-go's UAPI sockets, which
 * live in one directory per machine (shared by every network namespace) and stay behind when
 * wireguard-go is killed, and processes that outlive the namespaces' names (a daemon's supervisor
 * restarting wireguard-go while the bed is torn down). `bedLeftovers` reads what belongs to a bed
 * while its namespaces still have names; `clearLeftovers`, once they are gone, kills what still runs
 * in them and removes the sockets of the bed's devices that no process serves. Sockets of other
 * devices, and served ones, stay.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** wireguard-go's socket directory: `<dir>/<device>.sock`, one directory per machine. */
export const UAPI_DIR = '/var/run/wireguard';

/** Where `ip netns add` keeps a named namespace. */
const NETNS_DIR = '/var/run/netns';

export interface Leftovers {
  /** The namespaces' identities (`net:[<inode>]`), which outlive their names. */
  readonly netns: ReadonlySet<string>;
  /** The interfaces in them, and the devices of the wireguard-go processes in them. */
  readonly devices: ReadonlySet<string>;
}

/** The processes whose network namespace is one of `netns`. */
export function processesIn(netns: ReadonlySet<string>): number[] {
  if (netns.size === 0) return [];
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (netns.has(readlinkSync(`/proc/${pid}/ns/net`))) out.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** The device a wireguard-go process serves (`wireguard-go [-f] <device>`), else undefined. */
function wireguardGoDevice(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return /(^|\/)wireguard-go$/.test(argv[0] ?? '') && argv.length > 1 ? argv.at(-1) : undefined;
  } catch {
    return undefined;
  }
}

/** What the bed of these namespaces owns, read while they have names. */
export function bedLeftovers(namespaces: readonly string[]): Leftovers {
  const netns = new Set<string>();
  const devices = new Set<string>();
  for (const ns of namespaces) {
    try {
      netns.add(`net:[${statSync(join(NETNS_DIR, ns)).ino}]`);
    } catch {
      continue; // not made, or gone
    }
    const links = spawnSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
    for (const line of links.split('\n')) {
      const name = /^\d+: ([^:@\s]+)/.exec(line)?.[1];
      if (name !== undefined) devices.add(name);
    }
  }
  for (const pid of processesIn(netns)) {
    const dev = wireguardGoDevice(pid);
    if (dev !== undefined) devices.add(dev);
  }
  return { netns, devices };
}

/**
 * Whether a process accepts connections on the Unix socket at `path`. Node connects only
 * asynchronously, so a child process tries: refused means nobody serves it; anything else but a
 * missing file counts as served (a socket is never removed on a doubt).
 */
export function socketServed(path: string): boolean {
  const probe =
    "const s=require('node:net').connect(process.argv[1]);" +
    "s.on('connect',()=>process.exit(0));" +
    "s.on('error',(e)=>process.exit(e.code==='ECONNREFUSED'?1:e.code==='ENOENT'?3:2));";
  const r = spawnSync(process.execPath, ['-e', probe, path], { timeout: 5_000 });
  return r.status !== 1 && r.status !== 3;
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Kills what still runs in the bed's namespaces (a few rounds: a supervisor may start another),
 * then removes the UAPI sockets of its devices that no process serves. Returns the removed paths.
 */
export function clearLeftovers(l: Leftovers, uapiDir: string = UAPI_DIR): string[] {
  for (let round = 0; round < 5; round++) {
    const pids = processesIn(l.netns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    pause(50);
  }
  const removed: string[] = [];
  if (!existsSync(uapiDir)) return removed;
  for (const dev of l.devices) {
    const path = join(uapiDir, `${dev}.sock`);
    if (!existsSync(path) || socketServed(path)) continue;
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}

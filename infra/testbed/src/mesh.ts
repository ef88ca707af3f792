/**
 * Builds a mesh of network namespaces joined by veth pairs, starts one daemon per node, runs commands
 * in nodes and tears everything down on every exit path (through @bmx7/testenv/netns).
 *
 *   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3        (line:3)
 *
 * Inside each namespace the interfaces are named eth1, eth2 … in edge order; namespaces are named
 * b7<bed id>-<node>, so parallel runs never collide. Duplicate address detection is off in the
 * namespaces, so link-local addresses are usable at once.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsBed, type ExecResult, type NetnsBed } from '@bmx7/testenv/netns';
import { type MeshPlan, planTopology, type Topology } from './topology.js';

export interface MeshLink {
  /** Interface name inside this node's namespace. */
  iface: string;
  peer: string;
  peerIface: string;
}

export interface MeshNode {
  name: string;
  /** Full namespace name. */
  ns: string;
  /** This node's interfaces, in edge order. */
  links: MeshLink[];
  /** A private working directory for this node (keys, runtime dir, logs). */
  dir: string;
}

export interface DaemonSpec {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/** How a node's daemon ended: its exit status, or the signal that ended it. */
export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Mesh {
  readonly id: string;
  readonly plan: MeshPlan;
  readonly nodes: ReadonlyMap<string, MeshNode>;
  node(name: string): MeshNode;
  exec(name: string, cmd: string, args: string[], opts?: { timeoutMs?: number }): ExecResult;
  execOk(name: string, cmd: string, args: string[], opts?: { timeoutMs?: number }): string;
  /** Starts a daemon in a node (stdout and stderr go to <dir>/daemon.log); replaces a running one. */
  start(name: string, spec: (node: MeshNode) => DaemonSpec): ChildProcess;
  /**
   * Resolves when the daemon started last in a node has ended and its log is written; undefined
   * for a node without one.
   */
  exited(name: string): Promise<DaemonExit> | undefined;
  /** Starts a daemon in every node. */
  startAll(spec: (node: MeshNode) => DaemonSpec): void;
  /** Stops a node's daemon with `signal` and waits until it has exited. */
  stop(name: string, signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Takes the veth between two nodes down or up (both ends). */
  setLink(a: string, b: string, up: boolean): void;
  /** Stops every daemon, deletes every namespace and the working directory. Idempotent. */
  cleanup(): void;
}

export interface MeshOptions {
  /** ≤ 3 characters in every name this mesh creates. */
  prefix?: string;
  /** Keep the working directory (logs) after cleanup. */
  keepDir?: boolean;
}

export function createMesh(topology: Topology, opts: MeshOptions = {}): Mesh {
  const plan = planTopology(topology);
  const bed: NetnsBed = createNetnsBed(opts.prefix ?? 'm');
  const workDir = mkdtempSync(join(tmpdir(), `bmx7-testbed-${bed.id}-`));
  const nodes = new Map<string, MeshNode>();
  const daemons = new Map<string, ChildProcess>();
  const exits = new Map<string, Promise<DaemonExit>>();
  let cleaned = false;

  const mesh: Mesh = {
    id: bed.id,
    plan,
    nodes,
    node(name) {
      const n = nodes.get(name);
      if (!n) throw new Error(`no node ${name} in this mesh (have ${[...nodes.keys()].join(', ')})`);
      return n;
    },
    exec: (name, cmd, args, o) => bed.exec(mesh.node(name).ns, cmd, args, o),
    execOk: (name, cmd, args, o) => bed.execOk(mesh.node(name).ns, cmd, args, o),
    start(name, spec) {
      const n = mesh.node(name);
      const old = daemons.get(name);
      if (old && old.exitCode === null && old.signalCode === null) old.kill('SIGKILL');
      const s = spec(n);
      const child = bed.spawn(n.ns, s.cmd, s.args, {
        env: { ...process.env, ...s.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const log = createWriteStream(join(n.dir, 'daemon.log'), { flags: 'a' });
      child.stdout?.pipe(log, { end: false });
      child.stderr?.pipe(log, { end: false });
      exits.set(
        name,
        new Promise<DaemonExit>((resolve) => {
          child.once('exit', (code, signal) => {
            // what it wrote last is still in the pipes: wait for them to close (not for ever: a
            // process it started may hold them), then for the file
            let ended = false;
            const end = () => {
              if (ended) return;
              ended = true;
              log.end(() => resolve({ code, signal }));
            };
            child.once('close', end);
            setTimeout(end, 500).unref();
          });
        }),
      );
      daemons.set(name, child);
      return child;
    },
    exited: (name) => exits.get(name),
    startAll(spec) {
      for (const name of nodes.keys()) mesh.start(name, spec);
    },
    async stop(name, signal = 'SIGTERM', timeoutMs = 10_000) {
      const child = daemons.get(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    setLink(a, b, up) {
      const l = mesh.node(a).links.find((x) => x.peer === b);
      if (!l) throw new Error(`no link between ${a} and ${b}`);
      const state = up ? 'up' : 'down';
      mesh.execOk(a, 'ip', ['link', 'set', l.iface, state]);
      mesh.execOk(b, 'ip', ['link', 'set', l.peerIface, state]);
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      bed.cleanup();
      if (!opts.keepDir) rmSync(workDir, { recursive: true, force: true });
    },
  };

  try {
    for (const name of plan.nodes) {
      const ns = bed.ns(name);
      // No DAD: link-local addresses are usable the moment a veth end appears (set before any link).
      for (const key of ['all', 'default']) {
        bed.execOk(ns, 'sysctl', ['-qw', `net.ipv6.conf.${key}.accept_dad=0`]);
      }
      const dir = join(workDir, name);
      mkdirSync(dir, { recursive: true });
      nodes.set(name, { name, ns, links: [], dir });
    }
    for (const [a, b] of plan.edges) {
      const na = mesh.node(a);
      const nb = mesh.node(b);
      const ia = `eth${na.links.length + 1}`;
      const ib = `eth${nb.links.length + 1}`;
      bed.veth(na.ns, nb.ns, { nameA: ia, nameB: ib });
      na.links.push({ iface: ia, peer: b, peerIface: ib });
      nb.links.push({ iface: ib, peer: a, peerIface: ia });
    }
  } catch (err) {
    mesh.cleanup();
    throw err;
  }
  return mesh;
}

/** The link-local address of an interface in a node, or undefined while it has none. */
export function linkLocalOf(mesh: Mesh, name: string, iface: string): string | undefined {
  const out = mesh.exec(name, 'ip', ['-6', '-o', 'addr', 'show', 'dev', iface, 'scope', 'link']).stdout;
  return /inet6 (fe80:[0-9a-f:]+)\//.exec(out)?.[1];
}

/** Namespaces on this machine whose names this bed would have made (for leak checks). */
export function listBedNamespaces(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('b7'));
}

#!/usr/bin/env node
/**
 * bmx7-testbed: namespace meshes from the command line.
 *
 *   bmx7-testbed up <topology> [--name NAME] [--daemon 'CMD ARGS…'] [--keep-logs]
 *       builds the mesh, starts the daemon command in every node (placeholders: {node} {dir} {devs}
 *       where {devs} expands to one dev=<iface> argument per interface), prints the nodes and stays in
 *       the foreground; Ctrl-C or SIGTERM tears everything down. A daemon that dies is reported with
 *       the end of its log; when every daemon has died, the mesh is torn down and up exits with 1.
 *   bmx7-testbed exec <name> <node> -- <command…>      runs a command inside a node of a running mesh
 *   bmx7-testbed down <name>                           stops a running mesh (or cleans up after a crash),
 *                                                      with the wireguard-go sockets of its devices
 *   bmx7-testbed list                                  running meshes
 *
 * Topologies: line:N, ring:N, grid:WxH, edges:1-2,2-3,… (see topology.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bedLeftovers, clearLeftovers } from '@bmx7/testenv/netns';
import { createMesh, type DaemonExit, type DaemonSpec, type MeshNode } from './mesh.js';
import { parseTopology, TopologyError } from './topology.js';

const STATE_DIR = process.env.BMX7_TESTBED_STATE ?? '/run/bmx7-testbed';

interface State {
  name: string;
  pid: number;
  nodes: { name: string; ns: string; dir: string }[];
}

function usage(msg: string): never {
  process.stderr.write(`bmx7-testbed: ${msg}\nusage: bmx7-testbed up|exec|down|list … (see --help)\n`);
  process.exit(2);
}

/** Removes a mesh's state file, and the state directory once no mesh is left in it. */
function dropState(name: string): void {
  rmSync(join(STATE_DIR, `${name}.json`), { force: true });
  try {
    rmdirSync(STATE_DIR);
  } catch {
    // other meshes still running
  }
}

function readState(name: string): State | undefined {
  try {
    return JSON.parse(readFileSync(join(STATE_DIR, `${name}.json`), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** Expands the --daemon template for one node. */
export function daemonFromTemplate(template: string, node: MeshNode): DaemonSpec {
  const words = template.split(/\s+/).filter(Boolean);
  const args: string[] = [];
  for (const w of words) {
    if (w === '{devs}') args.push(...node.links.map((l) => `dev=${l.iface}`));
    else args.push(w.replaceAll('{node}', node.name).replaceAll('{dir}', node.dir));
  }
  const [cmd, ...rest] = args;
  if (!cmd) throw new Error('the daemon command is empty');
  return { cmd, args: rest };
}

async function up(argv: string[]): Promise<void> {
  let name: string | undefined;
  let daemon: string | undefined;
  let keep = false;
  let topo: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--name') name = argv[++i];
    else if (a === '--daemon') daemon = argv[++i];
    else if (a === '--keep-logs') keep = true;
    else if (!topo) topo = a;
    else usage(`unexpected argument "${a}"`);
  }
  if (!topo) usage('up needs a topology, e.g. line:3');
  let topology: ReturnType<typeof parseTopology>;
  try {
    topology = parseTopology(topo);
  } catch (err) {
    if (err instanceof TopologyError) usage(err.message);
    throw err;
  }
  const mesh = createMesh(topology, { prefix: 'cli', keepDir: keep });
  name ??= mesh.id;
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const stateFile = join(STATE_DIR, `${name}.json`);
  const state: State = {
    name,
    pid: process.pid,
    nodes: [...mesh.nodes.values()].map((n) => ({ name: n.name, ns: n.ns, dir: n.dir })),
  };
  writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  const teardown = () => {
    mesh.cleanup();
    dropState(name);
  };
  process.once('exit', teardown);
  // the mesh stays up until a signal: nothing else may keep the process alive (no daemon, or none left)
  const alive = setInterval(() => {}, 1 << 30);
  const signalled = new Promise<'signal'>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolve('signal'));
  });
  const died: string[] = [];
  let allDied: Promise<'died'> | undefined;
  if (daemon) {
    const ends = [...mesh.nodes.values()].map(async (n) => {
      mesh.start(n.name, (node) => daemonFromTemplate(daemon, node));
      const how = await (mesh.exited(n.name) as Promise<DaemonExit>);
      died.push(n.name);
      process.stderr.write(`bmx7-testbed: ${deathNotice(n, how)}\n`);
    });
    allDied = Promise.all(ends).then(() => 'died' as const);
  }
  for (const n of mesh.nodes.values()) {
    const links = n.links.map((l) => `${l.iface}→${l.peer}`).join(' ');
    process.stdout.write(`${n.name} ns=${n.ns} ${links}\n`);
  }
  process.stdout.write(`mesh ${name} is up; Ctrl-C or "bmx7-testbed down ${name}" tears it down\n`);
  const why = await Promise.race([signalled, ...(allDied ? [allDied] : [])]);
  clearInterval(alive);
  if (why === 'died') {
    process.stderr.write(`bmx7-testbed: every daemon died (${died.join(', ')}); mesh ${name} torn down\n`);
    teardown();
    process.exit(1);
  }
  teardown();
  process.exit(0);
}

/** Lines of a daemon's log shown when it dies. */
const LOG_TAIL_LINES = 15;

/** `n2's daemon exited with status 1; the end of its log (…/daemon.log):` and the log's last lines. */
function deathNotice(node: MeshNode, how: DaemonExit): string {
  const end = how.signal !== null ? `was killed by ${how.signal}` : `exited with status ${how.code}`;
  const file = join(node.dir, 'daemon.log');
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES);
  } catch {
    // no log
  }
  const tail = lines.filter((l) => l !== '');
  return tail.length === 0
    ? `${node.name}'s daemon ${end}; its log (${file}) is empty`
    : `${node.name}'s daemon ${end}; the end of its log (${file}):\n${tail.map((l) => `  ${l}`).join('\n')}`;
}

function exec(argv: string[]): void {
  const [name, node, sep, ...cmd] = argv;
  if (!name || !node || sep !== '--' || cmd.length === 0) usage('exec <name> <node> -- <command…>');
  const st = readState(name);
  if (!st) usage(`no running mesh "${name}"`);
  const n = st.nodes.find((x) => x.name === node);
  if (!n) usage(`mesh ${name} has no node ${node}`);
  const r = spawnSync('ip', ['netns', 'exec', n.ns, ...cmd], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

function down(argv: string[]): void {
  const [name] = argv;
  if (!name) usage('down <name>');
  const st = readState(name);
  if (!st) usage(`no running mesh "${name}"`);
  try {
    process.kill(st.pid, 'SIGTERM');
    return; // the owner tears down
  } catch {
    // the owner is gone (crashed): clean up what it left
  }
  // what the namespaces hold (their devices), read while they have names; then their processes
  // go, the namespaces, what outlived them, and the wireguard-go sockets of their devices nobody serves
  const left = bedLeftovers(st.nodes.map((n) => n.ns));
  for (const n of st.nodes) {
    for (const pid of spawnSync('ip', ['netns', 'pids', n.ns], { encoding: 'utf8' }).stdout.split(/\s+/)) {
      if (pid) spawnSync('kill', ['-9', pid]);
    }
    spawnSync('ip', ['netns', 'del', n.ns]);
  }
  for (const path of clearLeftovers(left)) process.stdout.write(`removed ${path}\n`);
  dropState(name);
}

function list(): void {
  let files: string[] = [];
  try {
    files = readdirSync(STATE_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    // none
  }
  for (const f of files) {
    const st = readState(f.slice(0, -5));
    if (st) process.stdout.write(`${st.name} pid=${st.pid} nodes=${st.nodes.map((n) => n.name).join(',')}\n`);
  }
}

const [verb, ...rest] = process.argv.slice(2);
if (verb === 'up') await up(rest);
else if (verb === 'exec') exec(rest);
else if (verb === 'down') down(rest);
else if (verb === 'list') list();
else if (verb === '--help' || verb === '-h') {
  process.stdout.write(
    `${
      readFileSync(new URL(import.meta.url))
        .toString()
        .split('*/')[0]
    }*/\n`,
  );
} else usage(verb ? `unknown command "${verb}"` : 'a command is needed');

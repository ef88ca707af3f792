/**
 * Test helpers for the netns tests: how to start bmx7d (from sources, through tsx) in a mesh node
 * with per-node paths, how to read a node's table-70 routes and the device of its route to an
 * address, and how to run bmx7ctl against a node's daemon.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DaemonSpec, Mesh, MeshNode } from '@bmx7/testbed';
import type { NetnsBed } from '@bmx7/testenv/netns';

export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** argv of bmx7d for a node: per-node runtime dir, key and descSqn files, every interface. */
export function bmx7dArgs(n: MeshNode, extra: string[] = []): string[] {
  return [
    `runtimeDir=${n.dir}/run`,
    'debug=3',
    'nodeRsaKey=6',
    `/keyPath=${n.dir}/rsa.der`,
    `hostname=${n.name}`,
    ...n.links.map((l) => `dev=${l.iface}`),
    `descSqnPath=${n.dir}/descSqn`,
    ...extra,
  ];
}

export function bmx7dSpec(extra: (n: MeshNode) => string[] = () => []): (n: MeshNode) => DaemonSpec {
  return (n) => ({
    cmd: process.execPath,
    args: daemonArgv(bmx7dArgs(n, extra(n))),
  });
}

/** Destinations of the routes in a node's table (default 70). */
export function tableRoutes(mesh: Mesh, node: string, table = 70): string[] {
  const out = mesh.exec(node, 'ip', ['-6', 'route', 'show', 'table', String(table)]).stdout;
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(' ')[0] as string);
}

/** The device of a node's route to `to` (`ip route get`), or undefined without one. */
export function routeDev(mesh: Mesh, node: string, to: string): string | undefined {
  return / dev (\S+)/.exec(mesh.exec(node, 'ip', ['route', 'get', to]).stdout)?.[1];
}

/** The primary address a node's daemon reports in its log. */
export function primaryOf(mesh: Mesh, node: string): string | undefined {
  const out = mesh.exec(node, 'ip', ['-6', '-o', 'addr', 'show', 'scope', 'global']).stdout;
  return /inet6 (fd70:[0-9a-f:]+)\/16/.exec(out)?.[1];
}

/** bmx7ctl's entry point (run as a process: apps never import each other). */
export const CTL_MAIN = fileURLToPath(new URL('../../../bmx7ctl/src/main.ts', import.meta.url));

/** argv that runs bmx7d from sources. */
export function daemonArgv(args: string[]): string[] {
  return ['--import', 'tsx', '--conditions=@bmx7/source', MAIN, ...args];
}

/** argv that runs bmx7ctl from sources. */
export function ctlArgv(args: string[]): string[] {
  return ['--import', 'tsx', '--conditions=@bmx7/source', CTL_MAIN, ...args];
}

/** bmx7ctl against a node's daemon: `ctl(node, ...args)`, its result (stdout and stderr as text). */
export type Ctl = (node: string, ...args: string[]) => SpawnSyncReturns<string>;

/**
 * Runs bmx7ctl against the daemons of a mesh (given late: a test makes it in beforeAll), with each
 * node's runtime directory; from sources, or through `argv` (e.g. a built bmx7ctl).
 */
export function ctlFor(
  mesh: () => Mesh,
  { timeoutMs = 20_000, argv = ctlArgv }: { timeoutMs?: number; argv?: (args: string[]) => string[] } = {},
): Ctl {
  return (node, ...args) =>
    spawnSync(process.execPath, argv(['--runtime-dir', join(mesh().node(node).dir, 'run'), ...args]), {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
}

/** The rows of `bmx7ctl show <table> --json` on a node; none when bmx7ctl fails. */
export function showRows(ctl: Ctl, node: string, table: string): Array<Record<string, unknown>> {
  const r = ctl(node, 'show', table, '--json');
  return r.status === 0 ? (JSON.parse(r.stdout).rows as Array<Record<string, unknown>>) : [];
}

/** The uplink hosts behind a test gateway (documentation addresses; traffic stays in the namespaces). */
export const UPLINK = { v4: '192.0.2.2', v6: '2001:db8:1::2' } as const;

/**
 * An uplink namespace behind a gateway node: a veth `up0` in the gateway (192.0.2.1/24,
 * 2001:db8:1::1/64) to `eth0` in the uplink (the UPLINK hosts), whose default routes point back at
 * the gateway. Made in `bed` (removed with it).
 */
export function addUplink(mesh: Mesh, bed: NetnsBed, gateway: string): string {
  const up = bed.ns(`u${gateway}`);
  const [gw, host] = bed.veth(mesh.node(gateway).ns, up, { nameA: 'up0', nameB: 'eth0' });
  mesh.execOk(gateway, 'ip', ['addr', 'add', '192.0.2.1/24', 'dev', gw]);
  mesh.execOk(gateway, 'ip', ['-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', gw, 'nodad']);
  bed.execOk(up, 'ip', ['addr', 'add', `${UPLINK.v4}/24`, 'dev', host]);
  bed.execOk(up, 'ip', ['-6', 'addr', 'add', `${UPLINK.v6}/64`, 'dev', host, 'nodad']);
  bed.execOk(up, 'ip', ['route', 'add', 'default', 'via', '192.0.2.1']);
  bed.execOk(up, 'ip', ['-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
  return up;
}

/** The end of a node's daemon log (for failure messages). */
export function daemonLog(mesh: Mesh, node: string, chars = 2000): string {
  try {
    return readFileSync(join(mesh.node(node).dir, 'daemon.log'), 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/**
 * Test helpers for the netns tests: how to start bmx7d (from sources, through tsx) in a mesh node
 * with per-node paths, and how to read a node's table-70 routes.
 */
import { fileURLToPath } from 'node:url';
import type { DaemonSpec, Mesh, MeshNode } from '@bmx7/testbed';

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
    args: ['--import', 'tsx', '--conditions=@bmx7/source', MAIN, ...bmx7dArgs(n, extra(n))],
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

/** The primary address a node's daemon reports in its log. */
export function primaryOf(mesh: Mesh, node: string): string | undefined {
  const out = mesh.exec(node, 'ip', ['-6', '-o', 'addr', 'show', 'scope', 'global']).stdout;
  return /inet6 (fd70:[0-9a-f:]+)\/16/.exec(out)?.[1];
}

/** bmx7ctl's entry point (run as a process: apps never import each other). */
export const CTL_MAIN = fileURLToPath(new URL('../../../bmx7ctl/src/main.ts', import.meta.url));

/** argv that runs bmx7ctl from sources. */
export function ctlArgv(args: string[]): string[] {
  return ['--import', 'tsx', '--conditions=@bmx7/source', CTL_MAIN, ...args];
}

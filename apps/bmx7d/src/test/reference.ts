/**
 * The reference C bmx7 in the opt-in interop tests: BMX7_REF_BIN names a binary built outside this
 * repository (its plugins where BMX7_LIB_PATH says). Started in a mesh node's own directory, where
 * it writes its core files.
 */
import { join } from 'node:path';
import type { DaemonSpec, Mesh, MeshNode } from '@bmx7/testbed';
import { bmx7dArgs, MAIN } from './helpers.js';

/** The reference binary, or undefined: the interop suites then skip with the reason. */
export const REF = process.env.BMX7_REF_BIN;

/** The reference daemon in a node: `ref-<node>`, per-node paths, every interface, then `extra`. */
export function refSpec(
  n: MeshNode,
  extra: readonly string[] = [],
  plugins: readonly string[] = [],
): DaemonSpec {
  const args = [
    // plugins come first (order class 2, docs/protocol.md §5.2)
    ...plugins.map((p) => `plugin=${p}`),
    `runtimeDir=${n.dir}/run`,
    'debug=0',
    'nodeRsaKey=6',
    `/keyPath=${n.dir}/rsa.der`,
    `hostname=ref-${n.name}`,
    ...n.links.map((l) => `dev=${l.iface}`),
    `descSqnPath=${n.dir}/descSqn`,
    ...extra,
  ];
  return {
    cmd: 'sh',
    args: ['-c', `mkdir -p "${n.dir}/run" && cd "${n.dir}" && exec "$0" "$@"`, REF as string, ...args],
  };
}

/** bmx7d from sources beside reference nodes: hostname `bmx-<node>`. */
export function bmxSpec(n: MeshNode, extra: string[] = []): DaemonSpec {
  return {
    cmd: process.execPath,
    args: [
      '--import',
      'tsx',
      '--conditions=@bmx7/source',
      MAIN,
      ...bmx7dArgs(n, extra).map((a) => (a.startsWith('hostname=') ? `hostname=bmx-${n.name}` : a)),
    ],
  };
}

/** The reference's client (`bmx7 -c show=<table>`) against a node's reference daemon. */
export function refShow(mesh: Mesh, node: string, table: string): string {
  const dir = mesh.node(node).dir;
  return mesh.exec(node, 'sh', [
    '-c',
    `cd "${dir}" && exec "$0" "$@"`,
    REF as string,
    `runtimeDir=${join(dir, 'run')}`,
    '-c',
    `show=${table}`,
  ]).stdout;
}

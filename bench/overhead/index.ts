/**
 * Protocol overhead in steady state, bmx7d against the reference: a line of three bmx7d nodes in
 * network namespaces, a tshark capture on the n1–n2 link after a warm-up, and per sending node the
 * packets/s, UDP payload B/s, UDP B/s and Ethernet-frame B/s. Printed next to the reference's
 * figures measured the same way (docs/protocol.md §2.3: n1 1.23 pkt/s, 131/141/207 B/s;
 * n2 1.20 pkt/s, 145/155/220 B/s). With BMX7_REF_BIN set, the reference daemon is measured in the
 * same run too.
 *
 *   n1 [eth1] ──veth── [eth1] n2 [eth2] ──veth── [eth1] n3        capture on n1's eth1
 *
 *   pnpm bench overhead                         warm-up 60 s, capture 30 s
 *   pnpm bench overhead -- --warmup=30 --seconds=20
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type DaemonSpec, type MeshNode } from '@bmx7/testbed';

const num = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const WARMUP_S = num('warmup', 60);
const SECONDS = num('seconds', 30);
const BMX7D = fileURLToPath(new URL('../../apps/bmx7d/src/main.ts', import.meta.url));
const REF = process.env.BMX7_REF_BIN;

interface Figures {
  neighbours: number;
  packetsPerSec: number;
  payloadBytesPerSec: number;
  udpBytesPerSec: number;
  frameBytesPerSec: number;
}

/** docs/protocol.md §2.3, 30 s capture on the n1–n2 link, ~80 s after start. */
const REFERENCE_DOC: Record<'n1' | 'n2', Figures> = {
  n1: {
    neighbours: 1,
    packetsPerSec: 1.23,
    payloadBytesPerSec: 131,
    udpBytesPerSec: 141,
    frameBytesPerSec: 207,
  },
  n2: {
    neighbours: 2,
    packetsPerSec: 1.2,
    payloadBytesPerSec: 145,
    udpBytesPerSec: 155,
    frameBytesPerSec: 220,
  },
};

function args(n: MeshNode, prefix: string): string[] {
  return [
    `runtimeDir=${n.dir}/run`,
    'nodeRsaKey=6',
    `/keyPath=${n.dir}/rsa.der`,
    `hostname=${prefix}-${n.name}`,
    ...n.links.map((l) => `dev=${l.iface}`),
    `descSqnPath=${n.dir}/descSqn`,
  ];
}

const daemons: Record<string, (n: MeshNode) => DaemonSpec> = {
  bmx7d: (n) => ({
    cmd: process.execPath,
    args: ['--import', 'tsx', '--conditions=@bmx7/source', BMX7D, ...args(n, 'bmx')],
  }),
  reference: (n) => {
    const a = args(n, 'ref');
    // the reference needs debug=0 to stay in the foreground, after runtimeDir (order classes)
    a.splice(1, 0, 'debug=0');
    return {
      cmd: 'sh',
      args: ['-c', `mkdir -p "${n.dir}/run" && cd "${n.dir}" && exec "$0" "$@"`, REF as string, ...a],
    };
  },
};

async function measure(impl: string): Promise<Record<string, Figures>> {
  const mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'ov' });
  try {
    mesh.startAll(daemons[impl] as (n: MeshNode) => DaemonSpec);
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const pcap = join(mesh.node('n1').dir, 'link.pcap');
    const cap = spawn(
      'ip',
      [
        'netns',
        'exec',
        mesh.node('n1').ns,
        'tshark',
        '-q',
        '-i',
        'eth1',
        '-f',
        'udp port 6270',
        '-a',
        `duration:${SECONDS}`,
        '-w',
        pcap,
      ],
      { stdio: 'ignore' },
    );
    await new Promise<void>((r) => cap.once('exit', () => r()));
    const fields = spawnSync(
      'tshark',
      ['-r', pcap, '-T', 'fields', '-e', 'ipv6.src', '-e', 'udp.length', '-e', 'frame.len'],
      {
        encoding: 'utf8',
      },
    ).stdout;
    const ll = (node: string) =>
      /inet6 (fe80:[0-9a-f:]+)\//.exec(
        mesh.execOk(node, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth1', 'scope', 'link']),
      )?.[1];
    const bySrc = new Map<string, { packets: number; udp: number; frame: number }>();
    for (const line of fields.split('\n')) {
      const [src, udp, frame] = line.split('\t');
      if (!src || !udp || !frame) continue;
      const s = bySrc.get(src) ?? { packets: 0, udp: 0, frame: 0 };
      s.packets++;
      s.udp += Number(udp);
      s.frame += Number(frame);
      bySrc.set(src, s);
    }
    const out: Record<string, Figures> = {};
    for (const [node, neighbours] of [
      ['n1', 1],
      ['n2', 2],
    ] as const) {
      const s = bySrc.get(ll(node) ?? '') ?? { packets: 0, udp: 0, frame: 0 };
      const r = (x: number) => Math.round((x / SECONDS) * 100) / 100;
      out[node] = {
        neighbours,
        packetsPerSec: r(s.packets),
        payloadBytesPerSec: r(s.udp - 8 * s.packets),
        udpBytesPerSec: r(s.udp),
        frameBytesPerSec: r(s.frame),
      };
    }
    return out;
  } finally {
    mesh.cleanup();
  }
}

const ratio = (a: Figures, b: Figures) => ({
  packetsPerSec: Math.round((a.packetsPerSec / b.packetsPerSec) * 100) / 100,
  frameBytesPerSec: Math.round((a.frameBytesPerSec / b.frameBytesPerSec) * 100) / 100,
});

const ours = await measure('bmx7d');
const live = REF ? await measure('reference') : undefined;
for (const node of ['n1', 'n2'] as const) {
  const o = ours[node] as Figures;
  const result: Record<string, unknown> = {
    bench: 'overhead',
    node,
    warmupSeconds: WARMUP_S,
    captureSeconds: SECONDS,
    bmx7d: o,
    referenceDoc: REFERENCE_DOC[node],
    ratioToReferenceDoc: ratio(o, REFERENCE_DOC[node]),
  };
  if (live) {
    result.referenceLive = live[node];
    result.ratioToReferenceLive = ratio(o, live[node] as Figures);
  }
  console.log(JSON.stringify(result));
}

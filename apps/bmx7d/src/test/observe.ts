/**
 * A snapshot for the observe tests: three other nodes (one of them with a hostile host name, as a
 * node of the mesh may announce any bytes), two links, a plain and an encrypted tunnel, WireGuard
 * peers with a static and a post-quantum PSK, traffic and drops; and promtool's checks of metrics.
 * (Looking for key material in outputs: secrets.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Snapshot } from '../observe/snapshot.js';

/** A host name that is markup, quotes, backslashes and a newline at once. */
export const HOSTILE_NAME =
  '<img src=x onerror="window.__pwned=1">\\"\n</script><script>window.__pwned=2</script>';

export function testSnapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    node: {
      name: 'n1',
      shortId: 'AAAA0001',
      nodeId: `AAAA0001${'0'.repeat(48)}`,
      primaryIp: 'fd70::1',
      version: '0.1.0',
      revision: 'abcdef0',
      uptimeSeconds: 42,
      descSqn: 11,
    },
    originators: [
      {
        name: 'n2',
        shortId: 'BBBB0002',
        nodeId: `BBBB0002${'0'.repeat(48)}`,
        primaryIp: 'fd70::2',
        via: { dev: 'eth1', shortId: 'BBBB0002', name: 'n2' },
        metric: 1_000_000_000,
        hops: 1,
        descSqn: 11,
        lastRefSeconds: 0,
      },
      {
        name: HOSTILE_NAME,
        shortId: 'CCCC0003',
        nodeId: `CCCC0003${'0'.repeat(48)}`,
        primaryIp: 'fd70::3',
        via: { dev: 'eth1', shortId: 'BBBB0002', name: 'n2' },
        metric: 500_000_000,
        hops: 2,
        descSqn: 12,
        lastRefSeconds: 1,
      },
      {
        name: 'n4',
        shortId: 'DDDD0004',
        nodeId: `DDDD0004${'0'.repeat(48)}`,
        primaryIp: 'fd70::4',
        via: null,
        metric: 0,
        hops: 0,
        descSqn: 10,
        lastRefSeconds: null,
      },
    ],
    links: [
      { name: 'n2', shortId: 'BBBB0002', dev: 'eth1', address: 'fe80::2', rq: 1, tq: 0.98 },
      { name: HOSTILE_NAME, shortId: 'CCCC0003', dev: 'eth2', address: 'fe80::3', rq: 0.5, tq: 0.25 },
    ],
    tunnels: [
      {
        search: 'up4',
        network: '192.0.2.0/24',
        route: '192.0.2.0/24',
        gateway: 'n2',
        gatewayId: 'BBBB0002',
        dev: 'X1out_BBBB0002',
        crypt: 'plain',
        psk: 'none',
        wg: null,
      },
      {
        search: 'up6',
        network: '2001:db8:1::/64',
        route: '2001:db8:1::/64',
        gateway: HOSTILE_NAME,
        gatewayId: 'CCCC0003',
        dev: 'X1wg_CCCC0003',
        crypt: 'encrypted',
        psk: 'pq',
        wg: { handshakeAgeSeconds: 7, rxBytes: 1234, txBytes: 5678, pqEpoch: 3, pskAgeSeconds: 20 },
      },
    ],
    wgPeers: [
      {
        dev: 'X1wg_CCCC0003',
        name: HOSTILE_NAME,
        shortId: 'CCCC0003',
        psk: 'pq',
        handshakeAgeSeconds: 7,
        rxBytes: 1234,
        txBytes: 5678,
        pqEpoch: 3,
        pskAgeSeconds: 20,
      },
      {
        dev: 'X1wgIn',
        name: 'n4',
        shortId: 'DDDD0004',
        psk: 'static',
        handshakeAgeSeconds: null,
        rxBytes: 0,
        txBytes: 0,
        pqEpoch: null,
        pskAgeSeconds: null,
      },
    ],
    routes: 3,
    descriptions: 4,
    keys: { neighbor: 1, promoted: 2 },
    devices: [{ dev: 'X1out_BBBB0002', rxBytes: 10, txBytes: 20, rxPackets: 1, txPackets: 2 }],
    traffic: {
      rxPackets: 100,
      rxBytes: 20_000,
      txPackets: 90,
      txBytes: 18_000,
      frames: [
        { type: 'HELLO_ADV', rxFrames: 50, rxBytes: 200, txFrames: 45, txBytes: 180 },
        { type: 'FRAME_3', rxFrames: 1, rxBytes: 10, txFrames: 0, txBytes: 0 },
      ],
      drops: {
        unknown_interface: 0,
        bad_source: 1,
        own_address: 0,
        malformed: 2,
        own_node_id: 0,
        auth_failed: 0,
        bad_frame: 0,
        internal_error: 0,
      },
      descriptionsRejected: 0,
      txTasksRefused: 0,
      pluginErrors: 0,
    },
    ...over,
  };
}

/** `promtool check metrics` on a text (the Prometheus text format): its exit status and output. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

/**
 * Prometheus' OpenMetrics parser on a text (promtool's backfill reads OpenMetrics 1.0 and needs a
 * timestamp on every sample: one is added to each sample line): its exit status and output.
 */
export function openMetricsParse(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7-om-'));
  try {
    const stamped = text.replace(/^([^#\n].*)$/gm, '$1 1700000000');
    writeFileSync(join(dir, 'in.txt'), stamped);
    const r = spawnSync(
      'promtool',
      ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.txt'), join(dir, 'out')],
      { encoding: 'utf8', timeout: 30_000 },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

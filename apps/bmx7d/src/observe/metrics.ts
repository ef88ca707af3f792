/**
 * A snapshot as metrics, in the Prometheus text format 0.0.4 or in OpenMetrics 1.0.0 (the scraper's
 * Accept header chooses). Names and units follow Prometheus' conventions: a `bmx7_` prefix, base
 * units (seconds, bytes, ratios 0–1) in the name, `_total` on counters, `_info` on info metrics.
 * Label values are escaped (backslash, double quote, newline; other control characters become
 * U+FFFD): host names come from other nodes.
 */
import { DROP_REASONS } from '@bmx7/core';
import type { Snapshot } from './snapshot.js';

export type MetricsFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<MetricsFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics when the scraper accepts it (as Prometheus asks), else the text format 0.0.4. */
export function formatFor(accept: string | undefined): MetricsFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

type Kind = 'gauge' | 'counter' | 'info';
type Labels = Readonly<Record<string, string>>;

/** A metric family: its name without `_total` (counters) or `_info` (info), its samples. */
interface Family {
  readonly name: string;
  readonly kind: Kind;
  readonly help: string;
  readonly samples: readonly { readonly labels?: Labels; readonly value: number }[];
}

/** The metric names served (counters with `_total`, info metrics with `_info`), for docs and tests. */
export function metricNames(s: Snapshot): string[] {
  return families(s).map((f) => sampleName(f));
}

const sampleName = (f: Family) =>
  f.kind === 'counter' ? `${f.name}_total` : f.kind === 'info' ? `${f.name}_info` : f.name;

function families(s: Snapshot): Family[] {
  const link = (l: Snapshot['links'][number]) => ({
    dev: l.dev,
    neighbour: l.name,
    neighbour_id: l.shortId,
    address: l.address,
  });
  const orig = (o: Snapshot['originators'][number]) => ({ originator: o.name, originator_id: o.shortId });
  const peer = (p: Snapshot['wgPeers'][number]) => ({ dev: p.dev, peer: p.name, peer_id: p.shortId });
  const byType = (pick: (f: Snapshot['traffic']['frames'][number]) => number) =>
    s.traffic.frames.map((f) => ({ labels: { type: f.type }, value: pick(f) }));
  return [
    {
      name: 'bmx7_node',
      kind: 'info',
      help: 'This node: host name, short and full node id, primary address, bmx7d version and revision.',
      samples: [
        {
          labels: {
            name: s.node.name,
            short_id: s.node.shortId,
            node_id: s.node.nodeId,
            primary_ip: s.node.primaryIp,
            version: s.node.version,
            revision: s.node.revision,
          },
          value: 1,
        },
      ],
    },
    {
      name: 'bmx7_uptime_seconds',
      kind: 'gauge',
      help: 'Seconds since the routing engine started.',
      samples: [{ value: s.node.uptimeSeconds }],
    },
    {
      name: 'bmx7_description_sqn',
      kind: 'gauge',
      help: "Sequence number of this node's current description.",
      samples: [{ value: s.node.descSqn }],
    },
    {
      name: 'bmx7_links',
      kind: 'gauge',
      help: 'Links to neighbours (one per neighbour interface and own interface).',
      samples: [{ value: s.links.length }],
    },
    {
      name: 'bmx7_link_rq_ratio',
      kind: 'gauge',
      help: "A link's receive quality: the share of the neighbour's HELLOs received (0-1).",
      samples: s.links.map((l) => ({ labels: link(l), value: l.rq })),
    },
    {
      name: 'bmx7_link_tq_ratio',
      kind: 'gauge',
      help: "A link's transmit quality: the share of own HELLOs the neighbour received (0-1).",
      samples: s.links.map((l) => ({ labels: link(l), value: l.tq })),
    },
    {
      name: 'bmx7_originators',
      kind: 'gauge',
      help: 'Other nodes known with a description (originators).',
      samples: [{ value: s.originators.length }],
    },
    {
      name: 'bmx7_originator_path_metric',
      kind: 'gauge',
      help: "Path metric to an originator: the protocol's bandwidth-like value in bit/s (0: not routed).",
      samples: s.originators.map((o) => ({ labels: orig(o), value: o.metric })),
    },
    {
      name: 'bmx7_originator_hops',
      kind: 'gauge',
      help: 'Hops on the path to an originator.',
      samples: s.originators.map((o) => ({ labels: orig(o), value: o.hops })),
    },
    {
      name: 'bmx7_routes',
      kind: 'gauge',
      help: 'Routes this node exports to the kernel (the host routes of originators and their announced networks).',
      samples: [{ value: s.routes }],
    },
    {
      name: 'bmx7_descriptions',
      kind: 'gauge',
      help: "Node descriptions held, this node's own included.",
      samples: [{ value: s.descriptions }],
    },
    {
      name: 'bmx7_keys',
      kind: 'gauge',
      help: 'Node keys known, by key state.',
      samples: Object.entries(s.keys).map(([state, n]) => ({ labels: { state }, value: n })),
    },
    {
      name: 'bmx7_packets_received',
      kind: 'counter',
      help: 'BMX7 packets received.',
      samples: [{ value: s.traffic.rxPackets }],
    },
    {
      name: 'bmx7_packets_sent',
      kind: 'counter',
      help: 'BMX7 packets sent.',
      samples: [{ value: s.traffic.txPackets }],
    },
    {
      name: 'bmx7_udp_received_bytes',
      kind: 'counter',
      help: 'Bytes of BMX7 packets received (UDP payload).',
      samples: [{ value: s.traffic.rxBytes }],
    },
    {
      name: 'bmx7_udp_sent_bytes',
      kind: 'counter',
      help: 'Bytes of BMX7 packets sent (UDP payload).',
      samples: [{ value: s.traffic.txBytes }],
    },
    {
      name: 'bmx7_frames_received',
      kind: 'counter',
      help: 'Frames received in packets that passed the packet checks, per frame type.',
      samples: byType((f) => f.rxFrames),
    },
    {
      name: 'bmx7_received_bytes',
      kind: 'counter',
      help: 'Bytes of frames received, frame headers included, per frame type.',
      samples: byType((f) => f.rxBytes),
    },
    {
      name: 'bmx7_frames_sent',
      kind: 'counter',
      help: 'Frames sent, per frame type.',
      samples: byType((f) => f.txFrames),
    },
    {
      name: 'bmx7_sent_bytes',
      kind: 'counter',
      help: 'Bytes of frames sent, frame headers included, per frame type.',
      samples: byType((f) => f.txBytes),
    },
    {
      name: 'bmx7_packets_dropped',
      kind: 'counter',
      help: 'Received packets dropped, by reason (bad_frame: the rest of a packet after a malformed frame).',
      samples: DROP_REASONS.map((reason) => ({ labels: { reason }, value: s.traffic.drops[reason] })),
    },
    {
      name: 'bmx7_descriptions_rejected',
      kind: 'counter',
      help: 'Descriptions rejected (bad signature, malformed, or refused).',
      samples: [{ value: s.traffic.descriptionsRejected }],
    },
    {
      name: 'bmx7_tx_tasks_refused',
      kind: 'counter',
      help: 'Transmit tasks refused because their interface had a full queue.',
      samples: [{ value: s.traffic.txTasksRefused }],
    },
    {
      name: 'bmx7_plugin_errors',
      kind: 'counter',
      help: 'Exceptions caught in plugin callbacks.',
      samples: [{ value: s.traffic.pluginErrors }],
    },
    {
      name: 'bmx7_tunnels',
      kind: 'gauge',
      help: 'Gateway tunnels in use (selected, with a device).',
      samples: [{ value: s.tunnels.length }],
    },
    {
      name: 'bmx7_tunnel',
      kind: 'info',
      help: 'A gateway tunnel in use: its search, network, gateway, device, crypt (plain or encrypted) and PSK source (none, static or pq).',
      samples: s.tunnels.map((t) => ({
        labels: {
          search: t.search,
          network: t.network,
          gateway: t.gateway,
          gateway_id: t.gatewayId,
          dev: t.dev,
          crypt: t.crypt,
          psk: t.psk,
        },
        value: 1,
      })),
    },
    {
      name: 'bmx7_tunnel_device_received_bytes',
      kind: 'counter',
      help: 'Bytes received by a tunnel device (plain or WireGuard).',
      samples: s.devices.map((d) => ({ labels: { dev: d.dev }, value: d.rxBytes })),
    },
    {
      name: 'bmx7_tunnel_device_sent_bytes',
      kind: 'counter',
      help: 'Bytes sent by a tunnel device (plain or WireGuard).',
      samples: s.devices.map((d) => ({ labels: { dev: d.dev }, value: d.txBytes })),
    },
    {
      name: 'bmx7_wg_peer',
      kind: 'info',
      help: 'A WireGuard peer on one of the devices: its node and PSK source (none, static or pq).',
      samples: s.wgPeers.map((p) => ({ labels: { ...peer(p), psk: p.psk }, value: 1 })),
    },
    {
      name: 'bmx7_wg_handshake_age_seconds',
      kind: 'gauge',
      help: "Seconds since a WireGuard peer's last completed handshake (absent before the first).",
      samples: s.wgPeers.flatMap((p) =>
        p.handshakeAgeSeconds === null ? [] : [{ labels: peer(p), value: p.handshakeAgeSeconds }],
      ),
    },
    {
      name: 'bmx7_wg_received_bytes',
      kind: 'counter',
      help: 'Bytes received from a WireGuard peer.',
      samples: s.wgPeers.map((p) => ({ labels: peer(p), value: p.rxBytes })),
    },
    {
      name: 'bmx7_wg_sent_bytes',
      kind: 'counter',
      help: 'Bytes sent to a WireGuard peer.',
      samples: s.wgPeers.map((p) => ({ labels: peer(p), value: p.txBytes })),
    },
    {
      name: 'bmx7_wg_psk_epoch',
      kind: 'gauge',
      help: 'Epoch of the post-quantum PSK agreed with a WireGuard peer (docs/pq-psk.md; absent without one).',
      samples: s.wgPeers.flatMap((p) => (p.pqEpoch === null ? [] : [{ labels: peer(p), value: p.pqEpoch }])),
    },
    {
      name: 'bmx7_wg_psk_age_seconds',
      kind: 'gauge',
      help: 'Seconds since the post-quantum PSK with a WireGuard peer was installed (absent without one).',
      samples: s.wgPeers.flatMap((p) =>
        p.pskAgeSeconds === null ? [] : [{ labels: peer(p), value: p.pskAgeSeconds }],
      ),
    },
  ];
}

/** A label value in quotes: backslash, double quote and newline escaped, other controls replaced. */
export function escapeLabelValue(v: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (c < 0x20 || c === 0x7f) out += '\uFFFD';
    else out += ch;
  }
  return out;
}

function escapeHelp(v: string, format: MetricsFormat): string {
  const e = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? e.replace(/"/g, '\\"') : e;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The unit OpenMetrics' `# UNIT` names, where a family's name ends with one. */
function unitOf(name: string): string | undefined {
  return /_(seconds|bytes|ratio)$/.exec(name)?.[1];
}

/** Renders a snapshot's metrics. */
export function renderMetrics(s: Snapshot, format: MetricsFormat): string {
  const out: string[] = [];
  for (const f of families(s)) {
    const sample = sampleName(f);
    // OpenMetrics names a family without the counter's _total and the info's _info
    const family = format === 'openmetrics' ? f.name : sample;
    const type = f.kind === 'info' ? (format === 'openmetrics' ? 'info' : 'gauge') : f.kind;
    out.push(`# HELP ${family} ${escapeHelp(f.help, format)}`);
    out.push(`# TYPE ${family} ${type}`);
    const unit = format === 'openmetrics' ? unitOf(f.name) : undefined;
    if (unit) out.push(`# UNIT ${family} ${unit}`);
    const seen = new Set<string>();
    for (const { labels, value } of f.samples) {
      const l = Object.entries(labels ?? {})
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',');
      // two series with one label set would make the exposition invalid: the first one stays
      if (seen.has(l)) continue;
      seen.add(l);
      out.push(`${sample}${l ? `{${l}}` : ''} ${formatValue(value)}`);
    }
  }
  if (format === 'openmetrics') out.push('# EOF');
  return `${out.join('\n')}\n`;
}

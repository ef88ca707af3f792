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

type Sample = Family['samples'][number];
const family =
  (kind: Kind) =>
  (name: string, help: string, samples: readonly Sample[]): Family => ({ name, kind, help, samples });
const gauge = family('gauge');
const counter = family('counter');
/** An info metric: one sample of value 1 per label set. */
const info = (name: string, help: string, labels: readonly Labels[]): Family =>
  family('info')(
    name,
    help,
    labels.map((l) => ({ labels: l, value: 1 })),
  );

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
  const one = (value: number) => [{ value }];
  return [
    info(
      'bmx7_node',
      'This node: host name, short and full node id, primary address, bmx7d version and revision.',
      [
        {
          name: s.node.name,
          short_id: s.node.shortId,
          node_id: s.node.nodeId,
          primary_ip: s.node.primaryIp,
          version: s.node.version,
          revision: s.node.revision,
        },
      ],
    ),
    gauge('bmx7_uptime_seconds', 'Seconds since the routing engine started.', one(s.node.uptimeSeconds)),
    gauge('bmx7_description_sqn', "Sequence number of this node's current description.", one(s.node.descSqn)),
    gauge(
      'bmx7_links',
      'Links to neighbours (one per neighbour interface and own interface).',
      one(s.links.length),
    ),
    gauge(
      'bmx7_link_rq_ratio',
      "A link's receive quality: the share of the neighbour's HELLOs received (0-1).",
      s.links.map((l) => ({ labels: link(l), value: l.rq })),
    ),
    gauge(
      'bmx7_link_tq_ratio',
      "A link's transmit quality: the share of own HELLOs the neighbour received (0-1).",
      s.links.map((l) => ({ labels: link(l), value: l.tq })),
    ),
    gauge(
      'bmx7_originators',
      'Other nodes known with a description (originators).',
      one(s.originators.length),
    ),
    gauge(
      'bmx7_originator_path_metric',
      "Path metric to an originator: the protocol's bandwidth-like value in bit/s (0: not routed).",
      s.originators.map((o) => ({ labels: orig(o), value: o.metric })),
    ),
    gauge(
      'bmx7_originator_hops',
      'Hops on the path to an originator.',
      s.originators.map((o) => ({ labels: orig(o), value: o.hops })),
    ),
    gauge(
      'bmx7_routes',
      'Routes this node exports to the kernel (the host routes of originators and their announced networks).',
      one(s.routes),
    ),
    gauge('bmx7_descriptions', "Node descriptions held, this node's own included.", one(s.descriptions)),
    gauge(
      'bmx7_keys',
      'Node keys known, by key state.',
      Object.entries(s.keys).map(([state, n]) => ({ labels: { state }, value: n })),
    ),
    counter('bmx7_packets_received', 'BMX7 packets received.', one(s.traffic.rxPackets)),
    counter('bmx7_packets_sent', 'BMX7 packets sent.', one(s.traffic.txPackets)),
    counter(
      'bmx7_udp_received_bytes',
      'Bytes of BMX7 packets received (UDP payload).',
      one(s.traffic.rxBytes),
    ),
    counter('bmx7_udp_sent_bytes', 'Bytes of BMX7 packets sent (UDP payload).', one(s.traffic.txBytes)),
    counter(
      'bmx7_frames_received',
      'Frames received in packets that passed the packet checks, per frame type.',
      byType((f) => f.rxFrames),
    ),
    counter(
      'bmx7_received_bytes',
      'Bytes of frames received, frame headers included, per frame type.',
      byType((f) => f.rxBytes),
    ),
    counter(
      'bmx7_frames_sent',
      'Frames sent, per frame type.',
      byType((f) => f.txFrames),
    ),
    counter(
      'bmx7_sent_bytes',
      'Bytes of frames sent, frame headers included, per frame type.',
      byType((f) => f.txBytes),
    ),
    counter(
      'bmx7_packets_dropped',
      'Received packets dropped, by reason (bad_frame: the rest of a packet after a malformed frame).',
      DROP_REASONS.map((reason) => ({ labels: { reason }, value: s.traffic.drops[reason] })),
    ),
    counter(
      'bmx7_descriptions_rejected',
      'Descriptions rejected (bad signature, malformed, or refused).',
      one(s.traffic.descriptionsRejected),
    ),
    counter(
      'bmx7_tx_tasks_refused',
      'Transmit tasks refused because their interface had a full queue.',
      one(s.traffic.txTasksRefused),
    ),
    counter('bmx7_plugin_errors', 'Exceptions caught in plugin callbacks.', one(s.traffic.pluginErrors)),
    gauge('bmx7_tunnels', 'Gateway tunnels in use (selected, with a device).', one(s.tunnels.length)),
    info(
      'bmx7_tunnel',
      'A gateway tunnel in use: its search, network, gateway, device, crypt (plain or encrypted) and PSK source (none, static or pq).',
      s.tunnels.map((t) => ({
        search: t.search,
        network: t.network,
        gateway: t.gateway,
        gateway_id: t.gatewayId,
        dev: t.dev,
        crypt: t.crypt,
        psk: t.psk,
      })),
    ),
    counter(
      'bmx7_tunnel_device_received_bytes',
      'Bytes received by a tunnel device (plain or WireGuard).',
      s.devices.map((d) => ({ labels: { dev: d.dev }, value: d.rxBytes })),
    ),
    counter(
      'bmx7_tunnel_device_sent_bytes',
      'Bytes sent by a tunnel device (plain or WireGuard).',
      s.devices.map((d) => ({ labels: { dev: d.dev }, value: d.txBytes })),
    ),
    info(
      'bmx7_wg_peer',
      'A WireGuard peer on one of the devices: its node and PSK source (none, static or pq).',
      s.wgPeers.map((p) => ({ ...peer(p), psk: p.psk })),
    ),
    gauge(
      'bmx7_wg_handshake_age_seconds',
      "Seconds since a WireGuard peer's last completed handshake (absent before the first).",
      s.wgPeers.flatMap((p) =>
        p.handshakeAgeSeconds === null ? [] : [{ labels: peer(p), value: p.handshakeAgeSeconds }],
      ),
    ),
    counter(
      'bmx7_wg_received_bytes',
      'Bytes received from a WireGuard peer.',
      s.wgPeers.map((p) => ({ labels: peer(p), value: p.rxBytes })),
    ),
    counter(
      'bmx7_wg_sent_bytes',
      'Bytes sent to a WireGuard peer.',
      s.wgPeers.map((p) => ({ labels: peer(p), value: p.txBytes })),
    ),
    gauge(
      'bmx7_wg_psk_epoch',
      'Epoch of the post-quantum PSK agreed with a WireGuard peer (docs/pq-psk.md; absent without one).',
      s.wgPeers.flatMap((p) => (p.pqEpoch === null ? [] : [{ labels: peer(p), value: p.pqEpoch }])),
    ),
    gauge(
      'bmx7_wg_psk_age_seconds',
      'Seconds since the post-quantum PSK with a WireGuard peer was installed (absent without one).',
      s.wgPeers.flatMap((p) =>
        p.pskAgeSeconds === null ? [] : [{ labels: peer(p), value: p.pskAgeSeconds }],
      ),
    ),
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

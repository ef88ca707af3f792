import { describe, expect, it } from 'vitest';
import { HOSTILE_NAME, openMetricsParse, promtoolCheck, testSnapshot } from '../test/observe.js';
import { CONTENT_TYPES, escapeLabelValue, formatFor, metricNames, renderMetrics } from './metrics.js';

const snap = testSnapshot();

/** The sample lines of an exposition, as name → lines. */
function samples(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-z_0-9]+/.exec(line)![0];
    out.set(name, [...(out.get(name) ?? []), line]);
  }
  return out;
}

describe('metrics', () => {
  it('the Prometheus text format passes promtool check metrics (names, units, HELP and TYPE)', () => {
    const text = renderMetrics(snap, 'prometheus');
    const r = promtoolCheck(text);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
    expect(text).not.toContain('# EOF');
  });

  it("OpenMetrics 1.0 passes Prometheus' OpenMetrics parser, ends with # EOF, names families without _total", () => {
    const text = renderMetrics(snap, 'openmetrics');
    const r = openMetricsParse(text);
    expect(r.status, r.output).toBe(0);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE bmx7_frames_received counter\n');
    expect(text).toContain('# TYPE bmx7_node info\n');
    expect(text).toContain('# UNIT bmx7_uptime_seconds seconds\n');
    expect(text).toMatch(/^bmx7_frames_received_total\{type="HELLO_ADV"\} 50$/m);
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE')))
      expect(line, 'a family name never ends with _total').not.toMatch(/_total /);
  });

  it('has the documented families: links, originators, routes, descriptions, traffic per frame type, drops, tunnels, WireGuard', () => {
    const s = samples(renderMetrics(snap, 'prometheus'));
    expect(s.get('bmx7_links')).toEqual(['bmx7_links 2']);
    expect(s.get('bmx7_link_rq_ratio')).toContain(
      'bmx7_link_rq_ratio{dev="eth1",neighbour="n2",neighbour_id="BBBB0002",address="fe80::2"} 1',
    );
    expect(s.get('bmx7_link_tq_ratio')).toHaveLength(2);
    expect(s.get('bmx7_originators')).toEqual(['bmx7_originators 3']);
    expect(s.get('bmx7_routes')).toEqual(['bmx7_routes 3']);
    expect(s.get('bmx7_descriptions')).toEqual(['bmx7_descriptions 4']);
    expect(s.get('bmx7_frames_received_total')).toEqual([
      'bmx7_frames_received_total{type="HELLO_ADV"} 50',
      'bmx7_frames_received_total{type="FRAME_3"} 1',
    ]);
    expect(s.get('bmx7_sent_bytes_total')).toContain('bmx7_sent_bytes_total{type="HELLO_ADV"} 180');
    expect(s.get('bmx7_packets_dropped_total')).toHaveLength(8);
    expect(s.get('bmx7_packets_dropped_total')).toContain('bmx7_packets_dropped_total{reason="malformed"} 2');
    const tunnels = s.get('bmx7_tunnel_info')!;
    expect(tunnels[0]).toMatch(/search="up4".*crypt="plain",psk="none"\} 1$/);
    expect(tunnels[1]).toMatch(/search="up6".*crypt="encrypted",psk="pq"\} 1$/);
    expect(s.get('bmx7_wg_handshake_age_seconds')).toHaveLength(1); // none before a first handshake
    expect(s.get('bmx7_wg_psk_epoch')![0]).toMatch(/ 3$/);
    expect(s.get('bmx7_wg_received_bytes_total')).toHaveLength(2);
    expect(s.get('bmx7_wg_peer_info')![1]).toMatch(/psk="static"\} 1$/);
    expect(s.get('bmx7_tunnel_device_sent_bytes_total')).toEqual([
      'bmx7_tunnel_device_sent_bytes_total{dev="X1out_BBBB0002"} 20',
    ]);
  });

  it('lists its names as served', () => {
    const names = metricNames(snap);
    expect(names).toContain('bmx7_frames_received_total');
    expect(names).toContain('bmx7_node_info');
    expect(names).toContain('bmx7_link_rq_ratio');
    expect(new Set(names).size).toBe(names.length);
  });

  it('escapes label values from the mesh: a hostile host name stays one label value', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(escapeLabelValue('x\u0000y\ry\u007f')).toBe('x\uFFFDy\uFFFDy\uFFFD');
    const text = renderMetrics(snap, 'prometheus');
    // every line is a comment or one sample: the newline in the name did not split a line
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#')))
      expect(line).toMatch(/^[a-z_0-9]+(\{.*\})? -?[0-9.e+]+$/);
    expect(text).toContain(`neighbour="${escapeLabelValue(HOSTILE_NAME)}"`);
  });

  it('never writes two series with one label set (the first one stays)', () => {
    const twice = testSnapshot({ links: [snap.links[0]!, { ...snap.links[0]!, rq: 0.1 }] });
    const lines = samples(renderMetrics(twice, 'prometheus')).get('bmx7_link_rq_ratio')!;
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ 1$/);
    expect(promtoolCheck(renderMetrics(twice, 'prometheus')).status).toBe(0);
  });

  it('an empty node (no links, originators, tunnels) is valid in both formats', () => {
    const empty = testSnapshot({
      links: [],
      originators: [],
      tunnels: [],
      wgPeers: [],
      devices: [],
      keys: {},
    });
    expect(promtoolCheck(renderMetrics(empty, 'prometheus')).status).toBe(0);
    expect(openMetricsParse(renderMetrics(empty, 'openmetrics')).status).toBe(0);
  });

  it('picks OpenMetrics when the scraper accepts it, else the text format 0.0.4', () => {
    const prometheusAccept =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    expect(formatFor(prometheusAccept)).toBe('openmetrics');
    expect(formatFor('text/plain')).toBe('prometheus');
    expect(formatFor(undefined)).toBe('prometheus');
    expect(CONTENT_TYPES.openmetrics).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(CONTENT_TYPES.prometheus).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

/**
 * `metricsListen` and `httpListen`: where bmx7d serves its metrics and its status page. Both are
 * off unless set; a bare port listens on the loopback address, and any other address must be given
 * (`0.0.0.0:9100`, `[::]:9100`, `[fd70::1]:8080`).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { OptionError, type OptionSpec } from '@bmx7/control';

/** Where a listener binds. */
export interface Listen {
  /** An IPv4 or IPv6 address (an IPv6 one with its zone, `fe80::1%eth1`, as Node takes it). */
  readonly host: string;
  readonly port: number;
  /** The address as given back to people: `127.0.0.1:9100`, `[::1]:9100`. */
  readonly text: string;
}

/** The address a bare port listens on. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';

/** Where to listen, with its text (an IPv6 address in brackets). */
export function listenAt(host: string, port: number): Listen {
  return { host, port, text: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

const LISTEN_FORM = '[ADDR:]PORT, an IPv6 address in brackets ([::1]:9100)';
const LISTEN_TYPE = {
  kind: 'string',
  maxLength: 64,
  pattern: /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]{1,15})?\]):)?\d{1,5}$/,
  form: '[ADDR:]PORT',
} as const;

/** One of the two options: what it serves (and how, after "read-only"), and an example address. */
const listenOption = (name: string, what: string, how: string, example: string): OptionSpec => ({
  name,
  type: LISTEN_TYPE,
  when: 'both',
  order: 9,
  relevance: 1,
  config: true,
  category: 'observe',
  help:
    `serve ${what} (read-only${how}); ` +
    `a bare PORT listens on ${DEFAULT_LISTEN_HOST}, an IPv6 ADDR goes in brackets (${example}); default: off`,
});

/** bmx7d's options for observing the node (they follow the core's in help and in the manual). */
export const OBSERVE_OPTIONS: readonly OptionSpec[] = [
  listenOption(
    'metricsListen',
    'metrics for Prometheus at http://ADDR:PORT/metrics',
    '; OpenMetrics or the Prometheus text format, as the scraper asks',
    '[::1]:9100',
  ),
  listenOption(
    'httpListen',
    'the live status page (originators, links, tunnels, a drawing of the mesh) and its JSON at http://ADDR:PORT/',
    '',
    '[::1]:8080',
  ),
];

/**
 * `[ADDR:]PORT` → where to listen; throws an OptionError naming `option` (exit 2 at start, an error
 * reply at runtime).
 */
export function parseListen(option: string, raw: string): Listen {
  const bad = (why: string) =>
    new OptionError('bad-value', `${option}: ${JSON.stringify(raw)} ${why}`, { option });
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(raw);
  if (!m) throw bad(`is not of the form ${LISTEN_FORM}`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw bad('has a port outside 1-65535');
  const addr = m[1];
  if (addr === undefined) return listenAt(DEFAULT_LISTEN_HOST, port);
  if (addr.startsWith('[') && addr.endsWith(']')) {
    const host = addr.slice(1, -1);
    if (!isIPv6(host.replace(/%.*$/, ''))) throw bad('has no IPv6 address in its brackets');
    return listenAt(host, port);
  }
  if (!isIPv4(addr)) throw bad(`has no IPv4 address before the port (an IPv6 one goes in brackets)`);
  return listenAt(addr, port);
}

/** Whether an address is a loopback one (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104); names are not. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return (mapped[1] as string).startsWith('127.');
  return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1';
}

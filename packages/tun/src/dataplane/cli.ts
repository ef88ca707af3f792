/**
 * A tiny entry point that runs the userspace ip6tnl twin in the caller's network namespace, for
 * tests and benchmarks (`ip netns exec NS node … cli.ts up …`), the way the daemon runs it:
 *
 *   cli.ts up NAME LOCAL REMOTE MTU [HOPLIMIT] [-- NAME LOCAL REMOTE MTU [HOPLIMIT] …]
 *
 * It prints one JSON line per device once all are up (`{"up":NAME,"ifindex":N}`), then answers each
 * line on stdin: `counters` prints `{"counters":{NAME:{…}},"unmatched":N}`. SIGTERM, SIGINT or the
 * end of stdin remove the devices and exit 0; SIGKILL leaves nothing either (the devices go with
 * the process's descriptors).
 */
import { createInterface } from 'node:readline';
import type { TunnelSpec } from './types.js';
import { createUserspaceBackend } from './userspace.js';

function usage(): never {
  process.stderr.write(
    'usage: cli.ts up NAME LOCAL REMOTE MTU [HOPLIMIT] [-- NAME LOCAL REMOTE MTU [HOPLIMIT] …]\n',
  );
  process.exit(2);
}

function parseSpecs(args: string[]): TunnelSpec[] {
  const specs: TunnelSpec[] = [];
  let group: string[] = [];
  for (const a of [...args, '--']) {
    if (a !== '--') {
      group.push(a);
      continue;
    }
    const [name, local, remote, mtu, hop] = group;
    if (!name || !local || !remote || !mtu || group.length > 5) usage();
    specs.push({
      name,
      local,
      remote,
      mtu: Number(mtu),
      ...(hop === undefined ? {} : { hopLimit: Number(hop) }),
    });
    group = [];
  }
  return specs;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] !== 'up') usage();
  const specs = parseSpecs(argv.slice(1));
  const backend = createUserspaceBackend({
    onError: (err) => process.stderr.write(`${err.message}\n`),
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await backend.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  try {
    for (const spec of specs) {
      const t = await backend.create(spec);
      process.stdout.write(`${JSON.stringify({ up: t.name, ifindex: t.ifindex })}\n`);
    }
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
    return;
  }
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() !== 'counters') return;
    const counters = Object.fromEntries(backend.list().map((t) => [t.name, t.counters()]));
    process.stdout.write(`${JSON.stringify({ counters, unmatched: backend.unmatched() })}\n`);
  });
  rl.on('close', () => void stop(0));
}

await main(process.argv.slice(2));

/**
 * Gates for the test groups that need more than a process (vitest.config.ts): the netns group
 * needs root, iproute2 and network namespaces; the kernel group needs kernel modules that only the
 * QEMU VM has (infra/vm). A gated suite is reported as skipped with the reason in its title, never
 * silently passed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file is packages/testenv/{src,dist}/env.*). */
export const repoRoot = join(here, '..', '..', '..');

/** Absolute path of a file in fixtures/bmx7-ref (captures of the reference daemon, its test keys). */
export function fixture(name: string): string {
  return join(repoRoot, 'fixtures', 'bmx7-ref', name);
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

let probeSeq = 0;
function probeName(tag: string): string {
  return `b7p${tag}${process.pid.toString(36)}${(probeSeq++).toString(36)}`.slice(0, 15);
}

let netnsReason: string | null | undefined;
/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (netnsReason === undefined) netnsReason = probeNetns() ?? null;
  return netnsReason ?? undefined;
}

function probeNetns(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and veth)';
  if (!run('ip', ['-V']).ok) return 'needs iproute2 (`ip` not found)';
  const ns = probeName('n');
  const add = run('ip', ['netns', 'add', ns]);
  if (!add.ok) return `cannot create a network namespace: ${add.out}`;
  run('ip', ['netns', 'del', ns]);
  return undefined;
}

export type KernelFeature = 'wireguard' | 'ip6tnl';
const kernelReasons = new Map<KernelFeature, string | null>();

/**
 * Why a kernel feature is unavailable, or undefined when the running kernel has it. Where
 * BMX7_REQUIRE_KERNEL=1 (infra/vm sets it inside the VM) a missing feature throws instead: the
 * kernel group must never skip there.
 */
export function kernelSkipReason(feature: KernelFeature): string | undefined {
  let reason = netnsSkipReason() ?? kernelReasons.get(feature);
  if (reason === undefined) {
    reason = probeKernel(feature) ?? null;
    kernelReasons.set(feature, reason);
  }
  if (reason && process.env.BMX7_REQUIRE_KERNEL === '1') {
    throw new Error(`BMX7_REQUIRE_KERNEL=1 but kernel tests cannot run: ${feature}: ${reason}`);
  }
  return reason ?? undefined;
}

function probeKernel(feature: KernelFeature): string | undefined {
  // Probe inside a throwaway namespace so nothing is created on the host's own stack.
  const ns = probeName('k');
  if (!run('ip', ['netns', 'add', ns]).ok) return 'cannot create a probe namespace';
  try {
    const dev = 'b7probe0';
    const args =
      feature === 'wireguard'
        ? ['-n', ns, 'link', 'add', dev, 'type', 'wireguard']
        : ['-n', ns, 'link', 'add', dev, 'type', 'ip6tnl', 'mode', 'any', 'local', '::1', 'remote', '::2'];
    const r = run('ip', args);
    if (!r.ok) {
      return `the running kernel has no ${feature} (${r.out || 'ip link add failed'}); run it in the VM: pnpm test:vm`;
    }
    return undefined;
  } finally {
    run('ip', ['netns', 'del', ns]);
  }
}

/** A suite of the netns group: skipped, with the reason in its title, where namespaces are unavailable. */
export function describeNetns(name: string, fn: () => void): void {
  const reason = netnsSkipReason();
  if (reason) describe.skip(`${name} [skipped: ${reason}]`, fn);
  else describe(name, fn);
}

/**
 * A suite of the kernel group: skipped, with the reason, where the running kernel lacks a feature;
 * throws instead where BMX7_REQUIRE_KERNEL=1 (see kernelSkipReason).
 */
export function describeKernel(name: string, features: KernelFeature[], fn: () => void): void {
  const reason = features.map(kernelSkipReason).find((r) => r !== undefined);
  if (reason) describe.skip(`${name} [skipped: ${reason}]`, fn);
  else describe(name, fn);
}

/** The wireguard-go binary, or undefined where it is not installed. */
export function wireguardGoPath(): string | undefined {
  for (const p of ['/usr/bin/wireguard-go', '/usr/local/bin/wireguard-go']) if (existsSync(p)) return p;
  return undefined;
}

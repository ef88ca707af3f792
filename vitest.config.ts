import { defineConfig } from 'vitest/config';

// Test groups (DESIGN.md "Tests"). File suffix picks the group:
//   *.test.ts         unit    always, seconds
//   *.sim.test.ts     sim     in-process multi-node simulations on virtual time
//   *.netns.test.ts   netns   needs root and network namespaces; skips itself with the reason otherwise
//   *.kernel.test.ts  kernel  needs kernel wireguard/ip6tnl; runs inside the QEMU VM (pnpm test:vm)
const roots = ['packages', 'apps', 'infra', 'tools', 'bench'];
const files = (suffix: string) => roots.map((r) => `${r}/**/*${suffix}`);
const ignore = ['**/node_modules/**', '**/dist/**', 'infra/vm/.work/**'];
const special = ['**/*.sim.test.ts', '**/*.netns.test.ts', '**/*.kernel.test.ts'];

export default defineConfig({
  // Workspace packages export their TypeScript sources under this condition, so tests run
  // against src/ without a build step.
  resolve: { conditions: ['@bmx7/source'] },
  ssr: { resolve: { conditions: ['@bmx7/source'] } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: files('.test.ts'), exclude: [...ignore, ...special] },
      },
      {
        extends: true,
        test: { name: 'sim', include: files('.sim.test.ts'), exclude: ignore, testTimeout: 120_000 },
      },
      {
        extends: true,
        test: {
          name: 'netns',
          include: files('.netns.test.ts'),
          exclude: ignore,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Namespace tests share the machine's kernel, UAPI socket directory and CPU: one file at a time.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'kernel',
          include: files('.kernel.test.ts'),
          exclude: ignore,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

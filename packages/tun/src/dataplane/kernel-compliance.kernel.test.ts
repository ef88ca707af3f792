/**
 * The TunnelBackend compliance suite against the kernel backend on a kernel with ip6tnl (the QEMU
 * VM: `pnpm test:vm kernel-compliance`), in a namespace of its own. Traffic is carried in
 * kernel.kernel.test.ts, with pings between two namespaces.
 *
 *   ns c: the backend's ip6tnl devices, and veth pairs that take names away from it
 *
 * Elsewhere the suite reports itself skipped with the reason.
 */
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed } from '@bmx7/testenv/netns';
import { describeTunnelBackendCompliance } from './compliance.js';
import { createKernelBackend } from './kernel.js';

describeKernel('tunnel kernel backend', ['ip6tnl'], () => {
  describeTunnelBackendCompliance('kernel (ip6tnl)', () => {
    const bed = createNetnsBed('tkc');
    const ns = bed.ns('c');
    return {
      backend: createKernelBackend({ netns: ns }),
      name: (tag) => bed.name(tag),
      exists: (name) => bed.exec(ns, 'ip', ['link', 'show', 'dev', name]).status === 0,
      occupy: (name) => {
        bed.execOk(ns, 'ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
      },
      teardown: () => bed.cleanup(),
    };
  });
});

import { describeNetns } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { afterAll, expect, it } from 'vitest';
import { createMesh, linkLocalOf, type Mesh } from './mesh.js';

describeNetns('namespace mesh', () => {
  const meshes: Mesh[] = [];
  afterAll(() => {
    for (const m of meshes) m.cleanup();
  });

  it('builds a line of three nodes whose neighbours reach each other over link-local addresses', async () => {
    const mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'tl' });
    meshes.push(mesh);
    expect(mesh.node('n2').links.map((l) => [l.iface, l.peer])).toEqual([
      ['eth1', 'n1'],
      ['eth2', 'n3'],
    ]);
    const ll = await waitFor('n2 eth1 link-local', () => linkLocalOf(mesh, 'n2', 'eth1'));
    expect(mesh.execOk('n1', 'ping', ['-6', '-c', '1', '-W', '2', `${ll}%eth1`])).toMatch(/1 received/);
    // n1 and n3 share no link.
    expect(mesh.exec('n1', 'ip', ['link', 'show', 'eth2']).status).not.toBe(0);
  });

  it('takes a link down and up, runs a daemon per node, and leaves nothing behind', async () => {
    const mesh = createMesh({ kind: 'ring', n: 3 }, { prefix: 'tr' });
    meshes.push(mesh);
    const flags = (node: string, iface: string) => mesh.execOk(node, 'ip', ['-o', 'link', 'show', iface]);
    mesh.setLink('n1', 'n2', false);
    expect(flags('n1', 'eth1')).not.toMatch(/[<,]UP[,>]/);
    expect(flags('n2', 'eth1')).not.toMatch(/[<,]UP[,>]/);
    expect(flags('n1', 'eth2')).toMatch(/[<,]UP[,>]/);
    mesh.setLink('n1', 'n2', true);
    expect(flags('n1', 'eth1')).toMatch(/[<,]UP[,>]/);
    mesh.startAll((n) => ({ cmd: 'sleep', args: ['300'], env: { NODE: n.name } }));
    const pids = mesh.execOk('n3', 'ip', ['netns', 'pids', mesh.node('n3').ns]);
    expect(pids.trim()).not.toBe('');
    expect(await mesh.stop('n3')).toBeNull(); // killed by SIGTERM: no exit code
    const namespaces = [...mesh.nodes.values()].map((n) => n.ns);
    mesh.cleanup();
    const { execSync } = await import('node:child_process');
    const left = execSync('ip netns list', { encoding: 'utf8' });
    for (const ns of namespaces) expect(left).not.toContain(ns);
  });
});

import type { PluginFiles } from '@bmx7/core';
import { wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { createMemoryFiles } from '@bmx7/testkit';
import { describe, expect, it } from 'vitest';
import { loadWgIdentity, WG_PRIVATE_KEY_FILE } from './identity.js';

/** The plugin's view of the files twin, as the engine gives it (`wg/<name>`), counting writes. */
function pluginFiles() {
  const mem = createMemoryFiles();
  let writes = 0;
  const files: PluginFiles = {
    read: (n) => mem.read(`wg/${n}`),
    write: (n, b) => {
      writes++;
      mem.write(`wg/${n}`, b);
    },
    remove: (n) => mem.remove(`wg/${n}`),
  };
  return { mem, files, writes: () => writes };
}

describe('WireGuard identity', () => {
  it('is created once, as `wg genkey` writes it, mode 0600, in one whole write', () => {
    const f = pluginFiles();
    const a = loadWgIdentity(f.files);
    expect(a.created).toBe(true);
    expect(f.writes()).toBe(1);
    const entry = f.mem.entries.get(`wg/${WG_PRIVATE_KEY_FILE}`)!;
    expect(entry.mode).toBe(0o600);
    const text = new TextDecoder().decode(entry.bytes);
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(text).toBe(`${wgKeyToBase64(a.identity.privateKey)}\n`);
    expect(a.identity.publicKey).toEqual(wgPublicKey(a.identity.privateKey));
    // clamped as wg genkey clamps (RFC 7748 §5)
    expect(a.identity.privateKey[0]! & 7).toBe(0);
    expect(a.identity.privateKey[31]! & 0xc0).toBe(0x40);
  });

  it('is reused on restart, and a key written by wg genkey is read as it is', () => {
    const f = pluginFiles();
    const first = loadWgIdentity(f.files).identity;
    const again = loadWgIdentity(f.files);
    expect(again.created).toBe(false);
    expect(f.writes()).toBe(1);
    expect(again.identity.publicKey).toEqual(first.publicKey);
    // RFC 7748 §6.1 test key (Alice), as `wg pubkey` would derive it
    const alice = Uint8Array.from(
      Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'),
    );
    f.files.write(WG_PRIVATE_KEY_FILE, new TextEncoder().encode(`${wgKeyToBase64(alice)}\n`));
    expect(Buffer.from(loadWgIdentity(f.files).identity.publicKey).toString('hex')).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
  });

  it('uses the given randomness, and never shows the private key', () => {
    const f = pluginFiles();
    const { identity } = loadWgIdentity(f.files, (n) => new Uint8Array(n).fill(9));
    expect(identity.privateKey[1]).toBe(9);
    const shown = JSON.stringify(identity) + String(Object.keys(identity));
    expect(shown).not.toContain(wgKeyToBase64(identity.privateKey));
    expect(Object.keys(identity)).toEqual(['publicKey']);
  });

  it('refuses a file that holds no key, naming the file and not its content', () => {
    const f = pluginFiles();
    f.files.write(WG_PRIVATE_KEY_FILE, new TextEncoder().encode('secret-garbage\n'));
    expect(() => loadWgIdentity(f.files)).toThrow(/private\.key/);
    try {
      loadWgIdentity(f.files);
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_WG_KEY_FILE');
      expect(String(e)).not.toContain('secret-garbage');
    }
    expect(new TextDecoder().decode(f.files.read(WG_PRIVATE_KEY_FILE))).toBe('secret-garbage\n');
  });
});

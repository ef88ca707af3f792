/**
 * The WireGuard devices the node wants, kept so through a Wgctrl: `set()` gives the complete wanted
 * set, and one reconcile at a time makes missing devices, syncs every wanted device that is not set up as wanted yet (keys, port,
 * peers; wgctrl sends only what differs, so unchanged peers keep their sessions), puts addresses on
 * and takes them off, and deletes devices that are not wanted any more. Only devices made here are
 * ever touched: a name already in use by someone else is left alone.
 *
 * The private key is read from `privateKey()` each time a device is configured and handed to wgctrl
 * only; it is never kept, logged or put in an error (wgctrl's errors never carry keys either).
 */
import { createHash } from 'node:crypto';
import { wgKeyToBase64 } from '@bmx7/crypto';
import { type Wgctrl, WgctrlError, type WgDevice, type WgPeerConfig } from '@bmx7/wgctrl';

export interface WgPeerWant {
  /** X25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** "[ip]:port" or "ip:port"; absent: none set (WireGuard learns it from the peer's handshake). */
  readonly endpoint?: string;
  readonly allowedIps: readonly string[];
  /** Seconds; 0/absent = off. */
  readonly persistentKeepalive?: number;
  /** The pre-shared key, 32 bytes; absent: none. Handed to wgctrl only, never logged or shown. */
  readonly presharedKey?: Uint8Array;
  /** Where the pre-shared key came from, for `show=wg` (`static` when absent and a key is set). */
  readonly pskSource?: 'static' | 'pq';
}

export interface WgDeviceWant {
  /** Interface name, 1-15 chars. */
  readonly name: string;
  /** 0: a random port. */
  readonly listenPort: number;
  readonly peers: readonly WgPeerWant[];
  /** Addresses to put on the device, "10.1.0.1/32", "fdaa:1::1/128". */
  readonly addresses: readonly string[];
}

/** Addresses on the system (the daemon journals them). */
export interface WgSystemPort {
  addAddress(dev: string, prefix: string): Promise<void>;
  removeAddress(dev: string, prefix: string): Promise<void>;
}

export interface WgDevicesOptions {
  readonly wgctrl: Wgctrl;
  readonly system: WgSystemPort;
  /** The device's private key, base64 (read each time a device is configured; never logged). */
  readonly privateKey: () => string;
  readonly log?: (level: 0 | 1 | 2 | 3 | 4, msg: string, fields?: Record<string, unknown>) => void;
}

export interface WgDevices {
  /** The complete wanted set; reconciled asynchronously (coalesced: calls during a run make one more run). */
  set(wants: readonly WgDeviceWant[]): void;
  /** Resolves when the system matches the last set() (or the last attempt failed and was logged). */
  settled(): Promise<void>;
  /** Whether a device exists, configured as last wanted (set up and addresses added). */
  ready(name: string): boolean;
  /** The devices made here, by name. */
  names(): string[];
  /** The last want of a device (show tables read the PSK source from it). */
  want(name: string): WgDeviceWant | undefined;
  /** The last device state read by refresh() (runtime: endpoints learnt, handshakes, rx/tx), by name. */
  state(name: string): WgDevice | undefined;
  /** Reads every made device back (for show tables); a device that cannot be read is dropped from state. */
  refresh(): Promise<void>;
  /** Tells it a supervised wireguard-go was restarted (a new TUN device): re-adds its addresses. Wire it to wgctrl's onRestart. */
  restarted(name: string): Promise<void>;
  /** Deletes every device it made (and with them their addresses), then stops. Idempotent. Does NOT close the wgctrl. */
  close(): Promise<void>;
}

/** A device made here: the addresses put on it, and the want it was last fully configured as. */
interface MadeDevice {
  readonly addresses: Set<string>;
  /** wantKey() of the last want set up completely; undefined while not (or failing). */
  configured: string | undefined;
}

/**
 * A comparable text of a want: public keys, and a pre-shared key only as a hash (the private key is
 * not part of it; this text stays inside the module).
 */
function wantKey(w: WgDeviceWant): string {
  return JSON.stringify([
    w.listenPort,
    w.addresses,
    w.peers.map((p) => [
      Buffer.from(p.publicKey).toString('base64'),
      p.endpoint ?? '',
      p.allowedIps,
      p.persistentKeepalive ?? 0,
      p.presharedKey ? createHash('sha256').update(p.presharedKey).digest('hex') : '',
    ]),
  ]);
}

/** The wgctrl entry of a wanted peer; keepalive and endpoint only when set (syncDevice: absent = none / as learnt). */
function peerConfig(p: WgPeerWant): WgPeerConfig {
  return {
    publicKey: wgKeyToBase64(p.publicKey),
    allowedIps: [...p.allowedIps],
    ...(p.endpoint ? { endpoint: p.endpoint } : {}),
    ...(p.persistentKeepalive ? { persistentKeepalive: p.persistentKeepalive } : {}),
    ...(p.presharedKey ? { presharedKey: wgKeyToBase64(p.presharedKey) } : {}),
  };
}

const isCode = (e: unknown, code: WgctrlError['code']): boolean =>
  e instanceof WgctrlError && e.code === code;

/** Log fields of a failure: the message and wgctrl's code (neither ever holds a key). */
function failure(e: unknown): Record<string, unknown> {
  return {
    error: e instanceof Error ? e.message : String(e),
    ...(e instanceof WgctrlError ? { code: e.code } : {}),
  };
}

export function createWgDevices(opts: WgDevicesOptions): WgDevices {
  const { wgctrl, system } = opts;
  const log = (level: 0 | 3 | 4, msg: string, fields?: Record<string, unknown>) =>
    opts.log?.(level, msg, fields);
  let wants = new Map<string, WgDeviceWant>();
  const made = new Map<string, MadeDevice>();
  const states = new Map<string, WgDevice>();
  let work: Promise<void> = Promise.resolve();
  let again = false;
  let pending = false;
  let closed = false;
  let closing: Promise<void> | undefined;

  /** Forgets a device made here (gone, or deleted). */
  const forget = (name: string) => {
    made.delete(name);
    states.delete(name);
  };

  /** Takes the device's addresses off (so the daemon's journal forgets them), then deletes it. */
  const remove = async (name: string, d: MadeDevice): Promise<void> => {
    for (const a of [...d.addresses]) {
      try {
        await system.removeAddress(name, a);
      } catch (e) {
        // the device goes next, and its addresses with it
        log(4, 'wireguard address not removed', { dev: name, address: a, ...failure(e) });
      }
      d.addresses.delete(a);
    }
    try {
      await wgctrl.deleteDevice(name);
      log(3, 'wireguard device deleted', { dev: name });
    } catch (e) {
      if (!isCode(e, 'ERR_WG_NO_DEVICE')) {
        // kept: the next run (or close) tries again
        d.configured = undefined;
        log(0, 'cannot delete wireguard device', { dev: name, ...failure(e) });
        return;
      }
    }
    forget(name);
  };

  /** Makes the device if it is missing, syncs it, and brings its addresses to the wanted ones. */
  const setUp = async (w: WgDeviceWant, retry = true): Promise<void> => {
    const name = w.name;
    let d = made.get(name);
    if (!d) {
      try {
        await wgctrl.createDevice(name, { up: true });
      } catch (e) {
        if (isCode(e, 'ERR_WG_EXISTS'))
          log(0, 'wireguard device exists and was not made here, left alone', { dev: name, ...failure(e) });
        else log(0, 'cannot make wireguard device', { dev: name, ...failure(e) });
        return;
      }
      d = { addresses: new Set(), configured: undefined };
      made.set(name, d);
      log(3, 'wireguard device made', { dev: name });
    }
    // set up as wanted already: nothing to read or send (runs follow every path change of the mesh)
    if (d.configured === wantKey(w)) return;
    d.configured = undefined;
    try {
      await wgctrl.syncDevice(name, {
        privateKey: opts.privateKey(),
        listenPort: w.listenPort,
        peers: w.peers.map(peerConfig),
      });
      for (const a of [...d.addresses]) {
        if (w.addresses.includes(a)) continue;
        await system.removeAddress(name, a);
        d.addresses.delete(a);
      }
      for (const a of w.addresses) {
        if (d.addresses.has(a)) continue;
        await system.addAddress(name, a);
        d.addresses.add(a);
      }
      d.configured = wantKey(w);
    } catch (e) {
      if (retry && isCode(e, 'ERR_WG_NO_DEVICE')) {
        // someone deleted it (or its wireguard-go is gone for good): its addresses went with it
        log(0, 'wireguard device vanished, making it again', { dev: name });
        forget(name);
        return setUp(w, false);
      }
      log(0, 'cannot set up wireguard device', { dev: name, ...failure(e) });
    }
  };

  /** One pass: unwanted devices go first (their ports and addresses may be wanted elsewhere). */
  const reconcileOnce = async (): Promise<void> => {
    const want = wants;
    for (const [name, d] of [...made]) if (!want.has(name)) await remove(name, d);
    for (const w of want.values()) {
      if (closed) return;
      await setUp(w);
    }
  };

  /** Runs reconcile after the work queued; calls while one is pending make exactly one more run. */
  const schedule = (): void => {
    if (closed) return;
    if (pending) {
      again = true;
      return;
    }
    pending = true;
    work = work.then(async () => {
      do {
        again = false;
        try {
          await reconcileOnce();
        } catch (e) {
          log(0, 'wireguard update failed', failure(e));
        }
      } while (again && !closed);
      pending = false;
    });
  };

  /** Puts a restarted device's addresses back (its TUN device is new, without them). */
  const readd = async (name: string): Promise<void> => {
    const d = made.get(name);
    if (!d || closed) return;
    for (const a of [...d.addresses]) {
      try {
        await system.addAddress(name, a);
      } catch (e) {
        // not on the device: the next set() adds it, and until then the device is not ready
        d.addresses.delete(a);
        d.configured = undefined;
        log(0, 'cannot add wireguard address again', { dev: name, address: a, ...failure(e) });
      }
    }
    log(3, 'wireguard device restarted, addresses added again', { dev: name });
  };

  return {
    set(list) {
      if (closed) return;
      wants = new Map(list.map((w) => [w.name, w]));
      schedule();
    },
    async settled() {
      for (;;) {
        const w = work;
        await w;
        if (w === work && !pending) return;
      }
    },
    names: () => [...made.keys()].sort(),
    want: (name) => wants.get(name),
    ready(name) {
      const d = made.get(name);
      const w = wants.get(name);
      return d?.configured !== undefined && w !== undefined && d.configured === wantKey(w);
    },
    state: (name) => states.get(name),
    async refresh() {
      await Promise.all(
        [...made.keys()].map(async (name) => {
          try {
            const dev = await wgctrl.getDevice(name);
            if (made.has(name)) states.set(name, dev);
          } catch (e) {
            states.delete(name);
            // gone from under us: the next set() makes it again
            const d = made.get(name);
            if (d && isCode(e, 'ERR_WG_NO_DEVICE')) d.configured = undefined;
            log(4, 'wireguard device not read', { dev: name, ...failure(e) });
          }
        }),
      );
    },
    restarted(name) {
      // after the running reconcile, so that the addresses read are the ones on the device
      const r = work
        .then(() => readd(name))
        .catch((e) => log(0, 'wireguard restart not handled', failure(e)));
      work = r;
      return r;
    },
    close() {
      if (closing) return closing;
      closed = true;
      wants = new Map();
      closing = work
        .then(async () => {
          for (const [name, d] of [...made]) await remove(name, d);
        })
        .catch((e) => log(0, 'wireguard devices not all deleted', failure(e)));
      work = closing;
      return closing;
    },
  };
}

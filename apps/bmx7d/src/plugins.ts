/**
 * bmx7d's plugins: the ones built in, their options in the daemon's option table (command line,
 * config file, `bmx7ctl -c`, help), and their settings handed to the engine's plugins. Plugins are
 * built into bmx7d, not loaded from files: every built-in plugin is attached at start, and its
 * options are in the table from the first word of the command line on (they are declared, so the
 * table exists before any plugin runs).
 */
import { type ChildOptionSpec, type ConfigState, OptionError, type OptionSpec } from '@bmx7/control';
import type { Engine, EnginePlugin, PluginOption, PluginSettings } from '@bmx7/core';
import {
  CRYPT_TUN_DEVICE_SUFFIX_LENGTH,
  CRYPT_TUN_OPTIONS,
  type CryptTunPlugin,
  createCryptTunPlugin,
} from '@bmx7/plugin-crypt-tun';
import { checkTunSettings, createTunPlugin, TUN_PLUGIN_OPTIONS, type TunComponents } from '@bmx7/plugin-tun';
import { createWgPlugin, type PqTransport, WG_PLUGIN_OPTIONS, type WgPlugin } from '@bmx7/plugin-wg';
import type { Wgctrl } from '@bmx7/wgctrl';
import { readSecretFile, WG_BACKEND_OPTION } from './linux/wireguard.js';
import { TOPOLOGY_PLUGIN } from './topology.js';

/** What the daemon knows of a plugin before it runs one: its name, its options and their check. */
export type PluginDeclaration = Pick<EnginePlugin, 'name' | 'options' | 'check'>;

/** A running plugin, with what the daemon awaits when it stops. */
export type DaemonPluginInstance = EnginePlugin & { close?(): Promise<void> };

/** What the daemon gives a built-in plugin. */
export interface DaemonServices {
  /** The tunnel data plane and the system port (the backend chosen by `tunBackend`). */
  tun(): TunComponents;
  /** The WireGuard control `wgBackend` chooses; undefined without WireGuard. */
  wgctrl(): Wgctrl | undefined;
  /** A plugin made before this one (built-in plugins are made in BUILTIN_PLUGINS order). */
  plugin(name: string): DaemonPluginInstance | undefined;
  /** The post-quantum PSK exchange's UDP socket (docs/pq-psk.md), opened when first asked. */
  pqTransport(): PqTransport;
}

/** A plugin bmx7d has: its declaration and how to make one. */
export interface DaemonPlugin extends PluginDeclaration {
  /** The tables it registers when attached (for the manual and bmx7ctl's completion; tested against the engine). */
  readonly tables?: readonly string[];
  create(services: DaemonServices): DaemonPluginInstance;
}

/** `tunBackend`: which data plane carries plain tunnels (bmx7d's own; the reference has only the kernel's). */
export const TUN_BACKEND_OPTION: PluginOption = {
  name: 'tunBackend',
  type: { kind: 'enum', values: ['auto', 'kernel', 'userspace'] },
  default: 'auto',
  when: 'init',
  help: "tunnel data plane: the kernel's ip6tnl, its userspace twin (a TUN device and raw sockets), or auto (the kernel's when the kernel has it)",
};

/**
 * The wg plugin: the node's WireGuard key in its description (docs/protocol.md §4.13) and the
 * WireGuard devices crypt-tun asks for.
 */
export const WG_PLUGIN: DaemonPlugin = {
  name: 'wg',
  options: [...WG_PLUGIN_OPTIONS, WG_BACKEND_OPTION],
  tables: ['wg'],
  check: (next) => createWgPlugin()({ readSecretFile }).check?.(next),
  create: (services) =>
    createWgPlugin()({
      readSecretFile,
      pqTransport: () => services.pqTransport(),
      wgctrl: () => services.wgctrl(),
      system: {
        addAddress: (dev, prefix) => services.tun().system.addAddress(dev, prefix),
        removeAddress: (dev, prefix) => services.tun().system.removeAddress(dev, prefix),
      },
    }),
};

/** crypt-tun: the tun plugin's tunnels in WireGuard, per node (cryptTun) and per network (/crypt). */
export const CRYPT_TUN_PLUGIN: DaemonPlugin = {
  name: 'crypt-tun',
  options: CRYPT_TUN_OPTIONS,
  check: (next) => createCryptTunPlugin()({ wg: createWgPlugin()({}) }).check?.(next),
  create: (services) => {
    const wg = services.plugin('wg') as WgPlugin | undefined;
    if (!wg) throw new Error('crypt-tun needs the wg plugin');
    return createCryptTunPlugin()({ wg });
  },
};

/** The tun plugin: the reference's tunDev, tunIn and tunOut (docs/protocol.md §4.14). */
export const TUN_PLUGIN: DaemonPlugin = {
  name: 'tun',
  options: [...TUN_PLUGIN_OPTIONS, TUN_BACKEND_OPTION],
  tables: ['tunnels'],
  // crypt-tun runs beside it: its device names count for tunDevName's limit too
  check: (next) =>
    checkTunSettings(next, {}, { crypt: true, derivedSuffixLength: CRYPT_TUN_DEVICE_SUFFIX_LENGTH }),
  create: (services) => {
    const crypt = services.plugin('crypt-tun') as CryptTunPlugin | undefined;
    const tun = createTunPlugin()({ ...services.tun(), ...(crypt ? { crypt: crypt.hook } : {}) });
    crypt?.bindTun(tun);
    return tun;
  },
};

/** The plugins built into bmx7d, attached at every start, in the order they are made and started. */
export const BUILTIN_PLUGINS: readonly DaemonPlugin[] = [
  WG_PLUGIN,
  CRYPT_TUN_PLUGIN,
  TUN_PLUGIN,
  TOPOLOGY_PLUGIN,
];

/** A plugin option as the daemon's option table holds it (order class 9, in config files, in help). */
export function optionSpecOf(plugin: string, o: PluginOption): OptionSpec {
  const children: ChildOptionSpec[] | undefined = o.children?.map((c) => ({
    name: c.name,
    ...(c.short === undefined ? {} : { short: c.short }),
    type: c.type,
    ...(c.default === undefined ? {} : { default: c.default }),
    ...(c.mandatory === undefined ? {} : { mandatory: c.mandatory }),
    relevance: 2,
    help: c.help,
  }));
  return {
    name: o.name,
    ...(o.short === undefined ? {} : { short: o.short }),
    type: o.type,
    ...(o.default === undefined ? {} : { default: o.default }),
    when: o.when ?? 'both',
    ...(o.multi ? { multi: true } : {}),
    ...(children ? { children } : {}),
    order: 9,
    relevance: 2,
    config: true,
    category: plugin,
    help: o.help,
  };
}

/** The options of these plugins, for the option table. */
export function pluginOptionSpecs(plugins: readonly PluginDeclaration[]): OptionSpec[] {
  return plugins.flatMap((p) => (p.options ?? []).map((o) => optionSpecOf(p.name, o)));
}

/** The settings of the plugins' options in a configuration state (absent: at the default). */
export function pluginSettings(state: ConfigState, plugins: readonly PluginDeclaration[]): PluginSettings {
  const out = new Map<string, PluginSettings extends ReadonlyMap<string, infer V> ? V : never>();
  for (const p of plugins) {
    for (const o of p.options ?? []) {
      const s = state.get(o.name);
      if (s !== undefined) out.set(o.name, s);
    }
  }
  return out;
}

/**
 * Asks each plugin whether it takes the settings of its options; a refusal is an OptionError naming
 * the first option of that plugin mentioned in the reason (exit 2 at start, an error reply at runtime).
 */
export function checkPluginSettings(state: ConfigState, plugins: readonly PluginDeclaration[]): void {
  for (const p of plugins) {
    let why: string | undefined;
    try {
      why = p.check?.(pluginSettings(state, [p]));
    } catch (e) {
      why = `plugin ${p.name}: ${(e as Error).message}`;
    }
    if (why === undefined) continue;
    const option = p.options?.find((o) => why.includes(o.name))?.name;
    throw new OptionError('bad-value', why, option === undefined ? {} : { option });
  }
}

/** A stable text of plugin settings, to tell whether a new configuration changed them. */
function settingsText(s: PluginSettings): string {
  return JSON.stringify([...s].map(([k, v]) => [k, v.kind === 'multi' ? [...v.instances] : v]));
}

/**
 * Gives the engine's plugins their settings when they differ from `before` (at start, `before` is
 * undefined and they always get them). Returns the settings given.
 */
export function configurePlugins(
  engine: Engine,
  state: ConfigState,
  plugins: readonly PluginDeclaration[],
  before?: PluginSettings,
): PluginSettings {
  const next = pluginSettings(state, plugins);
  if (before === undefined || settingsText(before) !== settingsText(next)) engine.configurePlugins(next);
  return next;
}

/**
 * bmx7d's plugins: the ones built in, their options in the daemon's option table (command line,
 * config file, `bmx7ctl -c`, help), and their settings handed to the engine's plugins. Plugins are
 * built into bmx7d, not loaded from files: every built-in plugin is attached at start, and its
 * options are in the table from the first word of the command line on.
 */
import { type ChildOptionSpec, type ConfigState, OptionError, type OptionSpec } from '@bmx7/control';
import type { Engine, EnginePlugin, PluginOption, PluginSettings } from '@bmx7/core';

/** A plugin bmx7d has: its name and how to make one. */
export interface DaemonPlugin {
  readonly name: string;
  create(): EnginePlugin;
}

/** The plugins built into bmx7d (the tunnel plugins join this list). */
export const BUILTIN_PLUGINS: readonly DaemonPlugin[] = [];

/** One instance of every built-in plugin. */
export function createBuiltinPlugins(): EnginePlugin[] {
  return BUILTIN_PLUGINS.map((p) => p.create());
}

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
export function pluginOptionSpecs(plugins: readonly EnginePlugin[]): OptionSpec[] {
  return plugins.flatMap((p) => (p.options ?? []).map((o) => optionSpecOf(p.name, o)));
}

/** The settings of the plugins' options in a configuration state (absent: at the default). */
export function pluginSettings(state: ConfigState, plugins: readonly EnginePlugin[]): PluginSettings {
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
export function checkPluginSettings(state: ConfigState, plugins: readonly EnginePlugin[]): void {
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
  plugins: readonly EnginePlugin[],
  before?: PluginSettings,
): PluginSettings {
  const next = pluginSettings(state, plugins);
  if (before === undefined || settingsText(before) !== settingsText(next)) engine.configurePlugins(next);
  return next;
}

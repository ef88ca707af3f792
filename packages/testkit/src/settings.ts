/**
 * Plugin settings written as a plain object, for tests of plugins:
 * `pluginSettings({ tunDev: { dflt: { tun6Address: 'fdaa:1::1/64' } }, cryptTun: 2 })` gives an
 * instance option (an object of instances and their children) or a single option (a value).
 */
import type { PluginChildValues, PluginSetting, PluginSettings } from '@bmx7/core';

export type PlainPluginSettings = Record<string, Record<string, PluginChildValues> | string | number>;

export function pluginSettings(s: PlainPluginSettings): PluginSettings {
  const out = new Map<string, PluginSetting>();
  for (const [k, v] of Object.entries(s))
    out.set(
      k,
      typeof v === 'object'
        ? { kind: 'multi', instances: new Map(Object.entries(v)) }
        : { kind: 'single', value: v, children: {} },
    );
  return out;
}

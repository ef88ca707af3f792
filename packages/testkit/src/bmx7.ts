/**
 * The real engine as a simulation node: `createBmx7Factory()` plugs `@bmx7/core`'s
 * `createEngine(init)(components)` into `createSimulation`, with test keys by node name (the
 * same at every restart, so a restarted node keeps its identity), per-node options and plugins,
 * and plugin files that survive restarts (`persistent.get('files')`).
 */
import {
  createEngine,
  type Engine,
  type EngineComponents,
  type EngineInit,
  type EnginePlugin,
} from '@bmx7/core';
import { RSA1024 } from '@bmx7/crypto';
import { createMemoryFiles, type MemoryFiles } from './files.js';
import { testRsaKey } from './keys.js';
import { createMemoryRules, type MemoryRules } from './rules.js';
import type { EngineFactory, SimInstance, SimNodeContext } from './simulation.js';

export interface Bmx7Instance extends SimInstance {
  engine: Engine;
  /** The plugins attached to this incarnation. */
  plugins: EnginePlugin[];
  /** The node's policy rules (plugins set them). */
  rules: MemoryRules;
}

export interface Bmx7FactoryOptions {
  /** Engine options for a node (the key is supplied; hostname defaults to the node name). */
  init?: (name: string, ctx: SimNodeContext) => Partial<Omit<EngineInit, 'nodeKey'>>;
  /** Plugins for a node's engine, attached before it starts (called again at each restart). */
  plugins?: (name: string, components: EngineComponents, ctx: SimNodeContext) => EnginePlugin[];
  /** Node key type (default 4, RSA1024: the fastest to make that the reference accepts). */
  nodeKeyType?: number;
  /** Where test keys are cached (see testRsaKey); false for no disk cache. */
  keyCacheDir?: string | false;
}

export function createBmx7Factory(options: Bmx7FactoryOptions = {}): EngineFactory<Bmx7Instance> {
  return (name, components, ctx) => {
    const extra = options.init?.(name, ctx) ?? {};
    const cache = options.keyCacheDir === undefined ? {} : { cacheDir: options.keyCacheDir };
    const linkType = extra.linkRsaKey ?? RSA1024;
    const init: EngineInit = {
      hostname: name,
      ...(linkType === 0
        ? {}
        : { linkRsaKeyMaterial: testRsaKey(`link:${name}`, { type: linkType, ...cache }) }),
      ...extra,
      nodeKey: testRsaKey(`node:${name}`, { type: options.nodeKeyType ?? RSA1024, ...cache }),
    };
    // a node's plugin files outlive its engines, as the state directory outlives a daemon
    let files = ctx.persistent.get('files') as MemoryFiles | undefined;
    if (!files) {
      files = createMemoryFiles();
      ctx.persistent.set('files', files);
    }
    // a policy-rule table per node, kept across restarts like the routing tables
    let rules = ctx.persistent.get('rules') as MemoryRules | undefined;
    if (!rules) {
      rules = createMemoryRules();
      ctx.persistent.set('rules', rules);
    }
    const engine = createEngine(init)({ ...components, files, rules });
    const plugins = options.plugins?.(name, components, ctx) ?? [];
    for (const p of plugins) engine.use(p);
    return { engine, primaryAddress: engine.primaryIp, plugins, rules };
  };
}

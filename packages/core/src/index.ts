export * from './config.js';
export {
  type CreditMatrix,
  type CreditSetting,
  type CreditSettings,
  creditAcronym,
  creditMatrix,
  parseCreditAcronym,
} from './credits.js';
export { createEngine, type Engine, type PluginComponents } from './engine.js';
export { IidRepo } from './iids.js';
export * from './links.js';
export * from './metrics.js';
export * from './ogms.js';
export type * from './plugin.js';
export {
  CORE_TABLES,
  CORE_TLV_TYPES,
  type FilesPort,
  PluginError,
  type PluginErrorCode,
} from './plugin-host.js';
export type * from './ports.js';
export { ipFamily, RouteExport, RuleExport, routeIdentity, ruleIdentity } from './routes.js';
export * from './selection.js';
export { type EngineCounters, KEY_STATE, type KeyState } from './state.js';
export {
  DROP_REASONS,
  type DropReason,
  type EngineTraffic,
  FRAME_TYPES,
  type FrameCounts,
} from './traffic.js';

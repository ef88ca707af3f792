export type { Bmx7FactoryOptions, Bmx7Instance } from './bmx7.js';
export { createBmx7Factory } from './bmx7.js';
export type { RouteReport, RouteView } from './checks.js';
export { checkRoutes } from './checks.js';
export type { ClockScope, RunUntilIdleOptions, RunUntilOptions, VirtualClock } from './clock.js';
export { createVirtualClock } from './clock.js';
export type { ClockUnderTest, RoutesUnderTest, RulesUnderTest, StorageUnderTest } from './compliance.js';
export {
  describeClockCompliance,
  describeRoutesCompliance,
  describeRulesCompliance,
  describeStorageCompliance,
} from './compliance.js';
export type { RouteProblem, TestkitErrorCode } from './errors.js';
export {
  describeProblem,
  RoutingCheckError,
  SimCallbackError,
  SimTimeoutError,
  TestkitError,
} from './errors.js';
export type { Greeter, GreeterInit } from './example-plugin.js';
export { createGreeter, GREETER_OPTIONS, GREETING_TLV } from './example-plugin.js';
export type { FilesUnderTest, MemoryFiles } from './files.js';
export { createMemoryFiles, describeFilesCompliance } from './files.js';
export { canonicalIPv6, formatIPv6, parseIPv6 } from './ipv6.js';
export type { TestKeyOptions } from './keys.js';
export { defaultKeyCacheDir, testRsaKey } from './keys.js';
export type { LogLine, MemoryLogger, MemoryLoggerInit } from './logger.js';
export { createMemoryLogger, formatLogLine } from './logger.js';
export type {
  DirectedLink,
  Endpoint,
  LinkCounters,
  LinkParams,
  NodeCounters,
  PacketEvent,
  Receiver,
  Segment,
  SimIface,
  SimNetwork,
  SimNetworkInit,
} from './network.js';
export { createSimNetwork, DEFAULT_LINK_PARAMS, MAX_DATAGRAM } from './network.js';
export type { PcapTap, PcapTapOptions } from './pcap.js';
export { tapPcap } from './pcap.js';
export type { SeededRandom } from './random.js';
export { createSeededRandom } from './random.js';
export type { MemoryRoutes, MemoryRoutesInit, RouteChange } from './routes.js';
export { createMemoryRoutes, DEFAULT_ROUTE_TABLE } from './routes.js';
export type { MemoryRules, RuleChange } from './rules.js';
export { createMemoryRules } from './rules.js';
export { type PlainPluginSettings, pluginSettings } from './settings.js';
export type {
  ChurnOptions,
  EngineFactory,
  IfaceSpec,
  SimInstance,
  SimNode,
  SimNodeContext,
  Simulation,
  SimulationInit,
  TopologyOptions,
  WaitConvergedOptions,
} from './simulation.js';
export { createSimulation } from './simulation.js';
export type { MemoryStorage } from './storage.js';
export { createMemoryStorage } from './storage.js';
export type { Edge, GeometricTopology, Topology } from './topology.js';
export {
  gridTopology,
  isConnected,
  lineTopology,
  nodeNames,
  randomGeometricTopology,
  ringTopology,
} from './topology.js';
export type { ToyEngine, ToyEngineInit, ToyRoute } from './toy-engine.js';
export { createToyEngine } from './toy-engine.js';

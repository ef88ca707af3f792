export type { KernelBackendOptions } from './dataplane/kernel.js';
export {
  createKernelBackend,
  KERNEL_TUNNEL_HOP_LIMIT,
  kernelTunnelsAvailable,
  kernelTunnelsUnavailableReason,
} from './dataplane/kernel.js';
export type {
  MemoryBackend,
  MemoryBackendOptions,
  MemoryTunnelDevice,
  MemoryTunnelNamespace,
} from './dataplane/memory.js';
export {
  createMemoryBackend,
  createMemoryTunnelNamespace,
  linkMemoryTunnelNamespaces,
} from './dataplane/memory.js';
export type {
  Tunnel,
  TunnelBackend,
  TunnelBackendKind,
  TunnelCounters,
  TunnelErrorCode,
  TunnelSpec,
} from './dataplane/types.js';
export { TunnelError } from './dataplane/types.js';
export type { UserspaceBackend, UserspaceBackendOptions } from './dataplane/userspace.js';
export { createUserspaceBackend } from './dataplane/userspace.js';
export type {
  AnnouncedTunDev,
  TunnelContributions,
} from './description.js';
export { bandwidthFm8, tunnelContributions, tunnelEndpoint } from './description.js';
export type {
  CandidateRef,
  CryptTerms,
  ExplainedCandidate,
  ExplainedTerms,
  ExplainInput,
  RuleCode,
  SearchExplanation,
  TunnelsExplanation,
} from './explain.js';
export { cryptText, explainSelection } from './explain.js';
export {
  IFNAME_MAX,
  OUT_DEVICE_SUFFIX_LENGTH,
  outDeviceName,
  SHORT_ID_DIGITS,
  TUN_DEV_NAME_MAX,
  tunDevNameLimit,
} from './names.js';
export type { Family, Prefix } from './net.js';
export { parsePrefix, prefixToString } from './net.js';
export type {
  CryptLevel,
  DevAddress,
  ParseTunOptions,
  TunConfig,
  TunDevConfig,
  TunInConfig,
  TunOutConfig,
} from './options.js';
export {
  BANDWIDTH_MAX,
  BANDWIDTH_MIN,
  DEFAULT_TUN_DEV_NAME,
  MAX_TUN_DEVS,
  parseBandwidth,
  parseTunSettings,
  TUN_PLUGIN_OPTIONS,
  TunConfigError,
} from './options.js';
export type {
  TunComponents,
  TunCryptHook,
  TunnelCarrier,
  TunPlugin,
  TunPluginInit,
  TunSystemPort,
} from './plugin.js';
export { checkTunSettings, createTunPlugin } from './plugin.js';
export type {
  ActiveTunnel,
  AnnouncedNet,
  Candidate,
  DetailedSelection,
  Elimination,
  ExclusionCode,
  GatewayAnnouncement,
  SearchResult,
  SelectionInput,
  SelectionResult,
} from './selection.js';
export {
  effectiveMinBandwidth,
  matchingTunDev,
  netMatches,
  netMismatch,
  selectDetailed,
  selectGateways,
  tunnelMetric,
} from './selection.js';
export type { TunnelDevice, TunnelRowsOptions } from './tables.js';
export { TUNNELS_COLUMNS, tunnelRows } from './tables.js';

// @mcp-j/engine/core: everything but the library transport, whose MCP SDK import costs ~90 ms of
// start-up that the mcp-j command (on every MCP server's start path) does not need.
export { EXIT } from "./exit-codes.js";
export * from "./policy/index.js";
export * from "./jail/index.js";
export * from "./audit/index.js";
export * from "./environment/index.js";
export {
  planResources,
  MSGQUEUE_BYTES,
  detectCgroupV2,
  userManager,
  ResourceLimitUnavailableError,
  type CgroupEvent,
  type CgroupSupport,
  type JailCgroup,
  type ResourceLimits,
  type ResourcePlan,
} from "./cgroup/index.js";
export {
  startEgressProxy,
  proxyEnvironment,
  parseAllowEntry,
  AllowParseError,
  jailNetwork,
  dnsRefusalLine,
  type EgressEvent,
  type EgressOptions,
  type EgressProxy,
  type JailNetwork,
} from "./egress/index.js";
export * as seccomp from "./seccomp/index.js";
export { decodeEvent, denialReporter, formatDenial, networkRefusalNote, type SupervisorEvent, type SupervisorSyscall } from "./supervisor/index.js";
export { EGRESS_PORT, prepareJail, startJail, type PrepareOptions, type PreparedJail } from "./launch.js";
export { TRACE, traceMark, traceNodeStart } from "./trace.js";
export { HostFileError, readOwnFile, writeOwnFile } from "./host-file.js";
export { engineDir } from "./engine-dir.js";
export * from "./footprint/index.js";

// Public policy API (re-exported by the engine's index).
export * from "./schema.js";
export { PolicyError, formatIssues, formatPath, knownKeys, type PolicyErrorCode } from "./errors.js";
export { parseSize, parseDuration } from "./size.js";
export { blankJsonComments, parseConfigText, detectFormat, type ConfigFormat } from "./jsonc.js";
export { parseRunArgs, helpText, FLAGS, type RunArgs } from "./flags.js";
export {
  resolvePolicy,
  resolvePolicyLayers,
  originOf,
  mergePolicyInputs,
  normalizeGrant,
  normalizeDeny,
  splitGrant,
  expandHome,
  absolutizePaths,
  readPolicyFile,
  type ResolveArgs,
  type PolicyLayer,
} from "./resolve.js";
export {
  BUILTIN_PROFILES,
  JAIL_HOME,
  builtinProfile,
  isBuiltinProfile,
  nodeProfile,
  pythonProfile,
  npxProfile,
  npmRegistry,
  npxCacheDir,
  npxCacheRoot,
  configHost,
  whichSync,
  type ProfileContext,
} from "./profiles/index.js";
export {
  policyJsonSchema,
  policyJsonSchemaText,
  policyReferenceMarkdown,
  policyReferenceRows,
  spliceReadme,
  README_START,
  README_END,
} from "./docs.js";
export { installHostFiles, policyHostFiles, refuseHostFilesInGrants, serversHostFiles, type HostFile } from "./host-files.js";
export { resolveRun, serverKey, runtimeOf, commandNeeds, type RunRequest, type ResolvedRun, type Runtime } from "./infer.js";
export { realOr, tooWide, underSystem } from "./profiles/common.js";
export { loadNamedServer, listNamedServers, serversConfigPath, ServerEntrySchema, type NamedServer, type NamedServerOptions } from "./servers.js";
export { learnPolicy, grantViews, type LearnInput, type LearnedPolicy, type GrantView } from "./learn.js";
export { diffPolicies, formatPolicyDiff, type PolicyChange } from "./diff.js";

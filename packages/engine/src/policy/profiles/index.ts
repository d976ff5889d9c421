// Built-in profiles: policy layers computed on this machine at resolve time, so they grant exactly the
// runtime that will run (no hard-coded prefixes, no hard-coded registry). Users extend them with
// `extends: node` in a policy file or `--profile node` on the command line; with neither, run.ts
// infers them from the command (infer.ts). One module per profile:
//
//   node    node.ts    the Node runtime the command names
//   python  python.ts  the interpreter the command names (pyenv shims followed: pyenv.ts), its
//                      prefix and venv, learned by reading files, never by running Python
//   npx     npx.ts     node + npm, a per-server npm cache, egress to the user's registry (npmrc.ts)
//
// Nothing here executes a program or reads the start directory's configuration (docs/design.md, rule 1);
// a value from a configuration file becomes an allowlist entry only as a host name (config-host.ts).
import type { PolicyInput } from "../schema.js";
import { nodeProfile } from "./node.js";
import { pythonProfile } from "./python.js";
import { npxProfile } from "./npx.js";
import type { ProfileContext } from "./common.js";

export { JAIL_HOME, homeOf, whichSync, type ProfileContext } from "./common.js";
export { nodeProfile, nodeRuntime, isNodeName } from "./node.js";
export { pythonProfile, pythonRuntime, pythonPrefix, findPython, isPythonName, readPyvenvCfg } from "./python.js";
export { npxProfile, npmRegistry, npxCacheDir, npxCacheRoot } from "./npx.js";
export { configHost, type ConfigValue } from "./config-host.js";
export { clearRuntimeCache } from "./runtime-cache.js";

export const BUILTIN_PROFILES = ["node", "python", "npx"] as const;
export type BuiltinProfile = (typeof BUILTIN_PROFILES)[number];

export function isBuiltinProfile(name: string): name is BuiltinProfile {
  return (BUILTIN_PROFILES as readonly string[]).includes(name);
}

export async function builtinProfile(name: BuiltinProfile, ctx: ProfileContext): Promise<PolicyInput> {
  switch (name) {
    case "node":
      return nodeProfile(ctx);
    case "python":
      return pythonProfile(ctx);
    case "npx":
      return npxProfile(ctx);
  }
}

// `mcp-j policy check FILE`: what a run will check before the server starts, without a command or a
// jail, each problem named by the file and field it comes from (or the flag that was typed):
//   grants      the path exists, the destination is a jail path the jail does not build itself
//   exec        each filesystem.exec entry is a file the jail sees on a read-only mount
//   cwd         filesystem.cwd is a directory inside the jail
//   secrets     each env.secrets value can be read (file) or is set (variable)
// The same functions as the run (grants.ts, layout.ts, exec.ts, environment.ts). The schema itself
// (network.allow entries included: the allowlist's own grammar) is checked by resolvePolicy.
import { statSync } from "node:fs";
import { PolicyError } from "../policy/errors.js";
import { normalizeGrant, originOf, resolvePolicyLayers, type PolicyLayer } from "../policy/resolve.js";
import type { ResolvedPolicy } from "../policy/schema.js";
import { parseSize } from "../policy/size.js";
import { jailEnvironment } from "./environment.js";
import { JailError } from "./errors.js";
import { execEntryProblem } from "./exec.js";
import { resolveGrant, type Grant } from "./grants.js";
import { baseLayout, grantLayout } from "./layout.js";
import { jailToHost } from "./paths.js";

/** Directories every jail has before any grant. */
const BUILT_DIRS = ["/", "/tmp", "/etc", "/dev", "/proc"];

function jailDirectory(mounts: Parameters<typeof jailToHost>[0], p: string): boolean {
  if (BUILT_DIRS.includes(p)) return true;
  const host = jailToHost(mounts, p);
  try {
    return host !== null && statSync(host).isDirectory();
  } catch {
    return false;
  }
}

/** Every problem a run of this policy would stop at (or silently drop), one line each. */
export function checkPolicy(policy: ResolvedPolicy, layers: readonly PolicyLayer[], ctx: { cwd: string; env: NodeJS.ProcessEnv }): string[] {
  const problems: string[] = [];
  const grants: Grant[] = [];
  for (const key of ["ro", "rw"] as const) {
    policy.filesystem[key].forEach((g, i) => {
      try {
        grants.push(resolveGrant(normalizeGrant(g, ctx.cwd, ctx.env, `filesystem.${key}[${i}]`), key === "rw"));
      } catch (e) {
        if (!(e instanceof JailError)) throw e;
        problems.push(e.message);
      }
    });
  }
  const { mounts } = grantLayout(baseLayout(parseSize(policy.limits.tmpSize), { certs: policy.network.allow.length > 0, resolver: true }, parseSize(policy.limits.memory)), grants);

  for (const e of policy.filesystem.exec) {
    const why = execEntryProblem(e, mounts, grants);
    if (why !== null) problems.push(`${originOf(layers, ["filesystem", "exec"], (v) => v === e)}: ${e} ${why}`);
  }

  const cwd = policy.filesystem.cwd;
  if (cwd !== undefined && !jailDirectory(mounts, cwd)) {
    problems.push(`${whereScalar(layers, "cwd")}: ${cwd} is not a directory inside the jail (grant it, or a directory above it)`);
  }

  policy.env.secrets.forEach((s) => {
    try {
      jailEnvironment({ ...policy, env: { pass: [], set: {}, secrets: [s] } }, ctx.env, ctx.cwd);
    } catch (e) {
      if (!(e instanceof JailError)) throw e;
      problems.push(`${originOf(layers, ["env", "secrets"], (v) => (v as { name?: unknown }).name === s.name)}: ${e.message}`);
    }
  });

  return problems;
}

/** The last layer that sets filesystem.cwd (later layers win), as "policy.yaml: filesystem.cwd". */
function whereScalar(layers: readonly PolicyLayer[], key: "cwd"): string {
  for (const l of [...layers].reverse()) {
    const fs = l.input.filesystem as Record<string, unknown> | undefined;
    if (fs !== undefined && fs[key] !== undefined) return l.commandLine ? `--${key}` : `${l.source}: filesystem.${key}`;
  }
  return `filesystem.${key}`;
}

/**
 * Validates a policy file (with what it extends) as a run would: the schema, then checkPolicy.
 * Throws PolicyError(E_POLICY) listing every problem.
 */
export async function checkPolicyFile(file: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ResolvedPolicy> {
  const ctx = { cwd: opts.cwd ?? process.cwd(), env: opts.env ?? process.env };
  const { policy, layers } = await resolvePolicyLayers({ policyFile: file, profiles: [], overlay: {}, ...ctx });
  const problems = checkPolicy(policy, layers, ctx);
  if (problems.length > 0) throw new PolicyError("E_POLICY", problems);
  return policy;
}

// Resource limits for the jail: a cgroup v2 subtree when this machine has a usable one, rlimits
// otherwise (docs/design.md, "Resources"; issue 5). planResources is called before the jail is spawned;
// the C helper then clones the jail into plan.cgroup.path (CLONE_INTO_CGROUP, O_PATH|O_DIRECTORY fd)
// and applies plan.rlimits. See detect.ts for where the cgroup goes and why.
import { detectCgroupV2, kernelHasCgroupKill, REQUIRED_CONTROLLERS, type DetectOptions } from "./detect.js";
import { createJailCgroup } from "./jail-cgroup.js";
import { probeUserScope, userManager, userScopePlan } from "./user-scope.js";
import { baseRlimits, fallbackRlimits, validateLimits, weakerLine } from "./rlimits.js";
import type { CgroupSupport, ResourceLimits, ResourcePlan } from "./types.js";

export type { CgroupEvent, CgroupRoute, CgroupSupport, JailCgroup, ResourceLimits, ResourcePlan, Rlimit } from "./types.js";
export { detectCgroupV2, isRootCgroup, kernelHasCgroupKill, REQUIRED_CONTROLLERS, type DetectOptions } from "./detect.js";
export { CgroupHandle, CgroupSetupError, createJailCgroup, validJailId, type CreateOptions } from "./jail-cgroup.js";
export { afterEnvI, probeUserScope, userManager, userScopePlan, type UserScopePlan } from "./user-scope.js";
export { collectOrphans, ownedName, ownerAlive, parseOwnedName, selfOwner, type Owner } from "./orphans.js";
export { DATA_HEADROOM, MSGQUEUE_BYTES, baseRlimits, fallbackRlimits, weakerLine } from "./rlimits.js";
export * from "./parse.js";

/** --strict and no way to enforce the limits as asked: mcp-j refuses to start. */
export class ResourceLimitUnavailableError extends Error {
  override readonly name = "ResourceLimitUnavailableError";
  readonly code = "MCPJ_NO_CGROUP_V2";
  constructor(
    message: string,
    readonly support: CgroupSupport,
  ) {
    super(message);
  }
}

export interface PlanOptions {
  jailId: string;
  strict: boolean;
  /** Whose delegation counts (default: the effective uid). */
  uid?: number;
  /** Test override: use this cgroup directory as mcp-j's own cgroup. */
  cgroupRoot?: string;
  /** Root only: mcp-j's own cgroup is delegated to it (Delegate=yes); see detect.ts, "leaf". */
  delegated?: boolean;
  /** Tests: detection inputs (fixture mountinfo and /proc/self/cgroup). */
  detect?: DetectOptions;
  /** mcp-j's environment (XDG_RUNTIME_DIR finds the user manager); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long the user manager may take to answer the probe (default 10 s). */
  scopeTimeoutMs?: number;
  /** Event poll interval / fs.watch switch (tests). */
  pollMs?: number;
  useWatch?: boolean;
}

export async function planResources(limits: ResourceLimits, opts: PlanOptions): Promise<ResourcePlan> {
  validateLimits(limits);
  const d: DetectOptions = { ...opts.detect };
  if (opts.uid !== undefined) d.uid = opts.uid;
  if (opts.cgroupRoot !== undefined) d.cgroupRoot = opts.cgroupRoot;
  if (opts.delegated !== undefined) d.delegated = opts.delegated;
  const support = detectCgroupV2(d);
  let reason = support.reason;
  if (support.usable) {
    const wantCpu = limits.cpus !== undefined;
    const cpuOk = support.controllers.includes("cpu");
    if (wantCpu && !cpuOk && opts.strict) {
      throw new ResourceLimitUnavailableError(`mcp-j: --cpus ${limits.cpus} cannot be enforced: the cpu controller is not available in ${support.parentDir} (controllers: ${support.controllers.join(" ")}); refusing to start (--strict)`, support);
    }
    try {
      const cgroup = await createJailCgroup({
        route: support.route,
        parentDir: support.parentDir,
        jailId: opts.jailId,
        limits,
        controllers: [...REQUIRED_CONTROLLERS, ...(wantCpu && cpuOk ? ["cpu"] : [])],
        hasKill: support.hasKill,
        ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
        ...(opts.useWatch !== undefined ? { useWatch: opts.useWatch } : {}),
      });
      const plan: ResourcePlan = { kind: "cgroup", cgroup, rlimits: baseRlimits(limits) };
      if (wantCpu && !cpuOk) plan.warning = `mcp-j: warning: --cpus ${limits.cpus} is not enforced: the cpu controller is not available in ${support.parentDir}`;
      return plan;
    } catch (e) {
      reason = `creating the jail cgroup failed: ${(e as Error).message}`;
    }
  }
  // No route from our own cgroup: an unprivileged user's systemd manager makes one (user-scope.ts).
  const manager = !support.usable && opts.cgroupRoot === undefined ? userManager(opts.env ?? process.env, d.uid) : undefined;
  if (manager?.available) {
    const probe = await probeUserScope(manager.runtimeDir, REQUIRED_CONTROLLERS, opts.scopeTimeoutMs ?? 10_000);
    if (probe.refused === null) {
      const cpuOk = probe.controllers.includes("cpu");
      if (limits.cpus !== undefined && !cpuOk && opts.strict) {
        throw new ResourceLimitUnavailableError(`mcp-j: --cpus ${limits.cpus} cannot be enforced: the systemd user manager's scopes have no cpu controller; refusing to start (--strict)`, support);
      }
      const scope = userScopePlan({ jailId: opts.jailId, runtimeDir: manager.runtimeDir, limits, controllers: probe.controllers, hasKill: kernelHasCgroupKill() });
      const plan: ResourcePlan = { kind: "scope", scope, rlimits: baseRlimits(limits) };
      if (limits.cpus !== undefined && !cpuOk) plan.warning = `mcp-j: warning: --cpus ${limits.cpus} is not enforced: the systemd user manager's scopes have no cpu controller`;
      return plan;
    }
    reason = `${reason}; ${probe.refused}`;
  } else if (manager !== undefined) reason = `${reason}; ${manager.reason}`;
  if (opts.strict) {
    throw new ResourceLimitUnavailableError(`mcp-j: no usable cgroup v2 (${reason}); refusing to start with weaker rlimits (--strict)`, support);
  }
  // A host without cgroup v2 is routine and doctor explains it; a cgroup that could not be made
  // where one should have been is not, and the line says why.
  const weaker = support.usable ? `${weakerLine(limits)}: ${reason}` : weakerLine(limits);
  return { kind: "rlimit", rlimits: fallbackRlimits(limits), weaker, reason };
}

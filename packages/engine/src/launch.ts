// Everything between a resolved policy and a started jail, shared by the CLI, the library
// transport and the jail tests, so that all three run exactly the same jail:
// policy → resources (cgroup or rlimits) → seccomp program → plan → Jail.
import type { Policy } from "./policy/schema.js";
import { compileJailPlan, type CompiledJail, type PlanContext } from "./jail/compile-plan.js";
import { Jail, type StdioMode } from "./jail/jail.js";
import { proxyEnvironment, userNoProxy } from "./egress/env.js";
import { compileFilter, hostArch } from "./seccomp/index.js";

/** Where the egress proxy listens inside the jail's own network namespace (nothing else is there). */
export const EGRESS_PORT = 3128;

export interface PrepareOptions {
  policy: Policy;
  command: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** The seccomp program: undefined compiles it from the policy (the default: the filter with
   * user notification on); null leaves it out (and with it the supervisor). */
  seccomp?: Buffer | null;
  /** false: the filter without user notification (no supervisor decisions, no per-syscall audit;
   * the deny tables still apply). For benchmarks and comparisons only. Default true. */
  supervise?: boolean;
  rlimits?: PlanContext["rlimits"];
  cgroup?: string | null;
  extraEnv?: Record<string, string>;
}

export interface PreparedJail extends CompiledJail {
  network: boolean;
}

export function prepareJail(o: PrepareOptions): PreparedJail {
  const network = o.policy.network.allow.length > 0;
  const supervise = o.supervise !== false;
  const fs = o.policy.filesystem;
  const seccomp =
    o.seccomp !== undefined
      ? o.seccomp
      : compileFilter({
          arch: hostArch(),
          notify: supervise,
          // Deny rules cover every path call; a grant may hold a host unix socket that datagrams
          // could reach. Without them, the kernel layers decide what the supervisor would.
          supervisePaths: fs.deny.length > 0,
          superviseSendmsg: fs.ro.length + fs.rw.length > 0,
        });
  const compiled = compileJailPlan(o.policy, o.command, {
    cwd: o.cwd,
    env: o.env,
    uid: o.uid ?? process.getuid?.() ?? 65534,
    gid: o.gid ?? process.getgid?.() ?? 65534,
    netListenPort: network ? EGRESS_PORT : 0,
    // The egress proxy's variables come with the network: every caller of prepareJail gets them.
    extraEnv: {
      ...(network ? proxyEnvironment(EGRESS_PORT, { allow: o.policy.network.allow, noProxy: userNoProxy(o.policy.env, o.env) }) : {}),
      ...o.extraEnv,
    },
    seccomp,
    supervise: seccomp !== null && supervise,
    deputySeccomp: compileFilter({ arch: hostArch(), notify: false, role: "deputy" }),
    rlimits: o.rlimits,
    cgroup: o.cgroup ?? null,
  });
  return { ...compiled, network };
}

export function startJail(p: PreparedJail, stdio: { stdin?: StdioMode; stdout?: StdioMode; stderr?: StdioMode } = {}): Jail {
  return Jail.start({ plan: p.plan, ...stdio, receiveListener: p.network });
}

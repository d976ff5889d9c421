// Everything between a resolved policy and a started jail, shared by the CLI, the library
// transport and the jail tests, so that all three run exactly the same jail:
// policy → resources (cgroup or rlimits) → seccomp program → plan → Jail.
import type { Policy } from "./policy/schema.js";
import { parseSize } from "./policy/size.js";
import type { JailPlan, MemoryWatch } from "./jail/plan.js";
import { compileJailPlan, type CompiledJail, type PlanContext } from "./jail/compile-plan.js";
import { Jail, type StdioMode } from "./jail/jail.js";
import { proxyEnvironment, userNoProxy } from "./egress/env.js";
import { compileFilter, hostArch } from "./seccomp/index.js";
import { traceMark } from "./trace.js";
import { resolveGrants } from "./jail/grants.js";
import { denyManagerSockets } from "./jail/manager-sockets.js";

/** Where the egress proxy listens inside the jail's own network namespace (nothing else is there). */
export const EGRESS_PORT = 3128;
/** Where the proxy takes the connections the supervisor redirects (docs/design.md, "Network"). */
export const REDIRECT_PORT = 3129;
/** The jail's resolver, on its 127.0.0.1 (resolv.conf cannot name another port). */
export const DNS_PORT = 53;

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
  /** The supervisor's whole-jail memory limit: undefined watches the policy's memory limit when
   * there is no cgroup (which holds it otherwise); null turns it off (benchmarks). */
  memoryWatch?: MemoryWatch | null;
  /** The jail gets a resolver (its socket, resolv.conf) that the caller serves (egress/resolver.ts).
   * Default: when the policy allows any host. The mcp-j command always serves one, so that a name
   * look-up of a jail without network is refused, audited and explained. */
  resolver?: boolean;
  /** The supervisor reports allowed decisions too, not only when an audit log records them (learn
   * mode and pinning build footprints from them). */
  reportAllowed?: boolean;
}

/** How often the supervisor adds up the jail's memory without a cgroup (a quarter of it near the
 * limit): bench/memwatch.bench.mjs measures the cost and how far a fast allocator gets past it. */
export const MEMORY_WATCH_INTERVAL_MS = 50;

export interface PreparedJail extends CompiledJail {
  network: boolean;
  resolver: boolean;
}

export function prepareJail(input: PrepareOptions): PreparedJail {
  traceMark("plan.start");
  const o = { ...input, policy: withManagerSocketsDenied(input) };
  const network = o.policy.network.allow.length > 0;
  const supervise = o.supervise !== false;
  const resolver = o.resolver ?? network;
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
  traceMark("plan.seccomp_compiled");
  const deputySeccomp = compileFilter({ arch: hostArch(), notify: false, role: "deputy" });
  const compiled = compileJailPlan(o.policy, o.command, {
    cwd: o.cwd,
    env: o.env,
    uid: o.uid ?? process.getuid?.() ?? 65534,
    gid: o.gid ?? process.getgid?.() ?? 65534,
    netListenPort: network ? EGRESS_PORT : 0,
    netRedirectPort: network && supervise && seccomp !== null ? REDIRECT_PORT : 0,
    netDnsPort: resolver ? DNS_PORT : 0,
    // The egress proxy's variables come with the network: every caller of prepareJail gets them.
    extraEnv: {
      ...(network ? proxyEnvironment(EGRESS_PORT, { allow: o.policy.network.allow, noProxy: userNoProxy(o.policy.env, o.env) }) : {}),
      ...o.extraEnv,
    },
    seccomp,
    supervise: seccomp !== null && supervise,
    reportAllowed: o.reportAllowed === true,
    deputySeccomp,
    rlimits: o.rlimits,
    memoryWatch:
      o.memoryWatch !== undefined
        ? o.memoryWatch
        : (o.cgroup ?? null) === null
          ? { limitBytes: parseSize(o.policy.limits.memory), intervalMs: MEMORY_WATCH_INTERVAL_MS }
          : null,
    cgroup: o.cgroup ?? null,
  });
  traceMark("plan.compiled");
  return { ...compiled, network, resolver };
}

/** The policy with the user manager's and the buses' sockets denied where a grant holds them (manager-sockets.ts). */
function withManagerSocketsDenied(o: PrepareOptions): Policy {
  let grants: string[];
  try {
    grants = resolveGrants(o.policy, o.cwd, o.env).map((g) => g.src);
  } catch {
    return o.policy; // compileJailPlan reports the grant that cannot be resolved
  }
  return denyManagerSockets(o.policy, grants, o.env, process.geteuid?.() ?? 0);
}

/**
 * @param wrap start the helper through a command (a user manager's scope), with its plan written
 * once `planFor` has it (cgroup/user-scope.ts).
 */
export function startJail(
  p: PreparedJail,
  stdio: { stdin?: StdioMode; stdout?: StdioMode; stderr?: StdioMode } = {},
  wrap?: { command: string[]; env: NodeJS.ProcessEnv; planFor: (helperPid: number) => Promise<JailPlan> },
): Jail {
  const base = { plan: p.plan, ...stdio, receiveSockets: p.network || p.resolver };
  return Jail.start(wrap === undefined ? base : { ...base, wrap: { command: wrap.command, env: wrap.env }, planFor: wrap.planFor });
}

// Policy + command → JailPlan. Every decision about what the jail contains is made here, as data,
// in this order (each step reads what the ones before produced):
//   1. grants        the policy's paths, real paths resolved on the host (grants.ts)
//   2. layout        the base tree and the grants' mounts, with their Landlock rules (layout.ts)
//   3. cwd, command  where the server starts and which file it is (paths.ts, exec.ts)
//   4. exec          the allowlist, Landlock EXECUTE per file (exec.ts)
//   5. environment   the server's whole environment (environment.ts)
//   6. deny masks    what the deny rules match at start, hidden in the mount tree (deny-mask.ts)
//   7. supervisor    the decision tables, from the same rules as the kernel layers (supervisor/tables.ts)
import { realpathSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { Policy } from "../policy/schema.js";
import { normalizeDeny } from "../policy/resolve.js";
import { parseSize } from "../policy/size.js";
import { baseRlimits } from "../cgroup/rlimits.js";
import { compileTables, jailDenyGlobs } from "../supervisor/tables.js";
import { redirectTables } from "../egress/names.js";
import { denyMasks, type MaskScan } from "./deny-mask.js";
import { traceMark } from "../trace.js";
import { acceptedDowngrades } from "./downgrades.js";
import { usernsLimits } from "./userns-limits.js";
import { jailEnvironment } from "./environment.js";
import { JailError } from "./errors.js";
import { execAllowlist, resolveCommand, type ExecAllowlist } from "./exec.js";
import { resolveGrants, type Grant } from "./grants.js";
import { ALL_FS, FS, NET, SCOPE } from "./landlock-rights.js";
import { baseLayout, grantLayout, HOSTNAME, JAIL_GID, JAIL_UID } from "./layout.js";
import { hostToJail } from "./paths.js";
import { syntheticFiles } from "./synthetic.js";
import { MountOp, type JailPlan, type MemoryWatch, type MountStep, type Rlimit } from "./plan.js";

export type { ExecAllowlist } from "./exec.js";

export interface PlanContext {
  /** Host working directory: relative grants resolve against it. */
  cwd: string;
  /** mcp-j's environment: the source of --env NAME and secrets fromEnv. */
  env: NodeJS.ProcessEnv;
  uid: number;
  gid: number;
  /** Egress proxy listener port inside the jail (0: no network). */
  netListenPort?: number;
  /** The proxy's redirect listener port inside the jail (0: none; needs netListenPort). */
  netRedirectPort?: number;
  /** The resolver's UDP port on the jail's 127.0.0.1 (0: none, names resolve from /etc/hosts only). */
  netDnsPort?: number;
  /** Variables added by other layers (the egress proxy's HTTP_PROXY...). */
  extraEnv?: Record<string, string>;
  seccomp?: Buffer | null;
  /** Compile the supervisor's decision tables (the filter notifies the supervisor). Default false. */
  supervise?: boolean;
  /** Report allowed decisions too, whatever the audit log says (learn mode, pinning). */
  reportAllowed?: boolean;
  /** The deputy's filter (no notification): required when supervise is. */
  deputySeccomp?: Buffer | null;
  /** The supervisor's whole-jail memory limit (when no cgroup holds one). */
  memoryWatch?: MemoryWatch | null;
  rlimits?: Rlimit[];
  cgroup?: string | null;
}

export interface CompiledJail {
  plan: JailPlan;
  /** What may be executed (real jail paths). */
  exec: ExecAllowlist;
  grants: Grant[];
  /** Secret values: never to be written to a log. */
  secrets: string[];
  /** What the deny rules matched when the plan was made (masked in the mount tree). */
  masked: MaskScan;
}

function chooseCwd(policy: Policy, grants: readonly Grant[], hostCwd: string): string {
  if (policy.filesystem.cwd !== undefined) {
    const c = policy.filesystem.cwd;
    if (!isAbsolute(c)) throw new JailError("E_GRANT_INVALID", `filesystem.cwd ${JSON.stringify(c)}: must be an absolute path inside the jail`);
    return c;
  }
  // Where the user runs mcp-j, if they granted it (the common `--rw .`); the jail's /tmp otherwise.
  let real = hostCwd;
  try {
    real = realpathSync(hostCwd);
  } catch {
    /* a cwd that vanished: it cannot be granted anyway */
  }
  return hostToJail(grants, real) ?? "/tmp";
}

export function compileJailPlan(policy: Policy, command: string[], ctx: PlanContext): CompiledJail {
  if (command.length === 0 || command[0] === "") {
    throw new JailError("E_NOT_FOUND", "no command given: mcp-j [options] -- COMMAND [ARGS...]", 2);
  }
  const grants = resolveGrants(policy, ctx.cwd, ctx.env);
  const netPort = ctx.netListenPort ?? 0;
  const dnsPort = ctx.netDnsPort ?? 0;
  // Redirection: what a connect() the server makes goes to the proxy for (egress/names.ts).
  const redirect = netPort !== 0 && (ctx.netRedirectPort ?? 0) !== 0 ? redirectTables(policy.network.allow) : null;
  const redirectPort = redirect !== null && redirect.redirect.length > 0 ? ctx.netRedirectPort! : 0;
  const root = ctx.uid === 0;
  const memory = parseSize(policy.limits.memory);
  const layout = grantLayout(baseLayout(parseSize(policy.limits.tmpSize), { certs: netPort !== 0, resolver: dnsPort !== 0 }, memory), grants, root ? { uid: JAIL_UID, gid: JAIL_GID } : null);
  const rules = layout.rules;

  // Deny rules' kernel layer: their matches inside the grants, hidden once every grant is bound and
  // before the read-only remounts end the layout.
  const deny = policy.filesystem.deny.map((d) => normalizeDeny(d, ctx.cwd, ctx.env));
  traceMark("plan.layout");
  const masked = denyMasks(grants, jailDenyGlobs(deny, grants));
  traceMark("plan.deny_walked", `masks=${masked.masks.length}`);
  const masks: MountStep[] = masked.masks.map((m) => ({ op: MountOp.Mask, dest: m.dest, src: "", data: m.kind, flags: 0, mode: 0 }));
  const mounts = [...layout.mounts.filter((m) => m.op !== MountOp.RemountRo), ...masks, ...layout.mounts.filter((m) => m.op === MountOp.RemountRo)];

  const cwd = chooseCwd(policy, grants, ctx.cwd);
  const [cmd, ...args] = command as [string, ...string[]];
  const execPath = resolveCommand(cmd, mounts, grants, ctx.cwd);
  const exec = execAllowlist(execPath, policy.filesystem.exec, mounts, grants);
  for (const f of [...exec.allow, ...exec.interpreters]) rules.push({ path: f, access: FS.EXECUTE | FS.READ_FILE });
  const { env, secrets } = jailEnvironment(policy, ctx.env, ctx.cwd, ctx.extraEnv);

  // The tables come from the finished rules and allowlist, so the supervisor and the kernel layers
  // decide from the same data.
  const tables =
    ctx.supervise === true
      ? compileTables({
          fsRules: rules,
          exec: exec.allow,
          loaders: exec.interpreters,
          deny,
          grants,
          proxyPort: netPort,
          dnsPort,
          ...(redirect !== null ? { redirect: redirect.redirect, redirectPort, metaAllowed: redirect.metaAllowed } : {}),
          aliases: syntheticFiles(memory).flatMap((f) => (f.aliasOf !== undefined ? [{ from: f.aliasOf, to: f.path }] : [])),
          // Allowed decisions only matter to an audit log that records them: without one, the
          // supervisor reports denials only (each reported event costs a line through mcp-j).
          logAllow: ctx.reportAllowed === true || (policy.audit.file !== undefined && policy.audit.verbosity !== "denials"),
        })
      : null;

  const plan: JailPlan = {
    argv: [cmd, ...args],
    env,
    execPath,
    cwd,
    hostname: HOSTNAME,
    hostUid: root ? JAIL_UID : ctx.uid,
    hostGid: root ? JAIL_GID : ctx.gid,
    jailUid: JAIL_UID,
    jailGid: JAIL_GID,
    mounts,
    landlock: {
      minAbi: 1,
      handledFs: ALL_FS,
      // TCP: connect only to the egress proxy, bind nothing (ABI 4+; a second layer behind the
      // network namespace).
      handledNet: NET.BIND_TCP | NET.CONNECT_TCP,
      scoped: SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL,
      fsRules: rules,
      // The redirect listener: the deputy connects redirected sockets to it (the jail's other
      // processes are kept from it by the supervisor: docs/design.md, "Network").
      netRules: [netPort, redirectPort].filter((p) => p !== 0).map((port) => ({ port, access: NET.CONNECT_TCP })),
    },
    seccomp: ctx.seccomp ?? null,
    rlimits: ctx.rlimits ?? baseRlimits({ openFiles: policy.limits.openFiles }),
    cgroup: ctx.cgroup ?? null,
    netListenPort: netPort,
    netDnsPort: dnsPort,
    netRedirectPort: redirectPort,
    supervisorTables: tables,
    deputySeccomp: tables !== null ? (ctx.deputySeccomp ?? null) : null,
    downgrades: acceptedDowngrades(policy.strict),
    sysctls: usernsLimits(),
    memoryWatch: ctx.memoryWatch ?? null,
  };
  return { plan, grants, secrets, exec, masked };
}

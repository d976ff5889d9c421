// Why the jail cannot be set up here, and the exact fix for this environment (issue 13, item 7):
// pure functions of the facts (facts.ts) and the probe's outcomes (probe.ts), used by `mcp-j
// doctor` and by the one-line error at start.
import { constants } from "node:os";
import type { EnvironmentFacts } from "./facts.js";
import { feature, type ProbeResults } from "./probe.js";

const { EPERM, EACCES, ENOSYS, EOPNOTSUPP, ENOSPC } = constants.errno;

export type Restriction =
  /** gVisor: no Landlock, no seccomp user notification (nor the namespaces the jail builds). */
  | { kind: "gvisor" }
  /** Ubuntu 23.10+: AppArmor lets unprivileged processes create user namespaces without capabilities. */
  | { kind: "apparmor_userns" }
  /** A sysctl forbids (unprivileged) user namespaces. */
  | { kind: "userns_disabled"; sysctl: "user.max_user_namespaces" | "kernel.unprivileged_userns_clone" }
  /** A seccomp filter on mcp-j (a container runtime's default profile) refuses the namespace calls. */
  | { kind: "seccomp"; errno: number }
  /** /proc is partly masked (a container's masked paths): a fresh proc cannot be mounted. */
  | { kind: "masked_proc"; paths: string[] }
  /** No Landlock: errno ENOSYS = not built in, EOPNOTSUPP = built in but not enabled at boot. */
  | { kind: "landlock"; errno: number };

/** Every restriction the facts and the probe show, the most fundamental first. */
export function restrictions(f: EnvironmentFacts, p: ProbeResults): Restriction[] {
  if (f.gvisor) return [{ kind: "gvisor" }];
  const out: Restriction[] = [];
  const userns = feature(p, "userns");
  const clone3 = feature(p, "clone3_namespaces");
  const nsMount = feature(p, "namespaces_mount");
  const proc = feature(p, "proc_mount");
  const refused = (e: number) => e === EPERM || e === EACCES || e === ENOSPC;
  if (!userns.ok && refused(userns.errno)) {
    if (f.apparmorRestrictsUserns === true) out.push({ kind: "apparmor_userns" });
    else if (f.maxUserNamespaces === 0) out.push({ kind: "userns_disabled", sysctl: "user.max_user_namespaces" });
    else if (f.unprivilegedUsernsClone === 0 && f.uid !== 0) out.push({ kind: "userns_disabled", sysctl: "kernel.unprivileged_userns_clone" });
  }
  if (out.length === 0 && f.seccompMode === 2) {
    // Docker's, Podman's and containerd's default profiles: unshare/clone with namespace flags
    // → EPERM, clone3 → ENOSYS (so that libc falls back to clone, which the profile can inspect).
    const e = !userns.ok && userns.errno === EPERM ? EPERM : !clone3.ok && clone3.errno === ENOSYS ? ENOSYS : !nsMount.ok && nsMount.errno === EPERM ? EPERM : 0;
    if (e !== 0) out.push({ kind: "seccomp", errno: e });
  }
  if (nsMount.ok && !proc.ok && proc.errno === EPERM) out.push({ kind: "masked_proc", paths: f.procMasks });
  const ll = feature(p, "landlock");
  if (!ll.ok) out.push({ kind: "landlock", errno: ll.errno });
  return out;
}

const NS_CALLS = "unshare, clone and clone3 with namespace flags, mount, umount2, pivot_root and setns";

/** One sentence per restriction: the cause and the fix, for the environment mcp-j is in. */
export function fixFor(r: Restriction, f: EnvironmentFacts, helper: string): string {
  const k8s = f.container === "kubernetes";
  switch (r.kind) {
    case "gvisor":
      return "this is gVisor (runsc), which implements neither Landlock nor seccomp user notification, both of which the jail needs: run mcp-j in a runc or crun container or on the host (in Kubernetes, a runtimeClassName other than gVisor's)";
    case "apparmor_userns":
      return (
        "AppArmor restricts unprivileged user namespaces here (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10+): " +
        `allow them for mcp-j's helper with a profile, e.g. /etc/apparmor.d/mcp-j containing "abi <abi/4.0>, include <tunables/global> profile mcp-j ${helper} flags=(unconfined) { userns, }", ` +
        "then `sudo apparmor_parser -r /etc/apparmor.d/mcp-j`"
      );
    case "userns_disabled":
      return r.sysctl === "user.max_user_namespaces"
        ? "user namespaces are disabled (user.max_user_namespaces=0): `sudo sysctl -w user.max_user_namespaces=15000`"
        : "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0): `sudo sysctl -w kernel.unprivileged_userns_clone=1`";
    case "seccomp":
      if (k8s) return kubernetesFix("its seccomp profile refuses the namespace calls");
      return (
        `a seccomp filter on mcp-j refuses the namespace calls (${r.errno === ENOSYS ? "clone3: ENOSYS" : "EPERM"}), as a container runtime's default profile does: ` +
        `start the container with --security-opt seccomp=PROFILE, a profile that allows ${NS_CALLS} (or --security-opt seccomp=unconfined)`
      );
    case "masked_proc": {
      const shown = r.paths.length > 0 ? ` (${r.paths.slice(0, 4).join(", ")}${r.paths.length > 4 ? ", ..." : ""})` : "";
      if (k8s) return kubernetesFix(`its /proc is masked${shown}, so the jail cannot mount its own`);
      return (
        `this container masks parts of /proc${shown}, so the jail cannot mount a /proc of its own: ` +
        "Docker: --security-opt systempaths=unconfined; Podman: --security-opt unmask=ALL"
      );
    }
    case "landlock":
      if (r.errno === EOPNOTSUPP) {
        const list = f.lsm !== null && f.lsm !== "" ? `lsm=landlock,${f.lsm}` : "lsm=landlock,... (the current list is in /sys/kernel/security/lsm)";
        return `Landlock is built into this kernel but not enabled at boot (EOPNOTSUPP): add it to the kernel's boot parameters, ${list}, and reboot`;
      }
      if (r.errno === ENOSYS) return "this kernel has no Landlock (ENOSYS: built without CONFIG_SECURITY_LANDLOCK, or older than 5.13): run mcp-j on a kernel built with it (Debian 12's and Ubuntu 22.04's are)";
      return `Landlock is unavailable (${r.errno})`;
  }
}

function kubernetesFix(why: string): string {
  return (
    `in this Kubernetes pod ${why}: give the pod \`hostUsers: false\` and the container a securityContext with ` +
    `\`procMount: Unmasked\` and a \`seccompProfile\` that allows ${NS_CALLS} (type: Localhost with such a profile, or type: Unconfined)`
  );
}

/** The one line for a set of restrictions (deduplicated: in Kubernetes one fix covers several). */
export function fixLine(rs: readonly Restriction[], f: EnvironmentFacts, helper: string): string {
  return [...new Set(rs.map((r) => fixFor(r, f, helper)))].join("; and ");
}

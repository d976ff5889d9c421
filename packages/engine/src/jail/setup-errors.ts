// Turns a failing step reported by mcpj-jail into one line a person can act on. The commonest
// causes (DESIGN.md "Lessons from the field") get the fix spelled out.
import { readFileSync } from "node:fs";
import { errnoName } from "./errno.js";

function sysctl(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

function userNamespaceHint(): string {
  if (sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") {
    return (
      " — AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10+): run " +
      "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`, or install an AppArmor profile that allows userns for mcp-j"
    );
  }
  if (sysctl("/proc/sys/user/max_user_namespaces") === "0") return " — user namespaces are disabled: `sudo sysctl user.max_user_namespaces=15000`";
  if (sysctl("/proc/sys/kernel/unprivileged_userns_clone") === "0") return " — run `sudo sysctl kernel.unprivileged_userns_clone=1`";
  return " — inside a container, user namespaces are often forbidden (Docker: --security-opt seccomp=unconfined and apparmor=unconfined, or run mcp-j on the host); `mcp-j doctor` shows what works here";
}

export function describeSetupError(step: string, errno: number, detail: string): string {
  const e = errno !== 0 ? errnoName(errno) : "";
  const base = `${detail}${e ? `: ${e}` : ""}`;
  switch (step) {
    case "userns":
    case "uid_map":
      return `cannot create user namespace: ${base}${userNamespaceHint()}`;
    case "mount":
    case "pivot_root":
    case "proc":
      return `cannot build the jail's filesystem: ${base}${errno === 1 || errno === 13 ? " — mount is forbidden here (a container without user-namespace mounts?); `mcp-j doctor` shows what works" : ""}`;
    case "idmap":
      return (
        `cannot make a writable grant writable by the jail: ${base} — as root the jail runs as nobody (65534), and a --rw directory owned by someone else is bound ` +
        "through an idmapped mount, which needs Linux 5.12+ and a file system that supports it (ext4, xfs, btrfs; tmpfs from 6.3; not NFS, FUSE or ramfs). " +
        "Fix: `chown -R 65534:65534 DIR` (the jail's user), or run mcp-j as the user who owns DIR"
      );
    case "grant":
      return `cannot grant ${base} — check that the path exists and that you can read it`;
    case "landlock":
      return `Landlock: ${base} — needs Linux 5.13+ with landlock in the lsm= boot list; \`mcp-j doctor\` shows the ABI`;
    case "seccomp":
      return `seccomp: ${base}`;
    case "cgroup":
      return `cgroup: ${base}`;
    case "plan":
      return `the jail helper rejected its plan: ${base} (reinstall: npm install rebuilds mcpj-jail)`;
    default:
      return `jail set-up failed at ${step}: ${base}`;
  }
}

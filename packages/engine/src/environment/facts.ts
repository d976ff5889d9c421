// What the machine mcp-j runs on says about itself: read-only facts from /proc and the environment
// (issue 13, item 7). No guesses here: diagnose.ts combines them with the probe's real outcomes.
import { existsSync, readFileSync } from "node:fs";

export type ContainerKind = "docker" | "podman" | "kubernetes" | "container";

export interface EnvironmentFacts {
  /** gVisor's sentry presents a fixed fake kernel ("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016"). */
  gvisor: boolean;
  /** The container mcp-j runs in, when it says so (marker files, cgroup paths, environment). */
  container: ContainerKind | null;
  /** mcp-j's own seccomp mode (/proc/self/status "Seccomp:"): 2 = a filter is installed on it. */
  seccompMode: number | null;
  /** Mount points over /proc files and directories (runc's masked and read-only paths, systemd's
   * ProtectKernelTunables...): each makes a fresh proc mount "too revealing" for the kernel. */
  procMasks: string[];
  /** Ubuntu's AppArmor switch (kernel.apparmor_restrict_unprivileged_userns), null when absent. */
  apparmorRestrictsUserns: boolean | null;
  /** user.max_user_namespaces, and Debian's kernel.unprivileged_userns_clone (null when absent). */
  maxUserNamespaces: number | null;
  unprivilegedUsernsClone: number | null;
  /** /sys/kernel/security/lsm when readable (the boot-time LSM list, for the lsm= fix). */
  lsm: string | null;
  uid: number;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
const num = (s: string | null): number | null => (s === null || s.trim() === "" || Number.isNaN(Number(s)) ? null : Number(s));

/** Mount points below /proc, from mountinfo text (binfmt_misc's empty directory hides nothing). */
export function procMasksOf(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    const mp = (f[4] ?? "").replace(/\\040/g, " ");
    if (mp.startsWith("/proc/") && !mp.startsWith("/proc/sys/fs/binfmt_misc")) out.push(mp);
  }
  return out;
}

export function containerOf(env: NodeJS.ProcessEnv, files: { dockerenv: boolean; containerenv: boolean; cgroup: string }): ContainerKind | null {
  if (env.KUBERNETES_SERVICE_HOST !== undefined || /kubepods/.test(files.cgroup)) return "kubernetes";
  if (files.containerenv || env.container === "podman") return "podman";
  if (files.dockerenv || /\/docker[-/]/.test(files.cgroup)) return "docker";
  if (env.container !== undefined && env.container !== "") return "container";
  return null;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentFacts {
  const version = read("/proc/version") ?? "";
  const status = read("/proc/self/status") ?? "";
  const aa = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  return {
    gvisor: /^Linux version 4\.4\.0 #1 SMP Sun Jan 10 15:06:54 PST 2016/.test(version),
    container: containerOf(env, {
      dockerenv: existsSync("/.dockerenv"),
      containerenv: existsSync("/run/.containerenv"),
      cgroup: (read("/proc/self/cgroup") ?? "") + (read("/proc/1/cgroup") ?? ""),
    }),
    seccompMode: num(/^Seccomp:\s*(\d+)/m.exec(status)?.[1] ?? null),
    procMasks: procMasksOf(read("/proc/self/mountinfo") ?? ""),
    apparmorRestrictsUserns: aa === null ? null : aa.trim() === "1",
    maxUserNamespaces: num(read("/proc/sys/user/max_user_namespaces")),
    unprivilegedUsernsClone: num(read("/proc/sys/kernel/unprivileged_userns_clone")),
    lsm: read("/sys/kernel/security/lsm")?.trim() ?? null,
    uid: process.geteuid?.() ?? 0,
  };
}

// Turns a failing step reported by mcpj-jail into one line a person can act on. The commonest
// causes (docs/design.md, "Environments and start-up errors") get the fix spelled out.
import { diagnoseEnvironment } from "../environment/index.js";
import { errnoName } from "./errno.js";
import { DOWNGRADES, downgradeNames } from "./downgrades.js";
import type { DowngradeName } from "./plan.js";

/** The helper refused a layer the kernel cannot give and the plan did not accept: which one, what
 * it means, and the way out (only --strict refuses a downgrade nothing else covers). */
function downgradeRefused(detail: string): string {
  let names: DowngradeName[] = [];
  const ll = /landlock=(\d+)/.exec(detail);
  if (ll) names = downgradeNames(Number(ll[1]));
  else if (/proc=subset/.test(detail)) names = ["procSubset"];
  else if (/wait_killable/.test(detail)) names = ["waitKillable"];
  const what = names.map((n) => `${DOWNGRADES[n].missing} (Linux ${DOWNGRADES[n].since}+)`).join("; ") || detail;
  return `--strict: this kernel lacks ${what}, which no other layer covers — use a newer kernel, or run without --strict to accept it`;
}

/** The steps an environment's restrictions make fail (container seccomp profiles, masked /proc,
 * AppArmor, gVisor, Landlock off): their error carries the fix the environment diagnosis finds. */
const ENVIRONMENT_STEPS = new Set(["userns", "uid_map", "clone", "sysctl", "mount", "pivot_root", "proc", "landlock", "seccomp"]);

/** This machine's restrictions and their fix, or null when the diagnosis finds none (or cannot run). */
function environmentFix(step: string): { fix: string; landlock: boolean } | null {
  if (!ENVIRONMENT_STEPS.has(step)) return null;
  try {
    const d = diagnoseEnvironment();
    return d.fix === null ? null : { fix: d.fix, landlock: d.restrictions.some((r) => r.kind === "landlock") };
  } catch {
    return null;
  }
}

export function describeSetupError(step: string, errno: number, detail: string): string {
  const e = errno !== 0 ? errnoName(errno) : "";
  const base = `${detail}${e ? `: ${e}` : ""}`;
  const env = environmentFix(step);
  const hint = env === null ? "" : ` — ${env.fix}`;
  // The helper cannot tell why Landlock is missing (it reports ENOSYS either way); the probe's
  // errno can, and then the line is the diagnosis alone.
  if (step === "landlock" && env?.landlock === true) return `cannot start the jail: ${env.fix}`;
  const doctor = "; `mcp-j doctor` shows what works here";
  switch (step) {
    case "userns":
    case "uid_map":
    case "clone":
    case "sysctl":
      return `jail set-up failed: ${base}${hint || ` — user namespaces or the namespace calls are forbidden here${doctor}`}`;
    case "mount":
    case "pivot_root":
    case "proc":
      return `cannot build the jail's filesystem: ${base}${hint || (errno === 1 || errno === 13 ? ` — mount is forbidden here (a container without user-namespace mounts?)${doctor}` : "")}`;
    case "idmap":
      return (
        `cannot make a writable grant writable by the jail: ${base} — as root the jail runs as nobody (65534), and a --rw directory owned by someone else is bound ` +
        "through an idmapped mount, which needs Linux 5.12+ and a file system that supports it (ext4, xfs, btrfs; tmpfs from 6.3; not NFS, FUSE or ramfs). " +
        "Fix: `chown -R 65534:65534 DIR` (the jail's user), or run mcp-j as the user who owns DIR"
      );
    case "grant":
      return `cannot grant ${base} — check that the path exists and that you can read it`;
    case "landlock":
      return `Landlock: ${base}${hint || ` — needs Linux 5.13+ built with Landlock and enabled at boot${doctor}`}`;
    case "seccomp":
      return `seccomp: ${base}${hint}`;
    case "cgroup":
      return `cgroup: ${base}`;
    case "plan":
      return `the jail helper rejected its plan: ${base} (reinstall: npm install rebuilds mcpj-jail)`;
    case "downgrade":
      return downgradeRefused(detail);
    case "mask":
      return `cannot hide what a deny rule matches: ${base} — deny its directory instead, or run \`mcp-j doctor\``;
    case "deputy":
      return `the jail's deputy could not start: ${base}`;
    default:
      return `jail set-up failed at ${step}: ${base}`;
  }
}

// Read-only detection of a usable cgroup v2 subtree for the jails. Nothing in this file writes.
//
// Where the jail's cgroup goes, in order of preference (X = mcp-j's own cgroup, "0::X" in
// /proc/self/cgroup, seen through the cgroup2 mount that contains it):
//
//  1. "own": X already enables memory and pids for its children (X/cgroup.subtree_control) and we may
//     create directories in X → X/mcp-j/<jail-id>. Because of the kernel's "no internal processes"
//     rule a cgroup that holds processes cannot enable domain controllers for its children, so with
//     mcp-j inside X this only happens when X is the root cgroup (exempt from the rule: the VM, a
//     container with the host's cgroup namespace, a machine whose init runs everything at the root),
//     or when a test points cgroupRoot at an empty cgroup.
//
//  2. "leaf": X is delegated to us, mcp-j is X's only process, and X's parent gives X memory and pids
//     (X/cgroup.controllers) but X does not enable them yet. Then, and only then, mcp-j moves itself
//     into X/mcp-j/supervisor (a leaf it creates), enables the controllers in X and X/mcp-j, and
//     undoes both when the last jail is removed. Delegated means: unprivileged and X's cgroup.procs
//     and cgroup.subtree_control are owned by our uid (systemd chowns them for Delegate=yes units,
//     e.g. `systemd-run --user --scope -p Delegate=yes mcp-j ...`); as root there is no file-level
//     sign (systemd marks it with a trusted.delegate xattr that Node cannot read), so the caller must
//     say so (`delegated: true`, or MCPJ_CGROUP_DELEGATED=1, e.g. under `systemd-run --scope -p
//     Delegate=yes`). If X holds any other process (the shell that started mcp-j, a session scope),
//     mcp-j would have to move processes it does not own: it refuses and reports why.
//
//  3. "delegated" (unprivileged only): the nearest proper ancestor A of X that is still inside the
//     subtree delegated to our uid (every cgroup from A down to X has cgroup.procs owned by us, which
//     also makes moving the jail from X into A/mcp-j/<id> legal: the writer needs write access to
//     cgroup.procs of the common ancestor) and that already enables memory and pids for its children
//     → A/mcp-j/<jail-id>. Typical: a terminal in user@UID.service/app.slice/app-*.scope, where
//     app.slice (or user@UID.service) enables the controllers systemd delegated to the user manager.
//
// mcp-j never writes a cgroup.subtree_control, cgroup.procs or limit file of a cgroup it did not
// create, except X's own subtree_control on the "leaf" route, where X is delegated to mcp-j.
// Anything else is "no usable cgroup v2", with the reason, and the caller falls back to rlimits.
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import type { CgroupSupport } from "./types.js";
import { cgroupDirFor, parseControllerList, parseMountInfo, parsePidList, v2PathFromProcCgroup, type MountInfoEntry } from "./parse.js";

export const REQUIRED_CONTROLLERS = ["memory", "pids"] as const;
/** Names mcp-j gives its own cgroups: X/mcp-j/<jail-id>, and X/mcp-j/supervisor on the leaf route. */
export const MCPJ_DIR = "mcp-j";
export const SUPERVISOR_LEAF = "supervisor";

export interface DetectOptions {
  /** Fixture text instead of /proc/self/mountinfo. */
  mountinfo?: string;
  /** Fixture text instead of /proc/self/cgroup. */
  procCgroup?: string;
  /** Use this cgroup directory as mcp-j's own cgroup (tests; e.g. an empty cgroup made in the VM). */
  cgroupRoot?: string;
  /** The uid whose delegation counts (default: the effective uid). 0 = the root rules. */
  uid?: number;
  /** Our pid (default process.pid): the only process allowed in X on the "leaf" route. */
  pid?: number;
  /** Root only: X is delegated to mcp-j (default: MCPJ_CGROUP_DELEGATED=1 in the environment). */
  delegated?: boolean;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
function readList(path: string): string[] | undefined {
  const t = readText(path);
  return t === undefined ? undefined : parseControllerList(t);
}
function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
function ownedBy(path: string, uid: number): boolean {
  try {
    return statSync(path).uid === uid;
  } catch {
    return false;
  }
}
/** The root cgroup has no cgroup.type (nor memory.max, cgroup.kill, cgroup.events): CFTYPE_NOT_ON_ROOT. */
export function isRootCgroup(dir: string): boolean {
  return existsSync(join(dir, "cgroup.controllers")) && !existsSync(join(dir, "cgroup.type"));
}
/** cgroup.kill appeared in Linux 5.14; it is not on the root cgroup, so ask the kernel version. */
export function kernelHasCgroupKill(rel = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 5 || (major === 5 && minor >= 14);
}

const missingOf = (have: string[]) => REQUIRED_CONTROLLERS.filter((c) => !have.includes(c));
const fmt = (l: readonly string[]) => (l.length ? l.join(" ") : "none");

function v1Note(mounts: MountInfoEntry[]): string {
  const v1 = mounts.filter((m) => m.fsType === "cgroup" && m.superOptions.some((o) => o === "memory" || o === "pids"));
  if (v1.length === 0) return "";
  const names = [...new Set(v1.flatMap((m) => m.superOptions.filter((o) => o === "memory" || o === "pids")))];
  return ` (hybrid cgroups: ${names.join(" and ")} ${names.length > 1 ? "are" : "is"} on cgroup v1 (${v1.map((m) => m.mountPoint).join(", ")}), which mcp-j does not use)`;
}

/**
 * Which path this machine takes, and why (for `mcp-j doctor` and planResources). Read-only.
 */
export function detectCgroupV2(opts: DetectOptions = {}): CgroupSupport {
  const mountText = opts.mountinfo ?? readText("/proc/self/mountinfo") ?? "";
  const allMounts = parseMountInfo(mountText);
  const mounts = allMounts.filter((m) => m.fsType === "cgroup2");
  const uid = opts.uid ?? process.geteuid?.() ?? 0;
  const pid = opts.pid ?? process.pid;
  const delegatedFlag = opts.delegated ?? process.env.MCPJ_CGROUP_DELEGATED === "1";
  if (mounts.length === 0) {
    return { usable: false, reason: `no cgroup2 file system is mounted${v1Note(allMounts)}` };
  }

  let mount: MountInfoEntry | undefined;
  let ownCgroup: string;
  let ownDir: string;
  if (opts.cgroupRoot !== undefined) {
    const dir = opts.cgroupRoot.replace(/\/+$/, "");
    mount = mounts
      .filter((m) => dir === m.mountPoint || dir.startsWith(m.mountPoint.replace(/\/+$/, "") + "/"))
      .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
    if (!mount) return { usable: false, reason: `${dir} is not inside a cgroup2 mount` };
    const rel = dir.slice(mount.mountPoint.replace(/\/+$/, "").length);
    ownCgroup = (mount.root.replace(/\/+$/, "") + rel) || "/";
    ownDir = dir;
  } else {
    const path = v2PathFromProcCgroup(opts.procCgroup ?? readText("/proc/self/cgroup") ?? "");
    if (path === undefined) return { usable: false, reason: `this process is in no cgroup v2 hierarchy (no "0::" line in /proc/self/cgroup)${v1Note(allMounts)}` };
    ownCgroup = path;
    // Prefer a mount through which our cgroup is visible; among those /sys/fs/cgroup, then the
    // shortest mount point (the canonical one rather than a bind mount somewhere else).
    const visible = mounts
      .filter((m) => cgroupDirFor(m, path) !== undefined)
      .sort((a, b) => Number(b.mountPoint === "/sys/fs/cgroup") - Number(a.mountPoint === "/sys/fs/cgroup") || a.mountPoint.length - b.mountPoint.length);
    mount = visible[0];
    if (!mount) return { usable: false, ownCgroup, reason: `mcp-j's cgroup ${path} is not visible through any cgroup2 mount (${mounts.map((m) => m.mountPoint).join(", ")})` };
    ownDir = cgroupDirFor(mount, path)!;
  }
  const mountPoint = mount.mountPoint;
  const base = { mountPoint, ownCgroup };
  const hasKill = kernelHasCgroupKill();

  // Already in the supervisor leaf that this mcp-j made (a second jail on the "leaf" route): the
  // jails still go next to it, in X/mcp-j/<id>, and the last one out undoes the set-up.
  const leafSuffix = `/${MCPJ_DIR}/${SUPERVISOR_LEAF}`;
  if (ownDir.endsWith(leafSuffix)) {
    const x = ownDir.slice(0, -leafSuffix.length);
    const st = readList(join(x, "cgroup.subtree_control")) ?? [];
    if (missingOf(st).length === 0 && writable(join(x, MCPJ_DIR))) {
      return {
        usable: true, route: "leaf", ...base, parentDir: x, controllers: st, hasKill,
        reason: `cgroup v2 at ${mountPoint}: mcp-j runs in its supervisor leaf ${ownCgroup}; jails go in ${join(x, MCPJ_DIR)}/<jail-id>`,
      };
    }
  }

  const available = readList(join(ownDir, "cgroup.controllers"));
  if (available === undefined) return { usable: false, ...base, reason: `cannot read ${join(ownDir, "cgroup.controllers")}` };
  const subtree = readList(join(ownDir, "cgroup.subtree_control")) ?? [];
  const missingHere = missingOf(available);
  if (mount.options.includes("ro")) {
    return { usable: false, ...base, controllers: available, reason: `the cgroup2 mount at ${mountPoint} is read-only` };
  }

  // 1. "own"
  if (missingOf(subtree).length === 0) {
    if (writable(ownDir) && writable(join(ownDir, "cgroup.procs"))) {
      return {
        usable: true, route: "own", ...base, parentDir: ownDir, controllers: subtree, hasKill,
        reason: `cgroup v2 at ${mountPoint}: mcp-j's cgroup ${ownCgroup} enables ${fmt(subtree)} for its children; jails go in ${join(ownDir, "mcp-j")}/<jail-id>`,
      };
    }
  }

  const reasons: string[] = [];
  if (missingOf(subtree).length === 0) {
    reasons.push(`mcp-j's cgroup ${ownCgroup} enables ${fmt(subtree)} for its children but uid ${uid} cannot create cgroups in it`);
  } else if (missingHere.length > 0) {
    const rootNote = isRootCgroup(ownDir) ? "" : ` (its parent does not delegate them)`;
    reasons.push(`the cgroup2 hierarchy at ${mountPoint} offers mcp-j's cgroup ${ownCgroup} the controllers [${fmt(available)}]; ${missingHere.join(" and ")} ${missingHere.length > 1 ? "are" : "is"} missing${rootNote}${isRootCgroup(ownDir) ? v1Note(allMounts) : ""}`);
  } else if (isRootCgroup(ownDir)) {
    // Root cgroup with the controllers available but not enabled: not ours to change.
    reasons.push(`the root cgroup at ${mountPoint} does not enable ${missingOf(subtree).join(" and ")} for its children, and mcp-j does not change cgroups it did not create`);
  } else {
    // 2. "leaf"
    const procs = parsePidList(readText(join(ownDir, "cgroup.procs")) ?? "");
    const others = procs.filter((p) => p !== pid);
    const delegated = uid === 0
      ? delegatedFlag
      : ownedBy(join(ownDir, "cgroup.procs"), uid) && ownedBy(join(ownDir, "cgroup.subtree_control"), uid);
    const canWrite = writable(ownDir) && writable(join(ownDir, "cgroup.subtree_control")) && writable(join(ownDir, "cgroup.procs"));
    if (delegated && canWrite && others.length === 0) {
      return {
        usable: true, route: "leaf", ...base, parentDir: ownDir, controllers: available, hasKill,
        reason: `cgroup v2 at ${mountPoint}: mcp-j's cgroup ${ownCgroup} is delegated to it and holds only mcp-j; mcp-j moves itself to ${join(ownDir, "mcp-j", "supervisor")} and puts jails in ${join(ownDir, "mcp-j")}/<jail-id>`,
      };
    }
    if (!delegated) {
      reasons.push(uid === 0
        ? `mcp-j's cgroup ${ownCgroup} holds processes, so it cannot enable controllers for children (no internal processes rule), and it is not marked as delegated to mcp-j (run it in a unit with Delegate=yes, e.g. systemd-run --scope -p Delegate=yes, and set MCPJ_CGROUP_DELEGATED=1)`
        : `mcp-j's cgroup ${ownCgroup} is not delegated to uid ${uid} (its cgroup.procs/cgroup.subtree_control are not owned by it)`);
    } else if (!canWrite) {
      reasons.push(`mcp-j's cgroup ${ownCgroup} is delegated but not writable`);
    } else {
      reasons.push(`mcp-j's cgroup ${ownCgroup} holds ${others.length} other process${others.length > 1 ? "es" : ""} (e.g. pid ${others[0]}): controllers cannot be enabled below a cgroup with processes (no internal processes rule), and mcp-j does not move processes it does not own`);
    }
  }

  // 3. "delegated": unprivileged, an ancestor inside our delegated subtree.
  if (uid !== 0) {
    const top = mountPoint.replace(/\/+$/, "") || "/";
    let dir = ownDir;
    while (dir !== top && dir.startsWith(top) && ownedBy(join(dir, "cgroup.procs"), uid)) {
      const up = dirname(dir);
      if (up === dir || !up.startsWith(top) || !ownedBy(join(up, "cgroup.procs"), uid)) break;
      dir = up;
      const st = readList(join(dir, "cgroup.subtree_control")) ?? [];
      if (missingOf(st).length === 0 && writable(dir) && writable(join(dir, "cgroup.procs"))) {
        const cg = (mount.root.replace(/\/+$/, "") + dir.slice(top === "/" ? 0 : top.length)) || "/";
        return {
          usable: true, route: "delegated", ...base, parentDir: dir, controllers: st, hasKill,
          reason: `cgroup v2 at ${mountPoint}: ${cg} is delegated to uid ${uid} and enables ${fmt(st)}; jails go in ${join(dir, "mcp-j")}/<jail-id>`,
        };
      }
    }
    reasons.push(`no cgroup delegated to uid ${uid} above it enables memory and pids`);
  }
  return { usable: false, ...base, controllers: available, reason: reasons.join("; ") };
}

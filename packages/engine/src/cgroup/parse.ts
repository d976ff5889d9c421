// Pure parsers for the kernel's cgroup-related text files. No I/O here: tested on fixture strings.

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** Root of the mount within its file system (for cgroup2: the cgroup the mount shows as "/"). */
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)). Malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const fields = line.split(" ");
    const sep = fields.indexOf("-", 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    const [id, parent, , root, mountPoint, options] = fields;
    if (id === undefined || parent === undefined || root === undefined || mountPoint === undefined || options === undefined) continue;
    out.push({
      mountId: Number(id),
      parentId: Number(parent),
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      options: options.split(","),
      fsType: fields[sep + 1] ?? "",
      source: unescapeMountField(fields[sep + 2] ?? ""),
      superOptions: (fields[sep + 3] ?? "").split(",").filter(Boolean),
    });
  }
  return out;
}

export interface ProcCgroupEntry {
  id: number;
  /** Controllers of a v1 hierarchy ("memory", "name=systemd"); empty for the v2 entry. */
  controllers: string[];
  path: string;
}

/** Parses /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path" per line. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const a = line.indexOf(":");
    const b = line.indexOf(":", a + 1);
    if (a < 0 || b < 0) continue;
    const ctl = line.slice(a + 1, b);
    out.push({ id: Number(line.slice(0, a)), controllers: ctl ? ctl.split(",") : [], path: line.slice(b + 1) });
  }
  return out;
}

/** The cgroup v2 path of a process ("0::/path"), or undefined on a v1-only system. */
export function v2PathFromProcCgroup(text: string): string | undefined {
  return parseProcCgroup(text).find((e) => e.id === 0 && e.controllers.length === 0)?.path;
}

/** Parses flat keyed files: memory.events, pids.events, cgroup.events, memory.stat, cpu.stat. */
export function parseKeyedFile(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+(\S+)\s*$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    const v = m[2] === "max" ? Infinity : Number(m[2]);
    if (!Number.isNaN(v)) out.set(m[1], v);
  }
  return out;
}

/** Parses space-separated lists: cgroup.controllers, cgroup.subtree_control. */
export function parseControllerList(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Parses cgroup.procs / cgroup.threads: one pid a line. */
export function parsePidList(text: string): number[] {
  return text.split("\n").filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Maps a cgroup path from /proc/self/cgroup to a directory, given a cgroup2 mount whose root (the
 * 4th mountinfo field) is `mountRoot`. Undefined when the cgroup is not visible through that mount.
 */
export function cgroupDirFor(mount: { root: string; mountPoint: string }, cgroupPath: string): string | undefined {
  const root = mount.root.replace(/\/+$/, "");
  const path = cgroupPath.replace(/\/+$/, "");
  let rel: string;
  if (root === "") rel = path;
  else if (path === root) rel = "";
  else if (path.startsWith(root + "/")) rel = path.slice(root.length);
  else return undefined;
  const mp = mount.mountPoint.replace(/\/+$/, "");
  return (mp + rel) || "/";
}

/** "F*100000 100000" for `--cpus F` (at least 1000 µs: the kernel's minimum quota). */
export function cpuMaxFor(cpus: number, period = 100000): string {
  return `${Math.max(1000, Math.round(cpus * period))} ${period}`;
}

/** 536870912 → "512 MiB", 1610612736 → "1.5 GiB" (for human messages). */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, "");
  return `${s} ${units[i]}`;
}

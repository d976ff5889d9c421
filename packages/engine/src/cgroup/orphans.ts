// Which mcp-j owns a jail cgroup, and collecting the ones whose owner is gone (issue 13, item 2).
//
// The mcp-j that creates a jail cgroup removes it (CgroupHandle.remove), whatever ended the jail.
// Only a SIGKILLed (or crashed) mcp-j cannot: its supervisor and the jail die with it (parent-death
// signals), and the kernel never removes an empty cgroup by itself. So the cgroup's name carries
// its owner, `<jail-id>.<pid>-<start time>-<pid namespace>`, and every start collects the cgroups
// next to its own whose owner no longer runs.
//
// "No longer runs" is decided only where it can be known: the owner's pid namespace must be ours
// (an mcp-j in another container sharing this cgroup tree is invisible in our /proc, not dead),
// and a pid with another start time is a reused pid, not the owner. A cgroup whose name carries no
// owner (made by something else) is never touched.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseKeyedFile } from "./parse.js";

export interface Owner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot; with the pid it names one process. */
  startTime: number;
  /** Inode of /proc/<pid>/ns/pid. */
  pidNs: number;
}

function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (state === "Z" || state === "X") return undefined; // dead, waiting to be reaped
    const t = Number(fields[19]);
    return Number.isSafeInteger(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

function pidNsOf(pid: number | "self"): number | undefined {
  try {
    const m = /^pid:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/pid`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** This process as the owner of the cgroups it creates. */
export function selfOwner(pid = process.pid): Owner {
  return { pid, startTime: startTimeOf(pid) ?? 0, pidNs: pidNsOf("self") ?? 0 };
}

export function ownedName(jailId: string, o: Owner): string {
  return `${jailId}.${o.pid}-${o.startTime}-${o.pidNs}`;
}

/** The jail id and owner a cgroup name carries, or undefined for a name mcp-j did not make. */
export function parseOwnedName(name: string): { jailId: string; owner: Owner } | undefined {
  const m = /^(.+)\.(\d+)-(\d+)-(\d+)$/.exec(name);
  if (!m) return undefined;
  return { jailId: m[1]!, owner: { pid: Number(m[2]), startTime: Number(m[3]), pidNs: Number(m[4]) } };
}

/** true: the owner runs; false: it is gone for sure; undefined: cannot be known from here. */
export function ownerAlive(o: Owner): boolean | undefined {
  const ours = pidNsOf("self");
  if (ours === undefined || o.pidNs !== ours || o.startTime === 0) return undefined;
  return startTimeOf(o.pid) === o.startTime;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const populated = (dir: string): boolean => {
  try {
    return parseKeyedFile(readFileSync(join(dir, "cgroup.events"), "utf8")).get("populated") === 1;
  } catch {
    return false;
  }
};

/**
 * Removes the jail cgroups in `mcpjDir` whose owner is gone: their processes are killed first (a
 * jail outliving its mcp-j is exactly what must not remain). Best effort, never throws: a cgroup
 * it cannot remove (not ours to write, still busy) stays for the next start. Returns the removed
 * directories.
 */
export async function collectOrphans(mcpjDir: string, waitMs = 2000): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(mcpjDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const parsed = parseOwnedName(name);
    if (parsed === undefined || ownerAlive(parsed.owner) !== false) continue;
    const dir = join(mcpjDir, name);
    if (populated(dir)) {
      try {
        if (existsSync(join(dir, "cgroup.kill"))) writeFileSync(join(dir, "cgroup.kill"), "1");
      } catch {
        continue;
      }
      const end = Date.now() + waitMs;
      while (populated(dir) && Date.now() < end) await sleep(10);
    }
    try {
      rmdirSync(dir);
      removed.push(dir);
    } catch {
      /* not ours, or still busy: the next start tries again */
    }
  }
  return removed;
}

// Path mapping between the host and the jail, computed from the plan alone: which host file lies
// behind a jail path (through the plan's binds and symlinks), and where a host path appears in the
// jail (through the grants, or /usr which every jail shares).
import { dirname, isAbsolute, join, sep } from "node:path";
import type { Grant } from "./grants.js";
import { MountOp, type MountStep } from "./plan.js";

/** The server's PATH, and where a bare command name is looked up. */
export const JAIL_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/** Maps a path inside the jail to the host path behind it, following the plan's binds and
 * symlinks; null when nothing in the jail provides it. */
export function jailToHost(mounts: readonly MountStep[], jailPath: string, hops = 0): string | null {
  if (hops > 8) return null;
  let best: MountStep | null = null;
  for (const m of mounts) {
    if (m.op !== MountOp.Bind && m.op !== MountOp.Symlink) continue;
    if (jailPath === m.dest || jailPath.startsWith(m.dest + "/")) {
      if (best === null || m.dest.length > best.dest.length) best = m;
    }
  }
  if (best === null) return null;
  const rest = jailPath.slice(best.dest.length);
  if (best.op === MountOp.Bind) return best.src + rest;
  const target = isAbsolute(best.src) ? best.src : join(dirname(best.dest), best.src);
  return jailToHost(mounts, target + rest, hops + 1);
}

/** Where a (real) host path appears in the jail: under the grant with the longest source holding
 * it, or at the same place for /usr; null when the jail does not see it. */
export function hostToJail(grants: readonly Grant[], hostPath: string): string | null {
  let best: Grant | null = null;
  for (const g of grants) {
    if (hostPath === g.src || hostPath.startsWith(g.src + sep)) {
      if (best === null || g.src.length > best.src.length) best = g;
    }
  }
  if (best !== null) return best.dest + hostPath.slice(best.src.length);
  if (hostPath === "/usr" || hostPath.startsWith("/usr/")) return hostPath;
  return null;
}

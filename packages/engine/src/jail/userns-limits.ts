// Limits of the jail's own user namespace (/proc/sys/user/*, written by jail init: plan record
// P_SYSCTL). Per-user kernel objects made inside the jail are counted in its namespace and, up the
// chain, against the invoking user (the namespace's owner): without a cap of its own, a jail could use
// up the invoker's inotify instances and a host editor of the same user would get EMFILE
// (ESCAPES 66). Each cap is a quarter of what the host allows, which leaves the invoker the rest.
import { readFileSync } from "node:fs";
import type { Sysctl } from "./plan.js";

/** Share of the host's limit the jail may use. */
const SHARE = 4;

const CAPPED = ["max_inotify_instances", "max_inotify_watches", "max_fanotify_groups", "max_fanotify_marks"] as const;

function hostLimit(name: string): number | null {
  try {
    const n = Number(readFileSync(`/proc/sys/user/${name}`, "utf8").trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

export function usernsLimits(read: (name: string) => number | null = hostLimit): Sysctl[] {
  // No nested user namespaces, whatever happens to the seccomp filter (mandatory).
  const out: Sysctl[] = [{ name: "max_user_namespaces", value: "0", optional: false }];
  for (const name of CAPPED) {
    const host = read(name);
    // Unknown to this kernel (fanotify's are 5.13+): nothing to cap, and init skips it.
    const cap = host === null ? 1 : Math.max(1, Math.floor(host / SHARE));
    out.push({ name, value: String(cap), optional: true });
  }
  return out;
}

// The sockets of whatever obeys the invoking user's uid outside the jail: the user's systemd
// manager ($XDG_RUNTIME_DIR/systemd: `private`, `notify`) and the session and system D-Bus buses.
// The jail runs as that user outside its namespaces (unprivileged invoker), or as nobody, whom the
// system bus still answers; a jail that reached one could have programs started outside it, or its
// own cgroup's limits lifted (red team 4, RT4-2 and RT4-3). Nothing grants them on purpose, but a
// grant of $XDG_RUNTIME_DIR or /run holds them: each one a grant covers is denied like a --deny path
// (masked at start, and refused when made later in a writable grant: docs/design.md, "Deny rules").
import { realpathSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Policy } from "../policy/schema.js";

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The manager and bus sockets (and directories) of this user, on the host. */
export function managerSocketPaths(env: NodeJS.ProcessEnv, uid: number): string[] {
  const runtime = [`/run/user/${uid}`, ...(env.XDG_RUNTIME_DIR !== undefined && isAbsolute(env.XDG_RUNTIME_DIR) ? [env.XDG_RUNTIME_DIR] : [])];
  return [...new Set([...runtime.flatMap((d) => [join(d, "systemd"), join(d, "bus")]), "/run/dbus/system_bus_socket", "/run/systemd/private", "/run/systemd/notify"])];
}

/**
 * The policy with a deny entry for each manager or bus socket a grant covers (the path and, for a
 * directory, what is under it); the same policy when no grant does.
 * @param grantPaths the host paths of every grant (read-only and writable), real paths.
 */
export function denyManagerSockets(policy: Policy, grantPaths: string[], env: NodeJS.ProcessEnv, uid: number): Policy {
  const covered = (p: string): boolean => grantPaths.some((g) => g === "/" || p === g || p.startsWith(`${g}/`));
  const extra = managerSocketPaths(env, uid)
    .map(real)
    .filter(covered)
    .flatMap((p) => [p, `${p}/**`])
    .filter((d) => !policy.filesystem.deny.includes(d));
  return extra.length === 0 ? policy : { ...policy, filesystem: { ...policy.filesystem, deny: [...policy.filesystem.deny, ...extra] } };
}

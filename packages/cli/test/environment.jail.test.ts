// Restricted environments (issue 13, item 7), recreated around the real mcp-j on this machine, not
// mocked: a container runtime's default seccomp profile (a launcher installs one like it, then
// execs mcp-j), a /proc masked the way runc masks it (binds and read-only tmpfs over /proc paths in
// a mount namespace of its own; unprivileged: inside a user namespace, as rootless Podman does), and
// gVisor itself (Debian's runsc, `runsc do`). Each start fails with exit 125 and one line naming the
// cause and the fix for that environment; `doctor` names the same fix.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { compileC } from "@mcp-j/engine/test-helpers";
import { collect, mcpjBin, repoRoot, type CliResult } from "./helpers.js";

const uid = process.getuid?.() ?? 0;
const launcher = compileC("container-seccomp", readFileSync(new URL("../../test/programs/container-seccomp.c", import.meta.url), "utf8"));

function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], cwd: repoRoot, env });
  return collect(child);
}
/** mcp-j's own lines on stderr (runsc and the launchers may add theirs). */
const mcpjLines = (stderr: string): string[] => stderr.split("\n").filter((l) => l.startsWith("mcp-j"));

const SECCOMP_FIX = /a seccomp filter on mcp-j refuses the namespace calls \(EPERM\), as a container runtime's default profile does: start the container with --security-opt seccomp=PROFILE, a profile that allows unshare, clone and clone3 with namespace flags, mount, umount2, pivot_root and setns \(or --security-opt seccomp=unconfined\)/;

test("a container runtime's default seccomp profile: exit 125, one line naming the profile and the --security-opt fix", async () => {
  const r = await run([launcher, process.execPath, mcpjBin, "--", "/bin/true"]);
  assert.equal(r.code, 125, r.stderr);
  const lines = mcpjLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^mcp-j: jail set-up failed: .*EPERM — /);
  assert.match(lines[0]!, SECCOMP_FIX);
});

test("the same profile in a Kubernetes pod: the pod settings (hostUsers: false, procMount: Unmasked, a seccompProfile)", async () => {
  const r = await run([launcher, process.execPath, mcpjBin, "--", "/bin/true"], { ...process.env, KUBERNETES_SERVICE_HOST: "10.96.0.1" });
  assert.equal(r.code, 125, r.stderr);
  const lines = mcpjLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /in this Kubernetes pod its seccomp profile refuses the namespace calls: give the pod `hostUsers: false` and the container a securityContext with `procMount: Unmasked` and a `seccompProfile` that allows unshare, clone and clone3 with namespace flags/);
});

test("doctor under that profile: the namespace rows fail with EPERM and carry the fix; exit 1", async () => {
  const r = await run([launcher, process.execPath, mcpjBin, "doctor", "--json"]);
  assert.equal(r.code, 1, r.stderr);
  const d = JSON.parse(r.stdout) as { ok: boolean; features: Array<{ feature: string; status: string; effect: string; ok: boolean }> };
  assert.equal(d.ok, false);
  const row = (n: string) => d.features.find((f) => f.feature === n)!;
  assert.equal(row("user namespaces").status, "fails: EPERM");
  assert.match(row("user namespaces").effect, SECCOMP_FIX);
  assert.equal(row("mount/pid/net/ipc/uts/cgroup namespaces").ok, false);
  assert.match(row("environment").effect, SECCOMP_FIX);
});

// runc's masked paths (directories get a read-only tmpfs, files /dev/null) and read-only paths.
const MASK = `for p in /proc/acpi /proc/asound /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi; do
  if [ -d "$p" ]; then mount -t tmpfs -o ro tmpfs "$p" || exit 90; elif [ -e "$p" ]; then mount --bind /dev/null "$p" || exit 91; fi
done
for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
  [ -e "$p" ] || continue
  mount --bind "$p" "$p" && mount -o remount,bind,ro "$p" || exit 92
done
exec "$@"`;
/** argv running CMD... with /proc masked: as root in a mount namespace of its own (a rootful
 * container); unprivileged in a user namespace that maps the invoker back to itself inside (a
 * rootless one). */
const masked = (...cmd: string[]): string[] =>
  uid === 0
    ? ["unshare", "--mount", "--propagation", "private", "sh", "-c", MASK, "mask", ...cmd]
    : ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", MASK, "mask", "unshare", "--user", `--map-user=${uid}`, `--map-group=${process.getgid?.() ?? uid}`, ...cmd];
const MASK_FIX = /this container masks parts of \/proc \(\/proc\/[^)]*\), so the jail cannot mount a \/proc of its own: Docker: --security-opt systempaths=unconfined; Podman: --security-opt unmask=ALL/;

test("a masked /proc (runc's masked and read-only paths): exit 125, one line with the systempaths/unmask fix", async () => {
  const r = await run(masked(process.execPath, mcpjBin, "--", "/bin/true"));
  assert.equal(r.code, 125, r.stderr);
  const lines = mcpjLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^mcp-j: (jail set-up failed|cannot build the jail's filesystem): /);
  assert.match(lines[0]!, MASK_FIX);
  const doctor = await run(masked(process.execPath, mcpjBin, "doctor", "--json"));
  assert.equal(doctor.code, 1, doctor.stderr);
  const proc = (JSON.parse(doctor.stdout) as { features: Array<{ feature: string; status: string; effect: string }> }).features.find((f) => f.feature === "fresh /proc")!;
  assert.equal(proc.status, "fails: EPERM");
  assert.match(proc.effect, MASK_FIX);
});

test("gVisor (runsc do): exit 125, one line saying gVisor has neither Landlock nor seccomp user notification", async () => {
  assert.ok(existsSync("/usr/bin/runsc"), "runsc is missing: apt-get install runsc (.ci/run installs it)");
  const runsc = ["/usr/bin/runsc", ...(uid === 0 ? [] : ["--rootless"]), "--network=none", "do"];
  const r = await run([...runsc, process.execPath, mcpjBin, "--", "/bin/true"]);
  assert.equal(r.code, 125, r.stderr);
  const lines = mcpjLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /this is gVisor \(runsc\), which implements neither Landlock nor seccomp user notification, both of which the jail needs: run mcp-j in a runc or crun container or on the host/);
  const doctor = await run([...runsc, process.execPath, mcpjBin, "doctor"]);
  assert.equal(doctor.code, 1, doctor.stderr);
  assert.match(doctor.stdout, /environment\s+gVisor\s+this is gVisor/);
});

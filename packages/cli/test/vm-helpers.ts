// Shared by the CLI's *.vm.test.ts files: where this user's jail cgroups are, and a jail that runs
// until killed. Importing this module outside the test VM throws: these tests create cgroups, and
// the hosts' cgroups are not ours.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroupV2, type CgroupSupport } from "@mcp-j/engine/core";
import { collect, descendants, startMcpj, waitFor, type CliResult } from "./helpers.js";

const CG = "/sys/fs/cgroup";
const inVm = process.env.MCPJ_VM === "1" && readFileSync("/proc/self/mountinfo", "utf8").includes(" /sys/fs/cgroup rw") && existsSync(`${CG}/cgroup.subtree_control`);
if (!inVm) throw new Error("the *.vm.test.js files run only inside the test VM (node scripts/vm/run.mjs)");

// Where this user's jails go: the same detection mcp-j makes (the test runs in the same cgroup).
const detected = detectCgroupV2();
if (!detected.usable) throw new Error(`no usable cgroup v2 for uid ${process.getuid?.()} in the VM: ${detected.reason}`);
export const support: Extract<CgroupSupport, { usable: true }> = detected;
export const jailsDir = join(support.parentDir, "mcp-j");

/** The CLI's jail cgroups: <12 hex digits>.<owner pid>-<start time>-<pid namespace>. */
export const jailCgroups = (): string[] => (existsSync(jailsDir) ? readdirSync(jailsDir).filter((d) => /^[0-9a-f]{12}\.\d+-\d+-\d+$/.test(d)) : []);
export const populated = (dir: string): boolean => /^populated 1$/m.test(readFileSync(join(dir, "cgroup.events"), "utf8"));

export interface RunningJail {
  child: ReturnType<typeof startMcpj>;
  done: Promise<CliResult>;
  /** The jail's cgroup. */
  dir: string;
  /** The supervisor's pid (mcpj-jail, mcp-j's child). */
  supervisor: number;
}

/** mcp-j running a server that sleeps, once the server said it started. */
export async function runningJail(): Promise<RunningJail> {
  const child = startMcpj(["--", "/usr/bin/python3", "-c", "import sys, time\nsys.stderr.write('server-ready\\n'); sys.stderr.flush()\ntime.sleep(600)"]);
  const done = collect(child);
  let err = "";
  child.stderr?.on("data", (d: Buffer | string) => (err += d.toString()));
  assert.ok(await waitFor(() => err.includes("server-ready"), 20_000), `the server started: ${err}`);
  const mine = jailCgroups().filter((d) => d.split(".")[1]?.startsWith(`${child.pid}-`));
  assert.equal(mine.length, 1, `one cgroup owned by mcp-j (pid ${child.pid}): ${jailCgroups().join(" ")}`);
  const dir = join(jailsDir, mine[0]!);
  assert.ok(populated(dir));
  const supervisor = descendants(child.pid!).find((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "mcpj-jail");
  assert.ok(supervisor !== undefined, "the supervisor runs");
  return { child, done, dir, supervisor };
}

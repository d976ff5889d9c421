// Lifetime (issue 2, ESCAPES 53's "no process survives"): signals reach the server through the
// jail, and nothing of a jail outlives it: not a daemonized grandchild when the server exits, not
// after SIGKILL of the supervisor, not after SIGKILL of mcp-j itself. Root and unprivileged.
//
// Where the jail's processes are found on the host: by their PID namespace (each program reports
// "ns=pid:[N]"), and init by its host pid (the supervisor's child). Unprivileged, init is not
// dumpable, so its namespace link cannot be read: its host pid is checked instead.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { bound, holdPidNamespace, processesInNamespace, programsDir } from "./helpers/jailed.js";
import { prepareJail, startJail } from "../src/launch.js";
import type { Jail } from "../src/jail/jail.js";
import { PolicySchema } from "../src/policy/schema.js";
import { hostDir, program, removeDir, withPrograms } from "./programs/index.js";
import { childrenOf } from "./helpers/jailed.js";

/** A process that still exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Polls until nothing is left (no time is asserted beyond the bound, scaled by bound()). */
async function gone(what: () => number[], boundMs: number): Promise<number[]> {
  const end = Date.now() + bound(boundMs);
  for (;;) {
    const left = what();
    if (left.length === 0 || Date.now() > end) return left;
    await sleep(10);
  }
}

interface Started {
  jail: Jail;
  output: () => string;
  /** Resolves with the first match of re in stdout; rejects if the jail exits first. */
  waitFor: (re: RegExp) => Promise<RegExpMatchArray>;
}

function start(args: string[]): Started {
  const prepared = prepareJail({ policy: PolicySchema.parse(withPrograms()), command: [program("lifetime"), ...args], cwd: process.cwd(), env: {} });
  const jail = startJail(prepared, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  const waiters: Array<() => void> = [];
  jail.process.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    for (const w of waiters) w();
  });
  jail.process.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  jail.stdin?.on("error", () => {});
  const safety = setTimeout(() => jail.signal("SIGKILL"), bound(30_000));
  void jail.exited.then(() => clearTimeout(safety));
  const waitFor = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      waiters.push(check);
      check();
      void jail.exited.then(() => {
        check();
        reject(new Error(`the jail exited before ${re}: stdout=${JSON.stringify(out)} stderr=${JSON.stringify(err)}`));
      });
    });
  return { jail, output: () => out, waitFor };
}

/** The jail's processes visible on the host: its namespace's members plus init (by host pid). */
function leftovers(ns: string, init: number | undefined): number[] {
  const left = processesInNamespace(ns);
  if (init !== undefined && alive(init) && !left.includes(init)) left.push(init);
  return left;
}

describe("signal forwarding", () => {
  for (const [sig, n] of [["SIGTERM", 15], ["SIGINT", 2], ["SIGHUP", 1]] as const) {
    it(`${sig} sent to the jail reaches the server, which exits with its own code`, async () => {
      const s = start(["trap"]);
      await s.jail.ready;
      await s.waitFor(/^ready=1$/m);
      s.jail.signal(sig);
      const exit = await s.jail.exited;
      assert.match(s.output(), new RegExp(`^got=${n}$`, "m"));
      assert.deepEqual({ code: exit.code, serverCode: exit.serverCode }, { code: 7, serverCode: 7 });
    });
  }

  it("SIGTERM to a server without a handler: it dies of it, 128+15", async () => {
    const s = start(["wait"]);
    await s.jail.ready;
    await s.waitFor(/^ready=1$/m);
    s.jail.signal("SIGTERM");
    const exit = await s.jail.exited;
    assert.deepEqual({ code: exit.code, serverSignal: exit.serverSignal }, { code: 143, serverSignal: 15 });
  });
});

describe("no process survives the jail", () => {
  it("a daemonized grandchild is killed when the server exits", async (t) => {
    const s = start(["daemon-stdin"]);
    await s.jail.ready;
    const [, ns] = await s.waitFor(/^ns=(pid:\[\d+\])$/m);
    t.after(holdPidNamespace(ns!));
    await s.waitFor(/^daemon=\d+$/m);
    const init = s.jail.pid !== undefined ? childrenOf(s.jail.pid)[0] : undefined;
    assert.ok(init !== undefined, "init's host pid was not found");
    const before = leftovers(ns!, init);
    assert.ok(before.length >= 2, `the jail's processes are not visible: ${before}`);
    s.jail.stdin?.end(); // the server exits 0 at the end of its input
    const exit = await s.jail.exited;
    assert.equal(exit.code, 0);
    assert.deepEqual(await gone(() => leftovers(ns!, init), 5_000), []);
  });

  it("SIGKILL of the supervisor: every jail process is gone within 1 s", async (t) => {
    const s = start(["daemon-wait"]);
    await s.jail.ready;
    const supervisor = s.jail.pid!;
    const init = childrenOf(supervisor)[0];
    const [, ns] = await s.waitFor(/^ns=(pid:\[\d+\])$/m);
    t.after(holdPidNamespace(ns!));
    await s.waitFor(/^daemon=\d+$/m);
    assert.ok(init !== undefined, "init's host pid was not found");
    const before = leftovers(ns!, init);
    // init (when readable), the server and the daemon
    assert.ok(before.length >= 2, `the jail's processes are not visible: ${before}`);
    s.jail.process.kill("SIGKILL");
    assert.deepEqual(await gone(() => leftovers(ns!, init), 1_000), []);
    await s.jail.exited;
  });

  it("SIGKILL of mcp-j (the Node process that started the jail): the supervisor and every jail process are gone within 1 s", async (t) => {
    const dir = hostDir("private");
    try {
      const driver = join(dir, "driver.mjs");
      writeFileSync(
        driver,
        `import { prepareJail, startJail } from ${JSON.stringify(new URL("../src/launch.js", import.meta.url).href)};
import { PolicySchema } from ${JSON.stringify(new URL("../src/policy/schema.js", import.meta.url).href)};
const policy = PolicySchema.parse({ filesystem: { ro: [${JSON.stringify(programsDir)}] } });
const jail = startJail(prepareJail({ policy, command: [${JSON.stringify(program("lifetime"))}, "daemon-wait"], cwd: "/", env: {} }), { stdin: "pipe", stdout: "inherit", stderr: "inherit" });
await jail.ready;
process.stdout.write("supervisor=" + jail.pid + "\\n");
setInterval(() => {}, 1000);
`,
      );
      const mcpj = spawn(process.execPath, [driver], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      mcpj.stdout.setEncoding("utf8");
      const seen = new Promise<void>((resolve, reject) => {
        mcpj.stdout.on("data", (d: string) => {
          out += d;
          if (/^supervisor=\d+$/m.test(out) && /^ns=pid:\[\d+\]$/m.test(out) && /^daemon=\d+$/m.test(out)) resolve();
        });
        mcpj.once("exit", () => reject(new Error(`the driver exited: ${out}`)));
      });
      const safety = setTimeout(() => mcpj.kill("SIGKILL"), bound(30_000));
      await seen;
      const supervisor = Number(/^supervisor=(\d+)$/m.exec(out)![1]);
      const ns = /^ns=(pid:\[\d+\])$/m.exec(out)![1]!;
      t.after(holdPidNamespace(ns));
      const init = childrenOf(supervisor)[0];
      assert.ok(init !== undefined, "init's host pid was not found");
      const before = leftovers(ns, init);
      assert.ok(before.length >= 2, `the jail's processes are not visible: ${before}`);
      mcpj.kill("SIGKILL");
      const left = await gone(() => [...leftovers(ns, init), ...(alive(supervisor) ? [supervisor] : [])], 1_000);
      clearTimeout(safety);
      assert.deepEqual(left, []);
    } finally {
      removeDir(dir);
    }
  });
});

// RED-TEAM 2 FINDINGS (the one-thread unix send CONTINUE and the changes around it): each test
// reproduces one defect found by attacking the supervisor and deputy as a jailed process would,
// and asserts the SECURE outcome with its exact errno. Each failed on the code it was written
// against and passes since its fix. Root and unprivileged (RT2-3 observes the deputy in a way
// only root can).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, chmodSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { eventsOf, grantDirs, startHostSide, startLive } from "./helpers/live.js";
import { childrenOf } from "./helpers/jailed.js";
import { isRoot, program, runProgram } from "./programs/index.js";
import { elfInterpreter } from "../src/jail/exec.js";

const T = { timeout: 120_000 };

describe("red-team 2 findings", () => {
  const g = grantDirs();

  // RT2-1. A unix PATHNAME that starts with '@' ("@agent/S.sock": '@' is an ordinary first
  // character; only a leading NUL makes an address abstract) is taken for an abstract one:
  // sup_net.c renders both as "@..." (unix_path) and decides on that rendering, so the address
  // goes to the deputy as an "abstract" copy (DOP_ADDR, or a named DOP_SEND) and the deputy
  // connects, sends or binds to that pathname relative to ITS OWN cwd ("/"), with no decision on
  // the socket file: deny globs and the read-only-grant rule are skipped. Here a read-only grant
  // appears at /@rt2agent and the jail's cwd is "/", so the kernel would name the same file.
  describe("RT2-1: a pathname starting with '@' is decided like any path", () => {
    const hostCases = [
      { mode: "connect", host: "stream", file: "S.agent" },
      { mode: "sendto", host: "dgram", file: "S.log" },
    ] as const;
    for (const c of hostCases) {
      it(`${c.mode}("@rt2agent/${c.file}") to a host ${c.host} socket in a read-only grant → EACCES; the host gets nothing`, T, async () => {
        const host = await startHostSide(c.host, join(g.R, c.file));
        try {
          const r = await runProgram(program("rt2-atpath"), [c.mode, `@rt2agent/${c.file}`], {
            policy: { filesystem: { ro: [{ path: g.R, dest: "/@rt2agent" }], cwd: "/" } },
          });
          assert.equal(r.out.get(c.mode), "EACCES", r.stdout + r.stderr);
          assert.deepEqual(host.lines(), []);
        } finally {
          await host.stop();
        }
      });
    }

    it(
      "bind(\"@rt2w/x.sock\") at a name a deny glob matches, in a writable grant → EACCES; no socket file",
      { ...T },
      async () => {
        const d = writable(g.W, "rt2-1");
        const r = await runProgram(program("rt2-atpath"), ["bind", "@rt2w/x.sock"], {
          policy: { filesystem: { rw: [{ path: d, dest: "/@rt2w" }], deny: ["**/*.sock"], cwd: "/" } },
        });
        assert.equal(r.out.get("bind"), "EACCES", r.stdout + r.stderr);
        assert.equal(existsSync(join(d, "x.sock")), false, "the denied socket file was created");
        assert.ok(eventsOf(r).some((e) => e.act === "deny" && e.sc === "bind"), JSON.stringify(eventsOf(r)));
      },
    );

    it(
      "bind(\"@s\") from a working directory in a writable grant creates the socket file there (relative to the caller's cwd)",
      T,
      async () => {
        const d = writable(g.W, "rt2-1cwd");
        const r = await runProgram(program("rt2-atpath"), ["bind", "@s"], { policy: { filesystem: { rw: [d], cwd: d } } });
        assert.equal(r.out.get("bind"), "OK", r.stdout + r.stderr);
        assert.ok(existsSync(join(d, "@s")), "no socket file in the caller's working directory");
      },
    );
  });

  // RT2-2. "execveat(fd, "", AT_EMPTY_PATH) is decided on the caller's own descriptor" holds only
  // while every thread shares one descriptor table: the supervisor takes the descriptor with
  // pidfd_getfd from the thread-group LEADER (sup_exec.c, sup_target_fd(tgid)), but clone(2) with
  // CLONE_THREAD and without CLONE_FILES (allowed by the filter) gives a thread a table of its own.
  // Such a thread with the loader at N, whose leader has the allowed program at N, gets the loader
  // approved and CONTINUEd without any race; only the backstop (the kill at the loader's first
  // notified call) stops it. The control run (a thread sharing the table) is refused as designed.
  it("execveat(N, \"\", AT_EMPTY_PATH) of the loader → EACCES; a thread with its own descriptor table cannot be made (EPERM)",
    T,
    async () => {
      const bin = program("rt2-execfd");
      const loader = elfInterpreter(bin)!;
      const got: Record<string, string | undefined> = {};
      for (const mode of ["shared", "private"]) {
        const r = await runProgram(bin, [mode, loader], {});
        got[mode] = r.out.get(`${mode}.clone`) !== undefined ? `clone ${r.out.get(`${mode}.clone`)}` : r.out.get(`${mode}.execveat`);
      }
      // Such a thread cannot be made (the filter refuses CLONE_THREAD without CLONE_FILES, EPERM), so
      // every thread's descriptors are the process's, which the supervisor takes.
      assert.deepEqual(got, { shared: "EACCES", private: "clone EPERM" });
    },
  );

  // RT2-3. The deputy's main thread opens a FIFO and waits for a writer: the loop that must never
  // block. deputy_open.c defers an open to a worker when the name it looked up is a FIFO, but an
  // O_CREAT open of a name that was absent goes to create(), whose openat2(O_CREAT) without
  // O_EXCL opens whatever is there by then, on the main thread: a FIFO linked in meanwhile (mknod
  // and link are the kernel's without deny rules) makes it wait for a writer. From then on no
  // supervised call of the jail is answered (the writer's own open waits behind it), not even a
  // cancel; only a host process opening the FIFO, or the jail's end, releases it.
  it("open(O_CREAT) racing a FIFO onto the name never makes the deputy's main thread wait for a writer",
    {
      ...T,
      // The wait is seen in /proc/DEPUTY/wchan, which reads "0" to a reader without ptrace access
      // to the deputy (not dumpable): the unprivileged run cannot observe it. The code path is the
      // same whoever runs mcp-j.
      skip: !isRoot && "needs root to read the deputy's /proc/PID/wchan (not dumpable: an unprivileged reader gets \"0\")",
    },
    async () => {
      const d = writable(g.W, "rt2-3");
      const live = startLive([program("rt2-fifocreate", ["-pthread"]), d, "20000"], { policy: { filesystem: { rw: [d] } }, killAfterMs: 110_000 });
      let blocked = "";
      try {
        await live.line(/^wait=racing$/, 30_000);
        const init = childrenOf(live.supervisorPid!)[0]!;
        const deputy = childrenOf(init).find((p) => comm(p) === "mcpj-deputy");
        assert.ok(deputy !== undefined, "the deputy was not found among the jail init's children");
        // Until the program is done (the secure outcome) or the deputy's main thread waits in a
        // FIFO open (the defect), bounded by the run's kill timer.
        for (;;) {
          if (live.stdout().includes("done=")) break;
          const w = wchan(deputy);
          if (w === "wait_for_partner") {
            blocked = w;
            break;
          }
          if (w === null) break; // the deputy is gone: the jail ended
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        if (blocked !== "") live.signal("SIGKILL");
        await live.done().catch(() => undefined);
      }
      assert.equal(blocked, "", "the deputy's main thread waits for a FIFO writer");
      assert.match(live.stdout(), /^done=20000$/m);
    },
  );
});

/** A directory of its own under a writable grant, writable by the jail's host identity. */
function writable(parent: string, name: string): string {
  const d = join(parent, name);
  mkdirSync(d);
  chmodSync(d, 0o777);
  return d;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** What the thread-group leader (the main thread) of pid waits in, or null once it is gone. */
function wchan(pid: number): string | null {
  try {
    readdirSync(`/proc/${pid}/task`);
    return readFileSync(`/proc/${pid}/wchan`, "utf8").trim();
  } catch {
    return null;
  }
}

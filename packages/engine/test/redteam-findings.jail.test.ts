// RED-TEAM FINDINGS on the deputy design (issue 10): each test reproduces one defect found by
// attacking the supervisor and deputy as a jailed process would, and asserts the secure outcome;
// each failed on the code it was written against (checked by building that code's native/ with
// these tests) and passes since its fix. Root and unprivileged.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { grantDirs, startHostSide, startLive } from "./helpers/live.js";
import { race } from "./helpers/loader-race.js";
import { stallScenario } from "./helpers/stall.js";
import { elfInterpreter } from "../src/jail/exec.js";
import { pick, program, runProgram } from "./programs/index.js";
import type { PolicyInput } from "../src/policy/schema.js";

/** The test options of a finding. */
function finding(_name: string): { timeout: number } {
  return { timeout: 180_000 };
}

function file(path: string, content: string): void {
  writeFileSync(path, content);
  chmodSync(path, 0o666);
}

/** Runs toctou.c; returns its counters. */
async function toctou(args: string[], policy: PolicyInput): Promise<Record<string, number>> {
  const r = await runProgram(program("toctou", ["-pthread"]), args, { policy, killAfterMs: 120_000 });
  const mode = args[0]!;
  const n = (k: string): number => Number(r.out.get(`${mode}.${k}`) ?? NaN);
  return { attempts: n("attempts"), won: n("won"), refused: n("refused"), other: n("other") };
}

describe("red-team findings (issue 10, deputy design)", () => {
  const g = grantDirs();

  // F1. connect() to an abstract (or AF_UNSPEC) address is CONTINUEd; the kernel re-reads the
  // address, which a racing thread has made a path: a host socket in a READ-ONLY grant is reached
  // (an ssh or gpg agent under --ro ~, with the invoker's uid when mcp-j runs unprivileged).
  for (const mode of ["connect-abstract", "connect-unspec"] as const) {
    it(`F1 ${mode}: a racing thread cannot turn a connect into one to a host socket in a read-only grant`, finding("F1"), async () => {
      const sock = join(g.R, `S.${mode}`);
      const host = await startHostSide("stream", sock);
      try {
        const c = await toctou([mode, sock, "20000"], { filesystem: { ro: [g.R] } });
        assert.equal(c.won, 0, `connected ${c.won} times in ${c.attempts} attempts`);
        assert.ok(c.refused! > 0 && c.other! > 0, `the flip ran both ways: ${JSON.stringify(c)}`);
        assert.deepEqual(host.lines(), []);
      } finally {
        await host.stop();
      }
    });
  }

  // F2. sendto() with a unix path on a STREAM socket is CONTINUEd (a stream ignores the name); a
  // racing dup2() puts a datagram socket at that descriptor number before the kernel re-reads it:
  // a datagram reaches a host socket in a read-only grant (item 6 bypassed).
  it("F2: a racing dup2() cannot turn a stream sendto into a datagram to a host socket in a read-only grant", finding("F2"), async () => {
    const sock = join(g.R, "S.log");
    const host = await startHostSide("dgram", sock);
    try {
      const c = await toctou(["sendto-swap", sock, "20000"], { filesystem: { ro: [g.R] } });
      assert.equal(c.won, 0, `sent ${c.won} datagrams in ${c.attempts} attempts`);
      // Every send names the path, which the deputy decides on (a read-only grant: refused)
      // whatever socket the descriptor holds: the swap cannot change the outcome.
      assert.equal(c.refused, c.attempts, JSON.stringify(c));
      assert.deepEqual(host.lines(), []);
    } finally {
      await host.stop();
    }
  });

  // F3. bind() to an abstract address is CONTINUEd; a racing thread makes it a path that a deny
  // rule matches: the socket file is created at the denied name (ESCAPES 59: mknod/bind).
  it("F3: a racing thread cannot turn an abstract bind into a socket file at a denied name", finding("F3"), async () => {
    const d = join(g.W, "f3");
    mkdirSync(d);
    chmodSync(d, 0o777);
    const c = await toctou(["bind-abstract", join(d, ".env"), "20000"], { filesystem: { rw: [g.W], deny: ["**/.env"] } });
    assert.equal(c.won, 0, `${d}/.env was created after ${c.attempts} attempts`);
    assert.ok(c.refused! > 0 && c.other! > 0, `the flip ran both ways: ${JSON.stringify(c)}`);
    assert.ok(!existsSync(join(d, ".env")));
  });

  // F4. truncate() is performed on the deputy's own loop; the kernel's truncate waits for a lease
  // to be broken (lease-break-time, 45 s by default, again and again), and a jail process may hold
  // a lease on a file it owns: every supervised call of the jail waits meanwhile.
  it("F4: truncate() of a file with a lease does not stall other supervised calls", finding("F4"), async () => {
    const out = await stallScenario(["truncate", "/tmp/leased"], { filesystem: { deny: ["**/.env"] } });
    assert.equal(out.get("others"), "OK");
  });

  // F5. Whether a connect may block is decided on the socket's O_NONBLOCK flag, read before the
  // connect; the flag lives in the open file the target shares, and a racing thread clears it in
  // between: the deputy's own loop then waits in connect() on a full backlog, for ever.
  it("F5: flipping O_NONBLOCK under a connect does not make the deputy's loop wait", finding("F5"), async () => {
    const out = await stallScenario(["toggle", "/tmp/full.sock"], {});
    assert.equal(out.get("others"), "OK");
  });

  // F7. An O_PATH open is CONTINUEd (decided on the path the supervisor read); a racing thread gets
  // a descriptor of a denied file created after the start. Reopened through /proc/self/fd/N it is
  // refused; but once the host deletes the file (an editor's atomic save does), the deputy finds no
  // path for it, decides nothing (dep_decide("") allows) and reopens it: its content is read.
  it("F7: a raced O_PATH descriptor of a denied file is not reopened once the host deletes the file", finding("F7"), async () => {
    const d = join(g.W, "f7");
    mkdirSync(d);
    chmodSync(d, 0o777);
    file(join(d, "ok"), "OK\n");
    const live = startLive([program("toctou", ["-pthread"]), "opath", join(d, ".env"), "200000", join(d, "ok")], {
      policy: { filesystem: { rw: [g.W], deny: ["**/.env"] } },
    });
    await live.line(/^wait:create$/, 60_000);
    file(join(d, ".env"), "TOKEN=hunter2\n");
    live.answer("go");
    if ((await live.line(/^opath\.won=/, 90_000)) === "opath.won=1") {
      await live.line(/^wait:delete$/);
      unlinkSync(join(d, ".env"));
      live.answer("go");
    }
    const r = await live.done();
    assert.equal(r.out.get("opath.won"), "1", `the O_PATH race was not won (the test cannot say anything): ${r.stdout}`);
    assert.deepEqual(pick(r.out, ["reopen", "reopen_deleted"]), { reopen: "EACCES", reopen_deleted: "EACCES" });
  });

  // F7b. The same gap without a race: a file whose real name ends in " (deleted)" is taken for a
  // deleted one (dep_fd_path), so nothing is decided and a denied file of that name is opened.
  it("F7b: a denied file whose name ends in ' (deleted)' is refused", finding("F7"), async () => {
    const d = join(g.W, "f7b");
    mkdirSync(d);
    chmodSync(d, 0o777);
    const ops = ["host later", `read ${d}/secrets/k%20(deleted)`, `read ${d}/secrets/k`];
    const live = startLive([program("pathattack"), ...ops], { policy: { filesystem: { rw: [g.W], deny: ["**/secrets/**"] } } });
    await live.line(/^wait:later$/, 60_000);
    mkdirSync(join(d, "secrets"));
    chmodSync(join(d, "secrets"), 0o777);
    for (const n of ["k (deleted)", "k"]) file(join(d, "secrets", n), "SECRET\n");
    live.answer("go");
    const r = await live.done();
    assert.deepEqual(pick(r.out, ops.slice(1)), { [ops[1]!]: "EACCES", [ops[2]!]: "EACCES" });
  });

  // F8. Renaming a directory is refused only when no path below the new name could match the glob
  // (sup_glob_moves_out asks "could anything below `to` match?"): with a glob that starts with
  // "**/" the answer is always yes, so `--deny '**/certs/*.pem'` (or '**/.ssh/id_*') does not
  // stop `mv certs x`, after which x/key.pem is no longer matched and is read.
  it("F8: renaming a directory cannot carry a later-created file out of a '**/dir/*.ext' glob", finding("F8"), async () => {
    const d = join(g.W, "f8");
    mkdirSync(d);
    chmodSync(d, 0o777);
    const ops = ["host later", `rename ${d}/certs ${d}/moved`, `read ${d}/moved/key.pem`, `rename ${d}/.ssh ${d}/ssh2`, `read ${d}/ssh2/id_ed25519`];
    const live = startLive([program("pathattack"), ...ops], { policy: { filesystem: { rw: [g.W], deny: ["**/certs/*.pem", "**/.ssh/id_*"] } } });
    await live.line(/^wait:later$/, 60_000);
    for (const [sub, name] of [["certs", "key.pem"], [".ssh", "id_ed25519"]] as const) {
      mkdirSync(join(d, sub));
      chmodSync(join(d, sub), 0o777);
      file(join(d, sub, name), "PRIVATE\n");
    }
    live.answer("go");
    const r = await live.done();
    assert.deepEqual(pick(r.out, ops.slice(1)), {
      [ops[1]!]: "EACCES",
      [ops[2]!]: "ENOENT",
      [ops[3]!]: "EACCES",
      [ops[4]!]: "ENOENT",
    });
  });

  // F12. execveat(fd, "", AT_EMPTY_PATH) is decided on ANOTHER process's descriptor: for an empty
  // path sup_target_compose returns before it reads the target's /proc status, and sup_handle_exec
  // then uses tp.ti.tgid from its static tpath, left by the previous exec notification (of any
  // process). The decision is made on that process's descriptor N (the wrong object; ESRCH when it
  // has exited, so fexecve() fails after any earlier exec'ing process ended), and the allowed exec
  // puts that other process under the loader watch: test/supervisor-loader-threads.jail.test.ts,
  // arrangement "stale", starts the ELF loader through it and runs sh in about one attempt in six.
  it("F12: fexecve of an allowed binary after another process's exec runs (decided on the caller's descriptor)", finding("F12"), async () => {
    const ops = ["exec /usr/bin/true", "execveat_empty /usr/bin/true"];
    const r = await runProgram(program("pathattack"), ops, { policy: { filesystem: { exec: ["/usr/bin/true"] } } });
    assert.deepEqual(pick(r.out, ops), { [ops[0]!]: "OK", [ops[1]!]: "OK" });
  });

  // F9. The loader watch (sup_exec.c) is one entry per process with one exec'ing thread: a second
  // allowed exec of the same process (here the leader's, which the kernel then refuses with
  // EFAULT) overwrites it, and it ends when that thread comes back, while the first exec, raced
  // to the loader, is still in flight; the busy leader is then remembered as "not the loader" and
  // the loader inherits its tid. (supervisor-loader-threads.jail.test.ts wins it without a decoy,
  // less often.)
  it("F9: the ELF loader is killed even when the leader's own execs come in between (300 attempts)", finding("F9"), () => race("decoy", 300));

  // F12 (the loader): descriptor 100 of the racing process is the loader, a child's descriptor 100
  // is the allowed program, and the child made the supervisor's last exec: the decision followed
  // the child and the loader started. Decided on the caller's own descriptor, it is refused.
  it("F12: execveat(fd, \"\", AT_EMPTY_PATH) of the loader is decided on the caller's descriptor and refused (20 attempts)", finding("F12"), async () => {
    const bin = program("loader-threads", ["-pthread"]);
    const interp = elfInterpreter(bin)!;
    const r = await runProgram(bin, ["stale", "20"], { policy: { env: { set: { SELF: bin, LOADER: interp } }, limits: { pids: 1024 } }, killAfterMs: 120_000 });
    assert.deepEqual(
      ["attempts", "refused", "pwned", "killed"].map((k) => r.out.get(`stale.${k}`)),
      ["20", "20", "0", "0"],
      r.stderr,
    );
  });

  // F10. Every open of a FIFO without O_NONBLOCK goes to a deputy worker, even O_RDWR, which never
  // waits. With the 64 workers busy (64 readers waiting for a writer), no FIFO can be opened at all:
  // not even the O_RDWR open that would release the readers (EAGAIN).
  it("F10: with the deputy's workers busy, an O_RDWR open of a FIFO (which never waits) succeeds", finding("F10"), async () => {
    const out = await stallScenario(["threads", "200"], { limits: { pids: 1024 }, filesystem: { deny: ["**/.env"] } });
    assert.equal(out.get("writer_rdwr"), "OK");
  });
});

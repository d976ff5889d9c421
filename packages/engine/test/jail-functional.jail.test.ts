// The jail runs real programs (issue 2): interpreters with the default grants, scripts under a
// --ro grant, writes to a --rw grant that land on the host, exit codes, and the errors of a jail
// that cannot start (125 set-up, 126 not executable, 127 not found). Root and unprivileged.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runJailed } from "./helpers/jailed.js";
import { prepareJail } from "../src/launch.js";
import { JailError } from "../src/jail/errors.js";
import { PolicySchema, type PolicyInput } from "../src/policy/schema.js";
import { fsops, hostDir, hostGid, hostUid, program, removeDir, runProgram } from "./programs/index.js";

let ro: string;
let rw: string;
before(() => {
  ro = hostDir("ro");
  mkdirSync(join(ro, "lib"));
  chmodSync(join(ro, "lib"), 0o755);
  const files: Record<string, [string, number]> = {
    "tool.py": ["#!/usr/bin/python3\nimport sys\nprint('tool', sys.argv[1:])\n", 0o755],
    "tool.sh": ["#!/bin/sh\necho \"sh $# [$1]\"\n", 0o755],
    "main.mjs": ["import { answer } from './lib/answer.mjs';\nconsole.log('answer', answer);\n", 0o644],
    "lib/answer.mjs": ["export const answer = 6 * 7;\n", 0o644],
  };
  for (const [name, [text, mode]] of Object.entries(files)) {
    writeFileSync(join(ro, name), text);
    chmodSync(join(ro, name), mode);
  }
  rw = hostDir("rw");
});
after(() => {
  removeDir(ro);
  removeDir(rw);
});

describe("real interpreters with only the default grants", () => {
  it("/usr/bin/python3 -c 'print(1)'", async () => {
    const r = await runJailed(["/usr/bin/python3", "-c", "print(1)"]);
    assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: "1\n", stderr: "" });
  });

  it("node -e", async () => {
    const r = await runJailed(["node", "-e", "console.log(6 * 7, process.getuid())"]);
    assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: "42 65534\n", stderr: "" });
  });

  it("a shell pipeline (/bin/sh through the usrmerge link)", async () => {
    const r = await runJailed(["/bin/sh", "-c", "echo jailed | tr a-z A-Z; exit 3"], { policy: { filesystem: { exec: ["/usr/bin/tr"] } } });
    assert.deepEqual({ code: r.code, stdout: r.stdout }, { code: 3, stdout: "JAILED\n" });
  });

  it("descriptors opened with O_PATH work (programs use them to walk directories)", async () => {
    const table = { "open_path /usr/bin/true": "OK", "open_path /tmp": "OK", "open_path /etc/passwd": "OK" };
    assert.deepEqual(await fsops(table), table);
  });
});

describe("grants", () => {
  it("a script under a --ro grant runs: python3 shebang, /bin/sh shebang, an ES module importing a sibling", async () => {
    const policy: PolicyInput = { filesystem: { ro: [ro] } };
    const py = await runJailed([join(ro, "tool.py"), "arg with space", "x"], { policy });
    assert.deepEqual({ code: py.code, stdout: py.stdout, stderr: py.stderr }, { code: 0, stdout: "tool ['arg with space', 'x']\n", stderr: "" });
    const sh = await runJailed([join(ro, "tool.sh"), "a b"], { policy });
    assert.deepEqual({ code: sh.code, stdout: sh.stdout, stderr: sh.stderr }, { code: 0, stdout: "sh 1 [a b]\n", stderr: "" });
    const node = await runJailed(["node", join(ro, "main.mjs")], { policy });
    assert.deepEqual({ code: node.code, stdout: node.stdout, stderr: node.stderr }, { code: 0, stdout: "answer 42\n", stderr: "" });
  });

  it("a --ro grant at another destination (PATH:DEST), and --cwd inside it", async () => {
    const r = await runJailed(["/usr/bin/python3", "tool.py", "here"], { policy: { filesystem: { ro: [`${ro}:/app`], cwd: "/app" } } });
    assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: "tool ['here']\n", stderr: "" });
  });

  it(`a write to a --rw grant lands on the host, owned by host uid ${hostUid}`, async () => {
    const r = await runJailed(
      ["/usr/bin/python3", "-c", `open(${JSON.stringify(join(rw, "out.txt"))}, "w").write("from the jail\\n")`],
      { policy: { filesystem: { rw: [rw] } } },
    );
    assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 0, stderr: "" });
    assert.equal(readFileSync(join(rw, "out.txt"), "utf8"), "from the jail\n");
    // Root invoker: the jail is host nobody, never host root. Unprivileged: the invoker.
    const st = statSync(join(rw, "out.txt"));
    assert.deepEqual({ uid: st.uid, gid: st.gid }, { uid: hostUid, gid: hostGid });
  });

  it("a write through the host's --rw grant at another destination lands in the host directory", async () => {
    const r = await runJailed(["/bin/sh", "-c", "echo via-dest > /work/dest.txt"], { policy: { filesystem: { rw: [`${rw}:/work`] } } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(rw, "dest.txt"), "utf8"), "via-dest\n");
  });
});

describe("exit codes", () => {
  it("the server's own exit code", async () => {
    const r = await runProgram(program("lifetime"), ["exit", "42"]);
    assert.deepEqual({ code: r.code, serverCode: r.exit.serverCode, serverSignal: r.exit.serverSignal }, { code: 42, serverCode: 42, serverSignal: null });
  });

  for (const [sig, n] of [["SIGKILL", 9], ["SIGTERM", 15], ["SIGSEGV", 11]] as const) {
    it(`128+N when the server dies of signal N (${sig})`, async () => {
      const r = await runProgram(program("lifetime"), ["raise", String(n)]);
      assert.deepEqual({ code: r.code, serverSignal: r.exit.serverSignal }, { code: 128 + n, serverSignal: n });
    });
  }

  const prepare = (command: string[], policy: PolicyInput = {}) => () =>
    prepareJail({ policy: PolicySchema.parse(policy), command, cwd: process.cwd(), env: {} });
  const jailError = (code: string, exitCode: number, message: RegExp) => (e: unknown) => {
    assert.ok(e instanceof JailError, `expected a JailError, got ${String(e)}`);
    assert.deepEqual({ code: e.code, exitCode: e.exitCode }, { code, exitCode });
    assert.match(e.message, message);
    return true;
  };

  it("127 (E_NOT_FOUND) with a hint for a command the jail cannot see", () => {
    assert.throws(prepare(["mcpj-no-such-command"]), jailError("E_NOT_FOUND", 127, /mcpj-no-such-command: command not found inside the jail.*--ro/));
    assert.throws(prepare(["/nonexistent/bin/server"]), jailError("E_NOT_FOUND", 127, /not found inside the jail.*--ro/));
    // It exists on the host, but nothing grants its directory.
    assert.throws(prepare([join(ro, "tool.py")]), jailError("E_NOT_FOUND", 127, /not found inside the jail.*--ro/));
  });

  it("125 (E_GRANT_MISSING) for a grant of a path that does not exist", () => {
    assert.throws(prepare(["/usr/bin/true"], { filesystem: { ro: ["/nonexistent/mcpj-grant"] } }), jailError("E_GRANT_MISSING", 125, /\/nonexistent\/mcpj-grant/));
    assert.throws(prepare(["/usr/bin/true"], { filesystem: { rw: [join(rw, "missing")] } }), jailError("E_GRANT_MISSING", 125, /missing/));
  });

  it("125 (E_SETUP) when a step inside the jail fails: a working directory that does not exist", async () => {
    const r = await runJailed(["/usr/bin/true"], { policy: { filesystem: { cwd: "/nonexistent-cwd" } } });
    assert.equal(r.code, 125);
    assert.equal(r.exit.error?.code, "E_SETUP");
    assert.match(r.exit.error?.message ?? "", /nonexistent-cwd/);
  });

  it("126 (E_NOT_EXECUTABLE) for a binary on a --rw grant (noexec)", async () => {
    const bin = join(rw, "true-copy");
    copyFileSync("/usr/bin/true", bin);
    chmodSync(bin, 0o755);
    const r = await runJailed([bin], { policy: { filesystem: { rw: [rw] } } });
    assert.equal(r.code, 126);
    assert.equal(r.exit.error?.code, "E_NOT_EXECUTABLE");
    assert.match(r.exit.error?.message ?? "", /EACCES/);
  });
});

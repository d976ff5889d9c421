// Deny entries that must not silently match nothing (issue 10 item 5), through the command line's
// own path (parseRunArgs → resolvePolicy → the jail): "./x" and "~/x" in a policy file are paths
// relative to the file and the home, like grants; an absolute glob applies to every view the jail
// has of a file granted twice. Each refusal is the supervisor's EACCES. Root and unprivileged.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseRunArgs } from "../src/policy/flags.js";
import { resolvePolicy } from "../src/policy/resolve.js";
import { programsDir, runJailed } from "./helpers/jailed.js";
import { hostDir, outcomes, pick, program, removeDir } from "./programs/index.js";

/** Runs fsops with `ops` under the policy the command line `flags` (and files) resolve to. */
async function fsopsVia(flags: string[], ops: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Record<string, string>> {
  const args = parseRunArgs([...flags, "--ro", programsDir, "--", program("fsops"), ...ops]);
  const resolved = await resolvePolicy({ ...args, cwd: o.cwd, env: o.env });
  const r = await runJailed(args.command, { resolved, cwd: o.cwd, env: o.env });
  assert.equal(r.exit.error, null, `the jail did not run: ${r.exit.error?.message ?? ""}\n${r.stderr}`);
  assert.ok(r.ready?.seccomp, "the jail ran without its seccomp filter (no supervisor)");
  return pick(outcomes(r.stdout), ops);
}

function file(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o644 });
}

describe("deny entries (issue 10 item 5)", () => {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = hostDir("ro");
    dirs.push(d);
    return d;
  };
  let p: string;
  before(() => {
    p = dir();
    mkdirSync(join(p, "keys"), { mode: 0o755 });
    file(join(p, "keys", "private.key"), "PRIVATE\n");
    file(join(p, "keys", "public.key"), "PUBLIC\n");
  });
  after(() => dirs.forEach(removeDir));

  it("an absolute glob applies to every view of a file granted twice", async () => {
    const got = await fsopsVia(
      ["--ro", p, "--ro", `${p}/keys:/keys`, "--deny", `${p}/keys/private.key`],
      [`read ${p}/keys/private.key`, "read /keys/private.key", "read /keys/public.key", `read ${p}/keys/public.key`],
      { cwd: "/", env: process.env },
    );
    assert.deepEqual(got, {
      [`read ${p}/keys/private.key`]: "EACCES",
      "read /keys/private.key": "EACCES",
      "read /keys/public.key": "data:PUBLIC",
      [`read ${p}/keys/public.key`]: "data:PUBLIC",
    });
  });

  it("a glob over a directory granted elsewhere follows it there (--deny 'P/**/*.key' with --ro P/keys:/k)", async () => {
    const got = await fsopsVia(["--ro", `${p}/keys:/k`, "--deny", `${p}/**/private.*`], ["read /k/private.key", "read /k/public.key"], { cwd: "/", env: process.env });
    assert.deepEqual(got, { "read /k/private.key": "EACCES", "read /k/public.key": "data:PUBLIC" });
  });

  it("./x and ~/x in a policy file's filesystem.deny are paths relative to the file and the home", async () => {
    const home = dir();
    mkdirSync(join(home, "notes"), { mode: 0o755 });
    file(join(home, "notes", "secret"), "SECRET\n");
    file(join(home, "notes", "todo"), "TODO\n");
    const d = dir();
    mkdirSync(join(d, "proj"), { mode: 0o755 });
    file(join(d, "proj", ".env"), "TOKEN\n");
    file(join(d, "proj", "ok"), "OK\n");
    file(join(d, "policy.yaml"), "filesystem:\n  ro: [./proj, ~/notes]\n  deny: [./proj/.env, ~/notes/secret]\n");
    // The file is read from another directory: "./" is the file's, not the current one.
    const got = await fsopsVia(
      ["--policy", join(d, "policy.yaml")],
      [`read ${d}/proj/.env`, `read ${d}/proj/ok`, `read ${home}/notes/secret`, `read ${home}/notes/todo`],
      { cwd: "/", env: { ...process.env, HOME: home } },
    );
    assert.deepEqual(got, {
      [`read ${d}/proj/.env`]: "EACCES",
      [`read ${d}/proj/ok`]: "data:OK",
      [`read ${home}/notes/secret`]: "EACCES",
      [`read ${home}/notes/todo`]: "data:TODO",
    });
  });
});

// RED-TEAM 3 FINDINGS (a19ae2b, issue 12: the system programs a server runs join its exec allowlist
// without a flag, policy/programs.ts). Each "RT3-n" test reproduces one defect found by attacking
// the inference as a server author, another jail or an unprivileged user would, and asserts the
// SECURE outcome with its exact errno: each fails on a19ae2b. The "held" tests are attacks that
// failed on a19ae2b; they pass and keep it so. Real jails, the real CLI; root and unprivileged
// (RT3-2 and RT3-6 need root: they build directories under /usr).
import assert from "node:assert/strict";
import { chmodSync, chownSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runMcpj } from "./helpers.js";

const T = { timeout: 120_000 };
const root = process.getuid?.() === 0;
const rootOnly = !root && "builds root-owned directories under /usr, which only root can";
const env: NodeJS.ProcessEnv = { ...process.env, PATH: "/usr/bin:/bin" };

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh 0755 directory under `parent` (tmpdir by default), removed after the file. */
function dir(parent = tmpdir()): string {
  const d = mkdtempSync(join(parent, "mcpj-rt3-"));
  made.push(d);
  chmodSync(d, 0o755);
  return d;
}

/** A node one-liner for `node -e`: runs `file` (with `args`) and says on stderr what happened:
 * "ran: OUTPUT" or "refused: CODE". No argument of the command is an absolute path (those are
 * inferred too); the program's path is in the code. */
function spawnCode(file: string, args: string[] = []): string {
  return (
    `const cp = require("child_process");` +
    `try { process.stderr.write("ran: " + cp.execFileSync(${JSON.stringify(file)}, ${JSON.stringify(args)}, { stdio: ["ignore", "pipe", "pipe"] }).toString()); }` +
    `catch (e) { process.stderr.write("refused: " + e.code + "\\n"); }`
  );
}

/** A script the jail could run if it were allowed: it says who wrote it. */
function script(path: string, says: string): void {
  writeFileSync(path, `#!/usr/bin/node\nconsole.log(${JSON.stringify(says)});\n`, { mode: 0o755 });
  chmodSync(path, 0o755);
}

/** `mcp-j policy show FLAGS -- CMD`'s exec list. */
async function policyExec(args: string[], runEnv = env): Promise<string[]> {
  const r = await runMcpj(["policy", "show", ...args], { env: runEnv, cwd: "/" });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { filesystem: { exec: string[] } }).filesystem.exec;
}

describe("red-team 3 findings", () => {
  // RT3-1. The git-server table is matched on "the package name the command spells, never on
  // anything read from the server's files" (programs.ts), but serverNames takes the name from the
  // command's REAL path too (realOr(whichSync(command[0]))) and from the basename of command[0],
  // which resolveRun has already replaced with that real path for a program found in PATH. So a
  // symlink in the server's own tree decides: the user runs `.../bin/weather-server`, the link
  // points into a directory the server named node_modules/mcp-server-git, and the jail may run git.
  // The same file started as `node .../bin/weather-server` gets nothing (the argument is not
  // resolved), which shows the name comes from the link and not from the user's words.
  it("RT3-1: a command that is a symlink into the server's node_modules/mcp-server-git → git stays refused (EACCES)", T, async () => {
    const d = dir();
    const pkg = join(d, "node_modules", "mcp-server-git");
    mkdirSync(pkg, { recursive: true, mode: 0o755 });
    chmodSync(join(d, "node_modules"), 0o755);
    writeFileSync(join(pkg, "index.js"), `#!/usr/bin/env node\n${spawnCode("git", ["--version"])}\n`, { mode: 0o755 });
    chmodSync(join(pkg, "index.js"), 0o755);
    mkdirSync(join(d, "bin"), { mode: 0o755 });
    const bin = join(d, "bin", "weather-server");
    symlinkSync("../node_modules/mcp-server-git/index.js", bin);

    // The control: the same file, named as node's argument, is refused git.
    const viaNode = await runMcpj(["--ro", d, "--", "node", bin], { env, cwd: "/" });
    assert.equal(viaNode.code, 0, viaNode.stderr);
    assert.match(viaNode.stderr, /^refused: EACCES$/m);

    const r = await runMcpj(["--ro", d, "--", bin], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /exec \/usr\/bin\/git \(a git server runs it\)/, "the server's symlink made mcp-j infer a git server");
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.ok(!(await policyExec(["--ro", d, "--", bin])).includes("/usr/bin/git"), "policy show lists git");
  });

  // RT3-2. "Owned by root, in a root-owned directory writable by no one else" is taken to mean "no
  // jail can write it", but mcp-j itself makes root-owned files writable by a jail: as root, a --rw
  // grant of a root-owned directory is an idmapped bind whose owner, in that mount, is the jail, and
  // what the jail writes there belongs to root on the host. Jail A (a server with a data directory
  // under /usr/local) writes an executable there; jail B, whose env names that path, runs jail A's
  // program: A's code with B's authority (B's grants, network, secrets). Jail A can also rewrite the
  // very inode B's Landlock rule allows, while B runs.
  it("RT3-2: a program another jail wrote through an idmapped --rw grant under /usr is not inferred; its exec → EACCES", { ...T, skip: rootOnly }, async () => {
    const d = dir("/usr/local/lib");
    const tool = join(d, "tool");
    const plant = await runMcpj(["--rw", d, "--", "node", "-e", `require("fs").writeFileSync(${JSON.stringify(tool)}, "#!/usr/bin/node\\nconsole.log('planted by jail A');\\n", { mode: 0o755 })`], { env, cwd: "/" });
    // Fixed: no jail may write inside a system directory, whoever owns it.
    assert.equal(plant.code, 125, plant.stderr);
    assert.match(plant.stderr, /is inside a system directory \(\/usr, \/bin, \/lib\), which no jail may write; grant a directory outside them/);
    assert.equal(existsSync(tool), false, "jail A wrote nothing");
    // What root put there itself (root-owned 0755, as jail A's file would have been) is still
    // inferred only as root's: B runs it, and it is root's own file.
    script(tool, "root's own tool");
    const r = await runMcpj(["--env", `TOOL=${tool}`, "--", "node", "-e", spawnCode(tool)], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ran: root's own tool$/m);
  });

  // RT3-3. The check (now systemProgram) looked at the HOST file at a path; the allowlist gets whatever the JAIL
  // sees at that path (exec.ts maps it through the mounts). A grant whose destination is under /usr
  // shadows the system directory: here the host's /usr/lib/git-core/git (root's) passes the check,
  // and the jail is allowed to execute the grant's git, a plain file of the granted tree (the
  // server's, or one another jail or user can write), which no check ever looked at.
  it("RT3-3: a path under /usr that a grant shadows is not inferred from the host's file; the grant's file → EACCES", T, async () => {
    assert.ok(statSync("/usr/lib/git-core/git").isFile(), "precondition: git is installed (/usr/lib/git-core/git)");
    const d = dir();
    script(join(d, "git"), "the granted tree's file, not git");
    const r = await runMcpj(["--ro", `${d}:/usr/lib/git-core`, "--env", "T=/usr/lib/git-core/git", "--", "node", "-e", spawnCode("/usr/lib/git-core/git")], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /the granted tree's file/, "the jail ran a file no check looked at");
    assert.match(r.stderr, /^refused: EACCES$/m);
  });

  // RT3-4. The server's environment is env.pass, then env.set over it (jail/environment.ts), but the
  // inference scans env.set, then env.pass over it (infer.ts). With a name in both, the server gets
  // the env.set value, and the exec allowlist gets the program in mcp-j's own value, which the
  // server never sees: here perl, a full interpreter, though the server's T names /usr/bin/true.
  it("RT3-4: --env T with --env T=VALUE: the program in mcp-j's own T (not the server's) is not inferred; perl → EACCES", T, async () => {
    const runEnv = { ...env, T: "/usr/bin/perl" };
    const flags = ["--env", "T", "--env", "T=/usr/bin/true", "--"];
    const code = `process.stderr.write("server T=" + process.env.T + "\\n");` + spawnCode("/usr/bin/perl", ["-e", "print qq(perl ran)"]);
    const r = await runMcpj([...flags, "node", "-e", code], { env: runEnv, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^server T=\/usr\/bin\/true$/m, "precondition: the server gets env.set's value");
    assert.doesNotMatch(r.stderr, /ran: perl ran/, "the server ran a program its environment never named");
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.ok(!(await policyExec([...flags, "node", "-e", "1"], runEnv)).includes("/usr/bin/perl"), "policy show lists perl");
  });

  // RT3-5 (reporting only: the run fails closed). A program named inside a writable grant (here a
  // --rw whose destination shadows /usr/lib/git-core) is announced on stderr as inferred ("exec
  // /usr/lib/git-core/git (named in T)") and listed by `policy show`, but the jail refuses it
  // (writable grants are never executable), with a denial that suggests --allow-exec, which would
  // not help either. The note must not claim what the run does not grant.
  it("RT3-5: a named program inside a writable grant is refused (EACCES) and not announced as inferred", T, async () => {
    const d = dir();
    script(join(d, "git"), "a writable grant's file");
    const r = await runMcpj(["--rw", `${d}:/usr/lib/git-core`, "--env", "T=/usr/lib/git-core/git", "--", "node", "-e", spawnCode("/usr/lib/git-core/git")], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.doesNotMatch(r.stderr, /exec \/usr\/lib\/git-core\/git \(named in T\)/, "the note announces an exec the jail refuses");
  });

  // RT3-6. The check (now systemProgram) checked the file and its own directory, not the directories above it.
  // An unprivileged user who owns any ancestor under /usr (an /usr/local/lib/node_modules chowned
  // to the user so that `npm i -g` needs no sudo, with a package root installed later) can rename
  // the root-owned directory away between the check (resolveRun) and the jail's start (the helper
  // opens each allowlisted file for its Landlock rule), and put a directory of its own in its
  // place: the jail is then allowed to execute a file that user wrote, and can rewrite while the
  // jail runs. The window is held open deterministically: the policy's secret is read from a FIFO
  // after the note is printed and before the helper starts (compile-plan.ts); the swap is done
  // while mcp-j waits on it.
  it("RT3-6: a root-owned program in a directory an unprivileged user can rename is not inferred; the swapped-in file → EACCES", { ...T, skip: rootOnly }, async () => {
    const userUid = 1001; // any uid but root's: the user who owns an ancestor
    const u = dir("/usr/local/lib");
    chownSync(u, userUid, userUid);
    const bin = join(u, "bin");
    mkdirSync(bin, { mode: 0o755 });
    const tool = join(bin, "tool");
    script(tool, "root's tool");
    // (This test once held mcp-j between its inference and the jail's start with a FIFO as a
    // secret's file, to swap the program in between; mcp-j no longer reads a FIFO there
    // (host-file.ts). The swap is moot once the program is not inferred: what the jail may run
    // is decided at inference, so the jail's attempt is refused whatever is at the path then.)
    const r = await runMcpj(["--env", `TOOL=${tool}`, "--", "node", "-e", spawnCode(tool)], { env, cwd: "/" });
    // Fixed: an ancestor the user owns disqualifies it; the note says nothing of exec.
    assert.match(r.stderr, /inferred from the command: /);
    assert.doesNotMatch(r.stderr, /inferred from the command: .*exec /);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr + r.stdout, /root's tool/, "the jail ran the program");
    assert.match(r.stderr, /^refused: EACCES$/m);
  });

  // RT3-7. A path the user names (an env value, an argument) is resolved (realOr) and the TARGET is
  // checked and allowed. When the named path is in the server's tree, a symlink there chooses which
  // system program the jail may execute: the user configured "the server's bin/chrome", the server
  // made it perl (or bash, python, ...): more than the configuration says.
  it("RT3-7: a named path that is a symlink in the server's tree does not choose a system program; perl → EACCES", T, async () => {
    const d = dir();
    symlinkSync("/usr/bin/perl", join(d, "chrome"));
    const opts = `OPTS={"executablePath":${JSON.stringify(join(d, "chrome"))}}`;
    const r = await runMcpj(["--ro", d, "--env", opts, "--", "node", "-e", spawnCode("/usr/bin/perl", ["-e", "print qq(perl ran)"])], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /ran: perl ran/, "the server's symlink chose perl");
    assert.match(r.stderr, /^refused: EACCES$/m);
  });
});

describe("red-team 3: attacks on the inferred programs that held", () => {
  it("a package.json naming a git server does not make one: the server's files are never read for the name (EACCES)", T, async () => {
    const d = dir();
    const srv = join(d, "srv");
    mkdirSync(srv, { mode: 0o755 });
    writeFileSync(join(srv, "package.json"), JSON.stringify({ name: "@cyanheads/git-mcp-server", bin: { "mcp-server-git": "index.js" } }));
    writeFileSync(join(srv, "index.js"), spawnCode("git", ["--version"]));
    const r = await runMcpj(["--", "node", join(srv, "index.js")], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.doesNotMatch(r.stderr, /; exec /);
  });

  it("--profile none infers nothing: a git server named by the user gets no git (EACCES)", T, async () => {
    const d = dir();
    const pkg = join(d, "node_modules", "@cyanheads", "git-mcp-server");
    mkdirSync(pkg, { recursive: true, mode: 0o755 });
    for (const p of [join(d, "node_modules"), join(d, "node_modules", "@cyanheads")]) chmodSync(p, 0o755);
    writeFileSync(join(pkg, "index.js"), spawnCode("git", ["--version"]));
    const r = await runMcpj(["--profile", "none", "--ro", d, "--", "/usr/bin/node", join(pkg, "index.js")], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.doesNotMatch(r.stderr, /inferred/);
  });

  it("other spellings of a file outside /usr are still outside: /usr/bin/../../TMP/git, //usr/.. (EACCES)", T, async () => {
    const d = dir();
    const copy = join(d, "git");
    copyFileSync("/usr/bin/git", copy);
    chmodSync(copy, 0o755);
    for (const spelled of [`/usr/bin/../..${copy}`, `//usr/..${copy}`]) {
      const r = await runMcpj(["--ro", d, "--env", `X=${spelled}`, "--", "node", "-e", spawnCode(copy, ["--version"])], { env, cwd: "/" });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^refused: EACCES$/m, spelled);
      assert.doesNotMatch(r.stderr, /; exec /, spelled);
    }
  });

  it("a symlink under /usr's name that leads out of /usr (the server's tree) is not a system program (EACCES)", T, async () => {
    const d = dir();
    script(join(d, "real"), "outside /usr");
    symlinkSync(join(d, "real"), join(d, "link"));
    // Named through a path that starts under /usr and climbs out: the real path decides.
    const r = await runMcpj(["--ro", d, "--", "node", `--title=/usr/../..${join(d, "link")}`, "-e", spawnCode(join(d, "link"))], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.doesNotMatch(r.stderr, /outside \/usr/);
  });

  it("a hardlink of a system program outside /usr is refused (EPERM to make one unprivileged; EACCES to run it)", T, async () => {
    const d = dir();
    const link = join(d, "git");
    try {
      linkSync("/usr/bin/git", link);
    } catch (e) {
      // protected_hardlinks: an unprivileged user cannot link a file it cannot write; another file system: EXDEV.
      assert.ok(["EPERM", "EXDEV"].includes((e as NodeJS.ErrnoException).code ?? ""), String(e));
      return;
    }
    const r = await runMcpj(["--ro", d, "--env", `X=${link}`, "--", "node", "-e", spawnCode(link, ["--version"])], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.doesNotMatch(r.stderr, /; exec /);
  });

  it("a group- or other-writable program, or one in such a directory, is not inferred (EACCES)", { ...T, skip: rootOnly }, async () => {
    const d = dir("/usr/local/lib");
    for (const [sub, fileMode, dirMode] of [["fw", 0o777, 0o755], ["dw", 0o755, 0o775]] as const) {
      const sd = join(d, sub);
      mkdirSync(sd);
      chmodSync(sd, dirMode);
      const f = join(sd, "tool");
      script(f, "writable");
      chmodSync(f, fileMode);
      const r = await runMcpj(["--env", `X=${f}`, "--", "node", "-e", spawnCode(f)], { env, cwd: "/" });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^refused: EACCES$/m, sub);
      assert.doesNotMatch(r.stderr, /; exec /, sub);
    }
  });

  it("a path inside JSON with a space or escapes grants nothing it does not spell whole", T, async () => {
    // "/usr/bin/git x" would split into /usr/bin/git: the user did spell it. An escaped "\/usr\/bin\/git" is not read as a path.
    const r = await runMcpj(["--env", `X={"p":"\\/usr\\/bin\\/git"}`, "--", "node", "-e", spawnCode("/usr/bin/git", ["--version"])], { env, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
    assert.doesNotMatch(r.stderr, /; exec /);
  });

  it("an inferred program adds no read grant: naming /usr/bin/git does not make the server's cwd or a directory visible", T, async () => {
    const d = dir();
    writeFileSync(join(d, "secret.txt"), "s");
    const show = await runMcpj(["policy", "show", "--env", "X=/usr/bin/git", "--", "node", "-e", "1"], { env, cwd: d });
    assert.equal(show.code, 0, show.stderr);
    const p = JSON.parse(show.stdout) as { filesystem: { ro: { path: string }[]; rw: unknown[]; exec: string[] } };
    assert.ok(p.filesystem.exec.includes("/usr/bin/git"));
    assert.deepEqual(p.filesystem.rw, []);
    assert.ok(!p.filesystem.ro.some((g) => g.path.startsWith(d)), JSON.stringify(p.filesystem.ro));
    const r = await runMcpj(["--env", "X=/usr/bin/git", "--", "node", "-e", `try { require("fs").readFileSync(${JSON.stringify(join(d, "secret.txt"))}); console.error("read"); } catch (e) { console.error("read: " + e.code); }`], { env, cwd: d });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^read: ENOENT$/m);
  });

  it("a pass-through variable unset in mcp-j's environment infers nothing (EACCES)", T, async () => {
    const runEnv = { ...env };
    delete runEnv.RT3_UNSET;
    const r = await runMcpj(["--env", "RT3_UNSET", "--", "node", "-e", spawnCode("/usr/bin/git", ["--version"])], { env: runEnv, cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^refused: EACCES$/m);
  });
});

// Issue 10 item 4 (ESCAPES 59): deny globs on every path syscall, not only open. In a writable
// grant with `**/.env`, `**/secrets/**` and an anchored `W/*/keys/*.pem`, every call that would
// change, create, move, link or run a denied name is refused with EACCES: for names present at the
// start (masked in the mount tree, but decided by the deputy before the kernel sees the mask) and
// for names the host creates while the jail runs (only the deputy stands in the way). Each denied
// call has a control on a name no rule matches that succeeds, so EACCES is the rule's doing; the
// host checks afterwards that nothing denied changed. Root and unprivileged.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eventsOf, startLive } from "./helpers/live.js";
import { hostDir, hostGid, hostUid, isRoot, pick, program, removeDir } from "./programs/index.js";

/** A file owned by the jail's host identity (as root the jail is host nobody: a root-owned file
 * would answer chmod/chown/utimes with EPERM, and EACCES must be the deny rule's). */
function own(path: string): void {
  if (isRoot) chownSync(path, hostUid, hostGid);
}
function file(path: string, content: string, mode = 0o666): void {
  writeFileSync(path, content);
  chmodSync(path, mode);
  own(path);
}
/** A directory (and its missing parents) writable by the jail. */
function dir(path: string): void {
  if (existsSync(path)) return;
  dir(dirname(path));
  mkdirSync(path);
  chmodSync(path, 0o777);
  own(path);
}

/** The calls of item 4 on the denied names of directory B (B/.env a denied file, B/e/secrets an
 * empty denied directory, B/keys a directory a glob reaches into), each with the outcome it must
 * have. New names are made in B itself: the jail's Landlock rules have no REFER right, so a rename
 * or link across directories fails with EXDEV whatever the names. */
function deniedCalls(B: string): Record<string, string> {
  const F = `${B}/.env`;
  return {
    [`truncate ${F}`]: "EACCES",
    [`open ${F} wt`]: "EACCES",
    [`open ${F} W`]: "EACCES",
    [`read ${F}`]: "EACCES",
    [`unlink ${F}`]: "EACCES",
    [`rmdir ${B}/e/secrets`]: "EACCES",
    [`chmod ${F}`]: "EACCES",
    [`lchmod ${F}`]: "EACCES",
    [`chmod_empty ${F}`]: "open:EACCES",
    [`chown ${F}`]: "EACCES",
    [`lchown ${F}`]: "EACCES",
    [`utimes ${F}`]: "EACCES",
    [`utime ${F}`]: "EACCES",
    [`lutimes ${F}`]: "EACCES",
    [`setxattr ${F}`]: "EACCES",
    [`lsetxattr ${F}`]: "EACCES",
    [`removexattr ${F}`]: "EACCES",
    [`lremovexattr ${F}`]: "EACCES",
    [`mkdir ${B}/m/.env`]: "EACCES",
    [`mkdir ${B}/m/secrets`]: "EACCES",
    [`mkfifo ${B}/f/.env`]: "EACCES",
    [`creat ${B}/c/.env`]: "EACCES",
    [`open ${B}/c/x/../.env wc`]: "EACCES",
    [`symlink target ${B}/s/.env`]: "EACCES",
    [`link ${F} ${B}/copy`]: "EACCES",
    [`linkat_follow ${F} ${B}/copy2`]: "EACCES",
    [`link ${B}/ok ${B}/l/.env`]: "EACCES",
    [`linkat_empty ${B}/ok ${B}/l/.env`]: "EACCES",
    [`rename ${F} ${B}/moved`]: "EACCES",
    [`rename ${B}/ok2 ${F}`]: "EACCES",
    [`exchange ${B}/ok3 ${F}`]: "EACCES",
    [`exchange ${F} ${B}/ok3`]: "EACCES",
    [`rename ${B}/keys ${B}/kk`]: "EACCES",
    [`exchange ${B}/keys ${B}/kdir`]: "EACCES",
    [`rename ${B}/secrets ${B}/public`]: "EACCES",
    [`bind ${B}/b/.env`]: "EACCES",
  };
}

/** What this kernel gives where no rule is involved: fchmodat2 is 6.6+ (ENOSYS before); user
 * xattrs on tmpfs are 6.6+ (EOPNOTSUPP before), probed on the control file itself. */
function kernelOutcomes(B: string): { lchmod: string; xattr: string } {
  const [major, minor] = release().split(".").map(Number) as [number, number];
  const probe = spawnSync("python3", ["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.mcpj-probe', b'1'); os.removexattr(sys.argv[1], 'user.mcpj-probe')", join(B, "ctl")], { encoding: "utf8" });
  const xattr = probe.status === 0 ? "OK" : /Operation not supported/.test(probe.stderr) ? "EOPNOTSUPP" : `probe failed: ${probe.stderr}`;
  return { lchmod: major > 6 || (major === 6 && minor >= 6) ? "OK" : "ENOSYS", xattr };
}

/** The same calls on names no rule matches: they work, so the refusals above are the rules'. */
function controlCalls(B: string): Record<string, string> {
  const k = kernelOutcomes(B);
  return {
    [`truncate ${B}/ctl`]: "OK",
    [`chmod ${B}/ctl`]: "OK",
    [`lchmod ${B}/ctl`]: k.lchmod,
    [`chmod_empty ${B}/ctl`]: "OK",
    [`chown ${B}/ctl`]: "OK",
    [`lchown ${B}/ctl`]: "OK",
    [`utimes ${B}/ctl`]: "OK",
    [`utime ${B}/ctl`]: "OK",
    [`lutimes ${B}/ctl`]: "OK",
    [`setxattr ${B}/ctl`]: k.xattr,
    [`lsetxattr ${B}/ctl`]: k.xattr,
    [`removexattr ${B}/ctl`]: k.xattr,
    [`setxattr ${B}/ctl2`]: k.xattr,
    [`lremovexattr ${B}/ctl2`]: k.xattr,
    [`mkdir ${B}/m/ok`]: "OK",
    [`mkfifo ${B}/f/ok`]: "OK",
    [`creat ${B}/c/ok`]: "OK",
    [`symlink target ${B}/s/ok`]: "OK",
    [`link ${B}/ok ${B}/okl`]: "OK",
    [`linkat_empty ${B}/ok ${B}/okl2`]: "OK",
    [`rename ${B}/ok4 ${B}/ok4b`]: "OK",
    [`exchange ${B}/ok5 ${B}/ok6`]: "OK",
    [`rename ${B}/kdir ${B}/kdir2`]: "OK",
    [`bind ${B}/b/ok`]: "OK",
    [`unlink ${B}/ok7`]: "OK",
    [`rmdir ${B}/empty`]: "OK",
  };
}

describe("deny globs cover every path call (issue 10 item 4, ESCAPES 59)", { timeout: 180_000 }, () => {
  let W: string;
  let R: string;
  const removed: string[] = [];
  /** The names every set has, before any denied one: directories for the new names, controls. */
  const base = (B: string): void => {
    for (const d of ["m", "f", "c", "c/x", "s", "l", "b", "kdir/keys", "empty", "e"]) dir(join(B, d));
    for (const f of ["ok", "ok2", "ok3", "ok4", "ok5", "ok6", "ok7", "ctl", "ctl2"]) file(join(B, f), `${f}\n`);
  };
  /** The denied names of a set. */
  const denied = (B: string, tag: string): void => {
    file(join(B, ".env"), `${tag}-ENV\n`);
    dir(join(B, "secrets"));
    file(join(B, "secrets", "key"), `${tag}-KEY\n`);
    dir(join(B, "e", "secrets"));
    dir(join(B, "keys"));
    file(join(B, "keys", "a.pem"), `${tag}-PEM\n`);
  };
  before(() => {
    W = hostDir("rw");
    R = hostDir("ro");
    own(W);
    // s: present at the start, masked in the mount tree. t: created by the host while the jail runs.
    base(join(W, "s"));
    denied(join(W, "s"), "START");
    base(join(W, "t"));
    // The exec case: a binary on the exec allowlist that a deny glob also names.
    dir(join(R, "bin"));
    copyFileSync("/usr/bin/true", join(R, "bin", "tool.env"));
    copyFileSync("/usr/bin/true", join(R, "bin", "tool"));
  });
  after(() => [W, R, ...removed].forEach(removeDir));

  it("refuses each call with EACCES on names masked at the start and on names the host creates later", async () => {
    const atStart = deniedCalls(join(W, "s"));
    const later = deniedCalls(join(W, "t"));
    const controls = controlCalls(join(W, "s"));
    const execs: Record<string, string> = {
      [`exec ${R}/bin/tool.env`]: "EACCES",
      [`exec ${R}/bin/tool`]: "OK",
      [`execveat ${R}/bin tool.env`]: "EACCES",
      [`execveat_empty ${R}/bin/tool.env`]: "open:EACCES", // its O_PATH open is decided too
    };
    const ops = [...Object.keys(controls), ...Object.keys(execs), ...Object.keys(atStart), "host later", ...Object.keys(later)];
    const live = startLive([program("pathattack"), ...ops], {
      policy: {
        filesystem: {
          rw: [W],
          ro: [R],
          exec: [join(R, "bin", "tool.env"), join(R, "bin", "tool")],
          deny: ["**/.env", "**/secrets/**", `${W}/*/keys/*.pem`, "**/tool.env"],
        },
      },
    });
    await live.line(/^wait:later$/, 60_000);
    // Created while the jail runs: nothing masks these, the deputy alone refuses.
    denied(join(W, "t"), "LATE");
    live.answer("go");
    const r = await live.done();
    assert.equal(r.exit.error, null, r.stderr);
    assert.ok(r.ready?.seccomp, "supervised");
    // One comparison, so that a failure lists every call that went wrong.
    const expected = { ...controls, ...execs, ...atStart, ...later };
    assert.deepEqual(pick(r.out, Object.keys(expected)), expected);

    // Nothing denied changed on the host.
    for (const [B, tag] of [[join(W, "s"), "START"], [join(W, "t"), "LATE"]] as const) {
      assert.equal(readFileSync(join(B, ".env"), "utf8"), `${tag}-ENV\n`);
      assert.equal(statSync(join(B, ".env")).mode & 0o777, 0o666);
      assert.equal(readFileSync(join(B, "keys", "a.pem"), "utf8"), `${tag}-PEM\n`);
      assert.equal(readFileSync(join(B, "secrets", "key"), "utf8"), `${tag}-KEY\n`);
      assert.ok(existsSync(join(B, "e", "secrets")));
      for (const p of ["m/.env", "m/secrets", "f/.env", "c/.env", "s/.env", "l/.env", "copy", "copy2", "moved", "kk", "public", "b/.env"]) {
        assert.ok(!existsSync(join(B, p)) && !isLink(join(B, p)), `${B}/${p} was created`);
      }
    }
    // The refusals are the supervisor's, each audited with the rule that matched.
    const globs = eventsOf(r).filter((e) => e.act === "deny" && e.why === "glob");
    const refused = Object.keys(atStart).length + Object.keys(later).length + 1; // + the exec
    assert.ok(globs.length >= refused, `${globs.length} deny events (why=glob) for ${refused} refused calls`);
    assert.ok(globs.every((e) => typeof e.rule === "string" && e.rule.length > 0), "each names its rule");
  });
});

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

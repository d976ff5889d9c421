// ESCAPES.md 29–31, 34–36 (paths, Landlock, execution) and 56 (environment) on the real kernel,
// as root and unprivileged. A host directory the jail is NOT granted holds a secret: no path
// trick may reach it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsops, hostDir, program, removeDir, runProgram } from "./programs/index.js";

let ro: string; // --ro grant: ro/sub/file
let rw: string; // --rw grant: rw/a/f
let secret: string; // not granted: secret/key
before(() => {
  ro = hostDir("ro");
  mkdirSync(join(ro, "sub"));
  chmodSync(join(ro, "sub"), 0o755);
  writeFileSync(join(ro, "sub", "file"), "granted\n");
  // World-writable, so that file permissions never answer for the jail's own walls.
  chmodSync(join(ro, "sub", "file"), 0o666);
  rw = hostDir("rw");
  // Explicit chmod (the umask would narrow the modes): as root, the jail is host nobody.
  for (const d of ["a", "b"]) {
    mkdirSync(join(rw, d));
    chmodSync(join(rw, d), 0o777);
  }
  writeFileSync(join(rw, "a", "f"), "rw\n");
  chmodSync(join(rw, "a", "f"), 0o666);
  secret = hostDir("ro"); // readable by the jail's host identity: only the jail's walls keep it out
  writeFileSync(join(secret, "key"), "s3cret\n");
  chmodSync(join(secret, "key"), 0o644);
});
after(() => {
  for (const d of [ro, rw, secret]) removeDir(d);
});
const policy = () => ({ filesystem: { ro: [ro], rw: [rw] } });

describe("ESCAPES 29: '..' never leaves the jail's tree", () => {
  it("openat('/granted/../../etc/shadow'), openat(grantedfd, '../../etc/shadow') → ENOENT", async () => {
    // The jail's /etc holds no shadow and '..' resolves in the jail's mount tree: ENOENT (not
    // EACCES: there is nothing to refuse).
    const table = {
      [`open_r ${ro}/../../etc/shadow`]: "ENOENT",
      [`open_r ${ro}/sub/../../../../../../etc/shadow`]: "ENOENT",
      [`openat ${ro} ../../etc/shadow`]: "ENOENT",
      [`openat ${ro}/sub ../../../../../../../../etc/shadow`]: "ENOENT",
      [`openat ${ro} ../../../../..${secret}/key`]: "ENOENT",
      [`openat ${rw}/a ../../../../..${secret}/key`]: "ENOENT",
      [`open_r ${secret}/key`]: "ENOENT",
      // The grant itself is readable, and /etc/passwd is the jail's own.
      [`read ${ro}/sub/file`]: "data:granted",
      "read /etc/passwd": "data:nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin",
    };
    assert.deepEqual(await fsops(table, { policy: policy() }), table);
  });
});

describe("ESCAPES 30: symlinks are resolved inside the jail", () => {
  it("links in /tmp and in a --rw grant to /etc/shadow, /proc/1/root, a host path → not followed out", async () => {
    const table = {
      "symlink /etc/shadow /tmp/l-shadow": "OK",
      "open_r /tmp/l-shadow": "ENOENT",
      [`symlink ${secret}/key /tmp/l-host`]: "OK",
      "open_r /tmp/l-host": "ENOENT",
      [`symlink ${secret}/key ${rw}/l-host`]: "OK",
      [`open_r ${rw}/l-host`]: "ENOENT",
      [`symlink ../../../../../../..${secret}/key ${rw}/a/l-rel`]: "OK",
      [`open_r ${rw}/a/l-rel`]: "ENOENT",
      // init's root: the ptrace check on /proc/1 (init is not dumpable) refuses it.
      "symlink /proc/1/root /tmp/l-init": "OK",
      "open_r /tmp/l-init/etc/passwd": "EACCES",
      "symlink /proc/1/root/etc/passwd /tmp/l-init-passwd": "OK",
      "open_r /tmp/l-init-passwd": "EACCES",
    };
    assert.deepEqual(await fsops(table, { policy: policy() }), table);
    // The link written into the --rw grant is on the host (that is what --rw means), with the
    // text the jail wrote; inside the jail it led nowhere.
    assert.equal(readlinkSync(join(rw, "l-host")), `${secret}/key`);
  });
});

describe("ESCAPES 31: magic links stay inside the grant", () => {
  it("/proc/self/{fd,root,cwd}/... and /proc/1/* cannot reach outside", async () => {
    const table = {
      // The server's own root and cwd are the jail's: nothing of the host is beneath them.
      "open_r /proc/self/root/etc/shadow": "ENOENT",
      [`open_r /proc/self/root${secret}/key`]: "ENOENT",
      // Through a directory descriptor's magic link: inside the grant yes, '..' out of it no.
      [`fdpath ${ro} sub/file`]: "OK",
      "open_r /proc/self/cwd/../../../../etc/shadow": "ENOENT",
      [`open_r /proc/self/cwd/../../../..${secret}/key`]: "ENOENT",
      [`fdpath ${ro} ../../../../etc/shadow`]: "ENOENT",
      [`fdpath ${ro} ../../../..${secret}/key`]: "ENOENT",
      // Reopening a read-only descriptor for writing through /proc/self/fd gives no more than
      // the path would: the supervisor decides on the file it refers to (a --ro grant, the
      // server's own /proc files: no write right): EACCES.
      [`reopen_w ${ro}/sub/file`]: "EACCES",
      "reopen_w /proc/self/comm": "EACCES",
      // stdin is a socket: its magic link cannot be reopened.
      "open_r /proc/self/fd/0": "ENXIO",
      // init's magic links: not dumpable, so no ptrace access.
      "open_r /proc/1/root/etc/passwd": "EACCES",
      "open_path /proc/1/cwd": "EACCES",
      "readlink /proc/1/exe": "EACCES",
      "ls /proc/1/fd": "EACCES",
      "open_r /proc/1/environ": "EACCES",
    };
    assert.deepEqual(await fsops(table, { policy: policy() }), table);
  });
});

describe("ESCAPES 10: an existing file of a --ro grant cannot be changed", () => {
  it("open for writing or creating → EACCES; truncate, unlink, rename → EROFS (the file is world-writable on the host)", async () => {
    const table = {
      // Opens are decided by the supervisor on its tables (they mirror Landlock's rules): no
      // write right on a --ro grant → EACCES, before anything is created or truncated.
      [`write ${ro}/sub/file`]: "EACCES",
      [`ftruncate ${ro}/sub/file`]: "open:EACCES",
      [`creat ${ro}/sub/new`]: "EACCES",
      // The other syscalls meet the read-only mount.
      [`truncate ${ro}/sub/file`]: "EROFS",
      [`unlink ${ro}/sub/file`]: "EROFS",
      [`rename ${ro}/sub/file ${ro}/sub/moved`]: "EROFS",
    };
    assert.deepEqual(await fsops(table, { policy: policy() }), table);
    assert.equal(readFileSync(join(ro, "sub", "file"), "utf8"), "granted\n");
  });
});

describe("ESCAPES 34: Landlock", () => {
  it("truncate a read-only file → EROFS, open it for writing → EACCES; rename/link across directories or out → EXDEV", async () => {
    const table = {
      // /proc is a read-only mount (the layer that holds where Landlock has no truncate control,
      // ABI < 3): it answers first. Opening for writing meets the supervisor's tables (the
      // mirror of Landlock's READ-only rule) first.
      "truncate /proc/self/comm": "EROFS",
      "open_w /proc/self/comm": "EACCES",
      "open_w /proc/self/attr/current": "EACCES",
      // No REFER right: moving or linking between directories → EXDEV, even within one grant.
      [`rename ${rw}/a/f ${rw}/b/f`]: "EXDEV",
      [`link ${rw}/a/f ${rw}/b/g`]: "EXDEV",
      "mkdir /tmp/d1": "OK",
      "mkdir /tmp/d2": "OK",
      "creat /tmp/d1/x": "OK",
      "rename /tmp/d1/x /tmp/d2/x": "EXDEV",
      "link /tmp/d1/x /tmp/d2/y": "EXDEV",
      // Out of a grant (another mount): EXDEV.
      [`link ${rw}/a/f /tmp/out`]: "EXDEV",
      [`rename ${rw}/a/f /tmp/out`]: "EXDEV",
      [`link ${ro}/sub/file ${rw}/a/in`]: "EXDEV",
      // Within one directory of a --rw grant, writing works.
      [`rename ${rw}/a/f ${rw}/a/f2`]: "OK",
      [`truncate ${rw}/a/f2`]: "OK",
    };
    assert.deepEqual(await fsops(table, { policy: policy() }), table);
    assert.equal(readFileSync(join(rw, "a", "f2"), "utf8"), "");
  });
});

describe("ESCAPES 35, 36: nothing writable is executable", () => {
  const ldso = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"].find((p) => existsSync(p));

  it("35. a binary copied into /tmp or a --rw grant and made executable → EACCES", async () => {
    const table = {
      "copy /usr/bin/true /tmp/true": "OK",
      "chmodx /tmp/true": "OK",
      "exec /tmp/true": "EACCES",
      [`copy /usr/bin/true ${rw}/true`]: "OK",
      [`chmodx ${rw}/true`]: "OK",
      [`exec ${rw}/true`]: "EACCES",
      // The original, on the read-only /usr and on the exec allowlist, runs.
      "exec /usr/bin/true": "OK",
    };
    assert.deepEqual(await fsops(table, { policy: { filesystem: { ...policy().filesystem, exec: ["/usr/bin/true"] } } }), table);
  });

  it("36. ld.so /tmp/copy → EACCES; mmap(PROT_EXEC) of a /tmp file → EPERM, mprotect(PROT_EXEC) → EACCES", async (t) => {
    if (ldso === undefined) return void t.skip(`no known dynamic loader path for ${process.arch}`);
    const table = {
      "copy /usr/bin/true /tmp/true": "OK",
      [`copy /usr/bin/true ${rw}/true`]: "OK",
      // The loader is an ELF interpreter, not an allowlisted command: execve of it is refused.
      [`ldso /tmp/true ${ldso}`]: "EACCES",
      [`ldso ${rw}/true ${ldso}`]: "EACCES",
      // The kernel layer: a noexec mount refuses executable mappings.
      "mmapx /tmp/true": "EPERM",
      [`mmapx ${rw}/true`]: "EPERM",
      "mprotectx /tmp/true": "EACCES",
      [`mprotectx ${rw}/true`]: "EACCES",
      "mmapx /usr/bin/true": "OK",
    };
    assert.deepEqual(await fsops(table, { policy: policy() }), table);
  });

  it("36. even with the loader allowlisted, it cannot map a binary from /tmp or a --rw grant", async (t) => {
    if (ldso === undefined) return void t.skip(`no known dynamic loader path for ${process.arch}`);
    const table = {
      "copy /usr/bin/true /tmp/true": "OK",
      [`copy /usr/bin/true ${rw}/true`]: "OK",
      // ld.so's own mmap(PROT_EXEC) of the noexec file fails: it exits 127.
      [`ldso /tmp/true ${ldso}`]: "exit:127",
      [`ldso ${rw}/true ${ldso}`]: "exit:127",
    };
    const r = await runProgram(program("fsops"), Object.keys(table), { policy: { filesystem: { ...policy().filesystem, exec: [ldso] } } });
    assert.deepEqual(Object.fromEntries(Object.keys(table).map((k) => [k, r.out.get(k)])), table);
    assert.match(r.stderr, /\/tmp\/true: .*failed to map segment from shared object/);
  });

  it("36. ld.so cannot launch a binary of /usr that is outside the exec allowlist", async (t) => {
    if (ldso === undefined) return void t.skip(`no known dynamic loader path for ${process.arch}`);
    // Landlock must give the loader EXECUTE (the kernel opens it for every dynamic binary), so
    // only the supervisor's execve check stands between `ld.so /usr/bin/id` and running id.
    const table = { "exec /usr/bin/id": "EACCES", [`ldso /usr/bin/id ${ldso}`]: "EACCES" };
    assert.deepEqual(await fsops(table), table);
  });
});

describe("ESCAPES 56: the environment", () => {
  const hostEnv = {
    PATH: "/host/bin:/usr/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    TERM: "xterm",
    AWS_SECRET_ACCESS_KEY: "aws-secret",
    AWS_ACCESS_KEY_ID: "aws-id",
    GITHUB_TOKEN: "ghp-token",
    SSH_AUTH_SOCK: "/tmp/ssh-agent.sock",
    NODE_OPTIONS: "--require /tmp/evil.js",
    LD_PRELOAD: "/tmp/evil.so",
  };
  const envOf = (stdout: string) =>
    Object.fromEntries(
      stdout
        .split("\n")
        .filter((l) => l.startsWith("env."))
        .map((l) => [l.slice(4, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );

  it("only PATH, HOME, LANG, TERM reach the server; no AWS_*, GITHUB_TOKEN, SSH_AUTH_SOCK", async () => {
    const r = await runProgram(program("env"), [], { env: hostEnv });
    assert.deepEqual(envOf(r.stdout), {
      PATH: "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
      HOME: "/tmp",
      LANG: "C.UTF-8",
      TERM: "xterm",
    });
    assert.equal(r.out.get("env_count"), "4");
    // init's environment is not readable either (not dumpable).
    assert.equal(r.out.get("init_environ"), "EACCES");
  });

  it("env.pass and env.set add exactly the variables named", async () => {
    const r = await runProgram(program("env"), [], {
      env: hostEnv,
      policy: { env: { pass: ["GITHUB_TOKEN", "NOT_SET_ON_HOST"], set: { MODE: "test" } } },
    });
    assert.deepEqual(envOf(r.stdout), {
      PATH: "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
      HOME: "/tmp",
      LANG: "C.UTF-8",
      TERM: "xterm",
      GITHUB_TOKEN: "ghp-token",
      MODE: "test",
    });
  });
});

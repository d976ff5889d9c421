// Issue 12 item 1: as root, a --rw directory is writable by the jail whoever owns it (an idmapped
// bind: native/jail/idmap.c), files the jail writes there belong to the directory's owner on the
// host, and the jail gains that identity nowhere else. Real root-owned directories, real servers
// (filesystem, memory, an SQLite server) through the real CLI and the MCP SDK's client.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { mcpjBin, repoRoot, runMcpj } from "./helpers.js";
import { connectMcpj, textOf } from "./mcp-client.js";

const root = process.getuid?.() === 0;
const skip = !root && "idmapped binds are made for a root invoker only (an unprivileged jail is the invoker: idmap-plan.test.ts checks its plan)";
const modules = join(repoRoot, "node_modules");
const npmServer = (name: string): string => join(modules, "@modelcontextprotocol", name, "dist", "index.js");
const pyServers = join(repoRoot, "packages", "cli", "test", "servers");

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A data directory owned by uid:gid, mode 0755 (writable by its owner only), under a 0700 parent
 * that only root can enter: nothing but the grant makes it reachable. */
function dataDir(uid = 0, gid = 0): string {
  const parent = mkdtempSync(join(tmpdir(), "mcpj-idmap-"));
  made.push(parent);
  chmodSync(parent, 0o700);
  const d = join(parent, "data");
  mkdirSync(d, { mode: 0o755 });
  chownSync(d, uid, gid);
  return d;
}

describe("--rw as root: writable whoever owns the directory", { skip }, () => {
  it("server-filesystem writes into a root-owned directory; the file belongs to root on the host", async () => {
    const d = dataDir();
    const s = await connectMcpj(["--rw", d], ["node", npmServer("server-filesystem"), d]);
    try {
      const w = await s.client.callTool({ name: "write_file", arguments: { path: join(d, "note.txt"), content: "from the jail\n" } });
      assert.notEqual(w.isError, true, textOf(w) + s.stderr());
      const r = await s.client.callTool({ name: "read_text_file", arguments: { path: join(d, "note.txt") } });
      assert.match(textOf(r), /from the jail/);
    } finally {
      await s.close();
    }
    assert.equal(readFileSync(join(d, "note.txt"), "utf8"), "from the jail\n");
    const st = statSync(join(d, "note.txt"));
    assert.deepEqual([st.uid, st.gid], [0, 0]);
  });

  it("server-memory keeps its graph in a root-owned directory", async () => {
    const d = dataDir();
    const file = join(d, "memory.jsonl");
    const s = await connectMcpj(["--rw", d, "--env", `MEMORY_FILE_PATH=${file}`], ["node", npmServer("server-memory")]);
    try {
      const r = await s.client.callTool({ name: "create_entities", arguments: { entities: [{ name: "jail", entityType: "thing", observations: ["idmapped"] }] } });
      assert.notEqual(r.isError, true, textOf(r) + s.stderr());
    } finally {
      await s.close();
    }
    assert.match(readFileSync(file, "utf8"), /"name":"jail"/);
    assert.equal(statSync(file).uid, 0);
  });

  it("an SQLite server creates, writes and reads its database in a directory owned by another user", async () => {
    const d = dataDir(4242, 4343);
    const db = join(d, "test.db");
    const s = await connectMcpj(["--rw", d], ["python3", join(pyServers, "sqlite_server.py"), "--db-path", db]);
    try {
      const steps: [string, string][] = [
        ["create_table", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"],
        ["write_query", "INSERT INTO t (v) VALUES ('jailed')"],
      ];
      for (const [name, query] of steps) {
        const r = await s.client.callTool({ name, arguments: { query } });
        assert.notEqual(r.isError, true, `${name}: ${textOf(r)}\n${s.stderr()}`);
      }
      const r = await s.client.callTool({ name: "read_query", arguments: { query: "SELECT v FROM t" } });
      assert.deepEqual(JSON.parse(textOf(r)), [{ v: "jailed" }]);
    } finally {
      await s.close();
    }
    const st = statSync(db);
    assert.deepEqual([st.uid, st.gid], [4242, 4343], "the database belongs to the directory's owner");
  });

  it("the owner's identity stays inside the mount: other owners' files there, and root's files elsewhere, stay closed", async () => {
    const d = dataDir();
    writeFileSync(join(d, "theirs"), "private\n", { mode: 0o600 });
    chownSync(join(d, "theirs"), 4242, 4242);
    const other = dataDir();
    writeFileSync(join(other, "root-only"), "secret\n", { mode: 0o600 });
    const probe = `import errno, os
def attempt(f):
    try:
        f(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
open("${d}/mine", "w").write("x")
print("mine", attempt(lambda: open("${d}/mine").read()), os.stat("${d}").st_uid, os.stat("${d}/mine").st_uid)
print("theirs", attempt(lambda: open("${d}/theirs").read()))
print("chown", attempt(lambda: os.chown("${d}/mine", 0, 0)))
print("elsewhere", attempt(lambda: open("${other}/root-only").read()), attempt(lambda: open("${other}/new", "w")))`;
    const r = await runMcpj(["--rw", d, "--ro", other, "--", "python3", "-c", probe]);
    assert.equal(r.code, 0, r.stderr);
    // The jail sees the directory and its own files as its own (65534); reading another owner's
    // file there, reading root's file in another grant and writing there are refused; root has no
    // id in the jail, so nothing can be given to it (EINVAL).
    assert.match(r.stderr, /: mine ok 65534 65534$/m);
    assert.match(r.stderr, /: theirs EACCES$/m);
    assert.match(r.stderr, /: chown EINVAL$/m);
    assert.match(r.stderr, /: elsewhere EACCES EACCES$/m);
  });

  it("a file system that cannot be idmapped (ramfs) is refused at start with the reason and the fix", () => {
    const d = mkdtempSync(join(tmpdir(), "mcpj-idmap-ramfs-"));
    made.push(d);
    // A mount namespace of the test's own: the ramfs never appears on the host.
    const script = `mount -t ramfs ramfs "$1" && exec "$2" "$3" --rw "$1" -- /usr/bin/true </dev/null`;
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", d, process.execPath, mcpjBin], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 125, r.stderr);
    assert.match(r.stderr, /cannot make a writable grant writable by the jail: .*cannot idmap it: EINVAL/);
    assert.match(r.stderr, /chown -R 65534:65534/);
  });

  it("a shared source mount does not carry the jail's masks back to the host", () => {
    const d = dataDir();
    writeFileSync(join(d, ".env"), "TOKEN=1\n");
    // d becomes a shared mount (as on systemd hosts, where / is shared); while the jail runs,
    // the test's namespace must not see the mask the jail puts over .env.
    const script = `mount --bind "$1" "$1" && mount --make-shared "$1" || exit 3
"$2" "$3" --rw "$1" --deny '**/.env' -- python3 -c 'import sys; print("up", file=sys.stderr, flush=True); sys.stdin.read()' 2>"$1.err" <&0 &
i=0; until grep -q '^up' "$1.err" 2>/dev/null; do i=$((i+1)); [ $i -gt 600 ] && exit 4; sleep 0.05; done
grep -c "$1/.env" /proc/self/mountinfo; cat "$1/.env"`;
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", d, process.execPath, mcpjBin], { encoding: "utf8", timeout: 60_000, input: "" });
    assert.equal(r.status, 0, r.stderr + (existsSync(`${d}.err`) ? readFileSync(`${d}.err`, "utf8") : ""));
    assert.equal(r.stdout, "0\nTOKEN=1\n");
  });
});

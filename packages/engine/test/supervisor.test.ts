// The supervisor's TypeScript half: table compilation and encoding, event decoding, denial lines.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileTables, denyGlobs, rightsOf, supervisorMeta } from "../src/supervisor/tables.js";
import { classifyAddress } from "../src/egress/classify.js";
import { METADATA_ADDRESSES } from "../src/egress/metadata.js";
import { encodeTables, TABLES_MAGIC } from "../src/jail/codec.js";
import { decodeEvent, denialReporter, formatDenial } from "../src/supervisor/events.js";
import { parseReport } from "../src/jail/reports.js";
import { FS, READ, READ_WRITE } from "../src/jail/landlock-rights.js";
import { Protocol } from "../src/jail/plan.js";
import { PolicySchema } from "../src/policy/schema.js";
import { prepareJail } from "../src/launch.js";

describe("supervisor tables", () => {
  it("maps Landlock rights to the supervisor's coarse rights", () => {
    assert.equal(rightsOf(READ), 1 | 4);
    assert.equal(rightsOf(READ_WRITE), 1 | 2 | 4);
    assert.equal(rightsOf(FS.READ_DIR), 4);
    assert.equal(rightsOf(FS.EXECUTE | FS.READ_FILE), 1);
  });

  it("deny globs: relative ones match at any depth, host paths move to every view of them", () => {
    const g = (src: string, dest: string, alias: string | null = null) => ({ src, dest, alias, writable: false, isDir: true, from: `--ro ${src}:${dest}` });
    const grants = [g("/home/u/proj", "/work")];
    assert.deepEqual(denyGlobs("**/.env", grants), ["/**/.env"]);
    assert.deepEqual(denyGlobs(".env", grants), ["/**/.env"]);
    assert.deepEqual(denyGlobs("secrets/*.key", grants), ["/**/secrets/*.key"]);
    assert.deepEqual(denyGlobs("/home/u/proj/private/", grants), ["/home/u/proj/private", "/work/private"]);
    assert.deepEqual(denyGlobs("/etc/x", grants), ["/etc/x"]);
    // A file granted twice (P, and P/keys at /keys): the glob applies to both views.
    const twice = [g("/p", "/p"), g("/p/keys", "/keys")];
    assert.deepEqual(denyGlobs("/p/keys/private.key", twice), ["/p/keys/private.key", "/keys/private.key"]);
    // A glob above a grant's source continues below its destination; one matching the source
    // itself (or an ancestor) denies the whole view.
    assert.deepEqual(denyGlobs("/home/*/proj/**/.env", grants), ["/home/*/proj/**/.env", "/work/**/.env"]);
    assert.deepEqual(denyGlobs("/home/u", grants), ["/home/u", "/work"]);
    assert.deepEqual(denyGlobs("/home/[tu]/pro?", grants), ["/home/[tu]/pro?", "/work"]);
    assert.deepEqual(denyGlobs("/home/[!u]/proj/x", grants), ["/home/[!u]/proj/x"]);
    // A grant made through a symlink (alias) is found under that spelling too.
    assert.deepEqual(denyGlobs("/link/x", [g("/real", "/real", "/link")]), ["/link/x", "/real/x"]);
  });

  it("prepareJail compiles the filter and the tables by default, and leaves them out when asked", () => {
    const policy = PolicySchema.parse({ network: { allow: ["example.com"] }, filesystem: { deny: ["**/.env"] } });
    const p = prepareJail({ policy, command: ["/usr/bin/true"], cwd: "/", env: {} });
    assert.ok(p.plan.seccomp && p.plan.seccomp.length > 0);
    const t = p.plan.supervisorTables!;
    assert.deepEqual(t.deny, ["/**/.env"]);
    assert.deepEqual(t.exec, ["/usr/bin/true"]);
    assert.equal(encodeTables(t).subarray(0, 8).toString("latin1"), TABLES_MAGIC);
    assert.deepEqual(p.exec.allow, ["/usr/bin/true"]);
    assert.ok(p.exec.interpreters.some((i) => i.includes("ld-linux")), "the ELF interpreter gets EXECUTE");
    // Landlock EXECUTE is per file: no directory rule carries it.
    const dirsWithExec = p.plan.landlock.fsRules.filter((r) => (r.access & FS.EXECUTE) !== 0n && !p.exec.allow.includes(r.path) && !p.exec.interpreters.includes(r.path));
    assert.deepEqual(dirsWithExec, []);
    const off = prepareJail({ policy, command: ["/usr/bin/true"], cwd: "/", env: {}, supervise: false });
    assert.equal(off.plan.supervisorTables, null);
    assert.ok(off.plan.seccomp!.length < p.plan.seccomp!.length || !off.plan.seccomp!.equals(p.plan.seccomp!));
    const none = prepareJail({ policy, command: ["/usr/bin/true"], cwd: "/", env: {}, seccomp: null });
    assert.equal(none.plan.seccomp, null);
  });

  it("the proxy port is the only connect destination when the egress proxy is on", () => {
    const policy = PolicySchema.parse({});
    const p = prepareJail({ policy, command: ["/usr/bin/true"], cwd: "/", env: {} });
    const fsRules = p.plan.landlock.fsRules;
    const t = compileTables({ fsRules, exec: p.exec.allow, deny: [], grants: p.grants, proxyPort: 3128, logAllow: true });
    assert.deepEqual(t.connect, [{ address: "127.0.0.1", prefix: 32, ports: [3128, 3128], protocols: Protocol.tcp }]);
    // Binding mirrors Landlock's TCP rules (none): UDP on loopback only.
    assert.ok(t.bind.every((b) => b.protocols === Protocol.udp));
    assert.equal(compileTables({ fsRules, exec: [], deny: [], grants: [], proxyPort: 0, logAllow: false }).connect.length, 0);
    assert.deepEqual(t.meta, supervisorMeta());
    const b = encodeTables(t);
    assert.equal(b.readUInt16LE(b.length - 8), 0, "ends with the END record");
  });
});

describe("one list of metadata addresses", () => {
  it("the supervisor refuses by name exactly what the egress proxy classifies as metadata, NAT64 forms included", () => {
    const meta = supervisorMeta();
    for (const m of METADATA_ADDRESSES) {
      assert.equal(classifyAddress(m.address).kind, "metadata", m.address);
      assert.ok(meta.some((x) => x.address === m.address && x.name === m.name), `${m.address} in the supervisor's table`);
    }
    for (const x of meta) {
      assert.equal(classifyAddress(x.address).kind, "metadata", `${x.address} is metadata for the proxy too`);
      assert.match(x.name, /^cloud metadata/);
    }
    assert.ok(meta.some((x) => x.address === "64:ff9b::a9fe:a9fe"));
    assert.equal(meta.length, METADATA_ADDRESSES.length + METADATA_ADDRESSES.filter((m) => !m.address.includes(":")).length);
  });
});

describe("supervisor events", () => {
  it("decodes an ev line and formats one human line per distinct denial", () => {
    const r = parseReport("ev act=deny sc=connect pid=42 addr=169.254.169.254 port=80 errno=13 why=metadata rule=cloud%20metadata%20(AWS) t=1700000000000");
    assert.equal(r.type, "event");
    const e = decodeEvent((r as { fields: Record<string, string> }).fields)!;
    assert.deepEqual(e, { action: "deny", syscall: "connect", pid: 42, address: "169.254.169.254", port: 80, errno: 13, reason: "metadata", rule: "cloud metadata (AWS)", time: 1700000000000 });
    assert.equal(formatDenial(e), "mcp-j: denied: the server tried to connect to 169.254.169.254:80: it is cloud metadata (AWS) (EACCES) [pid 42]");
    const lines: string[] = [];
    const report = denialReporter((l) => lines.push(l));
    report(e);
    report({ ...e, pid: 43 });
    report({ ...e, action: "allow" });
    assert.equal(lines.length, 1);
    // Issue 12 item 5: a path the jail does not have, answered ENOENT, is not printed (Node
    // probing its cgroup v1 limits); refused paths the jail has, or anything but ENOENT, are.
    const probe = decodeEvent({ act: "deny", sc: "openat", path: "/sys/fs/cgroup/memory/memory.limit_in_bytes", errno: "2", why: "outside" })!;
    report(probe);
    assert.equal(lines.length, 1, "routine probe not printed");
    report({ ...probe, errno: 13 });
    report({ ...probe, path: "/home/me/notes/x", reason: "readonly" });
    assert.equal(lines.length, 3);
    const oom = decodeEvent({ act: "deny", sc: "openat", path: "/proc/18/oom_score_adj", errno: "13", why: "readonly" })!;
    report(oom);
    report({ ...oom, path: "/proc/61/oom_score_adj" });
    assert.equal(lines.length, 4, "one line for the same /proc entry of every process");
    const drop = decodeEvent({ act: "dropped", count: "7" })!;
    assert.match(formatDenial(drop)!, /dropped 7 audit event/);
  });
});

// Footprints, learned policies, pins and refusal notes as plain data (the end-to-end tests are in
// packages/cli/test/attribution.jail.test.ts and learn-pin.jail.test.ts).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  acceptPending,
  blankJsonComments,
  covers,
  decodeEvent,
  diffPolicies,
  FootprintRecorder,
  formatDenial,
  formatPolicyDiff,
  generalize,
  hasHidingCharacters,
  learnPolicy,
  mergePinFile,
  PinBook,
  type PinFile,
  PolicySchema,
  readPinFile,
  refusalOfEgress,
  refusalOfSyscall,
  ResolvedPolicySchema,
  touchOfSyscall,
  writePinFile,
} from "../src/index.js";

test("generalize: packages and caches whole, a directory for three touched entries, never above its root", () => {
  const nm = "/p/node_modules";
  assert.deepEqual(generalize([`${nm}/ajv/dist/a.js`, `${nm}/ajv/package.json`, `${nm}/@scope/pkg/x.js`, `${nm}/zod/index.js`, `${nm}/x/y.js`], [nm]), [
    `${nm}/@scope/pkg`,
    `${nm}/ajv`,
    `${nm}/x`,
    `${nm}/zod`,
  ]);
  assert.deepEqual(generalize(["/home/u/proj/node_modules/a/b.js", "/home/u/.cache/pip/x/y"], ["/home/u"]), ["/home/u/.cache", "/home/u/proj/node_modules/a"]);
  assert.deepEqual(generalize(["/d/x/1", "/d/x/2"], ["/d"]), ["/d/x/1", "/d/x/2"]);
  assert.deepEqual(generalize(["/d/x/1", "/d/x/2", "/d/x/3", "/d/y"], ["/d"]), ["/d/x", "/d/y"]);
  // Three entries directly under the root: the root itself, not above it.
  assert.deepEqual(generalize(["/d/1", "/d/2", "/d/3"], ["/d"]), ["/d"]);
  assert.deepEqual(generalize(["/elsewhere/f"], ["/d"]), []);
});

test("touches from supervisor events: the access an open asked for, exec, other path calls write", () => {
  const ev = (f: Record<string, string>) => decodeEvent({ act: "allow", pid: "3", t: "1", mono: "123456789012345678", ...f })!;
  assert.equal(ev({ sc: "openat", path: "/a" }).mono, 123456789012345678n);
  assert.deepEqual(touchOfSyscall(ev({ sc: "openat", path: "/a", acc: "read" })), { kind: "read", path: "/a" });
  assert.deepEqual(touchOfSyscall(ev({ sc: "openat", path: "/a", acc: "create" })), { kind: "write", path: "/a" });
  assert.deepEqual(touchOfSyscall(ev({ sc: "execve", path: "/usr/bin/node" })), { kind: "exec", path: "/usr/bin/node" });
  assert.deepEqual(touchOfSyscall(ev({ sc: "unlinkat", path: "/d/f" })), { kind: "write", path: "/d/f" });
  assert.equal(touchOfSyscall(ev({ sc: "connect", addr: "127.0.0.1", port: "53" })), null);
  assert.equal(touchOfSyscall({ ...ev({ sc: "openat", path: "/a" }), action: "deny" }), null);
});

test("refusals name the flag that would allow them, or none", () => {
  const deny = (f: Record<string, string>) => refusalOfSyscall(decodeEvent({ act: "deny", pid: "3", t: "1", errno: "2", ...f })!);
  assert.deepEqual(deny({ sc: "openat", path: "/home/u/.ssh/id", why: "outside", acc: "read" }), { action: "read", target: "/home/u/.ssh/id", reason: "outside", allow: "--ro /home/u/.ssh/id" });
  assert.equal(deny({ sc: "openat", path: "/w/f", why: "readonly", acc: "write" })?.allow, "--rw /w");
  assert.equal(deny({ sc: "execve", path: "/bin/sh", why: "exec" })?.allow, "--allow-exec /bin/sh");
  assert.equal(deny({ sc: "openat", path: "/w/.env", why: "glob", rule: "**/.env" })?.allow, "remove the deny rule **/.env");
  assert.equal(deny({ sc: "connect", addr: "169.254.169.254", port: "80", why: "metadata", rule: "cloud metadata" })?.allow, null);
  assert.equal(deny({ sc: "connect", addr: "10.0.0.1", port: "5432", why: "policy" })?.allow, "--allow-net 10.0.0.1:5432");
  assert.equal(deny({ sc: "openat", path: "/proc/stat" })?.allow, null);
  assert.deepEqual(refusalOfEgress({ type: "dns", ts: 0, decision: "deny", name: "evil.example", qtype: "A", reason: "not-allowed" }), {
    action: "lookup",
    target: "evil.example",
    reason: "not-allowed",
    allow: "--allow-net evil.example",
  });
});

test("pins: recorded on first use, then a changed description or schema, a new tool, hidden characters and a touch outside the footprint are changes until accepted", () => {
  const first = new PinBook(null);
  assert.deepEqual(first.listed({ name: "read", description: "Reads", inputSchema: { type: "object", properties: { a: {}, b: {} } } }), []);
  first.footprints((t) => (t === "read" ? { read: ["/d/x"], write: [], exec: [], net: [] } : null));
  const file = first.file();
  assert.deepEqual(file.tools["read"]?.footprint, { read: ["/d/x"], write: [], exec: [], net: [] });

  const later = new PinBook(structuredClone(file));
  // Key order does not change the schema's hash.
  assert.deepEqual(later.listed({ name: "read", description: "Reads", inputSchema: { properties: { b: {}, a: {} }, type: "object" } }), []);
  assert.deepEqual(later.touched(["read"], { kind: "read", path: "/d/x/y" }, ["/d"], "read /d/x/y"), []);
  assert.deepEqual(later.touched(["read"], { kind: "read", path: "/d/z" }, ["/d"], "read /d/z"), [{ tool: "read", change: "footprint", detail: "read /d/z" }]);
  assert.deepEqual(later.touched(["read"], { kind: "read", path: "/d/z" }, ["/d"], "read /d/z"), [], "reported once");
  assert.equal(later.isChanged("read"), true);
  assert.deepEqual(
    later.listed({ name: "read", description: "Reads\u001b[8m hidden", inputSchema: { type: "object" } }).map((c) => c.change),
    ["control_chars", "description", "schema"],
  );
  assert.deepEqual(later.listed({ name: "new", description: "", inputSchema: {} }).map((c) => c.change), ["new_tool"]);
  const { pins, accepted } = acceptPending(later.file(), ["read"]);
  assert.deepEqual(accepted, ["read"]);
  assert.deepEqual(Object.keys(pins.pending), ["new"]);
  assert.deepEqual(pins.tools["read"]?.footprint?.read, ["/d/x", "/d/z"]);
  const accepted2 = new PinBook(pins);
  assert.equal(accepted2.isChanged("read"), false);
  assert.equal(accepted2.isChanged("new"), true);
  assert.equal(covers(pins.tools["read"]!.footprint!, { kind: "read", path: "/d/z" }, ["/d"]), true);
  // A touch while two tools run is a change only when it is in neither footprint.
  const two = new PinBook({ version: 1, tools: { a: { description_sha256: "", schema_sha256: "", footprint: { read: ["/d/a"], write: [], exec: [], net: [] } }, b: { description_sha256: "", schema_sha256: "", footprint: { read: [], write: [], exec: [], net: [] } } }, pending: {} });
  assert.deepEqual(two.touched(["a", "b"], { kind: "read", path: "/d/a" }, ["/d"], "read /d/a"), []);
  assert.equal(hasHidingCharacters("tab\tand\nnewline"), false);
  assert.equal(hasHidingCharacters("bidi \u202e override"), true);
  assert.equal(hasHidingCharacters("tag \u{e0041}"), true);
});

test("pins: tool names that are Object.prototype's (constructor, __proto__, toString) are names like any other", () => {
  // Red team 8's note: on plain objects "constructor" read as a pin that was not there, and
  // "__proto__" then "changes" made the check throw (the tools/list answer was lost).
  const names = ["constructor", "__proto__", "changes", "toString", "hasOwnProperty"];
  const first = new PinBook(null);
  for (const name of names) assert.deepEqual(first.listed({ name, description: name, inputSchema: {} }), [], name);
  for (const name of names) assert.deepEqual(new PinBook(first.file()).listed({ name, description: name, inputSchema: {} }), [], name);
  assert.deepEqual(first.listed({ name: "__proto__", description: "changed", inputSchema: {} }).map((c) => c.change), ["description"]);
  const { pins, accepted } = acceptPending(first.file());
  assert.deepEqual(accepted, ["__proto__"]);
  assert.deepEqual(Object.keys(pins.tools).sort(), [...names].sort());
  // Through the file: the schema's record leaves "__proto__" out, so that tool stays unpinned and is
  // a new tool on every run (hidden under --pin-enforce: closed); the others keep their pins.
  const file = join(dir, "proto.pins.json");
  writePinFile(file, pins);
  const later = new PinBook(readPinFile(file));
  for (const name of names) {
    assert.deepEqual(later.listed({ name, description: name === "__proto__" ? "changed" : name, inputSchema: {} }).map((c) => c.change), name === "__proto__" ? ["new_tool"] : [], name);
  }
});

const dir = mkdtempSync(join(tmpdir(), "mcpj-learn-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("learned policy: narrower than the grants, a comment per entry, per-tool sections, and names from the server cannot write policy", () => {
  mkdirSync(join(dir, "data", "out"), { recursive: true });
  writeFileSync(join(dir, "data", "a.txt"), "a");
  const policy = ResolvedPolicySchema.parse({ filesystem: { ro: [], rw: [{ path: join(dir, "data"), from: "--rw" }] } });
  const rec = new FootprintRecorder();
  const evil = 'x", "/etc"] // \n"rw": ["/';
  rec.add({ kind: "read", path: join(dir, "data", "a.txt") }, ["read_text_file"]);
  rec.add({ kind: "write", path: join(dir, "data", "out", "b.txt") }, [evil]);
  rec.add({ kind: "read", path: "/usr/lib/x.so" }, []);
  rec.add({ kind: "net", host: "api.example.com", port: 443 }, ["fetch"]);
  const learned = learnPolicy({ policy, command: ["node", "s.js"], recorder: rec, refusals: [], when: "2026-01-01T00:00:00Z" });
  assert.deepEqual(learned.ro, [join(dir, "data", "a.txt")]);
  assert.deepEqual(learned.rw, [join(dir, "data", "out")]);
  assert.deepEqual(learned.net, ["api.example.com:443"]);
  const parsed = PolicySchema.parse(JSON.parse(blankJsonComments(learned.text)));
  assert.deepEqual(parsed.filesystem.rw, [join(dir, "data", "out")]);
  assert.deepEqual(parsed.network.allow, ["api.example.com:443"]);
  assert.match(learned.text, /a\.txt",? \/\/ read by read_text_file/);
  assert.match(learned.text, /\/\/ fetch:\n\/\/ {3}net: api\.example\.com:443/);
  assert.match(learned.text, /\/\/ \(idle\):\n\/\/ {3}read: \/usr/);
});

test("policy diff: entries added and removed, values changed", () => {
  const a = ResolvedPolicySchema.parse({ filesystem: { ro: [{ path: "/a", from: "x" }] }, network: { allow: ["a.com"] } });
  const b = ResolvedPolicySchema.parse({ filesystem: { ro: [{ path: "/a", from: "y" }, { path: "/b", from: "y" }] }, limits: { memory: "1G" } });
  assert.equal(
    formatPolicyDiff(diffPolicies(a, b)),
    ["+ filesystem.ro: /b", '~ limits.memory: "512M" → "1G"', "- network.allow: a.com", ""].join("\n"),
  );
  assert.equal(formatPolicyDiff(diffPolicies(a, a)), "the policies are the same\n");
});

test("mergePinFile: what this run changed goes into the file as another mcp-j left it; what the other wrote stays", () => {
  const fp = (read: string[]) => ({ read, write: [], exec: [], net: [] });
  const tool = (d: string, footprint: ReturnType<typeof fp> | null) => ({ description_sha256: d, schema_sha256: "s", footprint });
  const base: PinFile = { version: 1, tools: { a: tool("a1", fp(["/x"])), b: tool("b1", null) }, pending: {} };
  // This run: set b's footprint, recorded c, found a change of a.
  const ours: PinFile = {
    version: 1,
    tools: { a: tool("a1", fp(["/x"])), b: tool("b1", fp(["/y"])), c: tool("c1", null) },
    pending: { a: { ...tool("a1", fp(["/x"])), changes: [{ change: "footprint", detail: "read /secret" }] } },
  };
  // Meanwhile the other: recorded c differently, found another change of a, recorded d.
  const now: PinFile = {
    version: 1,
    tools: { a: tool("a1", fp(["/x"])), b: tool("b1", null), c: tool("c-other", null), d: tool("d1", null) },
    pending: { a: { ...tool("a1", fp(["/x"])), changes: [{ change: "description" }] } },
  };
  const merged = mergePinFile(base, ours, now);
  assert.deepEqual(merged.tools["b"], tool("b1", fp(["/y"])), "this run's footprint, where the other changed nothing");
  assert.deepEqual(merged.tools["c"], tool("c-other", null), "the other's record where both recorded");
  assert.deepEqual(merged.tools["d"], tool("d1", null), "the other's tool stays");
  assert.deepEqual(merged.pending["a"]?.changes, [{ change: "description" }, { change: "footprint", detail: "read /secret" }], "both changes found stay pending");
  // No file any more: this run's book as it is; nothing changed by this run: the file as it is.
  assert.deepEqual(mergePinFile(base, ours, null), ours);
  assert.deepEqual(mergePinFile(base, base, now), now);
});

test("a denial line on stderr carries a jail-chosen path's control characters escaped: no forged line, no terminal escape", () => {
  const e = decodeEvent({ act: "deny", pid: "3", t: "1", errno: "13", sc: "openat", path: "/data/a\nmcp-j: denied: nothing\u001b[2J\u202e", why: "outside" })!;
  const line = formatDenial(e)!;
  assert.equal(line.includes("\n"), false);
  assert.equal(line.includes("\u001b"), false);
  assert.equal(line.includes("\u202e"), false);
  assert.ok(line.includes("/data/a\\nmcp-j: denied: nothing\\u001b[2J\\u202e"), line);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PolicySchema } from "../src/policy/schema.js";
import { openAuditLog, summarizeAudit, formatAuditSummary, AuditEventSchema, REDACTED, type AuditEventInput } from "../src/audit/index.js";

const dir = () => mkdtempSync(join(tmpdir(), "mcpj-audit-"));
const lines = (f: string) => readFileSync(f, "utf8").split("\n").filter((l) => l !== "");

const start: AuditEventInput = {
  type: "jail.start",
  jail: "j1",
  server: "memory",
  command: ["npx", "-y", "@modelcontextprotocol/server-memory"],
  layers: { userns: true, mountns: true, netns: true, landlock: "abi 6", seccomp: true, cgroup: "rlimits" },
  landlock_abi: 6,
};

test("events get v and ts, validate, and are one JSON object per line", async () => {
  const f = join(dir(), "audit.jsonl");
  const log = openAuditLog(f);
  log.write(start);
  log.write({ type: "syscall", jail: "j1", syscall: "openat", decision: "deny", path: "/home/u/.ssh/id_rsa", access: "read", reason: "outside grants", errno: "EACCES", pid: 7, request_id: 3 });
  log.write({ type: "exit", jail: "j1", code: 0, signal: null, reason: "exited" });
  await log.close();
  const ls = lines(f);
  assert.equal(ls.length, 3);
  for (const l of ls) {
    const ev = JSON.parse(l);
    assert.equal(ev.v, 1);
    assert.match(ev.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(ev._invalid, undefined, l);
    assert.ok(AuditEventSchema.safeParse(ev).success);
  }
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.throws(() => log.write(start), /closed/);
});

test("appends to an existing log; a newline inside a value never splits a line", async () => {
  const f = join(dir(), "audit.jsonl");
  writeFileSync(f, JSON.stringify({ v: 1, ts: "2026-01-01T00:00:00.000Z", jail: "old", type: "exit", code: 0, signal: null, reason: "exited" }) + "\n");
  const log = openAuditLog(f);
  log.write({ type: "rpc", jail: "j", direction: "server", code: -32700, detail: "line1\nline2\r\n" });
  await log.close();
  const ls = lines(f);
  assert.equal(ls.length, 2);
  assert.equal(JSON.parse(ls[0]!).jail, "old");
  assert.equal(JSON.parse(ls[1]!).detail, "line1\nline2\r\n");
});

test("invalid events are still written, tagged _invalid (an audit bug never loses the event)", async () => {
  const f = join(dir(), "audit.jsonl");
  const log = openAuditLog(f);
  log.write({ type: "net", jail: "j", decision: "allow", host: "x", port: 99999 });
  await log.close();
  const ev = JSON.parse(lines(f)[0]!);
  assert.match(ev._invalid, /port/);
});

test("secrets are redacted from every string, including nested and JSON-escaped values", async () => {
  const f = join(dir(), "audit.jsonl");
  const secret = 'ghp_S3cr"et\\value';
  const log = openAuditLog(f, { secrets: [secret, ""] });
  log.write({ ...start, command: ["srv", `--token=${secret}`] } as AuditEventInput);
  log.write({ type: "syscall", jail: "j1", syscall: "execve", decision: "allow", path: `/tmp/${secret}/x`, access: "exec" });
  log.addSecrets(["later-secret"]);
  log.write({ type: "tool", jail: "j1", name: "echo", decision: "allow", reason: "said later-secret twice: later-secret" });
  await log.close();
  const text = readFileSync(f, "utf8");
  assert.ok(!text.includes("S3cr"), text);
  assert.ok(!text.includes("later-secret"), text);
  assert.equal(JSON.parse(lines(f)[0]!).command[1], `--token=${REDACTED}`);
  assert.equal(JSON.parse(lines(f)[2]!).reason, `said ${REDACTED} twice: ${REDACTED}`);
});

test("rotation at the size: FILE → FILE.1 → FILE.2, at most keepFiles kept, each new file says what went where", async () => {
  const d = dir();
  const f = join(d, "audit.jsonl");
  const log = openAuditLog(f, { rotateBytes: 2000, keepFiles: 2 });
  for (let i = 0; i < 200; i++) log.write({ type: "syscall", jail: "j", syscall: "openat", decision: "allow", path: `/data/file-${i}`, access: "read" });
  await log.close();
  assert.ok(existsSync(`${f}.1`) && existsSync(`${f}.2`));
  assert.ok(!existsSync(`${f}.3`), "no more than keepFiles rotated files");
  for (const g of [f, `${f}.1`, `${f}.2`]) assert.ok(statSync(g).size <= 2000 + 300, g);
  // The newest file starts with the rotation note: where the rest is, and that the oldest went.
  const first = JSON.parse(lines(f)[0]!);
  assert.equal(first.type, "audit.rotated");
  assert.equal(first.previous, `${f}.1`);
  assert.equal(first.deleted, `${f}.2`);
  assert.ok(AuditEventSchema.safeParse(first).success, "the rotation note is a valid audit event");
  const all = [...lines(`${f}.2`), ...lines(`${f}.1`), ...lines(f)].map((l) => JSON.parse(l)).filter((e) => e.type === "syscall").map((e) => e.path as string);
  // the newest events, in order, ending with the last one, none split
  assert.equal(all[all.length - 1], "/data/file-199");
  for (let i = 1; i < all.length; i++) assert.equal(Number(all[i]!.split("-")[1]), Number(all[i - 1]!.split("-")[1]) + 1);
});

test("rotation is on by default: the policy's audit log rotates at 16 MiB, four files kept", () => {
  const p = PolicySchema.parse({ audit: { file: "/tmp/x.jsonl" } });
  assert.equal(p.audit.rotateBytes, "16M");
  assert.equal(p.audit.keepFiles, 4);
});

test("a SIGKILLed writer leaves only whole lines", async () => {
  const d = dir();
  const f = join(d, "audit.jsonl");
  const writer = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "src", "audit", "index.js")).href;
  const script = `
    const { openAuditLog } = await import(${JSON.stringify(writer)});
    const log = openAuditLog(${JSON.stringify(f)});
    const big = "x".repeat(20000);
    process.stdout.write("ready\\n");
    for (let i = 0; ; i++) log.write({ type: "rpc", jail: "k", direction: "server", code: -32700, detail: i + big });
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((res) => child.stdout.once("data", () => res()));
  await new Promise((r) => setTimeout(r, 150));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  const text = readFileSync(f, "utf8");
  assert.ok(text.length > 100_000, `only ${text.length} bytes written`);
  // Every line but the one being written at the instant of SIGKILL is whole (the kernel may cut a
  // write to a regular file between pages when a fatal signal arrives)...
  const lines = text.split("\n");
  const last = lines.pop() as string;
  for (const l of lines) assert.equal(JSON.parse(l).jail, "k");
  // ...and the next writer terminates a torn line before appending, so its lines are whole.
  const next = openAuditLog(f);
  next.write({ type: "rpc", jail: "after", direction: "server", code: -32700 });
  await next.close();
  const after = readFileSync(f, "utf8").split("\n");
  assert.equal(after.pop(), "", "the file ends with a newline");
  assert.equal(JSON.parse(after.pop() as string).jail, "after");
  if (last !== "") assert.equal(after.pop(), last, "the torn line is left as it was, terminated");
});

test("summarize: per jail, read/wrote/executed/contacted/denied/tools/limits/exit", () => {
  const ev = (e: Record<string, unknown>) => JSON.stringify({ v: 1, ts: "2026-01-01T00:00:00.000Z", ...e });
  const input = [
    ev({ ...start }),
    ev({ type: "syscall", jail: "j1", syscall: "openat", decision: "allow", path: "/data/a", access: "read" }),
    ev({ type: "syscall", jail: "j1", syscall: "openat", decision: "allow", path: "/data/a", access: "read" }),
    ev({ type: "syscall", jail: "j1", syscall: "openat", decision: "allow", path: "/out/b", access: "create" }),
    ev({ type: "syscall", jail: "j1", syscall: "openat", decision: "allow", path: "/out/c", access: "readwrite" }),
    ev({ type: "syscall", jail: "j1", syscall: "execve", decision: "allow", path: "/usr/bin/node" }),
    ev({ type: "syscall", jail: "j1", syscall: "openat", decision: "deny", path: "/home/u/.ssh/id_rsa", reason: "outside grants" }),
    ev({ type: "syscall", jail: "j1", syscall: "openat", decision: "deny", path: "/home/u/.ssh/id_rsa", reason: "outside grants" }),
    ev({ type: "syscall", jail: "j1", syscall: "connect", decision: "deny", addr: "169.254.169.254:80", reason: "cloud metadata" }),
    ev({ type: "syscall", jail: "j1", syscall: "connect", decision: "allow", addr: "127.0.0.1:3128" }),
    ev({ type: "net", jail: "j1", decision: "allow", host: "registry.npmjs.org", port: 443, bytes_in: 10 }),
    ev({ type: "net", jail: "j1", decision: "deny", host: "evil.example", port: 443, reason: "not in allowlist" }),
    ev({ type: "tool", jail: "j1", name: "read_graph", decision: "allow", outcome: "ok", request_id: 4 }),
    ev({ type: "tool", jail: "j1", name: "read_graph", decision: "allow", outcome: "error", request_id: 5 }),
    ev({ type: "tool", jail: "j1", name: "delete_entities", decision: "deny", outcome: "denied", reason: "--deny-tool delete_*" }),
    ev({ type: "limit", jail: "j1", limit: "memory", event: "oom_kill", value: 536870912 }),
    ev({ type: "exit", jail: "j1", code: null, signal: "SIGKILL", reason: "oom" }),
    ev({ type: "jail.start", jail: "j2", command: ["python3", "-m", "srv"], layers: {}, landlock_abi: null }),
    ev({ type: "syscall", jail: "j2", syscall: "openat", decision: "allow", path: "/srv/x", access: "read" }),
    "not json",
    '{"v":2,"type":"future"}',
    "",
  ];
  const s = summarizeAudit(input);
  assert.equal(s.invalidLines, 2);
  assert.equal(s.totalEvents, 19);
  assert.equal(s.jails.length, 2);
  const j1 = s.jails[0]!;
  assert.equal(j1.server, "memory");
  assert.deepEqual(j1.read, ["/data/a", "/out/c"]);
  assert.deepEqual(j1.wrote, ["/out/b", "/out/c"]);
  assert.deepEqual(j1.executed, ["/usr/bin/node"]);
  assert.deepEqual(j1.contacted, ["127.0.0.1:3128", "registry.npmjs.org:443"]);
  assert.deepEqual(j1.denied, [
    { kind: "openat", what: "/home/u/.ssh/id_rsa", reason: "outside grants", count: 2 },
    { kind: "connect", what: "169.254.169.254:80", reason: "cloud metadata", count: 1 },
    { kind: "net", what: "evil.example:443", reason: "not in allowlist", count: 1 },
    { kind: "tool", what: "delete_entities", reason: "--deny-tool delete_*", count: 1 },
  ]);
  assert.deepEqual(j1.tools, [
    { name: "read_graph", calls: 2, denied: 0, errors: 1 },
    { name: "delete_entities", calls: 1, denied: 1, errors: 0 },
  ]);
  assert.deepEqual(j1.limits, [{ limit: "memory", event: "oom_kill", count: 1 }]);
  assert.deepEqual(j1.exit, { code: null, signal: "SIGKILL", reason: "oom" });
  assert.equal(j1.landlockAbi, 6);
  assert.deepEqual(s.jails[1]!.read, ["/srv/x"]);
  const text = formatAuditSummary(s);
  assert.match(text, /jail j1: memory/);
  assert.match(text, /openat \/home\/u\/\.ssh\/id_rsa \(outside grants\) ×2/);
  assert.match(text, /jail j2: python3 -m srv/);
  assert.match(text, /2 invalid lines skipped/);
});

test("summarize leads with what most likely broke the server; look-ups of missing paths are only counted (issue 12 item 10)", () => {
  const ev = (e: Record<string, unknown>) => JSON.stringify({ v: 1, ts: "2026-01-01T00:00:00.000Z", jail: "j", ...e });
  const probes = Array.from({ length: 300 }, (_, i) => ev({ type: "syscall", syscall: "openat", decision: "deny", path: `/usr/lib/x/${i}.so`, errno: i % 2 ? "ENOENT" : "ENOTDIR" }));
  const input = [
    ev({ type: "jail.start", command: ["node", "server.js"], layers: {}, landlock_abi: 7 }),
    ...probes.slice(0, 150),
    ev({ type: "syscall", syscall: "openat", decision: "deny", path: "/etc/shadow", reason: "outside", errno: "ENOENT" }),
    ev({ type: "syscall", syscall: "execve", decision: "deny", path: "/usr/bin/git", reason: "exec", errno: "EACCES" }),
    ev({ type: "net", decision: "deny", host: "api.example.com", port: 443, reason: "not-allowed" }),
    ...probes.slice(150),
    ev({ type: "syscall", syscall: "openat", decision: "deny", path: "/data/db.sqlite", reason: "readonly", errno: "EACCES" }),
    ev({ type: "exit", code: 1, signal: null, reason: "exited" }),
  ];
  const j = summarizeAudit(input).jails[0]!;
  assert.equal(j.probes, 301);
  assert.deepEqual(j.cause, [
    "refused exec: /usr/bin/git (exec): add --allow-exec /usr/bin/git if the server needs it",
    "refused network: net api.example.com:443 (not-allowed): add --allow-net HOST[:PORT] if the server needs it",
    "denied before the exit: openat /data/db.sqlite (readonly)",
  ]);
  const text = formatAuditSummary(summarizeAudit(input)).split("\n");
  const at = (prefix: string) => text.findIndex((l) => l.startsWith(prefix));
  assert.ok(at("  most likely cause:") > 0 && at("  most likely cause:") < at("  read ("), text.join("\n"));
  assert.equal(text[at("  most likely cause:") + 1], "    refused exec: /usr/bin/git (exec): add --allow-exec /usr/bin/git if the server needs it");
  assert.ok(text.includes("  and 301 look-ups of paths that do not exist (ENOENT, ENOTDIR)"));
  assert.ok(!text.some((l) => l.includes("/usr/lib/x/")), "no probe is listed");
});

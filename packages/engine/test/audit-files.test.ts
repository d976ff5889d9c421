// What the audit log writer does with what it finds at its paths (RT13-3, RT13-9): a symbolic link,
// a FIFO, a directory or another user's file at FILE is refused (AuditLogError, with its code),
// the link's target untouched; rotation only renames and unlinks names, and a step that fails
// (a directory in the way) is said once while the log goes on; a write that fails (a file size
// limit) is said once, never thrown. Real files in a temporary directory, real write(2) errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { openAuditLog, type AuditEventInput } from "../src/audit/index.js";
import { bound } from "./helpers/time.js";

const dir = () => mkdtempSync(join(tmpdir(), "mcpj-audit-files-"));
const lines = (f: string) => readFileSync(f, "utf8").split("\n").filter((l) => l !== "");
const writerUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "src", "audit", "index.js")).href;
const event = (i: number): AuditEventInput => ({ type: "syscall", jail: "j", syscall: "openat", decision: "allow", path: `/data/file-${i}`, access: "read" });

/** openAuditLog(f) is refused with this code, and a message that says the fix. */
function refused(f: string, code: string, fix: RegExp): void {
  assert.throws(
    () => openAuditLog(f),
    (e: Error & { code?: string; exitCode?: number }) => {
      assert.equal(e.name, "AuditLogError", e.stack);
      assert.equal(e.code, code, e.message);
      assert.equal(e.exitCode, 2, "a path the user chose: exit 2 (usage)");
      assert.ok(e.message.includes(f), `the message names the path: ${e.message}`);
      assert.match(e.message, fix);
      return true;
    },
  );
}

test("a symbolic link at the audit log's path is refused, never followed: to a file, dangling, to a directory", () => {
  const d = dir();
  const victim = join(d, "victim.txt");
  writeFileSync(victim, "precious\n");
  const toFile = join(d, "audit.jsonl");
  symlinkSync(victim, toFile);
  refused(toFile, "E_AUDIT_LOG_SYMLINK", /is a symbolic link .*: give the path of a regular file$/);
  assert.equal(readFileSync(victim, "utf8"), "precious\n", "the link's target is untouched");

  const missing = join(d, "created-through-link.jsonl");
  const dangling = join(d, "dangling.jsonl");
  symlinkSync(missing, dangling);
  refused(dangling, "E_AUDIT_LOG_SYMLINK", /is a symbolic link/);
  assert.ok(!existsSync(missing), "no file is created where a dangling link points");

  const target = join(d, "somedir");
  mkdirSync(target);
  const toDir = join(d, "todir.jsonl");
  symlinkSync(target, toDir);
  refused(toDir, "E_AUDIT_LOG_SYMLINK", /is a symbolic link/);
  assert.deepEqual(readdirSync(target), [], "nothing is created in the directory the link names");
  assert.equal(readlinkSync(toDir), target, "the link itself is left as it was");
});

test("a FIFO at the audit log's path is refused at once: open(2) never waits for a reader", () => {
  const d = dir();
  const fifo = join(d, "audit.jsonl");
  const mk = spawnSync("mkfifo", [fifo]);
  assert.equal(mk.status, 0, `mkfifo: ${mk.stderr}`);
  // In a child, so that a writer that blocked in open(2) fails this test instead of hanging it.
  const script = `
    const { openAuditLog } = await import(${JSON.stringify(writerUrl)});
    try { openAuditLog(${JSON.stringify(fifo)}); console.log("opened"); } catch (e) { console.log(e.code + " " + e.message); }
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: bound(20_000) });
  assert.equal(r.signal, null, "the writer did not block opening the FIFO");
  assert.match(r.stdout, /^E_AUDIT_LOG_NOT_FILE the audit log \S+ is a FIFO: give the path of a regular file\n$/, r.stderr);
  assert.ok(lstatSync(fifo).isFIFO(), "the FIFO is left as it was");
});

test("a directory, another user's file or a file with two names at the path is refused", (t) => {
  const d = dir();
  const sub = join(d, "audit.jsonl");
  mkdirSync(sub);
  refused(sub, "E_AUDIT_LOG_NOT_FILE", /is a directory: give the path of a regular file$/);

  const other = join(d, "other.jsonl");
  writeFileSync(other, "");
  const linked = join(d, "linked.jsonl");
  linkSync(other, linked);
  refused(linked, "E_AUDIT_LOG_LINKED", /has 2 names \(hard links\): give the path of a file with one name$/);
  assert.equal(readFileSync(other, "utf8"), "", "the other name's file is untouched");

  refused(join(d, "no-such-dir", "audit.jsonl"), "E_AUDIT_LOG_OPEN", /its directory does not exist/);

  if (process.geteuid?.() !== 0) {
    t.skip("making a file of another user takes root (npm test runs as root)");
    return;
  }
  const theirs = join(d, "theirs.jsonl");
  writeFileSync(theirs, "theirs\n");
  chownSync(theirs, 65534, 65534);
  refused(theirs, "E_AUDIT_LOG_OWNER", /belongs to uid 65534, not to mcp-j's user \(uid 0\): give the path of a file of your own$/);
  assert.equal(readFileSync(theirs, "utf8"), "theirs\n", "another user's file is untouched");
});

test("a directory where rotation moves a file is said once; the events go on in the current file", async () => {
  const d = dir();
  const f = join(d, "audit.jsonl");
  // A directory (not empty: rename(2) cannot replace it) at FILE.2, the oldest kept.
  mkdirSync(`${f}.2`);
  writeFileSync(`${f}.2/x`, "x");
  const said: string[] = [];
  const log = openAuditLog(f, { rotateBytes: 2000, keepFiles: 2, log: (l) => said.push(l) });
  for (let i = 0; i < 200; i++) log.write(event(i));
  await log.close();
  assert.equal(said.length, 1, `said once: ${JSON.stringify(said)}`);
  assert.match(said[0]!, new RegExp(`^cannot rotate the audit log ${f}: .*EISDIR.*; it goes on growing in the current file \\(move what is in the way\\)$`));
  assert.equal(readFileSync(`${f}.2/x`, "utf8"), "x", "the directory is left as it was");
  assert.ok(!existsSync(`${f}.1`), "no rotation happened");
  const paths = lines(f).map((l) => JSON.parse(l).path as string);
  assert.equal(paths.length, 200, "every event is in the file");
  assert.equal(paths[199], "/data/file-199");
});

test("rotation renames a symbolic link planted at FILE.1 as a name: its target is never written or removed", async () => {
  const d = dir();
  const f = join(d, "audit.jsonl");
  const victim = join(d, "victim.txt");
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, `${f}.1`);
  const log = openAuditLog(f, { rotateBytes: 2000, keepFiles: 2 });
  const rotations = (): number => (existsSync(f) ? lines(f).filter((l) => JSON.parse(l).type === "audit.rotated").length : 0);
  // One rotation: the link moves to FILE.2 (still a link), the file to FILE.1.
  let i = 0;
  while (rotations() === 0) log.write(event(i++));
  assert.ok(lstatSync(`${f}.2`).isSymbolicLink(), "the link moved to FILE.2 as a link");
  assert.equal(readlinkSync(`${f}.2`), victim);
  assert.ok(lstatSync(`${f}.1`).isFile() && !lstatSync(`${f}.1`).isSymbolicLink(), "FILE.1 is the rotated file");
  assert.equal(readFileSync(victim, "utf8"), "precious\n", "nothing was written through the link");
  // The next rotation deletes FILE.2: the link goes, not the file it names.
  while (JSON.parse(lines(f)[0]!).deleted === null) log.write(event(i++));
  await log.close();
  assert.ok(!lstatSync(`${f}.2`).isSymbolicLink(), "the link was deleted");
  assert.equal(readFileSync(victim, "utf8"), "precious\n", "the link's target is still there, untouched");
  assert.equal(JSON.parse(lines(f)[0]!).deleted, `${f}.2`);
});

test("a write that fails (a file size limit: EFBIG) is said once and counted, never thrown", () => {
  const d = dir();
  const f = join(d, "audit.jsonl");
  const script = `
    const { openAuditLog } = await import(${JSON.stringify(writerUrl)});
    const log = openAuditLog(${JSON.stringify(f)}, { log: (l) => console.log("said: " + l) });
    for (let i = 0; i < 200; i++) log.write({ type: "rpc", jail: "k", direction: "server", code: -32700, detail: "x".repeat(100) + i });
    await log.close();
    console.log("done");
  `;
  // A file size limit of 8 blocks (4 or 8 KiB): writes past it fail with EFBIG (Node ignores
  // SIGXFSZ), and the write that reaches it is cut short.
  const r = spawnSync("sh", ["-c", 'ulimit -f 8 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: "utf8", timeout: bound(20_000) });
  assert.equal(r.status, 0, `the writer's process went on: ${r.stderr}`);
  const out = r.stdout.split("\n").filter((l) => l !== "");
  assert.equal(out[out.length - 1], "done", r.stdout);
  const said = out.filter((l) => l.startsWith("said: "));
  assert.equal(said.length, 2, r.stdout);
  assert.match(said[0]!, /^said: cannot write the audit log \S+: EFBIG: file too large, write; its events are lost until it can be written again$/);
  const size = statSync(f).size;
  const written = readFileSync(f, "utf8").split("\n");
  const whole = written.slice(0, -1).map((l) => JSON.parse(l).detail as string);
  assert.ok(whole.length > 10 && whole.length < 200, `${whole.length} whole lines in ${size} bytes`);
  assert.equal(said[1], `said: ${200 - whole.length} audit events could not be written to ${f}`);
});

// mcp-j's own files on the host (host-file.ts): nothing planted at their paths is followed, blocks
// mcp-j, or is trusted. Real files in a temporary directory.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { HostFileError, readOwnFile, writeOwnFile } from "../src/host-file.js";
import { PolicyError, refuseHostFilesInGrants, resolvePolicy } from "../src/policy/index.js";

const dir = mkdtempSync(join(tmpdir(), "mcpj-hostfile-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const refused = (f: () => unknown, message: RegExp): void => {
  assert.throws(f, (e: unknown) => e instanceof HostFileError && e.code === "E_HOST_FILE" && message.test(e.message));
};

test("readOwnFile: a regular file's text; null when there is none", () => {
  const p = join(dir, "plain.json");
  writeFileSync(p, "{}\n", { mode: 0o600 });
  assert.equal(readOwnFile(p, "the pin file"), "{}\n");
  assert.equal(readOwnFile(join(dir, "absent.json"), "the pin file"), null);
});

test("readOwnFile: a link, a FIFO (at once, no hang), a directory, a file others can write are refused", () => {
  const target = join(dir, "target.json");
  writeFileSync(target, "{}\n", { mode: 0o600 });
  const link = join(dir, "link.json");
  symlinkSync(target, link);
  refused(() => readOwnFile(link, "the pin file"), /^the pin file .*link\.json is a symbolic link/);
  const fifo = join(dir, "fifo.json");
  execFileSync("mkfifo", [fifo]);
  refused(() => readOwnFile(fifo, "the pin file"), /is not a regular file/);
  const sub = join(dir, "sub.json");
  mkdirSync(sub);
  refused(() => readOwnFile(sub, "the pin file"), /is not a regular file/);
  const open = join(dir, "open.json");
  writeFileSync(open, "{}\n");
  chmodSync(open, 0o666);
  refused(() => readOwnFile(open, "the pin file"), /can be written by others \(mode 666\): chmod go-w/);
});

test("writeOwnFile: replaces a link at the path instead of writing through it, and leaves no temporary file", () => {
  const victim = join(dir, "victim.txt");
  writeFileSync(victim, "precious\n", { mode: 0o600 });
  const sub = mkdtempSync(join(dir, "w-"));
  const p = join(sub, "pins.json");
  symlinkSync(victim, p);
  writeOwnFile(p, "new\n", 0o600);
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.equal(lstatSync(p).isFile(), true);
  assert.equal(readFileSync(p, "utf8"), "new\n");
  assert.equal(lstatSync(p).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(sub), ["pins.json"]);
  // The old fixed name (FILE.<pid>.tmp) planted as a link is not used either.
  symlinkSync(victim, `${p}.${process.pid}.tmp`);
  writeOwnFile(p, "again\n", 0o600);
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.equal(readFileSync(p, "utf8"), "again\n");
});

test("refuseHostFilesInGrants: a file in a writable grant, spelled through a link either way, is refused; a read-only grant is not writable", async () => {
  const grant = mkdtempSync(join(dir, "grant-"));
  const outside = mkdtempSync(join(dir, "outside-"));
  const policy = await resolvePolicy({ profiles: [], overlay: { filesystem: { rw: [grant], ro: [outside] } }, cwd: dir, env: {} });
  // A link outside the grant that leads into it (the host resolves it there).
  symlinkSync(grant, join(outside, "into-grant"));
  // A link inside the grant that leads out (the jail can replace it with another).
  symlinkSync(outside, join(grant, "out"));
  const files = [
    { what: "the pin file", path: join(grant, "pins.json") },
    { what: "the audit log", path: join(outside, "into-grant", "audit.jsonl") },
    { what: "the policy file", path: join(grant, "out", "policy.json") },
    { what: "the learned policy (--out)", path: join(outside, "fine.json") },
  ];
  assert.throws(
    () => refuseHostFilesInGrants(policy, files),
    (e: unknown) =>
      e instanceof PolicyError &&
      e.exitCode === 2 &&
      e.problems.length === 3 &&
      e.problems.every((p, i) => p.startsWith(`${files[i]!.what} ${files[i]!.path} is inside the writable grant ${grant}`)),
  );
  refuseHostFilesInGrants(policy, [files[3]!]);
});

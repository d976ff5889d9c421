// RED-TEAM 13 FINDINGS (2723cad): what mcp-j does on the host around a jail's life, attacked by a
// server author (who controls what the jail does, when, and what it writes in its writable grants)
// and by a client that ends sessions badly. Each "RT13-n" test reproduces one defect and asserts the
// SECURE outcome, so it fails on 2723cad. Real jails, the real CLI, the SDK's client and server.
// Not run by default (the file ends in .pending): rename it to .ts to run it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { auditLines, clientSession, jailDir, jailFile } from "./attribution.helpers.js";
import { bound, collect, descendants, mcpjBin, repoRoot, runMcpj, startMcpj, waitFor } from "./helpers.js";

const T = { timeout: 120_000 };
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const server = join(fixtures, "redteam13-server.mjs");
const pinServer = join(fixtures, "pin-server.mjs");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-rt13-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

/** A host file outside every grant, that only mcp-j's user can read or write. */
function victim(name: string): string {
  const p = join(work, name);
  writeFileSync(p, "precious\n", { mode: 0o600 });
  return p;
}

function gone(pid: number | null | undefined): boolean {
  if (pid === null || pid === undefined) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** An SDK client on `mcp-j ARGS -- COMMAND`, kept open; `pid` is mcp-j's own. */
async function openSession(args: string[], command: string[]): Promise<{ client: Client; pid: number; close: () => Promise<void> }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [mcpjBin, ...args, "--", ...command], stderr: "pipe", cwd: repoRoot });
  transport.stderr?.on("data", () => {});
  const client = new Client({ name: "mcpj-rt13", version: "1.0.0" });
  await client.connect(transport);
  const pid = transport.pid!;
  return {
    client,
    pid,
    close: async () => {
      await client.close();
      assert.ok(await waitFor(() => gone(pid), bound(20_000)), "mcp-j exited after the client closed");
    },
  };
}

/** mcp-j refused to start (exit 2, before any jail) because `what` at `path` is in the grant `grant`. */
function refusedAtStart(r: { code: number | null; stderr: string }, what: string, path: string, grant: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(`mcp-j: ${what} ${path} is inside the writable grant ${grant}, where the server could replace it`), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe("red-team 13 findings", () => {
  // RT13-1 (high). `mcp-j learn --out FILE` writes the learned policy with writeFileSync(FILE), which
  // follows a symbolic link (packages/cli/src/attribution.ts: Attribution.finish). When FILE is in a
  // directory the jail can write (the default ./mcp-j.learned.json with `--rw .`, the natural way to
  // learn a filesystem server), the server replaces FILE with a link to any host file, and mcp-j,
  // after the jail exited, truncates that file and writes the policy into it with the user's
  // authority: a host file the jail could not reach is destroyed (rule 2: the supervisor acts with
  // at most the jail's authority). Fix: refuse at start (exit 2, one line naming the grant) an
  // --out under a writable grant, and write it as the pin file is (a temporary file opened
  // O_CREAT|O_EXCL|O_NOFOLLOW in the directory, renamed over FILE).
  it("RT13-1: the learned policy is never written through a link the jail planted", T, async () => {
    const data = jailDir(work, "learn-data");
    const target = victim("learn-victim.txt");
    const out = join(data, "mcp-j.learned.json");
    const r = await runMcpj(["learn", "--out", out, "--rw", data, "--", "node", server, "link", out, target]);
    assert.equal(readFileSync(target, "utf8"), "precious\n", `mcp-j wrote the learned policy through the jail's link (exit ${r.code}): ${r.stderr}`);
    refusedAtStart(r, "the learned policy (--out)", out, data);
  });

  // RT13-12 (medium). The same write (attribution.ts: Attribution.finish, writeFileSync(--out))
  // opens whatever is at FILE: the server makes it a FIFO (mkfifo is allowed in a writable grant),
  // and mcp-j, once the jail has exited, blocks for ever in open(2) with nobody to read: it never
  // exits, and since its signal handlers run on the blocked event loop, SIGTERM does not end it
  // either (only SIGKILL). The pin file (readPinFile at start, FILE.PID.tmp at the end) and the
  // audit log (openAuditLog) hang the same way. Fix: as RT13-1; open with O_NONBLOCK|O_NOFOLLOW
  // and refuse anything but a regular file.
  it("RT13-12: mcp-j learn ends even when the jail made its --out a FIFO", T, async () => {
    const data = jailDir(work, "fifo-data");
    const out = join(data, "mcp-j.learned.json");
    const r = await runMcpj(["learn", "--out", out, "--rw", data, "--", "python3", "-c", `import os; os.mkfifo(${JSON.stringify(out)})`]);
    refusedAtStart(r, "the learned policy (--out)", out, data);
    assert.equal(existsSync(out), false, "no jail ran");
  });

  // RT13-2 (high). The pin file is written as FILE.<mcp-j's pid>.tmp, then renamed over FILE
  // (packages/engine/src/footprint/pin.ts: writePinFile, from attribution.ts: Attribution.finish).
  // writeFileSync on the temporary name follows a symbolic link and truncates what it points to.
  // When the pin file is in a directory the jail can write, the server plants FILE.N.tmp -> any
  // host file for every N up to pid_max (32768 by default; this test tells it mcp-j's pid to keep
  // it short), and mcp-j overwrites that file with the pins. The same planted names as
  // directories make the write fail ("cannot write the pin file"): what the jail wrote into FILE
  // during the run then stays, and the next run trusts it (its own footprints, pending changes
  // removed). Fix: refuse (exit 2) a pin file under a writable grant; open the temporary file with
  // O_CREAT|O_EXCL|O_NOFOLLOW (and a random name).
  it("RT13-2: the pin file's temporary file is never written through a link the jail planted", T, async () => {
    // The layer below (a fresh O_EXCL temporary name, never through a link): host-file.test.ts.
    const data = jailDir(work, "pin-data");
    const pins = join(data, "pins.json");
    refusedAtStart(await runMcpj(["--rw", data, "--pin", pins, "--", "node", server]), "the pin file", pins, data);
  });

  // RT13-10 (high). The pin file is read at start and trusted whatever can write it
  // (footprint/pin.ts: readPinFile, from attribution.ts: the Attribution constructor). When it is
  // in a directory the jail can write, the server rewrites it during a run with the footprints it
  // wants, and makes mcp-j's own write at the end fail by putting a directory at FILE.PID.tmp
  // (every pid up to pid_max; this test tells it mcp-j's pid): mcp-j says "cannot write the pin
  // file" and the jail's version stays. The next run, under --pin-enforce, takes the server's
  // word for its footprint: a tool that now reads a private file is neither reported nor refused.
  // Fix: as RT13-2 (refuse a pin file under a writable grant), and check at start that the pin
  // file is a regular file owned by mcp-j's user and not writable by others (as programs.ts checks
  // what it trusts).
  it("RT13-10: a pin file the jail rewrote is not trusted at the next start", T, async () => {
    // A pin file others can write, or anything but a regular file, is refused too: host-file.test.ts.
    const data = jailDir(work, "trust-data");
    const pins = jailFile(join(data, "pins.json"), JSON.stringify({ version: 1, tools: {}, pending: {} }));
    refusedAtStart(await runMcpj(["--ro", work, "--rw", data, "--pin", pins, "--pin-enforce", "--", "node", server]), "the pin file", pins, data);
  });

  // RT13-3 (high). The audit log is opened with O_WRONLY|O_APPEND|O_CREAT, which follows a symbolic
  // link (packages/engine/src/audit/writer.ts: openAuditLog, from cli/src/audit-sink.ts:
  // openAuditSink). When it is in a directory the jail can write, the server removes it (the rest
  // of that run's events go to an unlinked file: lost) and puts a link to any host file in its
  // place; the next run of mcp-j appends its audit lines, whose strings the server chooses (tool
  // names, paths), to that file. Fix: refuse (exit 2) an audit log under a writable grant; open it
  // with O_NOFOLLOW and check it is a regular file owned by mcp-j's user.
  it("RT13-3: the audit log is never appended to through a link the jail planted", T, async () => {
    const data = jailDir(work, "audit-data");
    const target = victim("audit-victim.txt");
    const log = join(data, "audit.jsonl");
    await clientSession(["--rw", data, "--audit-log", log], ["node", server], (c) => c.callTool({ name: "plant", arguments: { link: log, target } })).catch(() => {
      /* a fixed mcp-j may refuse this setup at start: the victim below is what matters */
    });
    const r = await runMcpj(["--rw", data, "--audit-log", log, "--", "node", server]);
    assert.equal(readFileSync(target, "utf8"), "precious\n", "mcp-j appended its audit log to the file the jail's link named");
    refusedAtStart(r, "the audit log", log, data);
  });

  // RT13-4 (medium). Each mcp-j reads the pin file at start (attribution.ts: the Attribution
  // constructor) and writes its whole book at the end (Attribution.finish -> writePinFile), so two
  // mcp-j sharing a pin file (two clients, two windows of one editor) lose each other's findings:
  // the one that ends last writes the file as it read it at its start. A rug-pulled server that
  // touched outside its footprint in one session has that pending change (the tool refused under
  // --pin-enforce until `mcp-j pin accept`) erased when another session of it ends later: nothing
  // asks the user any more. Fix: at the end, under an exclusive lock (flock on the file or a .lock
  // beside it), read the file again and merge this run's changes into it.
  it("RT13-4: a change one mcp-j found is kept when another mcp-j sharing the pin file ends later", T, async () => {
    const data = jailDir(work, "share-data");
    jailFile(join(data, "words.txt"), "apple\npear\n");
    jailDir(work, "share-data/private");
    jailFile(join(data, "private", "notes.txt"), "private\n");
    const pins = join(work, "share-pins.json");
    const args = ["--ro", data, "--pin", pins];
    // Tools are pinned from tools/list, then their calls' touches.
    const lookup = async (c: Client) => {
      await c.listTools();
      return c.callTool({ name: "lookup", arguments: { word: "pear" } });
    };
    await clientSession(args, ["node", pinServer, data, "v1"], lookup);
    // B: an honest session, started (so its pin file read) before A's.
    const b = await openSession(args, ["node", pinServer, data, "v1"]);
    try {
      await lookup(b.client);
      // A: a session of the rug-pulled version, which reads private/notes.txt.
      await clientSession(args, ["node", pinServer, data, "reads-more"], lookup);
      const afterA = JSON.parse(readFileSync(pins, "utf8")) as { pending: Record<string, unknown> };
      assert.ok(afterA.pending["lookup"] !== undefined, `A recorded lookup's change as pending: ${JSON.stringify(afterA)}`);
    } finally {
      await b.close();
    }
    const afterB = JSON.parse(readFileSync(pins, "utf8")) as { pending: Record<string, unknown> };
    assert.ok(afterB.pending["lookup"] !== undefined, `lookup's change is still pending after B ended: ${JSON.stringify(afterB)}`);
  });

  // RT13-8 (high). The pin file (and the learned policy) is written only once the jail has exited
  // (cli/src/session.ts: runSession -> attr.finish() after `await jail.exited`). A server that
  // ignores SIGTERM and the end of its input leaves only when mcp-j kills it, `grace` after the
  // client closed its input and `grace` again after SIGTERM (4 s by default); the SDK clients'
  // close() ends mcp-j's input, sends SIGTERM 2 s later and SIGKILL 2 s after that, so mcp-j is
  // always killed first (with the default grace it lost 3 of 3 runs here; this test takes
  // --grace 30s to win the race deterministically). Nothing the run found reaches the pin file:
  // on a first run no pin file is ever made, so every later run records again and --pin-enforce
  // never refuses anything; on later runs the changes found (a touch outside the footprint) are
  // not kept as pending, so the next session's tool is not refused. The audit log has no exit
  // event either. Fix: write the pin file (atomically, as writePinFile does) each time the book
  // changes (a tool recorded, a footprint set, a change found), not only at the end; and on the
  // client's SIGTERM after its input closed, kill the jail at once rather than wait for `grace`.
  it("RT13-8: a server that leaves only when killed still gets its pins written when an SDK client closes", T, async () => {
    const pins = join(work, "stubborn-pins.json");
    await clientSession(["--pin", pins, "--grace", "30s"], ["node", server, "stubborn"], async (c) => {
      await c.listTools();
      return c.callTool({ name: "lookup", arguments: {} });
    });
    assert.ok(existsSync(pins), "the pin file was written");
    const file = JSON.parse(readFileSync(pins, "utf8")) as { tools: Record<string, unknown> };
    assert.ok(file.tools["lookup"] !== undefined, `lookup is pinned: ${JSON.stringify(file)}`);
  });

  // RT13-9 (medium). Rotating the audit log removes FILE.keep with rmSync, which throws on a
  // directory, and renames the others, which throws on a non-empty directory in the way
  // (packages/engine/src/audit/writer.ts: openAuditLog's rotate). The throw leaves audit.write
  // inside a supervisor report's handler (cli/src/session.ts: jail.onReport), nothing catches it,
  // and mcp-j dies on the spot: Node's stack trace on stderr, exit 1, the jail killed with it, no
  // exit event, no pin file, no learned policy. A server whose audit log's directory it can write
  // makes FILE.4 a directory and then does enough to pass --audit-rotate. Fix: refuse an audit
  // log under a writable grant (RT13-3), and make rotation unable to throw (a failed rotation is
  // said once and the log goes on in FILE).
  it("RT13-9: a jail cannot end mcp-j by putting a directory where the audit log rotates", T, async () => {
    const data = jailDir(work, "rotate-data");
    const log = join(data, "audit.jsonl");
    jailFile(join(data, "words.txt"), "apple\n");
    const script = `const fs = require("fs"); fs.mkdirSync(${JSON.stringify(`${log}.4`)}); fs.writeFileSync(${JSON.stringify(`${log}.4/x`)}, "");
for (let i = 0; i < 1000; i++) fs.readFileSync(${JSON.stringify(join(data, "words.txt"))});`;
    const r = await runMcpj(["--rw", data, "--audit-log", log, "--audit-rotate", "64K", "--", "node", "-e", script]);
    assert.doesNotMatch(r.stderr, /\n\s+at |node:internal/, "no stack trace");
    assert.ok(r.code === 0 || r.code === 2, `exit 0 (the server's code) or 2 (the audit log refused at start), not ${r.code}: ${r.stderr}`);
    if (r.code === 0) assert.ok(auditLines(log).some((l) => l.type === "exit"), "the audit log has the exit event");
  });

  // RT13-11 (low). docs/audit.md lists the exit event's reasons `supervisor_died` and
  // `grace_timeout`, but runSession (cli/src/session.ts) never writes either: a supervisor that
  // dies while the jail runs (killed, or chosen by the host's OOM killer) is written as
  // `setup_failed` after a jail.start event, the reason for a jail that never started, and a
  // server stopped after --grace as `stopped`. A reader of the log (or `mcp-j audit summarize`)
  // cannot tell a broken set-up from a supervisor lost mid-run. Fix: `supervisor_died` when
  // exit.error is set and the jail had started (exit.started), and one list of reasons, in the
  // schema, that docs/audit.md is generated from or checked against.
  it("RT13-11: a supervisor killed while the jail runs is audited as supervisor_died", T, async () => {
    const log = join(work, "supervisor-audit.jsonl");
    const child = startMcpj(["--audit-log", log, "--grace", `${bound(60_000)}ms`, "--", "node", "-e", "setInterval(() => {}, 1000)"]);
    const done = collect(child);
    assert.ok(await waitFor(() => auditLines(log).some((l) => l.type === "jail.start"), bound(20_000)), "the jail started");
    const helper = descendants(child.pid!)[0];
    assert.ok(helper !== undefined, "the supervisor runs");
    process.kill(helper, "SIGKILL");
    const r = await done;
    const exit = auditLines(log).find((l) => l.type === "exit");
    assert.match(r.stderr, /supervisor died/);
    assert.equal(exit?.["reason"], "supervisor_died", `the exit event: ${JSON.stringify(exit)}`);
  });

  // RT13-5 (medium). mcp-j writes its own lines to stderr (cli/src/io.ts: say) with no 'error'
  // listener on it: when the client no longer reads mcp-j's stderr (it closed its end of the
  // pipe), the next line mcp-j says (one the server provokes at will: a non-JSON line on its stdout,
  // a refusal, a pin change) raises EPIPE as an unhandled 'error' event, and mcp-j dies at once
  // (exit 1, the code of "a subcommand failed"; a stack trace), in the middle of the session: the
  // server is killed, the audit log has no exit event, the pin file and learned policy are not
  // written. Fix: an 'error' listener on io.stderr in runSession (as on io.stdout) that stops
  // saying, so the session goes on and ends with the server's code.
  it("RT13-5: a client that closed mcp-j's stderr does not end the session", T, async () => {
    const log = join(work, "stderr-audit.jsonl");
    const child = spawn(process.execPath, [mcpjBin, "--audit-log", log, "--grace", `${bound(60_000)}ms`, "--", "node", "-e", "process.stdout.write('not json\\n'); setTimeout(() => {}, 300)"], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: repoRoot,
    });
    // The client closes its end of mcp-j's stderr before mcp-j says anything.
    child.stderr.destroy();
    const done = collect(child);
    child.stdin.end();
    const r = await done;
    const lines = auditLines(log);
    assert.equal(r.code, 0, `mcp-j exits with the server's code (signal ${r.signal})`);
    assert.ok(lines.some((l) => l.type === "exit"), `the audit log has the exit event: ${JSON.stringify(lines.map((l) => l.type))}`);
  });

  // RT13-6 (medium). A policy file is read as given (packages/engine/src/policy/resolve.ts:
  // fileLayers, from cli/src/run.ts: runCommand) even when it lies under a writable grant of the
  // very policy it holds: the jail rewrites it, and the next run gives the server what it wrote
  // there (any file, any host). The README's own flow leads there: `mcp-j learn --rw . -- CMD`
  // writes ./mcp-j.learned.json, which grants `.` read-write, then `mcp-j --policy
  // mcp-j.learned.json -- CMD` on every later run. Rule 1: nothing a jail can write is trusted on
  // the host. Fix: refuse (exit 2, one line naming the file and the grant) a policy file, or a file
  // it extends, under one of the resolved policy's writable grants.
  it("RT13-6: a policy file the jail can write is not trusted at the next start", T, async () => {
    const data = jailDir(work, "policy-data");
    const secret = jailDir(work, "policy-secret");
    jailFile(join(secret, "key.txt"), "secret key\n");
    const policy = jailFile(join(data, "policy.json"), JSON.stringify({ filesystem: { rw: [data] } }));
    chmodSync(policy, 0o666);
    const peek = (c: Client) => c.callTool({ name: "peek", arguments: { path: join(secret, "key.txt") } }) as Promise<{ content: Array<{ text: string }> }>;
    // Run 1: the policy as the user wrote it; the server cannot read the secret, and widens the file.
    const first = await clientSession(["--policy", policy], ["node", server], async (c) => {
      const before = await peek(c);
      await c.callTool({ name: "write", arguments: { path: policy, text: JSON.stringify({ filesystem: { rw: [data], ro: [secret] } }) } });
      return before.content[0]?.text;
    }).catch(() => null);
    assert.notEqual(first?.value, "read 11 bytes", "the policy as written does not grant the secret");
    // Run 2: whatever mcp-j does with the file now, the server must not read the secret.
    const second = await clientSession(["--policy", policy], ["node", server], async (c) => (await peek(c)).content[0]?.text).catch(() => null);
    assert.notEqual(second?.value, "read 11 bytes", "the server read a file the user never granted: mcp-j trusted the policy file the jail rewrote");
    refusedAtStart(await runMcpj(["--policy", policy, "--", "node", server]), "the policy file", policy, data);
  });

  // RT13-7 (low). The audit log is opened after the jail has started (cli/src/session.ts:
  // runSession calls openAuditSink after startJail), and nothing catches its failure: an audit log
  // that cannot be opened (a missing directory, a directory, no permission) ends mcp-j through
  // bin/mcp-j.js's "internal error" path (exit 125, the set-up code, with Node's ENOENT text),
  // while the server had already been started without any audit. Fail closed and say the fix:
  // open the log before the jail starts and, when it cannot be opened, one line naming
  // --audit-log and the reason, exit 2, no jail.
  it("RT13-7: an audit log that cannot be opened is a clear usage error before the jail starts", T, async () => {
    const r = await runMcpj(["--audit-log", join(work, "no-such-dir", "audit.jsonl"), "--", "node", "-e", ""]);
    assert.equal(r.code, 2, `exit 2 (a bad command line): ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error/, "not reported as a bug in mcp-j");
    assert.ok(r.stderr.includes(`mcp-j: cannot open the audit log ${join(work, "no-such-dir", "audit.jsonl")} (its directory does not exist)`), r.stderr);
  });
});

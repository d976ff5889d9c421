// Red team 14's RT14-5 (wrap/unwrap write through links a jail planted in the workspace's .vscode),
// copied live from redteam14-findings.jail.test.ts.pending, and `mcp-j wrap` / `mcp-j unwrap` run
// through the real bin (the bundle), which ended in "internal error" (wrap.ts found its package
// three directories too high from the bundle). Real jails, the real CLI.
import assert from "node:assert/strict";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { unwrapCommand, wrapCommand } from "../src/commands/index.js";
import { jailDir, jailFile } from "./attribution.helpers.js";
import { mkio } from "./commands.helpers.js";
import { mcpjBin, repoRoot, runMcpj, UNTIL_IT_EXITS, type CliResult } from "./helpers.js";

const T = { timeout: 120_000 };
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const pinServer = join(fixtures, "pin-server.mjs");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-rt14-wrap-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

const J = (s: string): string => JSON.stringify(s);

/** A host file outside every grant, that only mcp-j's user can read or write. */
function victim(name: string, text = "precious\n"): string {
  const p = join(work, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

/** A run of `node -e SCRIPT` in a jail with `flags` (the script ends on its own). */
function jailed(flags: string[], script: string, opts: { cwd?: string } = {}): Promise<CliResult> {
  return runMcpj([...flags, ...UNTIL_IT_EXITS, "--", "node", "-e", script], opts);
}

describe("red-team 14: wrap and unwrap", () => {
  // RT14-5 (high). `mcp-j unwrap --restore-backup` copies FILE.mcp-j.bak over FILE with
  // copyFileSync (packages/cli/src/commands/wrap.ts: run), which opens FILE with O_WRONLY|O_TRUNC
  // and follows a symbolic link there. For VS Code the FILE is ./.vscode/mcp.json, in the
  // workspace, and `mcp-j wrap` itself grants the workspace read-write to a server given it as an
  // argument (generatedFlags: a directory named in the arguments -> --rw DIR): a wrapped
  // filesystem server writes .vscode/mcp.json.mcp-j.bak (what it wants written) and replaces
  // .vscode/mcp.json with a link to any host file (~/.bashrc; as root /etc/cron.d/x or
  // /root/.ssh/authorized_keys). `unwrap --restore-backup` then writes the server's text into that
  // file with the user's authority: code execution outside the jail. Rule 1 and rule 2. Fix: never
  // follow a link at FILE or its backups (lstat first; refuse a link, a non-regular file, a file
  // of another user, as readOwnFile does), and write the restored text with writeOwnFile
  // (a fresh O_EXCL|O_NOFOLLOW temporary file renamed over FILE).
  // The command is driven in-process (as wrap-run.jail.test.ts does): through bin/mcp-j.js (the
  // bundle) `mcp-j wrap` and `unwrap` end in "internal error" today (wrap.ts: CLI_DIR is computed
  // from the bundle's URL, three levels too high), which hides this only until that is fixed.
  it("RT14-5: unwrap --restore-backup never writes through a link the jail put at the config", T, async () => {
    const ws = jailDir(work, "ws-restore");
    const vscode = jailDir(work, "ws-restore/.vscode");
    const config = join(vscode, "mcp.json");
    jailFile(config, JSON.stringify({ servers: {} }));
    jailFile(`${config}.mcp-j.bak`, JSON.stringify({ servers: {} }));
    const target = victim("restore-victim.txt");
    const planted = await jailed(
      ["--rw", ws],
      `const fs = require("fs"); fs.rmSync(${J(`${config}.mcp-j.bak`)}); fs.writeFileSync(${J(`${config}.mcp-j.bak`)}, "owned by the server\\n"); fs.rmSync(${J(config)}); fs.symlinkSync(${J(target)}, ${J(config)});`,
    );
    assert.equal(planted.code, 0, `the server planted its link: ${planted.stderr}`);
    const io = mkio(process.env, ws);
    const code = await unwrapCommand(["--client", "vscode", "--restore-backup"], io);
    assert.equal(readFileSync(target, "utf8"), "precious\n", `unwrap wrote the server's text into a host file through its link (exit ${code}): ${io.stdout.text()}${io.stderr.text()}`);
  });

  // RT14-5 (high), the same for `mcp-j wrap` and `mcp-j unwrap`: writeAtomically (wrap.ts) writes
  // the new config to .vscode/.mcp.json.mcp-j-<mcp-j's pid>.tmp with writeFileSync, which follows
  // a link there and truncates what it names (RT13-2's defect, in the command that edits the
  // workspace's config). The server plants that name for every pid up to pid_max (32768 here; this
  // test, which runs the command in-process, tells it the pid to keep it short), and the user's
  // next `mcp-j wrap` (after adding a server) or `mcp-j unwrap` overwrites the named host file with
  // the config's text. Fix: writeOwnFile (a fresh, unguessable O_EXCL|O_NOFOLLOW name, renamed over
  // FILE).
  it("RT14-5: wrap never writes its temporary file through a link the jail planted", T, async () => {
    const ws = jailDir(work, "ws-wrap");
    const vscode = jailDir(work, "ws-wrap/.vscode");
    jailFile(join(vscode, "mcp.json"), JSON.stringify({ servers: { pins: { command: "node", args: [pinServer, ws] } } }, null, 2));
    const target = victim("wrap-victim.txt");
    const planted = await jailed(["--rw", ws], `require("fs").symlinkSync(${J(target)}, ${J(join(vscode, `.mcp.json.mcp-j-${process.pid}.tmp`))})`);
    assert.equal(planted.code, 0, `the server planted its link: ${planted.stderr}`);
    const io = mkio(process.env, ws);
    const code = await wrapCommand(["--client", "vscode"], io);
    assert.equal(readFileSync(target, "utf8"), "precious\n", `wrap wrote the workspace's config into a host file through the jail's link (exit ${code}): ${io.stdout.text()}${io.stderr.text()}`);
  });
});

describe("mcp-j wrap and unwrap through the real bin", () => {
  // The README's example, in a workspace: `mcp-j wrap --client vscode`, `mcp-j unwrap --client
  // vscode`, `mcp-j unwrap --client vscode --restore-backup`.
  it("wrap, unwrap and unwrap --restore-backup of a workspace's .vscode/mcp.json", T, async () => {
    const ws = join(work, "ws-bin");
    const data = join(ws, "data");
    mkdirSync(join(ws, ".vscode"), { recursive: true });
    mkdirSync(data);
    const config = join(ws, ".vscode", "mcp.json");
    const original = `{
  // the workspace's servers
  "servers": {
    "pins": { "command": "node", "args": [${J(pinServer)}, ${J(data)}] }
  }
}
`;
    writeFileSync(config, original, { mode: 0o600 });
    const servers = () => (JSON.parse(readFileSync(config, "utf8").replace(/^\s*\/\/.*$/m, "")) as { servers: Record<string, { command: string; args: string[] }> }).servers;

    const wrapped = await runMcpj(["wrap", "--client", "vscode"], { cwd: ws });
    assert.equal(wrapped.code, 0, wrapped.stderr);
    assert.deepEqual(servers().pins, { command: process.execPath, args: [realpathSync(mcpjBin), "--rw", data, "--", "node", pinServer, data] });
    assert.match(readFileSync(config, "utf8"), /\/\/ the workspace's servers/);
    assert.equal(readFileSync(`${config}.mcp-j.bak`, "utf8"), original);
    assert.equal(lstatSync(config).mode & 0o777, 0o600);
    assert.equal(lstatSync(`${config}.mcp-j.bak`).mode & 0o777, 0o600);
    assert.match(wrapped.stdout, /written; previous version saved as .*mcp\.json\.mcp-j\.bak\n/);

    const unwrapped = await runMcpj(["unwrap", "--client", "vscode"], { cwd: ws });
    assert.equal(unwrapped.code, 0, unwrapped.stderr);
    assert.deepEqual(servers().pins, { command: "node", args: [pinServer, data] });
    assert.equal(readFileSync(`${config}.mcp-j.bak`, "utf8"), original, "the first backup is never overwritten");

    const restored = await runMcpj(["unwrap", "--client", "vscode", "--restore-backup"], { cwd: ws });
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(readFileSync(config, "utf8"), original);
  });

  it("a server given the whole workspace gets it read-write but not the client's .vscode: the wrapped command denies it", T, async () => {
    // The workspace granted read-write holds .vscode/mcp.json, the file that starts the server: a
    // server that rewrote it would run without the jail at the client's next start.
    const ws = jailDir(work, "ws-whole");
    jailDir(ws, ".vscode");
    const config = join(ws, ".vscode", "mcp.json");
    writeFileSync(config, JSON.stringify({ servers: { files: { command: "node", args: [pinServer, ws] } } }), { mode: 0o600 });
    const wrapped = await runMcpj(["wrap", "--client", "vscode"], { cwd: ws });
    assert.equal(wrapped.code, 0, wrapped.stderr);
    const entry = (JSON.parse(readFileSync(config, "utf8")) as { servers: Record<string, { args: string[] }> }).servers["files"]!;
    const flags = entry.args.slice(1, entry.args.indexOf("--"));
    assert.deepEqual(flags, ["--rw", ws, "--deny", join(ws, ".vscode")]);
    assert.match(wrapped.stdout, /note: denied .*\.vscode \(the client's configuration, in a read-write grant/);
    // The wrapped flags, run: the workspace is writable, the client's configuration is not.
    const r = await jailed(
      flags,
      `const fs = require("fs"); const out = [];
for (const p of [${J(join(ws, "data.txt"))}, ${J(config)}]) { try { fs.writeFileSync(p, "x"); out.push("ok"); } catch (e) { out.push(e.code); } }
process.stderr.write("writes: " + out.join(",") + "\\n");`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^writes: ok,EACCES$/m);
    assert.equal((JSON.parse(readFileSync(config, "utf8")) as { servers: Record<string, unknown> }).servers["files"] !== undefined, true, "the config is the one wrap wrote");
  });

  it("a link at the config or its backup is refused with the fix, and nothing is written through it", T, async () => {
    const ws = join(work, "ws-bin-link");
    mkdirSync(join(ws, ".vscode"), { recursive: true });
    const config = join(ws, ".vscode", "mcp.json");
    const real = victim("linked-config.json", JSON.stringify({ servers: { s: { command: "node", args: [pinServer] } } }));
    symlinkSync(real, config);
    const wrapped = await runMcpj(["wrap", "--client", "vscode"], { cwd: ws });
    assert.equal(wrapped.code, 1, wrapped.stderr);
    assert.equal(wrapped.stderr, `mcp-j: wrap: vscode (${config}): the configuration ${config} is a symbolic link: give the path of the file itself; nothing was written\n`);
    assert.equal(lstatSync(config).isSymbolicLink(), true);

    rmSync(config);
    writeFileSync(config, JSON.stringify({ servers: {} }), { mode: 0o600 });
    symlinkSync(real, `${config}.mcp-j.bak`);
    const restored = await runMcpj(["unwrap", "--client", "vscode", "--restore-backup"], { cwd: ws });
    assert.equal(restored.code, 1, restored.stderr);
    assert.match(restored.stderr, /the backup .*mcp\.json\.mcp-j\.bak is a symbolic link: give the path of the file itself; nothing was written\n$/);
    assert.equal(readFileSync(config, "utf8"), JSON.stringify({ servers: {} }));
  });

  it("a config others can write is refused with the fix (chmod go-w)", T, async () => {
    const ws = join(work, "ws-bin-mode");
    mkdirSync(join(ws, ".vscode"), { recursive: true });
    const config = join(ws, ".vscode", "mcp.json");
    const text = JSON.stringify({ servers: { s: { command: "node", args: [pinServer] } } });
    writeFileSync(config, text);
    chmodSync(config, 0o666);
    const wrapped = await runMcpj(["wrap", "--client", "vscode"], { cwd: ws });
    assert.equal(wrapped.code, 1, wrapped.stderr);
    assert.match(wrapped.stderr, /can be written by others \(mode 666\): chmod go-w it; nothing was written\n$/);
    assert.equal(readFileSync(config, "utf8"), text);
  });

  it("another user's config is refused with the fix (run as that user)", { ...T, skip: process.geteuid?.() !== 0 && "only root can give a file to another user" }, async () => {
    const ws = join(work, "ws-bin-owner");
    mkdirSync(join(ws, ".vscode"), { recursive: true });
    const config = join(ws, ".vscode", "mcp.json");
    const text = JSON.stringify({ servers: { s: { command: "node", args: [pinServer] } } });
    writeFileSync(config, text, { mode: 0o644 });
    chownSync(config, 65534, 65534);
    const wrapped = await runMcpj(["wrap", "--client", "vscode"], { cwd: ws });
    assert.equal(wrapped.code, 1, wrapped.stderr);
    assert.equal(wrapped.stderr, `mcp-j: wrap: vscode (${config}): the configuration ${config} belongs to user 65534: run mcp-j wrap as that user; nothing was written\n`);
    assert.equal(readFileSync(config, "utf8"), text);
  });
});

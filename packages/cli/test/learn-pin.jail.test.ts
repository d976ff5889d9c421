// End to end, learn mode and pinning (issue 17): real servers from npm and SDK fixtures driven by
// the SDK client through the real mcp-j and jail.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { auditLines, clientSession, jailDir, jailFile } from "./attribution.helpers.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { blankJsonComments } from "@mcp-j/engine/core";
import { repoRoot, runMcpj } from "./helpers.js";

const modules = join(repoRoot, "node_modules");
const fixtures = join(repoRoot, "packages", "cli", "test", "fixtures");
const server = (name: string): string => join(modules, "@modelcontextprotocol", name, "dist", "index.js");
const work = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-learn-")));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));




const session = clientSession;

const dir = (name: string): string => jailDir(work, name);
const file = jailFile;

const textOf = (r: unknown): string => ((r as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("");

/** The learned policy as data (its comments blanked). */
function learned(path: string): { filesystem: { ro: string[]; rw: string[]; exec: string[] }; network: { allow: string[] } } {
  return JSON.parse(blankJsonComments(readFileSync(path, "utf8"))) as ReturnType<typeof learned>;
}

const within = (p: string, root: string): boolean => p === root || p.startsWith(`${root}/`);

/** The paths denied in an audit log (the jail's own layout refuses some on every run). */
const denied = (log: string): Set<string> => new Set(auditLines(log).filter((l) => l["decision"] === "deny").map((l) => String(l["path"] ?? l["host"])));

test("learn: server-filesystem's learned policy runs it with no new denial and is narrower than the grants", async () => {
  const data = dir("fs-data");
  file(join(data, "a.txt"), "alpha\n");
  dir("fs-data/out");
  const out = join(work, "fs.learned.json");
  const learnLog = join(work, "fs-learn.jsonl");
  const grants = ["--ro", modules, "--rw", data];
  const calls = async (client: Client): Promise<string[]> => [
    textOf(await client.callTool({ name: "read_text_file", arguments: { path: join(data, "a.txt") } })),
    textOf(await client.callTool({ name: "write_file", arguments: { path: join(data, "out", "b.txt"), content: "beta" } })),
    textOf(await client.callTool({ name: "list_directory", arguments: { path: data } })),
  ];
  const first = await session(["learn", "--out", out, ...grants, "--audit-log", learnLog], ["node", server("server-filesystem"), data], calls);
  assert.match(first.stderr, /learned policy written to/);
  const policy = learned(out);
  const text = readFileSync(out, "utf8");
  // Narrower than the grants: node_modules by package, the data directory split by what was done.
  assert.ok(!policy.filesystem.ro.includes(modules), `node_modules granted whole: ${policy.filesystem.ro.join(" ")}`);
  assert.ok(policy.filesystem.ro.includes(join(modules, "@modelcontextprotocol", "server-filesystem")));
  for (const p of [...policy.filesystem.ro, ...policy.filesystem.rw]) assert.ok(within(p, modules) || within(p, data), `${p} is outside the grants`);
  assert.deepEqual(policy.filesystem.rw, [join(data, "out")]);
  assert.match(text, new RegExp(`"${join(data, "out")}" // written by write_file`));
  assert.match(text, /\/\/ read_text_file:\n\/\/ {3}read: .*a\.txt/);
  // `policy diff` says the same: the grants' directories removed, packages added.
  const grantsFile = file(join(work, "fs.grants.json"), JSON.stringify({ filesystem: { ro: [modules], rw: [data] } }));
  const diff = await runMcpj(["policy", "diff", grantsFile, out]);
  assert.equal(diff.code, 1);
  assert.match(diff.stdout, new RegExp(`^- filesystem.ro: ${modules}$`, "m"));
  assert.match(diff.stdout, new RegExp(`^- filesystem.rw: ${data}$`, "m"));
  assert.match(diff.stdout, new RegExp(`^\\+ filesystem.rw: ${join(data, "out")}$`, "m"));

  // The learned policy alone (nothing inferred) runs the same calls with no denial the grants did
  // not have already (the jail's layout refuses a few /sys and /proc reads on every run).
  rmSync(join(data, "out", "b.txt"));
  const runLog = join(work, "fs-run.jsonl");
  const second = await session(["--profile", "none", "--policy", out, "--audit-log", runLog], ["node", server("server-filesystem"), data], calls);
  assert.deepEqual(second.value.map((t) => t.replace(/\s+/g, " ")), first.value.map((t) => t.replace(/\s+/g, " ")));
  const before = denied(learnLog);
  const fresh = [...denied(runLog)].filter((p) => !before.has(p));
  assert.deepEqual(fresh, []);
});

test("learn: server-memory's learned policy keeps its memory file writable and nothing more", async () => {
  const state = dir("memory-state");
  const grants = ["--ro", modules, "--rw", state, "--env", `MEMORY_FILE_PATH=${join(state, "memory.jsonl")}`];
  const out = join(work, "memory.learned.json");
  const learnLog = join(work, "memory-learn.jsonl");
  const use = async (client: Client): Promise<string> => {
    await client.callTool({ name: "create_entities", arguments: { entities: [{ name: "mcpj", entityType: "project", observations: ["jails servers"] }] } });
    return textOf(await client.callTool({ name: "read_graph", arguments: {} }));
  };
  const first = await session(["learn", "--out", out, ...grants, "--audit-log", learnLog], ["node", server("server-memory")], use);
  assert.match(first.value, /jails servers/);
  const policy = learned(out);
  assert.deepEqual(policy.filesystem.rw, [state]);
  assert.ok(!policy.filesystem.ro.includes(modules));
  assert.match(readFileSync(out, "utf8"), new RegExp(`"${state}" // written by create_entities`));
  rmSync(join(state, "memory.jsonl"), { force: true });
  const runLog = join(work, "memory-run.jsonl");
  const second = await session(["--profile", "none", "--policy", out, "--audit-log", runLog], ["node", server("server-memory")], use);
  assert.match(second.value, /jails servers/);
  const before = denied(learnLog);
  assert.deepEqual([...denied(runLog)].filter((p) => !before.has(p)), []);
});

const pinServer = join(fixtures, "pin-server.mjs");

test("pin: a changed description and a tool reading a new path are caught, hidden and refused under --pin-enforce, until accepted", async () => {
  const data = dir("pin-data");
  file(join(data, "words.txt"), "apple\npear\n");
  dir("pin-data/private");
  file(join(data, "private", "notes.txt"), "private\n");
  const pins = join(work, "pins.json");
  const log = join(work, "pin.jsonl");
  const base = ["--ro", data, "--audit-log", log];
  const lookup = async (client: Client): Promise<{ names: string[]; result: string }> => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    const r = await client.callTool({ name: "lookup", arguments: { word: "pear" } });
    return { names, result: textOf(r) };
  };

  // First run: everything recorded.
  const v1 = await session([...base, "--pin", pins], ["node", pinServer, data, "v1"], lookup);
  assert.deepEqual(v1.value, { names: ["lookup", "peek"], result: "pear: found" });
  const recorded = JSON.parse(readFileSync(pins, "utf8")) as { tools: Record<string, { footprint: { read: string[] } | null }>; pending: object };
  assert.ok(recorded.tools["lookup"]?.footprint?.read.includes(join(data, "words.txt")), JSON.stringify(recorded));
  assert.equal(recorded.tools["peek"]?.footprint, null, "a tool never called has no footprint yet");
  assert.deepEqual(recorded.pending, {});

  // The same version again: nothing to say.
  const again = await session([...base, "--pin", pins, "--pin-enforce"], ["node", pinServer, data, "v1"], lookup);
  assert.deepEqual(again.value, v1.value);
  assert.doesNotMatch(again.stderr, /pin:/);

  // A rug pull: reported (not enforced: still usable), then hidden and refused under --pin-enforce.
  const pulled = await session([...base, "--pin", pins], ["node", pinServer, data, "new-description"], lookup);
  assert.match(pulled.stderr, /pin: the tool "lookup" changed its description since it was pinned; review it, then mcp-j pin accept/);
  assert.deepEqual(pulled.value, v1.value);
  const enforced = await session([...base, "--pin", pins, "--pin-enforce"], ["node", pinServer, data, "new-description"], lookup);
  assert.deepEqual(enforced.value.names, ["peek"]);
  assert.match(enforced.value.result, /"lookup" changed since it was pinned .* refused until the user accepts the change \(mcp-j pin accept /);
  assert.ok(
    auditLines(log).some((l) => l.type === "pin" && l["name"] === "lookup" && l["change"] === "description" && l["enforced"] === true),
    "the audit log records the change",
  );
  const shown = await runMcpj(["pin", "show", pins]);
  assert.match(shown.stdout, /"lookup": pending description/);
  const accepted = await runMcpj(["pin", "accept", pins]);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stdout, /accepted: "lookup"/);
  const afterAccept = await session([...base, "--pin", pins, "--pin-enforce"], ["node", pinServer, data, "new-description"], lookup);
  assert.deepEqual(afterAccept.value, v1.value);

  // A tool that starts reading a new path: caught during the call, refused from then on. "From
  // then on" includes the very next call, sent as soon as the first one's result is in: the touch
  // comes last, after 3,000 reads in the footprint ("noisy"), each of them reported, and the result
  // waits until mcp-j has read every report (without that wait, it overtook the last ones).
  const wider = await session([...base, "--pin", pins, "--pin-enforce"], ["node", pinServer, data, "new-description-reads-more-noisy"], async (client) => {
    const first = textOf(await client.callTool({ name: "lookup", arguments: { word: "pear" } }));
    const second = await client.callTool({ name: "lookup", arguments: { word: "pear" } });
    return { first, second: textOf(second), isError: second.isError };
  });
  assert.match(wider.stderr, new RegExp(`pin: the tool "lookup" touched something outside its recorded footprint: read ${join(data, "private", "notes.txt")}; hidden and refused until`));
  assert.equal(wider.value.first, "pear: found");
  assert.equal(wider.value.isError, true);
  assert.match(wider.value.second, /refused until the user accepts/);
  const footprint = auditLines(log).find((l) => l.type === "pin" && l["change"] === "footprint");
  assert.equal(footprint?.["detail"], `read ${join(data, "private", "notes.txt")}`);
  const during = footprint?.["requests"] as Array<{ method: string; tool: string }>;
  assert.deepEqual(
    during.map((r) => [r.method, r.tool]),
    [["tools/call", "lookup"]],
  );
});

test("pin: ANSI escapes in a description are flagged, and hide the tool under --pin-enforce", async () => {
  const data = dir("pin-ansi");
  file(join(data, "words.txt"), "apple\n");
  const pins = join(work, "pins-ansi.json");
  const r = await session(["--ro", data, "--pin", pins, "--pin-enforce"], ["node", pinServer, data, "ansi"], async (client) => (await client.listTools()).tools.map((t) => t.name));
  assert.deepEqual(r.value, ["peek"]);
  assert.match(r.stderr, /pin: the tool "lookup" has control or invisible characters in its description/);
});

test("pin and learn: bad input is refused with one line and the fix", async () => {
  const bad = file(join(work, "not-pins.json"), "{ not json");
  const run = await runMcpj(["--pin", bad, "--", "node", "-e", "0"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /not-pins\.json is not a pin file \(not JSON: .*\); move it away to record a new one/);
  const enforceAlone = await runMcpj(["--pin-enforce", "--", "node", "-e", "0"]);
  assert.equal(enforceAlone.code, 2);
  assert.match(enforceAlone.stderr, /--pin-enforce needs a pin file: add --pin FILE \(or pin.file in the policy\)/);
  const noOut = await runMcpj(["learn", "--out"]);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /learn: --out needs a FILE/);
  const missing = await runMcpj(["pin", "accept", join(work, "nothing.json")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such pin file/);
  const oneFile = await runMcpj(["policy", "diff", bad]);
  assert.equal(oneFile.code, 2);
  assert.match(oneFile.stderr, /policy diff needs two files/);
});

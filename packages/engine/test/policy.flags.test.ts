import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRunArgs, helpText, FLAGS, PolicyError, parseSize, parseDuration, PolicySchema } from "../src/policy/index.js";

function usageError(argv: string[]): PolicyError {
  try {
    parseRunArgs(argv);
  } catch (e) {
    assert.ok(e instanceof PolicyError, `expected PolicyError, got ${String(e)}`);
    assert.equal(e.code, "E_USAGE");
    return e;
  }
  assert.fail(`parseRunArgs(${JSON.stringify(argv)}) did not throw`);
}

test("every flag maps to its policy field", () => {
  const a = parseRunArgs([
    "--policy", "p.yaml", "--profile", "node", "--profile=npx",
    "--ro", "/opt/data", "--ro=/srv/a:/data", "--rw", "/tmp/work",
    "--cwd", "/work", "--env", "HOME_DIR", "--env", "TOKEN=a=b", "--allow-exec", "/usr/bin/git",
    "--deny", "**/.env", "--allow-net", "api.github.com", "--allow-net", "*.example.com:8443",
    "--allow-tool", "read_*", "--deny-tool", "delete_*", "--max-message-bytes", "1M",
    "--memory", "256M", "--pids", "64", "--cpus", "0.5", "--open-files", "512", "--tmp-size", "16M",
    "--audit-log", "a.jsonl", "--audit-rotate", "10M", "--strict", "--grace", "2s",
    "--", "node", "server.js", "--port", "1",
  ]);
  assert.equal(a.policyFile, "p.yaml");
  assert.deepEqual(a.profiles, ["node", "npx"]);
  assert.deepEqual(a.command, ["node", "server.js", "--port", "1"]);
  assert.deepEqual(a.overlay, {
    filesystem: { ro: ["/opt/data", "/srv/a:/data"], rw: ["/tmp/work"], cwd: "/work", exec: ["/usr/bin/git"], deny: ["**/.env"] },
    env: { pass: ["HOME_DIR"], set: { TOKEN: "a=b" } },
    network: { allow: ["api.github.com", "*.example.com:8443"] },
    tools: { allow: ["read_*"], deny: ["delete_*"] },
    proxy: { maxMessageBytes: "1M" },
    limits: { memory: "256M", pids: 64, cpus: 0.5, openFiles: 512, tmpSize: "16M" },
    audit: { file: "a.jsonl", rotateBytes: "10M" },
    strict: true,
    grace: "2s",
  });
  // the overlay is a valid policy input
  assert.equal(PolicySchema.parse(a.overlay).grace, 2000);
});

test("the flag table covers every flag the help lists, and the help lists every flag", () => {
  const h = helpText();
  for (const f of FLAGS) assert.match(h, new RegExp(`\\s${f.name.replace(/[-]/g, "\\-")}[ =\\s]`));
  assert.equal(FLAGS.length, 24);
});

test("overlay holds only what flags set; no flags → empty overlay", () => {
  const a = parseRunArgs(["--", "python3", "-m", "srv"]);
  assert.deepEqual(a.overlay, {});
  assert.deepEqual(a.profiles, []);
  assert.equal(a.policyFile, undefined);
  assert.deepEqual(a.command, ["python3", "-m", "srv"]);
});

test("the command starts at the first non-flag word, and args after it are never parsed as flags", () => {
  const a = parseRunArgs(["--memory", "1G", "node", "--memory", "x", "--"]);
  assert.deepEqual(a.command, ["node", "--memory", "x", "--"]);
  assert.deepEqual(a.overlay, { limits: { memory: "1G" } });
  // arguments with spaces stay one argv element
  assert.deepEqual(parseRunArgs(["--", "sh", "-c", "echo a b"]).command, ["sh", "-c", "echo a b"]);
});

test("unknown flag: E_USAGE naming the flag and pointing at --help", () => {
  const e = usageError(["--rox", "/x", "--", "true"]);
  assert.match(e.message, /unknown flag "--rox"/);
  assert.match(e.message, /mcp-j --help/);
  assert.match(usageError(["--bogus=1"]).message, /"--bogus"/);
});

test("missing value: names the flag and its form", () => {
  assert.match(usageError(["--ro"]).message, /--ro needs a value: --ro PATH\[:DEST\]/);
  assert.match(usageError(["--memory", "--", "x"]).message, /--memory needs a value/);
});

test("malformed flag values point at the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--allow-net", "http://x"], /^--allow-net "http:\/\/x": is not HOST\[:PORT\]/],
    [["--allow-net", "host:99999"], /--allow-net "host:99999": is not HOST\[:PORT\]/],
    [["--allow-net", "a b"], /--allow-net "a b": is not HOST\[:PORT\]/],
    [["--memory", "12X"], /--memory "12X": is not a size such as 512M or 1G/],
    [["--memory", "0"], /--memory "0": is not a size/],
    [["--max-message-bytes", "-5"], /--max-message-bytes "-5": is not a size/],
    [["--pids", "abc"], /--pids "abc": is not a positive integer/],
    [["--pids", "0"], /--pids "0": is not a positive integer/],
    [["--open-files", "1.5"], /--open-files "1.5": is not a positive integer/],
    [["--cpus", "-1"], /--cpus "-1": is not a positive number/],
    [["--grace", "soon"], /--grace "soon": is not a duration/],
    [["--env", "1BAD"], /--env "1BAD": is not NAME or NAME=VALUE/],
    [["--env", "=x"], /--env "=x": is not NAME or NAME=VALUE/],
    [["--ro", ""], /--ro "": is empty/],
    [["--strict=maybe"], /--strict "maybe": expected true or false/],
  ];
  for (const [argv, re] of cases) assert.match(usageError(argv).message, re, argv.join(" "));
});

test("--policy twice is an error; flags accumulate in order", () => {
  assert.match(usageError(["--policy", "a", "--policy", "b"]).message, /--policy given twice/);
  const a = parseRunArgs(["--deny-tool", "a", "--deny-tool", "b", "--deny-tool=c"]);
  assert.deepEqual(a.overlay.tools?.deny, ["a", "b", "c"]);
  // scalar flags: the last one wins
  assert.deepEqual(parseRunArgs(["--memory", "1G", "--memory=2G"]).overlay.limits, { memory: "2G" });
});

test("parseSize and parseDuration", () => {
  assert.equal(parseSize("512M"), 512 * 1024 * 1024);
  assert.equal(parseSize("1G"), 1024 ** 3);
  assert.equal(parseSize("1.5K"), 1536);
  assert.equal(parseSize("64KiB"), 65536);
  assert.equal(parseSize("10MB"), 10 * 1024 * 1024);
  assert.equal(parseSize("65536"), 65536);
  assert.equal(parseSize(4096), 4096);
  assert.throws(() => parseSize("12X"), (e: unknown) => e instanceof PolicyError && /12X/.test(e.message));
  assert.equal(parseDuration("2s"), 2000);
  assert.equal(parseDuration("1500ms"), 1500);
  assert.equal(parseDuration("1500"), 1500);
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration("1m"), 60000);
  assert.throws(() => parseDuration("fast"), PolicyError);
});

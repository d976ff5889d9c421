import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  resolvePolicy,
  parseRunArgs,
  PolicyError,
  PolicySchema,
  blankJsonComments,
  parseConfigText,
  type Policy,
} from "../src/policy/index.js";
import { jailEnvironment } from "../src/jail/environment.js";

function dir(): string {
  return mkdtempSync(join(tmpdir(), "mcpj-policy-"));
}

async function policyError(p: Promise<unknown>, code = "E_POLICY"): Promise<PolicyError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PolicyError, `expected PolicyError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail("did not throw");
}

const env = { ...process.env, HOME: "/home/someone" };

test("schema round trip: defaults, output re-parses to itself, JSON round trip", () => {
  const p = PolicySchema.parse({});
  assert.equal(p.limits.memory, "512M");
  assert.equal(p.limits.pids, 256);
  assert.equal(p.grace, 2000);
  assert.equal(p.proxy.maxMessageBytes, "5M");
  assert.equal(p.strict, false);
  assert.deepEqual(p.network.allow, []);
  const full = PolicySchema.parse({
    filesystem: { ro: ["/a", { path: "/b", dest: "/c" }], rw: ["/d:/e"], exec: ["/usr/bin/git"], deny: ["**/.env"], cwd: "/a" },
    network: { allow: ["api.github.com", "*.example.com:8443", "10.0.0.0/8", "[::1]:80", "127.0.0.1:9"] },
    env: { pass: ["LANG"], set: { A: "1" }, secrets: [{ name: "TOKEN", fromEnv: "GH_TOKEN" }] },
    limits: { memory: "1G", pids: 10, cpus: 1.5, openFiles: 100, tmpSize: 1048576 },
    tools: { allow: ["a*"], deny: ["b"] },
    audit: { file: "/tmp/a.jsonl", verbosity: "all", rotateBytes: "10M" },
    proxy: { maxMessageBytes: 1000 },
    strict: true,
    grace: "1.5s",
  });
  assert.equal(full.grace, 1500);
  assert.deepEqual(PolicySchema.parse(full), full);
  assert.deepEqual(PolicySchema.parse(JSON.parse(JSON.stringify(full))), full);
});

test("YAML policy file: fields resolved, relative paths against the file's directory", async () => {
  const d = dir();
  mkdirSync(join(d, "sub"));
  writeFileSync(
    join(d, "sub", "policy.yaml"),
    ["# a comment", "filesystem:", "  ro: [./data, '/opt/x:/x']", "  rw: [{ path: out }]", "  cwd: .", "audit:", "  file: audit.jsonl", "limits: { memory: 1G }", "grace: 3s", ""].join("\n"),
  );
  const p = await resolvePolicy({ policyFile: "sub/policy.yaml", profiles: [], overlay: {}, cwd: d, env });
  assert.deepEqual(p.filesystem.ro, [
    { path: join(d, "sub", "data"), from: "sub/policy.yaml: filesystem.ro[0]" },
    { path: "/opt/x", dest: "/x", from: "sub/policy.yaml: filesystem.ro[1]" },
  ]);
  assert.deepEqual(p.filesystem.rw, [{ path: join(d, "sub", "out"), from: "sub/policy.yaml: filesystem.rw[0]" }]);
  assert.equal(p.filesystem.cwd, join(d, "sub"));
  assert.equal(p.audit.file, join(d, "sub", "audit.jsonl"));
  assert.equal(p.limits.memory, "1G");
  assert.equal(p.grace, 3000);
});

test("JSON with comments and trailing commas; comment markers inside strings survive", async () => {
  const d = dir();
  const text = `{
    // line comment
    "network": { "allow": ["api.github.com", /* inline */ "example.com:8080",] },
    "env": { "set": { "URL": "http://x//y/*z*/", "Q": "a\\"//b" } }, /* block
    comment */
    "tools": { "deny": ["delete_*"], },
  }`;
  writeFileSync(join(d, "p.json"), text);
  const p = await resolvePolicy({ policyFile: join(d, "p.json"), profiles: [], overlay: {}, cwd: d, env });
  assert.deepEqual(p.network.allow, ["api.github.com", "example.com:8080"]);
  assert.deepEqual(p.env.set, { URL: "http://x//y/*z*/", Q: 'a"//b' });
  assert.deepEqual(p.tools.deny, ["delete_*"]);
  assert.equal(blankJsonComments('{"a":"//"}//x\n'), '{"a":"//"}   \n');
  // Same length, same lines and columns: comments and trailing commas become spaces.
  const jsonc = '{\n  "a": [1, /* two */ 2,],\r\n  // c\n  "b": "x,]", }';
  assert.equal(blankJsonComments(jsonc), '{\n  "a": [1,           2 ],\r\n      \n  "b": "x,]"  }');
  assert.deepEqual(JSON.parse(blankJsonComments(jsonc)), { a: [1, 2], b: "x,]" });
});

test("format sniffing without an extension: JSON vs YAML", () => {
  assert.deepEqual(parseConfigText('// c\n{"strict": true}', "policy"), { strict: true });
  assert.deepEqual(parseConfigText("strict: true\n", "policy"), { strict: true });
});

test("syntax errors name file, line and column", async () => {
  const d = dir();
  writeFileSync(join(d, "p.json"), '{\n  "strict": true\n  "grace": 1\n}');
  const e = await policyError(resolvePolicy({ policyFile: join(d, "p.json"), profiles: [], overlay: {}, cwd: d, env }), "E_POLICY_FILE");
  assert.match(e.message, /^p\.json:3:\d+: invalid JSON/);
  writeFileSync(join(d, "p.yaml"), "filesystem:\n  ro: [a\n strict: true: x\n");
  const y = await policyError(resolvePolicy({ policyFile: join(d, "p.yaml"), profiles: [], overlay: {}, cwd: d, env }), "E_POLICY_FILE");
  assert.match(y.message, /^p\.yaml:\d+:\d+: invalid YAML/);
  writeFileSync(join(d, "dup.yaml"), "strict: true\nstrict: false\n");
  await policyError(resolvePolicy({ policyFile: join(d, "dup.yaml"), profiles: [], overlay: {}, cwd: d, env }), "E_POLICY_FILE");
  const m = await policyError(resolvePolicy({ policyFile: join(d, "missing.yaml"), profiles: [], overlay: {}, cwd: d, env }), "E_POLICY_FILE");
  assert.match(m.message, /missing\.yaml: cannot read the policy file \(ENOENT\)/);
});

test("error messages point at each malformed field", async () => {
  const d = dir();
  const cases: [string, string][] = [
    ["network:\n  allow: [a.com, b.com, 'http://x']", 'policy.yaml: network.allow[2]: "http://x" is not HOST[:PORT]'],
    ["network:\n  allow: ['a.com:0']", 'policy.yaml: network.allow[0]: "a.com:0" is not HOST[:PORT]'],
    ["network: { allow: 'a.com' }", 'policy.yaml: network.allow: "a.com" is a string, expected a list'],
    ["filesystem: { ro: [5] }", "policy.yaml: filesystem.ro[0]: 5 is a number, expected a string or an object"],
    ["filesystem: { ro: [''] }", "policy.yaml: filesystem.ro[0]: is empty"],
    ["filesystem: { ro: [{ path: /a, to: /b }] }", 'policy.yaml: filesystem.ro[0]: unknown field "to"'],
    ["filesystem: { rox: [] }", 'policy.yaml: filesystem: unknown field "rox" (known: ro, rw, exec, deny, cwd)'],
    ["filesystem: { rw: ['/a:rel'] }", ""], // no ":/" → one path "/a:rel" (valid)
    ["filesystem: { exec: [''] }", "policy.yaml: filesystem.exec[0]: is empty"],
    ["filesystem: { deny: '**/.env' }", 'policy.yaml: filesystem.deny: "**/.env" is a string, expected a list'],
    ["env: { pass: ['1A'] }", 'policy.yaml: env.pass[0]: "1A" is not an environment variable name'],
    ["env: { set: { 'A-B': x } }", 'policy.yaml: env.set: "A-B" is not an environment variable name'],
    ["env: { set: { A: 5 } }", "policy.yaml: env.set.A: 5 is a number, expected a string"],
    ["env: { secrets: [{ name: T }] }", "policy.yaml: env.secrets[0]: needs exactly one of fromFile or fromEnv"],
    ["env: { secrets: [{ name: T, fromEnv: '' }] }", 'policy.yaml: env.secrets[0].fromEnv: "" is not an environment variable name'],
    ["limits: { memory: 12X }", 'policy.yaml: limits.memory: "12X" is not a size such as 512M or 1G'],
    ["limits: { memory: true }", "policy.yaml: limits.memory: true is a boolean, expected a number or a string"],
    ["limits: { pids: 0 }", "policy.yaml: limits.pids: 0 must be more than 0"],
    ["limits: { pids: 1.5 }", "policy.yaml: limits.pids: 1.5 is a number, expected an integer"],
    ["limits: { cpus: -1 }", "policy.yaml: limits.cpus: -1 must be more than 0"],
    ["limits: { openFiles: x }", 'policy.yaml: limits.openFiles: "x" is a string, expected a number'],
    ["limits: { tmpSize: 1Q }", 'policy.yaml: limits.tmpSize: "1Q" is not a size such as 512M or 1G'],
    ["tools: { allow: [''] }", "policy.yaml: tools.allow[0]: is empty"],
    ["tools: { deny: 3 }", "policy.yaml: tools.deny: 3 is a number, expected a list"],
    ["audit: { verbosity: loud }", 'policy.yaml: audit.verbosity: "loud" is not one of "denials", "decisions", "all"'],
    ["audit: { rotateBytes: 1Q }", 'policy.yaml: audit.rotateBytes: "1Q" is not a size such as 512M or 1G'],
    ["proxy: { maxMessageBytes: [] }", "policy.yaml: proxy.maxMessageBytes: is a list, expected a number or a string"],
    ["strict: 'yes'", 'policy.yaml: strict: "yes" is a string, expected true or false'],
    ["grace: soon", 'policy.yaml: grace: "soon" is not a duration such as 2s or 1500ms'],
    ["extends: 5", "policy.yaml: extends: 5 is a number, expected a string or a list"],
    ["extends: nod", 'policy.yaml: extends: unknown profile "nod"'],
    ["bogus: 1", 'policy.yaml: unknown field "bogus"'],
    ["- a\n- b", "policy.yaml: the policy must be an object"],
  ];
  for (const [yaml, expected] of cases) {
    writeFileSync(join(d, "policy.yaml"), yaml + "\n");
    const run = resolvePolicy({ policyFile: "policy.yaml", profiles: [], overlay: {}, cwd: d, env });
    if (expected === "") {
      await run;
      continue;
    }
    const e = await policyError(run);
    assert.ok(e.message.startsWith(expected), `${yaml}\n  got:      ${e.message}\n  expected: ${expected}`);
  }
});

test("every problem is reported, one per line", async () => {
  const d = dir();
  writeFileSync(join(d, "policy.yaml"), "limits: { pids: 0, memory: x }\nstrict: 1\n");
  const e = await policyError(resolvePolicy({ policyFile: "policy.yaml", profiles: [], overlay: {}, cwd: d, env }));
  assert.equal(e.problems.length, 3);
});

test("flags override the file; lists accumulate; env.set merges", async () => {
  const d = dir();
  writeFileSync(
    join(d, "policy.yaml"),
    "limits: { memory: 1G, pids: 10 }\nnetwork: { allow: [a.com] }\nenv: { set: { A: file, B: file } }\nstrict: false\ngrace: 5s\n",
  );
  const args = parseRunArgs(["--policy", "policy.yaml", "--memory", "2G", "--allow-net", "b.com", "--allow-net", "a.com", "--env", "A=flag", "--strict", "--grace", "100", "--", "x"]);
  const p = await resolvePolicy({ ...args, cwd: d, env });
  assert.equal(p.limits.memory, "2G"); // flag wins
  assert.equal(p.limits.pids, 10); // file kept where no flag
  assert.deepEqual(p.network.allow, ["a.com", "b.com"]); // accumulated, de-duplicated
  assert.deepEqual(p.env.set, { A: "flag", B: "file" });
  assert.equal(p.strict, true);
  assert.equal(p.grace, 100);
});

test("flag paths resolve against cwd; bare --allow-exec names are looked up in PATH", async () => {
  const d = dir();
  const bin = join(d, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "tool"), "#!/bin/sh\n");
  chmodSync(join(bin, "tool"), 0o755);
  const args = parseRunArgs(["--ro", "data", "--rw", "out:/out", "--allow-exec", "tool", "--audit-log", "a.jsonl", "--", "x"]);
  const p = await resolvePolicy({ ...args, cwd: d, env: { ...env, PATH: bin } });
  assert.deepEqual(p.filesystem.ro, [{ path: join(d, "data"), from: "--ro data" }]);
  assert.deepEqual(p.filesystem.rw, [{ path: join(d, "out"), dest: "/out", from: "--rw out:/out" }]);
  assert.deepEqual(p.filesystem.exec, [join(bin, "tool")]);
  assert.equal(p.audit.file, join(d, "a.jsonl"));
  const e = await policyError(resolvePolicy({ ...parseRunArgs(["--allow-exec", "nope-not-here"]), cwd: d, env: { ...env, PATH: bin } }));
  assert.match(e.message, /command line: filesystem\.exec\[0\]: "nope-not-here" is not found in PATH/);
  const t = await policyError(resolvePolicy({ ...parseRunArgs(["--ro", "~/x"]), cwd: d, env: { ...env } }).then((p: Policy) => {
    assert.deepEqual(p.filesystem.ro, [{ path: "/home/someone/x", from: "--ro ~/x" }]);
    throw new PolicyError("E_POLICY", "ok");
  }));
  assert.equal(t.message, "ok");
});

test("extends: files (relative to the extending file), lists, cycles", async () => {
  const d = dir();
  mkdirSync(join(d, "base"));
  writeFileSync(join(d, "base", "common.yaml"), "network: { allow: [base.com] }\nlimits: { memory: 1G, pids: 50 }\nfilesystem: { ro: [./shared] }\n");
  writeFileSync(join(d, "extra.json"), '{ "tools": { "deny": ["rm_*"] }, "limits": { "pids": 60 } }');
  writeFileSync(join(d, "policy.yaml"), "extends: [./base/common.yaml, extra.json]\nnetwork: { allow: [top.com] }\nlimits: { pids: 70 }\n");
  const p = await resolvePolicy({ policyFile: join(d, "policy.yaml"), profiles: [], overlay: {}, cwd: "/", env });
  assert.deepEqual(p.network.allow, ["base.com", "top.com"]);
  assert.equal(p.limits.memory, "1G");
  assert.equal(p.limits.pids, 70); // the extending file wins over what it extends
  assert.deepEqual(p.tools.deny, ["rm_*"]);
  assert.deepEqual(p.filesystem.ro, [{ path: join(d, "base", "shared"), from: `${join(d, "base", "common.yaml").slice(1)}: filesystem.ro[0]` }]); // cwd is /
  // errors inside an extended file name that file
  writeFileSync(join(d, "extra.json"), '{ "limits": { "pids": "many" } }');
  const e = await policyError(resolvePolicy({ policyFile: join(d, "policy.yaml"), profiles: [], overlay: {}, cwd: d, env }));
  assert.match(e.message, /^extra\.json: limits\.pids: "many" is a string/);
  // cycles
  writeFileSync(join(d, "a.yaml"), "extends: ./b.yaml\n");
  writeFileSync(join(d, "b.yaml"), "extends: ./a.yaml\n");
  const c = await policyError(resolvePolicy({ policyFile: "a.yaml", profiles: [], overlay: {}, cwd: d, env }));
  assert.match(c.message, /extends cycle: a\.yaml → b\.yaml → a\.yaml/);
});

test("secrets: values read from env or file, never part of the policy", async () => {
  const d = dir();
  writeFileSync(join(d, "tok"), "s3cret\n");
  writeFileSync(join(d, "policy.yaml"), "env:\n  secrets:\n    - { name: A, fromEnv: MY_TOKEN }\n    - { name: B, fromFile: ./tok }\n");
  const p = await resolvePolicy({ policyFile: "policy.yaml", profiles: [], overlay: {}, cwd: d, env });
  assert.ok(!JSON.stringify(p).includes("s3cret"));
  const { env: jailEnv, secrets } = jailEnvironment(p, { MY_TOKEN: "t0k" }, "/");
  assert.ok(jailEnv.includes("A=t0k") && jailEnv.includes("B=s3cret"), JSON.stringify(jailEnv));
  assert.deepEqual(secrets, ["t0k", "s3cret"]);
  assert.throws(() => jailEnvironment(p, {}, "/"), /secret A: MY_TOKEN is not set in mcp-j's environment/);
});

test("profiles from flags merge before the flags; unknown profile", async () => {
  const d = dir();
  const args = parseRunArgs(["--profile", "node", "--allow-exec", "/bin/sh", "--", "node", "x"]);
  const p = await resolvePolicy({ ...args, cwd: d, env: process.env });
  assert.ok(p.filesystem.exec.includes("/bin/sh"));
  const e = await policyError(resolvePolicy({ ...parseRunArgs(["--profile", "ruby"]), cwd: d, env }));
  assert.match(e.message, /--profile ruby: unknown profile "ruby" \(built-in: node, python, npx/);
});

// Issue 12 item 11: `npm pack` of the CLI (scripts/pack.mjs) gives one tarball that installs into an
// empty directory on a machine without a C compiler (the install's PATH has node, npm and sh only)
// and runs a server: the prebuilt helper and addon inside it are used, nothing is compiled, nothing
// but the registry's JavaScript packages is downloaded.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "./helpers.js";
import { connectCommand } from "./mcp-client.js";

const work = mkdtempSync(join(tmpdir(), "mcpj-package-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** e_machine of an ELF file: 62 x86-64, 183 aarch64. */
const machine = (file: string): number => readFileSync(file).readUInt16LE(18);
const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

test("the packed CLI installs without a compiler and runs a server with its prebuilt helper", { timeout: 240_000 }, async () => {
  const packed = spawnSync(process.execPath, [join(repoRoot, "scripts", "pack.mjs"), join(work, "out")], { encoding: "utf8" });
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = packed.stdout.trim();
  assert.match(tarball, /mcp-j-cli-\d+\.\d+\.\d+\.tgz$/);

  // A PATH with node, npm and sh only: no cc, gcc or make.
  const bin = join(work, "bin");
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, "node"));
  const npm = spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).stdout.trim();
  symlinkSync(realpathSync(npm), join(bin, "npm"));
  symlinkSync("/bin/sh", join(bin, "sh"));
  const bare = { ...process.env, PATH: bin };
  assert.notEqual(spawnSync("sh", ["-c", "command -v cc || command -v gcc || command -v make"], { env: bare }).status, 0, "a compiler is still in PATH");

  const app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), "{}\n");
  const inst = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: app, env: bare, encoding: "utf8" });
  assert.equal(inst.status, 0, inst.stdout + inst.stderr);

  const cli = join(app, "node_modules", "@mcp-j", "cli");
  const engine = [join(cli, "node_modules", "@mcp-j", "engine"), join(app, "node_modules", "@mcp-j", "engine")].find((d) => existsSync(d))!;
  assert.ok(engine, "the engine is bundled");
  assert.ok(!existsSync(join(engine, "build")), "nothing was built from source");
  assert.equal(machine(join(engine, "prebuilt", "linux-x64", "mcpj-jail")), 62);
  assert.equal(machine(join(engine, "prebuilt", "linux-x64", "mcpj_native.node")), 62);
  // arm64 is cross-built when the packing machine has Debian's cross compiler.
  if (has("aarch64-linux-gnu-gcc")) {
    assert.equal(machine(join(engine, "prebuilt", "linux-arm64", "mcpj-jail")), 183);
    assert.equal(machine(join(engine, "prebuilt", "linux-arm64", "mcpj_native.node")), 183);
  } else assert.match(packed.stderr, /no arm64 binaries/);

  // The installed command runs a server (an SDK 1.x server of this repository) in the jail.
  const server = join(repoRoot, "packages", "cli", "test", "servers", "sdk1-server.mjs");
  // Its own helper, whatever MCPJ_HELPER says (the sanitizer run sets it for the tree's mcp-j).
  const { MCPJ_HELPER: _helper, ...env } = process.env;
  const c = await connectCommand(process.execPath, [join(cli, "bin", "mcp-j.js"), "--", "node", server], { cwd: app, env });
  try {
    assert.deepEqual((await c.client.listTools()).tools.map((t) => t.name), ["add", "upper"]);
    const r = await c.client.callTool({ name: "add", arguments: { a: 20, b: 22 } });
    assert.deepEqual(r.content, [{ type: "text", text: "42" }]);
  } finally {
    await c.close();
  }
});

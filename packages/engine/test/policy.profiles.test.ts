// The built-in profiles, computed from files laid out in temporary directories: what each grants,
// that values from configuration files become host names only, and that per-server state is per
// server. Running a jail with them is tested through the CLI (packages/cli/test/profiles.jail.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configHost, npmRegistry, npxCacheDir, npxProfile, PolicyError, resolvePolicy } from "../src/policy/index.js";
import { findPython, pythonPrefix, pythonRuntime } from "../src/policy/profiles/python.js";
import { nodeRuntime } from "../src/policy/profiles/node.js";

function dir(): string {
  return mkdtempSync(join(tmpdir(), "mcpj-profiles-"));
}

function file(p: string, text = "", mode = 0o644): string {
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

function exe(p: string, text = "#!/bin/false\n"): string {
  return file(p, text, 0o755);
}

function profileError(f: () => unknown): PolicyError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PolicyError, `expected PolicyError, got ${String(e)}`);
    assert.equal(e.code, "E_PROFILE", e.message);
    return e;
  }
  assert.fail("did not throw");
}

test("node: an installation's prefix is granted; a node found directly in a wide directory is granted alone", async () => {
  const d = dir();
  exe(join(d, "v20", "bin", "node"));
  mkdirSync(join(d, "v20", "lib", "node_modules"), { recursive: true });
  const env = { ...process.env, HOME: d, PATH: join(d, "v20", "bin") };
  const p = await resolvePolicy({ profiles: ["node"], overlay: {}, env, cwd: "/", command: ["node", "x.js"] });
  assert.deepEqual(p.filesystem.ro, [{ path: join(d, "v20"), dest: join(d, "v20"), from: "profile node: filesystem.ro[0]" }]);
  assert.ok(p.filesystem.exec.includes(join(d, "v20", "bin", "node")));
  // ~/bin/node: PREFIX would be the home directory itself
  exe(join(d, "bin", "node"));
  const q = nodeRuntime({ cwd: "/", env: { ...env, PATH: join(d, "bin") }, command: ["node"] });
  assert.deepEqual(q.ro, [join(d, "bin", "node")]);
  // a bin/ without lib/node_modules or include/node is no Node installation
  exe(join(d, "opt", "x", "bin", "node"));
  assert.deepEqual(nodeRuntime({ cwd: "/", env: { ...env, PATH: join(d, "opt", "x", "bin") } }).ro, [join(d, "opt", "x", "bin", "node")]);
});

test("node: a relative PATH entry never decides which node is granted", () => {
  const d = dir();
  exe(join(d, "node"));
  const r = nodeRuntime({ cwd: d, env: { ...process.env, PATH: `.:bin:${join(d, "nothing")}` }, command: ["node"] });
  assert.notEqual(r.path, join(d, "node"));
});

/** A Python installation at PREFIX with the landmark Python looks for. */
function pythonInstall(prefix: string, xy = "3.12"): string {
  file(join(prefix, "lib", `python${xy}`, "os.py"));
  const bin = exe(join(prefix, "bin", `python${xy}`));
  symlinkSync(`python${xy}`, join(prefix, "bin", "python3"));
  return bin;
}

test("python: a venv grants the venv and its base installation, read from pyvenv.cfg and the layout", () => {
  const d = dir();
  const base = join(d, "pybase");
  pythonInstall(base);
  const venv = join(d, "venv");
  file(join(venv, "pyvenv.cfg"), `home = ${join(base, "bin")}\ninclude-system-site-packages = false\nversion = 3.12.0\n`);
  mkdirSync(join(venv, "bin"));
  symlinkSync(join(base, "bin", "python3"), join(venv, "bin", "python3"));
  const r = pythonRuntime({ cwd: "/", env: { ...process.env, HOME: d, PATH: "/nonexistent" }, command: [join(venv, "bin", "python3"), "-m", "srv"] });
  assert.equal(r.path, join(venv, "bin", "python3"));
  assert.deepEqual(r.ro.sort(), [base, venv].sort());
});

test("python: pyvenv.cfg (the server's tree) adds only a real Python installation, never a wide directory", () => {
  const d = dir();
  const base = join(d, "pybase");
  pythonInstall(base);
  const venv = join(d, "proj", ".venv");
  mkdirSync(join(venv, "bin"), { recursive: true });
  symlinkSync(join(base, "bin", "python3"), join(venv, "bin", "python3"));
  const env = { ...process.env, HOME: d, PATH: "/nonexistent" };
  for (const home of [d, "/", "/etc", join(d, "proj")]) {
    file(join(venv, "pyvenv.cfg"), `home = ${home}\n`);
    const r = pythonRuntime({ cwd: "/", env, command: [join(venv, "bin", "python3")] });
    assert.deepEqual(r.ro.sort(), [base, venv].sort(), `home = ${home}`);
  }
  assert.equal(pythonPrefix(join(d, "proj", "bin", "python3.12")), undefined);
});

test("python: a pyenv shim is followed to the version pyenv would run, by reading its files only", () => {
  const d = dir();
  const root = join(d, ".pyenv");
  const marker = join(d, "pyenv-ran");
  // pyenv itself would leave a marker: nothing may run it.
  exe(join(root, "libexec", "pyenv"), `#!/bin/sh\ntouch ${marker}\n`);
  const shim = exe(
    join(root, "shims", "python3"),
    `#!/usr/bin/env bash\nset -e\n[ -n "$PYENV_DEBUG" ] && set -x\n\nprogram="\${0##*/}"\n\nexport PYENV_ROOT="${root}"\nexec "${root}/libexec/pyenv" exec "$program" "$@"\n`,
  );
  const v311 = pythonInstall(join(root, "versions", "3.11.9"), "3.11");
  pythonInstall(join(root, "versions", "3.12.1"), "3.12");
  pythonInstall(join(root, "versions", "3.12.4"), "3.12");
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: d, PATH: `${join(root, "shims")}:/usr/bin:/bin` };
  delete env.PYENV_VERSION;
  delete env.PYENV_DIR;
  const cwd = join(d, "proj", "sub");
  mkdirSync(cwd, { recursive: true });
  const py = (e: NodeJS.ProcessEnv = env) => findPython({ cwd, env: e, command: ["python3", "-c", "1"] });
  // 3. $PYENV_ROOT/version
  file(join(root, "version"), "3.11.9\n");
  assert.equal(py(), join(root, "versions", "3.11.9", "bin", "python3"));
  // 2. .python-version from the start directory up; a prefix picks the highest installed match
  file(join(d, "proj", ".python-version"), "3.12\n");
  assert.equal(py(), join(root, "versions", "3.12.4", "bin", "python3"));
  // 1. PYENV_VERSION
  assert.equal(py({ ...env, PYENV_VERSION: "3.11.9" }), join(root, "versions", "3.11.9", "bin", "python3"));
  // "system": the next python3 in PATH that is not a shim
  const sys = py({ ...env, PYENV_VERSION: "system" });
  assert.ok(!sys.startsWith(root), sys);
  // a version file naming a path is refused, naming the file
  file(join(d, "proj", ".python-version"), "../../../../usr\n");
  const e = profileError(py);
  assert.match(e.message, /proj\/\.python-version: "\.\.\/\.\.\/\.\.\/\.\.\/usr" is not a pyenv version name/);
  file(join(d, "proj", ".python-version"), "2.7.18\n");
  assert.match(profileError(py).message, /pyenv has no python3 for "2\.7\.18" \(chosen by .*proj\/\.python-version\)/);
  // the granted prefix is the chosen version's
  const r = pythonRuntime({ cwd: "/", env: { ...env, PYENV_VERSION: "3.11.9" }, command: ["python3"] });
  assert.deepEqual(r.ro, [join(root, "versions", "3.11.9")]);
  assert.equal(r.real, v311);
  assert.equal(statSync(marker, { throwIfNoEntry: false }), undefined, "pyenv ran");
});

test("npx: the registry comes from the user's configuration (env, ~/.npmrc, global), never from the start directory", () => {
  const d = dir();
  const home = join(d, "home");
  const proj = join(d, "proj");
  file(join(proj, ".npmrc"), "registry=http://169.254.169.254/latest/\n");
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, npm_config_globalconfig: join(d, "global-npmrc") };
  const ctx = (e: NodeJS.ProcessEnv) => ({ cwd: proj, env: e, command: ["npx", "-y", "pkg"] });
  assert.deepEqual(npmRegistry(ctx(env)), { url: "https://registry.npmjs.org/", host: "registry.npmjs.org" });
  file(join(d, "global-npmrc"), "; global\nregistry = https://global.example/npm/\n");
  assert.equal(npmRegistry(ctx(env)).host, "global.example");
  file(join(home, ".npmrc"), '# mine\nregistry="https://npm.${CORP}.example:8443/"\n');
  assert.equal(npmRegistry(ctx({ ...env, CORP: "corp" })).host, "npm.corp.example:8443");
  assert.equal(npmRegistry(ctx({ ...env, NPM_CONFIG_REGISTRY: "https://env.example/" })).host, "env.example");
});

test("npx: an IP address or a loopback name from any configuration is refused, naming the file and line", () => {
  const d = dir();
  const home = join(d, "home");
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, npm_config_globalconfig: join(d, "none") };
  const bad: [string, RegExp][] = [
    ["http://169.254.169.254/latest/", /169\.254\.169\.254, a cloud metadata address/],
    ["http://2852039166/", /169\.254\.169\.254, a cloud metadata address/],
    ["http://0xa9.0xfe.0xa9.0xfe/", /169\.254\.169\.254, a cloud metadata address/],
    ["http://0251.0376.0251.0376/", /169\.254\.169\.254, a cloud metadata address/],
    ["http://[::ffff:169.254.169.254]/", /a cloud metadata address/],
    ["http://[fd00:ec2::254]/", /a cloud metadata address/],
    ["http://[64:ff9b::a9fe:a9fe]/", /a cloud metadata address/],
    ["http://10.1.2.3:4873/", /10\.1\.2\.3, a private address/],
    ["http://192.168.1.1/", /a private address/],
    ["http://127.1:4873/", /127\.0\.0\.1, a loopback address/],
    ["http://[::1]:4873/", /::1, a loopback address/],
    ["http://0/", /0\.0\.0\.0, an unspecified address/],
    ["http://8.8.8.8/", /names the IP address 8\.8\.8\.8;/],
    ["http://localhost:4873/", /names the loopback host/],
    ["http://registry.localhost/", /names the loopback host/],
    ["ftp://registry.example/", /is not an http\(s\) URL/],
  ];
  for (const [url, why] of bad) {
    file(join(home, ".npmrc"), `fund=false\n\nregistry=${url}\n`);
    const e = profileError(() => npmRegistry({ cwd: "/", env }));
    assert.match(e.message, new RegExp(`^profile npx: ${join(home, ".npmrc").replace(/[.]/g, "\\.")}:3: registry `), e.message);
    assert.match(e.message, why, url);
    assert.match(e.message, /only host names from configuration/);
  }
  const e = profileError(() => npmRegistry({ cwd: "/", env: { ...env, npm_config_registry: "http://169.254.169.254/" } }));
  assert.match(e.message, /the environment variable npm_config_registry: registry "http:\/\/169\.254\.169\.254\/" names/);
  assert.equal(configHost({ value: "https://Registry.Example.COM./x/", where: "t" }, "registry", "npx"), "registry.example.com");
});

test("npx: one cache per server: the command, the registry and the server key each make another one", async () => {
  const d = dir();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: d, XDG_CACHE_HOME: join(d, "cache") };
  const a = npxCacheDir({ cwd: "/", env, command: ["npx", "-y", "a"] }, "https://registry.npmjs.org/");
  const b = npxCacheDir({ cwd: "/", env, command: ["npx", "-y", "b"] }, "https://registry.npmjs.org/");
  const a2 = npxCacheDir({ cwd: "/", env, command: ["npx", "-y", "a"] }, "https://other.example/");
  const a3 = npxCacheDir({ cwd: "/", env, command: ["npx", "-y", "a"], serverKey: "with --allow-net x" }, "https://registry.npmjs.org/");
  assert.equal(a, npxCacheDir({ cwd: "/", env, command: ["npx", "-y", "a"] }, "https://registry.npmjs.org/"), "stable");
  assert.equal(new Set([a, b, a2, a3]).size, 4);
  for (const c of [a, b, a2, a3]) assert.ok(c.startsWith(join(d, "cache", "mcp-j", "npm-servers") + "/"), c);
  const p = await resolvePolicy({ profiles: ["npx"], overlay: {}, env, cwd: d, command: ["npx", "-y", "a"] });
  assert.deepEqual(p.filesystem.rw, [{ path: a, dest: "/tmp/.npm", from: "profile npx: filesystem.rw[0]" }]);
  assert.equal(statSync(a).mode & 0o777, 0o700);
  if (process.getuid?.() === 0) assert.equal(statSync(a).uid, 65534, "owned by the jail's identity");
  assert.deepEqual(p.network.allow, ["registry.npmjs.org"]);
  assert.equal(p.env.set.npm_config_registry, "https://registry.npmjs.org/");
  assert.equal(p.env.set.npm_config_cache, "/tmp/.npm");
});

test("npx: the caches' parent must be the user's own, writable by no one else", () => {
  const d = dir();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: d, XDG_CACHE_HOME: join(d, "cache") };
  mkdirSync(join(d, "cache", "mcp-j", "npm-servers"), { recursive: true });
  chmodSync(join(d, "cache", "mcp-j", "npm-servers"), 0o777);
  const e = profileError(() => npxProfile({ cwd: "/", env, command: ["npx", "-y", "a"] }));
  assert.match(e.message, /npm-servers must be a directory of yours that no one else can write; remove it/);
});

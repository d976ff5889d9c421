// ESCAPES 63 and 64 through the real CLI: payloads planted where the server's side can put them
// (its venv, the start directory, mcp-j's environment, a project .npmrc, another server's npm cache)
// never run on the host and never widen what a jail gets. A payload on the host would create a
// marker file in a directory no jail can see; inside a jail the same payload runs (it says so on
// stderr) and fails to reach the marker.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, test } from "node:test";
import { runMcpj } from "./helpers.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

interface Layout {
  root: string;
  /** Never granted to any jail: a payload that creates a file here ran on the host. */
  marker: string;
  home: string;
  proj: string;
  env: NodeJS.ProcessEnv;
}

/** A world-readable tree (the jail runs as nobody when the tests run as root). */
function layout(): Layout {
  const root = mkdtempSync(join(tmpdir(), "mcpj-profiles-"));
  roots.push(root);
  chmodSync(root, 0o755);
  const home = join(root, "home");
  const proj = join(root, "proj");
  mkdirSync(join(root, "hostonly"), { mode: 0o755 });
  mkdirSync(home, { mode: 0o755 });
  mkdirSync(proj, { mode: 0o755 });
  // A PATH without pyenv or other per-user runtimes: the test machine's /usr only.
  const env: NodeJS.ProcessEnv = { PATH: "/usr/bin:/bin", HOME: home, XDG_CACHE_HOME: join(home, ".cache"), npm_config_globalconfig: join(root, "no-global-npmrc") };
  return { root, marker: join(root, "hostonly", "marker"), home, proj, env };
}

/** A Python payload: says where it runs, then tries to create the marker. */
function payload(marker: string, tag: string): string {
  return `import sys; sys.stderr.write("PAYLOAD-${tag}\\n"); open(${JSON.stringify(marker)}, "w").close()`;
}

const PY = realpathSync("/usr/bin/python3");
const XY = /^python(\d+\.\d+)$/.exec(basename(PY))?.[1] ?? assert.fail(`cannot tell the version of ${PY}`);

/** A venv of the system Python, laid out as `python3 -m venv` does. */
function venv(l: Layout): { python: string; site: string } {
  const v = join(l.proj, ".venv");
  const site = join(v, "lib", `python${XY}`, "site-packages");
  mkdirSync(site, { recursive: true });
  mkdirSync(join(v, "bin"));
  writeFileSync(join(v, "pyvenv.cfg"), `home = /usr/bin\ninclude-system-site-packages = false\nversion = ${XY}.0\n`);
  symlinkSync(PY, join(v, "bin", "python3"));
  return { python: join(v, "bin", "python3"), site };
}

const PROFILES: string[][] = [["--profile", "python"], []]; // named, and inferred from the command

for (const [what, plant] of [
  [".pth file", (site: string, marker: string) => writeFileSync(join(site, "evil.pth"), payload(marker, "PTH") + "\n")],
  ["sitecustomize.py", (site: string, marker: string) => writeFileSync(join(site, "sitecustomize.py"), payload(marker, "SITECUSTOMIZE") + "\n")],
] as const) {
  test(`ESCAPES 63: a ${what} in the server's venv runs only inside the jail, never on the host`, async () => {
    for (const flags of PROFILES) {
      const l = layout();
      const { python, site } = venv(l);
      plant(site, l.marker);
      const r = await runMcpj([...flags, "--", python, "-c", "import sys; sys.stderr.write('server-ran\\n')"], { env: l.env, cwd: l.proj });
      assert.equal(existsSync(l.marker), false, `the ${what} ran on the host (${flags.join(" ")})`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /server-ran/);
      assert.match(r.stderr, /PAYLOAD-/, "the payload is live: it ran in the jail");
    }
  });
}

test("ESCAPES 63: a json.py in the start directory never runs on the host", async () => {
  for (const flags of PROFILES) {
    const l = layout();
    writeFileSync(join(l.proj, "json.py"), payload(l.marker, "JSON") + "\n");
    const r = await runMcpj([...flags, "--", "python3", "-c", "import sys; sys.stderr.write('server-ran\\n')"], { env: l.env, cwd: l.proj });
    assert.equal(existsSync(l.marker), false, `json.py ran on the host (${flags.join(" ")})`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /server-ran/);
  }
});

test("ESCAPES 63: PYTHONPATH and PYTHONSTARTUP in mcp-j's environment run nothing on the host and never reach the jail", async () => {
  for (const flags of PROFILES) {
    const l = layout();
    const evil = join(l.root, "evil");
    mkdirSync(evil, { mode: 0o755 });
    writeFileSync(join(evil, "json.py"), payload(l.marker, "PYTHONPATH") + "\n");
    writeFileSync(join(evil, "startup.py"), payload(l.marker, "PYTHONSTARTUP") + "\n");
    const env = { ...l.env, PYTHONPATH: evil, PYTHONSTARTUP: join(evil, "startup.py") };
    const probe = "import os, sys; sys.stderr.write('seen=%r\\n' % ([os.environ.get('PYTHONPATH'), os.environ.get('PYTHONSTARTUP')] + [p for p in sys.path if 'evil' in p]))";
    const r = await runMcpj([...flags, "--", "python3", "-c", probe], { env, cwd: l.proj });
    assert.equal(existsSync(l.marker), false, `a payload ran on the host (${flags.join(" ")})`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /seen=\[None, None\]/);
    assert.doesNotMatch(r.stderr, /PAYLOAD/);
  }
});

test("--profile python runs the interpreter pyenv would run (read from pyenv's files), and pyenv itself never runs", async () => {
  const l = layout();
  const root = join(l.home, ".pyenv");
  // pyenv's own program leaves the marker: nothing may run it on the host.
  mkdirSync(join(root, "libexec"), { recursive: true });
  writeFileSync(join(root, "libexec", "pyenv"), `#!/bin/sh\ntouch ${l.marker}\nexit 1\n`, { mode: 0o755 });
  mkdirSync(join(root, "shims"));
  writeFileSync(
    join(root, "shims", "python3"),
    `#!/usr/bin/env bash\nset -e\nprogram="\${0##*/}"\nexport PYENV_ROOT="${root}"\nexec "${root}/libexec/pyenv" exec "$program" "$@"\n`,
    { mode: 0o755 },
  );
  // versions/3.99.0: the system interpreter under another prefix, with its standard library.
  const prefix = join(root, "versions", "3.99.0");
  mkdirSync(join(prefix, "bin"), { recursive: true });
  mkdirSync(join(prefix, "lib"));
  symlinkSync(`/usr/lib/python${XY}`, join(prefix, "lib", `python${XY}`));
  symlinkSync(PY, join(prefix, "bin", `python${XY}`));
  symlinkSync(`python${XY}`, join(prefix, "bin", "python3"));
  writeFileSync(join(l.proj, ".python-version"), "3.99.0\n");
  const env = { ...l.env, PATH: `${join(root, "shims")}:/usr/bin:/bin` };
  const r = await runMcpj(["--profile", "python", "--", "python3", "-c", "import sys; sys.stderr.write('exe=%s\\n' % sys.executable)"], { env, cwd: l.proj });
  assert.equal(existsSync(l.marker), false, "pyenv ran on the host");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`exe=${join(prefix, "bin", "python3").replace(/[.]/g, "\\.")}\\n`));
});

const NPMRC_REGISTRIES = ["http://169.254.169.254/latest/", "http://10.0.0.7:4873/", "http://127.0.0.1:4873/", "http://[::ffff:a9fe:a9fe]/", "http://2852039166/"];

test("ESCAPES 63: a project .npmrc never decides the egress allowlist", async () => {
  for (const registry of NPMRC_REGISTRIES) {
    const l = layout();
    writeFileSync(join(l.proj, ".npmrc"), `registry=${registry}\n`);
    const r = await runMcpj(["policy", "show", "--profile", "npx", "--", "npx", "-y", "some-server"], { env: l.env, cwd: l.proj });
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as { network: { allow: string[] }; env: { set: Record<string, string> } };
    assert.deepEqual(p.network.allow, ["registry.npmjs.org"], registry);
    assert.equal(p.env.set.npm_config_registry, "https://registry.npmjs.org/");
  }
});

test("ESCAPES 63: inside a jail started in a directory whose .npmrc names the metadata address, the egress proxy refuses it", async () => {
  const l = layout();
  writeFileSync(join(l.proj, ".npmrc"), "registry=http://169.254.169.254/latest/\n");
  // The server asks the egress proxy (HTTP_PROXY) for the registry its start directory names.
  const server = `const u = new URL(process.env.HTTP_PROXY);
require("http").get({ host: u.hostname, port: u.port, path: "http://169.254.169.254/latest/" }, (res) => {
  let body = ""; res.on("data", (d) => (body += d)); res.on("end", () => process.stderr.write("status=" + res.statusCode + " " + body.trim() + "\\n"));
}).on("error", (e) => process.stderr.write("error=" + e.code + "\\n"));`;
  const r = await runMcpj(["--profile", "npx", "--", "node", "-e", server], { env: l.env, cwd: l.proj });
  assert.equal(r.code, 0, r.stderr);
  // Refused by mcp-j's proxy itself (not forwarded and refused further away).
  assert.match(r.stderr, /status=403 mcp-j: 169\.254\.169\.254 is a cloud metadata address \(blocked\)/);
});

test("ESCAPES 63: an IP address in the user's ~/.npmrc is refused at start, naming the file and line", async () => {
  const l = layout();
  writeFileSync(join(l.home, ".npmrc"), "fund=false\nregistry=http://169.254.169.254/latest/\n");
  for (const flags of [["--profile", "npx"], []]) {
    const r = await runMcpj([...flags, "--", "npx", "-y", "some-server"], { env: l.env, cwd: l.proj });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${join(l.home, ".npmrc").replace(/[.]/g, "\\.")}:2: registry "http://169\\.254\\.169\\.254/latest/" names the IP address 169\\.254\\.169\\.254, a cloud metadata address`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test("ESCAPES 64: a file one jail writes into its npm cache is never seen by another server", async () => {
  const l = layout();
  const plant = "require('fs').writeFileSync(process.env.npm_config_cache + '/planted.js', 'process.exit(99)'); process.stderr.write('planted\\n')";
  const a = await runMcpj(["--profile", "npx", "--", "node", "-e", plant], { env: l.env, cwd: l.proj });
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /planted/);
  const caches = join(l.home, ".cache", "mcp-j", "npm-servers");
  const withPlant = readdirSync(caches).filter((k) => existsSync(join(caches, k, "planted.js")));
  assert.equal(withPlant.length, 1, "the write reached the jail's own cache");
  const look = "process.stderr.write('seen=' + require('fs').existsSync(process.env.npm_config_cache + '/planted.js') + '\\n')";
  for (const flags of [[], ["--allow-net", "example.com"]]) {
    const b = await runMcpj(["--profile", "npx", ...flags, "--", "node", "-e", look], { env: l.env, cwd: l.proj });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /seen=false/, `another server sees the planted file (${flags.join(" ")})`);
  }
  // The same server, same flags: its own cache again.
  const again = await runMcpj(["--profile", "npx", "--", "node", "-e", plant], { env: l.env, cwd: l.proj });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readdirSync(caches).length, 3);
});

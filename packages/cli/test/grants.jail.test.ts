// Grants through the real command line (parseRunArgs → resolvePolicy → the jail), as users give
// them: a path through a symlink is mounted at its real path, and the path as named becomes a
// symlink to it, so both spellings work inside the jail; an error names where the grant came from.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runMcpj } from "./helpers.js";

/** The server's own lines of stderr, in order (mcp-j's notes, such as the cgroup warning, can come
 * between them). */
function serverLines(stderr: string, re: RegExp): string[] {
  return stderr.split("\n").filter((l) => re.test(l));
}

function tree(): { dir: string; real: string; link: string } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "mcpj-grants-")));
  const real = join(dir, "real");
  mkdirSync(real);
  writeFileSync(join(real, "hello"), "hi from real\n");
  const link = join(dir, "link");
  symlinkSync("real", link);
  return { dir, real, link };
}

test("--ro through a symlink: the real path is granted and the named path is a symlink to it", async () => {
  const { real, link } = tree();
  // The server's stdout is the JSON-RPC channel: it reports on stderr.
  const script = `exec >&2; echo "link=$(readlink ${link})"; read a < ${link}/hello; echo "named: $a"; read b < ${real}/hello; echo "real: $b"`;
  const r = await runMcpj(["--ro", link, "--allow-exec", "readlink", "--", "/bin/sh", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(serverLines(r.stderr, /^(link=|named: |real: )/), [`link=${real}`, "named: hi from real", "real: hi from real"]);
});

test("--ro DIR:DEST through a symlink: only DEST, no alias", async () => {
  const { link } = tree();
  const r = await runMcpj(["--ro", `${link}:/data`, "--", "/bin/sh", "-c", `exec >&2; read a < /data/hello; echo "data: $a"; [ -e ${link} ] || echo no-alias`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(serverLines(r.stderr, /^(data: |no-alias)/), ["data: hi from real", "no-alias"]);
});

test("a missing grant from a policy file names the file and the field, not a flag", async () => {
  const { dir } = tree();
  writeFileSync(join(dir, "policy.yaml"), "filesystem:\n  ro: [./real, ./missing]\n");
  const r = await runMcpj(["--policy", join(dir, "policy.yaml"), "--", "/bin/true"], { cwd: dir });
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, new RegExp(`policy\\.yaml: filesystem\\.ro\\[1\\]: ${join(dir, "missing")}: no such file or directory`));
  assert.doesNotMatch(r.stderr, /--ro/);
});

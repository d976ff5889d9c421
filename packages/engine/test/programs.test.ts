// The system programs inferred from a command (policy/programs.ts): which names a command gives its
// server, and which paths count as system programs.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { inferredPrograms, serverNames, systemProgram } from "../src/policy/programs.js";

const ctx = { cwd: "/", env: { PATH: "/usr/bin:/bin" } };
const d = mkdtempSync(join(tmpdir(), "mcpj-programs-"));
after(() => rmSync(d, { recursive: true, force: true }));

test("the server's names come from the command as written, per registry: npx and uvx packages, python -m, node_modules paths", () => {
  assert.deepEqual(serverNames(["npx", "-y", "@cyanheads/git-mcp-server@2.15.3"], "npx", ctx), { npm: ["@cyanheads/git-mcp-server"], pypi: [] });
  assert.deepEqual(serverNames(["npx", "--package", "@cyanheads/git-mcp-server", "git-mcp-server"], "npx", ctx).npm, ["@cyanheads/git-mcp-server"]);
  assert.deepEqual(serverNames(["uvx", "mcp-server-git==1.0", "--repository", "/r"], "uv", ctx), { npm: [], pypi: ["mcp-server-git"] });
  assert.deepEqual(serverNames(["uv", "tool", "run", "--from", "mcp-server-git", "mcp-server-git"], "uv", ctx).pypi, ["mcp-server-git"]);
  assert.deepEqual(serverNames(["python3", "-m", "mcp_server_git.server"], "python", ctx).pypi, ["mcp-server-git"]);
  assert.deepEqual(serverNames(["node", "/opt/x/node_modules/@cyanheads/git-mcp-server/dist/index.js"], "node", ctx).npm, ["@cyanheads/git-mcp-server"]);
  assert.deepEqual(serverNames(["node", "/opt/git-mcp-server/index.js"], "node", ctx), { npm: [], pypi: [] });
  // npx's mcp-server-git is whatever npm package has that name, not the PyPI git server.
  assert.deepEqual(inferredPrograms(["npx", "-y", "mcp-server-git"], "npx", {}, ctx, []), []);
});

test("a git server gets git; a path in an env value or an argument gets itself; shell operands and non-system files get nothing", () => {
  assert.deepEqual(inferredPrograms(["uvx", "mcp-server-git"], "uv", {}, ctx, []), [{ path: "/usr/bin/git", why: "a git server runs it" }]);
  assert.deepEqual(inferredPrograms(["node", "s.js"], "node", { OPTS: JSON.stringify({ executablePath: "/usr/bin/git", args: ["--x"] }) }, ctx, []), [{ path: "/usr/bin/git", why: "named in OPTS" }]);
  assert.deepEqual(inferredPrograms(["node", "s.js", "--git=/usr/bin/git"], "node", {}, ctx, []), [{ path: "/usr/bin/git", why: "named in argument 2" }]);
  assert.deepEqual(inferredPrograms(["/bin/sh", "-c", "/usr/bin/git status", "/usr/bin/git"], undefined, {}, ctx, []), []);
  assert.deepEqual(inferredPrograms(["node", "s.js"], "node", { A: "/usr/bin", B: "/etc/passwd", C: "/usr/lib/nonexistent" }, ctx, []), []);
  // A grant over it (ro or rw, by host path or jail path) would run another file: not added.
  assert.deepEqual(inferredPrograms(["node", "s.js", "/usr/bin/git"], "node", {}, ctx, [{ path: d, dest: "/usr/bin" }]), []);
  const copy = join(d, "git");
  copyFileSync("/usr/bin/git", copy);
  assert.equal(systemProgram(copy), undefined);
  assert.deepEqual(inferredPrograms(["node", "s.js", copy], "node", { X: copy }, ctx, []), []);
  assert.equal(systemProgram("/usr/bin/git"), "/usr/bin/git");
  assert.equal(systemProgram("/usr/bin/../bin/git"), "/usr/bin/git");
  assert.equal(systemProgram("usr/bin/git"), undefined);
});

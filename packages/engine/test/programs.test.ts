// The system programs inferred from a command (policy/programs.ts): which names a command gives its
// server, and which paths count as system programs.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { inferredPrograms, isSystemProgram, serverNames } from "../src/policy/programs.js";

const ctx = { cwd: "/", env: { PATH: "/usr/bin:/bin" } };
const d = mkdtempSync(join(tmpdir(), "mcpj-programs-"));
after(() => rmSync(d, { recursive: true, force: true }));

test("the server's names come from the command as written: npx and uvx packages, python -m, node_modules paths", () => {
  assert.ok(serverNames(["npx", "-y", "@cyanheads/git-mcp-server@2.15.3"], ctx).includes("@cyanheads/git-mcp-server"));
  assert.ok(serverNames(["npx", "--package", "@cyanheads/git-mcp-server", "git-mcp-server"], ctx).includes("@cyanheads/git-mcp-server"));
  assert.ok(serverNames(["uvx", "mcp-server-git==1.0", "--repository", "/r"], ctx).includes("mcp-server-git"));
  assert.ok(serverNames(["uv", "tool", "run", "--from", "mcp-server-git", "mcp-server-git"], ctx).includes("mcp-server-git"));
  assert.ok(serverNames(["python3", "-m", "mcp_server_git.server"], ctx).includes("mcp-server-git"));
  assert.ok(serverNames(["node", "/opt/x/node_modules/@cyanheads/git-mcp-server/dist/index.js"], ctx).includes("@cyanheads/git-mcp-server"));
  assert.deepEqual(serverNames(["node", "/opt/git-mcp-server/index.js"], ctx), ["node"]);
});

test("a git server gets git; a path in an env value or an argument gets itself; shell operands and non-system files get nothing", () => {
  assert.deepEqual(inferredPrograms(["uvx", "mcp-server-git"], {}, ctx), [{ path: "/usr/bin/git", why: "a git server runs it" }]);
  assert.deepEqual(inferredPrograms(["node", "s.js"], { OPTS: JSON.stringify({ executablePath: "/usr/bin/git", args: ["--x"] }) }, ctx), [{ path: "/usr/bin/git", why: "named in OPTS" }]);
  assert.deepEqual(inferredPrograms(["node", "s.js", "--git=/usr/bin/git"], {}, ctx), [{ path: "/usr/bin/git", why: "named in argument 2" }]);
  assert.deepEqual(inferredPrograms(["/bin/sh", "-c", "/usr/bin/git status", "/usr/bin/git"], {}, ctx), []);
  assert.deepEqual(inferredPrograms(["node", "s.js"], { A: "/usr/bin", B: "/etc/passwd", C: "/usr/lib/nonexistent" }, ctx), []);
  const copy = join(d, "git");
  copyFileSync("/usr/bin/git", copy);
  assert.equal(isSystemProgram(copy), false);
  assert.deepEqual(inferredPrograms(["node", "s.js", copy], { X: copy }, ctx), []);
  assert.equal(isSystemProgram("/usr/bin/git"), true);
});

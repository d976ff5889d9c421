// Deny rules' kernel layer (issue 10, docs/design.md "Deny rules"): what a deny glob matches at start
// is hidden in the jail's mount tree, so it holds with the supervisor out of the way (supervise:
// false: the filter without notification, as if the supervisor were bypassed). The start-up walk is
// bounded and refuses a grant too large to look through.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runJailed } from "./helpers/jailed.js";
import { denyMasks } from "../src/jail/deny-mask.js";
import { JailError } from "../src/jail/errors.js";

let ws: string;

before(() => {
  ws = mkdtempSync(join(tmpdir(), "mcpj-mask-"));
  mkdirSync(join(ws, "app", "secrets"), { recursive: true });
  writeFileSync(join(ws, ".env"), "TOKEN=top\n");
  writeFileSync(join(ws, "app", ".env"), "TOKEN=nested\n");
  writeFileSync(join(ws, "app", "secrets", "key.pem"), "PRIVATE\n");
  writeFileSync(join(ws, "app", "ok.txt"), "fine\n");
  // A directory the jail's identity cannot search: nothing of it needs a mask (nor can init look).
  mkdirSync(join(ws, "closed"), { mode: 0o700 });
  writeFileSync(join(ws, "closed", ".env"), "TOKEN=closed\n");
  for (const d of [ws, join(ws, "app"), join(ws, "app", "secrets")]) chmodSync(d, 0o777);
  for (const f of [join(ws, ".env"), join(ws, "app", ".env"), join(ws, "app", "secrets", "key.pem"), join(ws, "app", "ok.txt")]) chmodSync(f, 0o666);
});

after(() => rmSync(ws, { recursive: true, force: true }));

const sh = (script: string) => ["/bin/sh", "-c", script];
const policy = () => ({ filesystem: { rw: [ws], deny: ["**/.env", "**/secrets"], exec: ["/usr/bin/cat", "/usr/bin/ls", "/usr/bin/mv", "/usr/bin/rm"] } });

describe("deny masks (the kernel layer of deny rules)", () => {
  it("hold without the supervisor: the matches are empty, unreadable, and cannot be replaced, renamed or removed", async () => {
    const r = await runJailed(
      sh(
        [
          `cat ${ws}/.env; echo "cat=$?"`,
          `cat ${ws}/app/.env; echo "cat2=$?"`,
          `ls ${ws}/app/secrets; echo "ls=$?"`,
          `cat ${ws}/app/secrets/key.pem; echo "key=$?"`,
          `mv ${ws}/app/.env ${ws}/app/moved 2>&1; echo "mv=$?"`,
          `rm -f ${ws}/.env 2>&1; echo "rm=$?"`,
          `echo x > ${ws}/.env; echo "write=$?"`,
          `cat ${ws}/app/ok.txt`,
        ].join("; "),
      ),
      { policy: policy(), supervise: false },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /TOKEN=|PRIVATE/);
    assert.match(r.stdout, /cat=1/);
    assert.match(r.stdout, /cat2=1/);
    assert.match(r.stdout, /ls=[12]/);
    assert.match(r.stdout, /key=1/);
    assert.match(r.stdout, /mv=1/);
    assert.match(r.stdout, /rm=1/);
    assert.match(r.stdout, /write=[12]/);
    assert.match(r.stdout, /fine/);
    assert.match(r.stderr, /Permission denied|Device or resource busy|Read-only file system/);
    // The host's files are untouched.
    assert.equal(readFileSync(join(ws, ".env"), "utf8"), "TOKEN=top\n");
    assert.equal(readFileSync(join(ws, "app", ".env"), "utf8"), "TOKEN=nested\n");
    assert.ok(existsSync(join(ws, "app", "secrets", "key.pem")));
  });

  it("a match behind a directory the jail cannot search needs no mask: the jail starts", async () => {
    const r = await runJailed(["/bin/true"], { policy: policy() });
    assert.equal(r.code, 0, `${r.stderr} ${r.exit.error?.message ?? ""}`);
  });

  it("the start-up walk never enters a directory below which no glob can match, and is bounded", () => {
    const grants = [{ src: ws, dest: ws, isDir: true }];
    const anchored = denyMasks(grants, [`${ws}/app/secrets`]);
    assert.deepEqual(anchored.masks, [{ dest: join(ws, "app", "secrets"), kind: "dir" }]);
    // Only the entries on the way were looked at: the root's and app's.
    assert.ok(anchored.entries <= 6, `looked at ${anchored.entries} entries`);
    const everywhere = denyMasks(grants, ["/**/.env"]);
    // (the one in closed/ is found by a root walk and left alone by the helper: see the test above)
    const found = everywhere.masks.map((m) => m.dest).filter((d) => !d.includes("/closed/"));
    assert.deepEqual(found.sort(), [join(ws, ".env"), join(ws, "app", ".env")]);
    assert.throws(
      () => denyMasks(grants, ["/**/.env"], { maxEntries: 3 }),
      (e: unknown) => e instanceof JailError && e.code === "E_DENY_SCAN" && /grant a narrower directory, or anchor the rule/.test(e.message),
    );
  });
});

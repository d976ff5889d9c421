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
import { fsops } from "./programs/index.js";
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

const policy = () => ({ filesystem: { rw: [ws], deny: ["**/.env", "**/secrets"] } });

describe("deny masks (the kernel layer of deny rules)", () => {
  it("hold without the supervisor: the matches are empty, unreadable, and cannot be replaced, renamed or removed", async () => {
    const want = {
      [`read ${ws}/.env`]: "EACCES",
      [`read ${ws}/app/.env`]: "EACCES",
      [`write ${ws}/.env`]: "EACCES",
      [`open_rw ${ws}/app/.env`]: "EACCES",
      [`truncate ${ws}/.env`]: "EACCES",
      [`ls ${ws}/app/secrets`]: "EACCES",
      [`read ${ws}/app/secrets/key.pem`]: "EACCES",
      [`creat ${ws}/app/secrets/new`]: "EACCES",
      [`rename ${ws}/app/.env ${ws}/app/moved`]: "EBUSY",
      [`rename ${ws}/app/secrets ${ws}/app/open`]: "EBUSY",
      [`unlink ${ws}/.env`]: "EBUSY",
      [`link ${ws}/app/.env ${ws}/app/copy`]: "EXDEV",
      [`read ${ws}/app/ok.txt`]: "data:fine",
    };
    // Mode 0 refuses every open (EACCES, before the read-only mount is looked at); a mount point
    // cannot be renamed or removed (EBUSY); a link crosses from the mask's mount (EXDEV).
    assert.deepEqual(await fsops(want, { policy: policy(), supervise: false }), want);
    // The host's files are untouched.
    assert.equal(readFileSync(join(ws, ".env"), "utf8"), "TOKEN=top\n");
    assert.equal(readFileSync(join(ws, "app", ".env"), "utf8"), "TOKEN=nested\n");
    assert.ok(existsSync(join(ws, "app", "secrets", "key.pem")));
    assert.ok(!existsSync(join(ws, "app", "moved")) && !existsSync(join(ws, "app", "copy")));
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

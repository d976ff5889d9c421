// Issue 12 item 1, the decision (TypeScript): as root, a writable grant owned by anyone but the
// jail's host user is bound idmapped, naming its owner; read-only grants, grants the jail already
// owns and every grant of an unprivileged invoker keep a plain bind.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareJail } from "../src/launch.js";
import { PolicySchema } from "../src/policy/schema.js";
import { MountFlag, MountOp, type MountStep } from "../src/jail/plan.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function mountOf(rw: string[], ro: string[], uid: number, path: string): MountStep {
  const policy = PolicySchema.parse({ filesystem: { rw, ro } });
  const plan = prepareJail({ policy, command: ["/usr/bin/true"], cwd: process.cwd(), env: {}, uid, gid: uid }).plan;
  const m = plan.mounts.find((s) => s.op === MountOp.Bind && s.src === path);
  assert.ok(m, `no bind of ${path}`);
  return m;
}

describe("idmapped writable grants (plan)", () => {
  it("as root: a root-owned --rw directory is idmapped from its owner; --ro of the same owner is not", () => {
    const m = mountOf(["/var"], [], 0, "/var");
    assert.ok(m.flags & MountFlag.idmap, "idmap flag");
    assert.ok(m.flags & MountFlag.noexec && m.flags & MountFlag.nosuid && m.flags & MountFlag.nodev);
    assert.equal(m.data, "0:0");
    const ro = mountOf([], ["/var"], 0, "/var");
    assert.equal(ro.flags & MountFlag.idmap, 0);
    assert.equal(ro.data, "");
  });

  it("as root: a --rw directory the jail's user (65534) owns needs no idmap", { skip: process.getuid?.() !== 0 && "needs root to chown" }, () => {
    const d = mkdtempSync(join(tmpdir(), "mcpj-idmap-plan-"));
    dirs.push(d);
    chownSync(d, 65534, 65534);
    const m = mountOf([d], [], 0, d);
    assert.equal(m.flags & MountFlag.idmap, 0);
  });

  it("as root: a directory the jail can already write by its mode (a sticky world-writable one) is not idmapped", { skip: process.getuid?.() !== 0 && "needs root to chmod" }, () => {
    const d = mkdtempSync(join(tmpdir(), "mcpj-idmap-plan-"));
    dirs.push(d);
    chmodSync(d, 0o1777);
    assert.equal(mountOf([d], [], 0, d).flags & MountFlag.idmap, 0);
    chmodSync(d, 0o755);
    assert.ok(mountOf([d], [], 0, d).flags & MountFlag.idmap);
  });

  it("unprivileged: the mapping stays as it is, whoever owns the directory", () => {
    const m = mountOf(["/var"], [], 1000, "/var");
    assert.equal(m.flags & MountFlag.idmap, 0);
    assert.equal(m.data, "");
  });
});

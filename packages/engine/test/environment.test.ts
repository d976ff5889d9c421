// The environment diagnosis as data (issue 13, item 7). The restrictions that can be recreated on
// these machines are tested for real around mcp-j (cli/test/environment.jail.test.ts) and in the VM
// (Landlock left out of lsm=). Ubuntu's AppArmor user-namespace restriction is an Ubuntu kernel
// patch that no Debian kernel carries, so its diagnosis is tested here, on the facts and probe
// outcomes such a machine gives.
import assert from "node:assert/strict";
import { constants } from "node:os";
import { test } from "node:test";
import { containerOf, fixFor, fixLine, procMasksOf, restrictions, type EnvironmentFacts, type ProbeResult } from "../src/environment/index.js";

const { EPERM, ENOSPC, ENOSYS, EOPNOTSUPP } = constants.errno;
const host: EnvironmentFacts = {
  gvisor: false, container: null, seccompMode: 0, procMasks: [], apparmorRestrictsUserns: null,
  maxUserNamespaces: 63000, unprivilegedUsernsClone: null, lsm: "lockdown,capability,landlock,yama,apparmor", uid: 1000,
};
const ok: ProbeResult = { ok: true, errno: 0, value: 0 };
const fails = (errno: number): ProbeResult => ({ ok: false, errno, value: 0 });
const probe = (over: Record<string, ProbeResult>) =>
  new Map<string, ProbeResult>(Object.entries({ landlock: { ok: true, errno: 0, value: 4 }, userns: ok, namespaces_mount: ok, proc_mount: ok, clone3_namespaces: ok, ...over }));

test("a machine where everything works has no restriction", () => {
  assert.deepEqual(restrictions(host, probe({})), []);
});

test("Ubuntu 23.10+: AppArmor's user-namespace restriction → the AppArmor profile for the helper, not the sysctl", () => {
  const facts = { ...host, apparmorRestrictsUserns: true };
  const rs = restrictions(facts, probe({ userns: fails(EPERM), namespaces_mount: fails(EPERM), proc_mount: fails(EPERM) }));
  assert.deepEqual(rs, [{ kind: "apparmor_userns" }]);
  const fix = fixFor(rs[0]!, facts, "/opt/mcp-j/mcpj-jail");
  assert.match(fix, /profile mcp-j \/opt\/mcp-j\/mcpj-jail flags=\(unconfined\) \{ userns, \}/);
  assert.match(fix, /sudo apparmor_parser -r \/etc\/apparmor\.d\/mcp-j/);
  assert.doesNotMatch(fix, /sysctl -w|=0`/, "the fix is the profile, not switching the restriction off");
});

test("the restriction switched off, or a seccomp filter not refusing: no AppArmor advice", () => {
  assert.deepEqual(restrictions({ ...host, apparmorRestrictsUserns: false }, probe({})), []);
});

test("user namespaces disabled by sysctl: the sysctl that enables them", () => {
  const rs = restrictions({ ...host, maxUserNamespaces: 0 }, probe({ userns: fails(ENOSPC) }));
  assert.deepEqual(rs, [{ kind: "userns_disabled", sysctl: "user.max_user_namespaces" }]);
  assert.match(fixFor(rs[0]!, host, "x"), /sudo sysctl -w user\.max_user_namespaces=15000/);
  const debian = restrictions({ ...host, unprivilegedUsernsClone: 0 }, probe({ userns: fails(EPERM) }));
  assert.deepEqual(debian, [{ kind: "userns_disabled", sysctl: "kernel.unprivileged_userns_clone" }]);
});

test("Landlock: ENOSYS (not built in) and EOPNOTSUPP (not enabled at boot) get different fixes; lsm= only for the second", () => {
  const absent = restrictions(host, probe({ landlock: fails(ENOSYS) }));
  assert.deepEqual(absent, [{ kind: "landlock", errno: ENOSYS }]);
  const a = fixFor(absent[0]!, host, "x");
  assert.match(a, /built without CONFIG_SECURITY_LANDLOCK/);
  assert.doesNotMatch(a, /lsm=/);
  const off = restrictions({ ...host, lsm: "lockdown,capability,yama,apparmor" }, probe({ landlock: fails(EOPNOTSUPP) }));
  const o = fixFor(off[0]!, { ...host, lsm: "lockdown,capability,yama,apparmor" }, "x");
  assert.match(o, /not enabled at boot \(EOPNOTSUPP\): add it to the kernel's boot parameters, lsm=landlock,lockdown,capability,yama,apparmor/);
});

test("gVisor is named alone (everything fails there for one reason)", () => {
  const rs = restrictions({ ...host, gvisor: true }, probe({ landlock: fails(ENOSYS), userns: fails(EPERM) }));
  assert.deepEqual(rs, [{ kind: "gvisor" }]);
});

test("in Kubernetes, the seccomp profile and the masked /proc are one fix: the pod settings", () => {
  const facts: EnvironmentFacts = { ...host, container: "kubernetes", seccompMode: 2, procMasks: ["/proc/kcore", "/proc/sys"] };
  const rs = restrictions(facts, probe({ clone3_namespaces: fails(ENOSYS), proc_mount: fails(EPERM) }));
  assert.deepEqual(rs.map((r) => r.kind), ["seccomp", "masked_proc"]);
  const line = fixLine(rs, facts, "x");
  assert.match(line, /`hostUsers: false`/);
  assert.match(line, /`procMount: Unmasked`/);
  assert.match(line, /`seccompProfile`/);
});

test("facts: mounts over /proc paths (binfmt_misc aside) and container markers", () => {
  const mi = [
    "22 1 0:5 / /proc rw,nosuid - proc proc rw",
    "30 22 0:25 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw",
    "31 22 0:6 /null /proc/kcore rw - devtmpfs udev rw",
    "32 22 0:5 /sys /proc/sys ro - proc proc rw",
  ].join("\n");
  assert.deepEqual(procMasksOf(mi), ["/proc/kcore", "/proc/sys"]);
  const none = { dockerenv: false, containerenv: false, cgroup: "0::/user.slice" };
  assert.equal(containerOf({}, none), null);
  assert.equal(containerOf({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }, none), "kubernetes");
  assert.equal(containerOf({}, { ...none, cgroup: "0::/kubepods.slice/kubepods-pod1.slice" }), "kubernetes");
  assert.equal(containerOf({}, { ...none, containerenv: true }), "podman");
  assert.equal(containerOf({}, { ...none, dockerenv: true }), "docker");
});

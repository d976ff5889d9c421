#!/usr/bin/env node
// Boots the cgroup v2 test VM and runs one command in it (docs/design.md, "The test VM").
//
//   node scripts/vm/run.mjs                       runs `node /repo/scripts/run-tests.mjs --vm`
//   node scripts/vm/run.mjs -- CMD ARG...          runs CMD ARG... (as root, cwd = the repository)
//   environment: MCPJ_VM_TIMEOUT, MCPJ_VM_QEMU (the qemu binary), MCPJ_VM_CACHE, MCPJ_VM_KERNEL,
//            MCPJ_VM_KERNEL_PKG (see setup.sh), MCPJ_TEST_TIME_SCALE (passed to the guest; default 8)
//   options: --kernel 6.1|6.12 (default 6.1, or $MCPJ_VM_KERNEL), --timeout SECONDS (default 900, or
//            $MCPJ_VM_TIMEOUT), --mem MiB (1024), --smp N (2), --append "EXTRA KERNEL ARGS",
//            --no-setup (do not run setup.sh; use the newest cached kernel of the series)
//
// In the guest, `/.mcpj/as-user CMD ARG...` runs a command as the unprivileged user mcpjvm (uid
// 2345) in a cgroup delegated to it the way systemd delegates user@UID.service (its own subtree,
// chowned, with memory, pids and cpu enabled), so unprivileged runs take the "delegated" cgroup route.
//
// What it does:
//   1. scripts/vm/setup.sh: host packages (installed when missing and we are root) and the Debian
//      kernel (apt-get download + dpkg-deb -x into a cache, never installed on the host).
//   2. an initramfs (newc cpio, uncompressed: faster to unpack under emulation than to inflate) with
//      the static busybox, the 9p and virtio modules in dependency order (from modinfo), an /init
//      script and the command.
//   3. qemu-system-x86_64 with TCG (the KVM module on these machines cannot run a stock kernel), the
//      host's /usr, /etc and the repository shared read-only over 9p. In the guest: proc, sys, dev,
//      tmpfs on /tmp /run /root, usrmerge links, cgroup2 on /sys/fs/cgroup with +memory +pids +cpu
//      enabled for children, then the command with its output on the serial console (= our stdout).
//   4. After the command, any cgroup left under /sys/fs/cgroup fails the run (teardown must leave
//      nothing). The guest prints `MCPJ_VM_EXIT=<code>` and powers off; that code is our exit code. No sentinel
//      (kernel panic, qemu died) → exit 1; timeout → qemu is SIGKILLed (by its pid) and we exit 124.
//      qemu that cannot start → exit 2 with the reason. Nothing here ever "skips".
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, readdirSync, statSync, existsSync, rmSync, chmodSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = realpathSync(join(here, "..", ".."));
const t0 = Date.now();
const secs = (t = Date.now()) => ((t - t0) / 1000).toFixed(1);
const log = (msg) => process.stderr.write(`vm: [${secs()}s] ${msg}\n`);
function fail(code, msg) {
  process.stderr.write(`vm: ERROR: ${msg}\n`);
  process.exit(code);
}

// ---- arguments ------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
let timeoutSec = Number(process.env.MCPJ_VM_TIMEOUT ?? 900);
let memMiB = 1024;
let smp = 2;
let extraAppend = "";
let runSetup = true;
let kernel = process.env.MCPJ_VM_KERNEL ?? "6.1";
let command = ["node", "/repo/scripts/run-tests.mjs", "--vm"];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--") { command = argv.slice(i + 1); break; }
  else if (a === "--timeout") timeoutSec = Number(argv[++i]);
  else if (a === "--mem") memMiB = Number(argv[++i]);
  else if (a === "--smp") smp = Number(argv[++i]);
  else if (a === "--append") extraAppend = argv[++i] ?? "";
  else if (a === "--no-setup") runSetup = false;
  else if (a === "--kernel") kernel = argv[++i] ?? "";
  else fail(2, `unknown argument ${a} (see the header of scripts/vm/run.mjs)`);
}
if (command.length === 0) fail(2, "empty command after --");
if (!(timeoutSec > 0)) fail(2, "bad --timeout");

// ---- 1. host tools and kernel ---------------------------------------------------------------------
let kernelDir;
if (runSetup) {
  const r = spawnSync("bash", [join(here, "setup.sh"), kernel], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.error) fail(2, `cannot run scripts/vm/setup.sh: ${r.error.message}; the VM cannot start`);
  if (r.status !== 0) fail(2, `scripts/vm/setup.sh failed (exit ${r.status ?? r.signal}); the VM cannot start`);
  const m = /MCPJ_VM_KERNEL_DIR=(.*)$/m.exec(r.stdout);
  if (!m) fail(2, "setup.sh did not report a kernel directory");
  kernelDir = m[1].trim();
} else {
  const cache = process.env.MCPJ_VM_CACHE ?? (existsSync(`/var/cache/mcp-j-vm/latest-${kernel}`) ? "/var/cache/mcp-j-vm" : join(repo, ".cache", "vm"));
  kernelDir = process.env.MCPJ_VM_KERNEL_PKG ? join(cache, process.env.MCPJ_VM_KERNEL_PKG) : join(cache, `latest-${kernel}`);
  if (!existsSync(join(kernelDir, "boot"))) fail(2, `no cached kernel in ${kernelDir}: run without --no-setup once`);
}
const vmlinuz = readdirSync(join(kernelDir, "boot")).find((f) => f.startsWith("vmlinuz-"));
if (!vmlinuz) fail(2, `no vmlinuz in ${kernelDir}/boot`);
const kver = vmlinuz.slice("vmlinuz-".length);
const modDir = join(kernelDir, "lib", "modules", kver);
const pkgName = existsSync(join(kernelDir, "PACKAGE")) ? readFileSync(join(kernelDir, "PACKAGE"), "utf8").trim() : basename(kernelDir);
log(`kernel ${kver} (${pkgName})`);

// ---- 2. initramfs -------------------------------------------------------------------------------
/** name → path of every .ko in the unpacked tree (names normalised: '-' → '_'). */
function indexModules(dir, out = new Map()) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) indexModules(p, out);
    else if (/\.ko(\.xz|\.zst|\.gz)?$/.test(name)) out.set(name.replace(/\.ko(\.xz|\.zst|\.gz)?$/, "").replace(/-/g, "_"), p);
  }
  return out;
}
const modinfo = existsSync("/sbin/modinfo") ? "/sbin/modinfo" : "modinfo";
const modIndex = indexModules(join(modDir, "kernel"));
const builtin = new Set(
  (existsSync(join(modDir, "modules.builtin")) ? readFileSync(join(modDir, "modules.builtin"), "utf8") : "")
    .split("\n").filter(Boolean).map((l) => basename(l).replace(/\.ko$/, "").replace(/-/g, "_")),
);
/** Modules to insmod, dependencies first. */
function loadOrder(roots) {
  const order = [];
  const state = new Map(); // name → "visiting" | "done"
  const visit = (name) => {
    name = name.replace(/-/g, "_");
    if (state.get(name) === "done" || builtin.has(name)) return;
    if (state.get(name) === "visiting") throw new Error(`module dependency cycle at ${name}`);
    const file = modIndex.get(name);
    if (!file) throw new Error(`module ${name} is neither in ${modDir}/kernel nor built in`);
    state.set(name, "visiting");
    const r = spawnSync(modinfo, ["-F", "depends", file], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`modinfo ${file} failed: ${r.stderr}`);
    for (const dep of r.stdout.trim().split(",").filter(Boolean)) visit(dep);
    state.set(name, "done");
    order.push({ name, file });
  };
  for (const r of roots) visit(r);
  return order;
}
let modules;
try {
  // virtio_pci: the transport of the virtio-9p-pci device; 9pnet_virtio + 9p: the file system
  // (they pull in virtio, virtio_ring, 9pnet, netfs, fscache).
  modules = loadOrder(["virtio_pci", "9pnet_virtio", "9p"]);
} catch (e) {
  fail(2, `cannot work out the 9p modules: ${e.message}`);
}

const work = mkdtempSync(join(tmpdir(), "mcpj-vm-"));
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on("exit", cleanup);
const root = join(work, "root");
for (const d of ["proc", "sys", "dev", "tmp", "run", "root", "usr", "etc", "repo-mnt", ".mcpj/bin", ".mcpj/modules", "mnt"]) mkdirSync(join(root, d), { recursive: true });
copyFileSync("/bin/busybox", join(root, ".mcpj", "busybox"));
chmodSync(join(root, ".mcpj", "busybox"), 0o755);
// busybox insmod loads plain .ko files only: compressed modules (Debian's 6.12 ships .ko.xz) are
// decompressed into the initramfs.
const decompressors = { ".xz": ["xz", "-dc"], ".zst": ["zstd", "-dc"], ".gz": ["gzip", "-dc"] };
const insmods = modules.map((m, i) => {
  const target = `${String(i).padStart(2, "0")}-${m.name}.ko`;
  const dest = join(root, ".mcpj", "modules", target);
  const ext = /\.ko(\.\w+)$/.exec(m.file)?.[1];
  if (ext === undefined) copyFileSync(m.file, dest);
  else {
    const tool = decompressors[ext];
    if (!tool) fail(2, `${m.file}: unknown module compression ${ext}`);
    const r = spawnSync(tool[0], [...tool.slice(1), m.file], { maxBuffer: 64 << 20 });
    if (r.error || r.status !== 0) fail(2, `cannot decompress ${m.file} with ${tool[0]}: ${r.error?.message ?? r.stderr}`);
    writeFileSync(dest, r.stdout);
  }
  return `insmod /.mcpj/modules/${target} || fatal "insmod ${m.name}"`;
});
const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
// Waits in tests are scaled by this factor (packages/*/test/helpers: bound()): software emulation
// runs Node several times slower than the host.
const guestEnv = { MCPJ_VM: "1", CI: process.env.CI ?? "", MCPJ_TEST_TIME_SCALE: process.env.MCPJ_TEST_TIME_SCALE ?? "8" };
// Test programs compiled on the host (ci.sh copies them there): compileC uses them by content hash.
const prebuilt = join(repo, "packages", "engine", "build", "test-programs");
if (existsSync(prebuilt)) guestEnv.MCPJ_TEST_PROGRAMS_PREBUILT = prebuilt;
// The unprivileged guest user and the cgroup delegated to it (as systemd's user@UID.service).
const guestUser = { name: "mcpjvm", uid: 2345, home: "/home/mcpjvm" };
const userService = `/sys/fs/cgroup/user.slice/user-${guestUser.uid}.slice/user@${guestUser.uid}.service`;
writeFileSync(join(root, ".mcpj", "as-user"), `#!/.mcpj/busybox sh
# Runs "$@" as ${guestUser.name} (uid ${guestUser.uid}) in a new scope of its delegated cgroup.
scope=${userService}/app.slice/run-$$.scope
mkdir "$scope" && chown -R ${guestUser.uid}:${guestUser.uid} "$scope" && echo $$ > "$scope/cgroup.procs" || { echo "as-user: cannot enter $scope"; exit 125; }
cd ${shq(repo)}
exec /usr/bin/setpriv --reuid=${guestUser.uid} --regid=${guestUser.uid} --init-groups env HOME=${guestUser.home} USER=${guestUser.name} LOGNAME=${guestUser.name} "$@"
`, { mode: 0o755 });
writeFileSync(join(root, ".mcpj", "cmd"), command.map(shq).join(" ") + "\n");
// The repository is mounted at its host path (absolute paths in source maps, symlinks and test
// fixtures stay valid) and /repo links to it.
const init = `#!/.mcpj/busybox sh
# MCP-J cgroup v2 test VM init (generated by scripts/vm/run.mjs)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/.mcpj/bin
/.mcpj/busybox --install -s /.mcpj/bin
# The initramfs root (rootfs) cannot be pivot_root'ed away from, and mcp-j's jail pivots: move
# everything onto a tmpfs and switch_root there first, as a real system's root would be.
if [ -z "$MCPJ_SWITCHED" ]; then
  mount -t tmpfs -o mode=755 newroot /mnt || { echo "MCPJ_VM_FATAL: tmpfs root"; echo "MCPJ_VM_EXIT=125"; poweroff -f; }
  for e in /* /.mcpj; do [ "$e" = /mnt ] || cp -a "$e" /mnt/; done
  mkdir -p /mnt/mnt
  export MCPJ_SWITCHED=1
  exec switch_root /mnt /init
fi
fatal() { echo "MCPJ_VM_FATAL: $*"; echo "MCPJ_VM_EXIT=125"; poweroff -f; sleep 5; exit 1; }
mount -t proc proc /proc || fatal "mount proc"
mount -t sysfs sysfs /sys || fatal "mount sysfs"
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t devtmpfs devtmpfs /dev || fatal "mount devtmpfs"
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=1777 tmp /tmp || fatal "mount /tmp"
mount -t tmpfs -o mode=755 run /run
mount -t tmpfs -o mode=700 roothome /root
echo "MCPJ_VM_INIT uptime=$(cut -d' ' -f1 /proc/uptime)"
${insmods.join("\n")}
m9p() { mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose "$1" "$2" || fatal "mount 9p $1 on $2"; }
m9p usr /usr
m9p etc /etc
# usrmerge: /bin /sbin /lib /lib64 are links into /usr, as on the host
for d in bin sbin lib lib64; do [ -e /usr/$d ] && ln -s usr/$d /$d; done
mkdir -p ${shq(repo)} && m9p repo ${shq(repo)}
ln -s ${shq(repo)} /repo
mount -t cgroup2 cgroup2 /sys/fs/cgroup || fatal "mount cgroup2"
echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control || fatal "enable cgroup controllers"
# The unprivileged user: passwd/group entries over the host's (read-only) /etc, a home, and a
# cgroup subtree delegated the way systemd delegates user@UID.service: the service's directory and
# its cgroup.procs, cgroup.threads and cgroup.subtree_control are the user's, memory pids cpu are
# enabled down to app.slice, where the user's scopes live.
mkdir -p /run/mcpj-etc
{ cat /etc/passwd; echo "${guestUser.name}:x:${guestUser.uid}:${guestUser.uid}::${guestUser.home}:/bin/sh"; } > /run/mcpj-etc/passwd
{ cat /etc/group; echo "${guestUser.name}:x:${guestUser.uid}:"; } > /run/mcpj-etc/group
mount --bind /run/mcpj-etc/passwd /etc/passwd && mount --bind /run/mcpj-etc/group /etc/group || fatal "guest user"
mkdir -p /home && mount -t tmpfs -o mode=755 home /home && mkdir -p ${guestUser.home} && chown ${guestUser.uid}:${guestUser.uid} ${guestUser.home} || fatal "guest home"
us=${userService}
mkdir -p "$us/app.slice" || fatal "user cgroup"
for d in /sys/fs/cgroup/user.slice /sys/fs/cgroup/user.slice/user-${guestUser.uid}.slice "$us" "$us/app.slice"; do
  echo "+memory +pids +cpu" > "$d/cgroup.subtree_control" || fatal "enable controllers in $d"
done
chown ${guestUser.uid}:${guestUser.uid} "$us" "$us/cgroup.procs" "$us/cgroup.threads" "$us/cgroup.subtree_control" || fatal "delegate $us"
chown -R ${guestUser.uid}:${guestUser.uid} "$us/app.slice" || fatal "delegate $us/app.slice"
echo "MCPJ_VM_READY uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r) controllers=[$(cat /sys/fs/cgroup/cgroup.controllers)] subtree=[$(cat /sys/fs/cgroup/cgroup.subtree_control)]"
ip link set lo up 2>/dev/null
hostname mcpj-vm
export HOME=/root TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb ${Object.entries(guestEnv).map(([k, v]) => `${k}=${shq(v)}`).join(" ")}
cd ${shq(repo)}
# Through a pipe: the command's stdout is not a terminal (node --test then prints TAP, as on the
# host, with no colour codes); stderr joins it on the serial console.
set -o pipefail
sh /.mcpj/cmd < /dev/null 2>&1 | cat
rc=$?
# Teardown must leave nothing in /sys/fs/cgroup: the harness removes what it made (each rmdir
# fails while something of a jail is still inside), then any cgroup left fails the run.
for d in "$us"/app.slice/*.scope; do [ -d "$d" ] && rmdir "$d"; done
rmdir "$us/app.slice" "$us" /sys/fs/cgroup/user.slice/user-${guestUser.uid}.slice /sys/fs/cgroup/user.slice 2>/dev/null
left=$(find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')
if [ -n "$left" ]; then echo "MCPJ_VM_LEFTOVER_CGROUPS: $left"; [ "$rc" = 0 ] && rc=1; fi
echo "MCPJ_VM_EXIT=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
sleep 10
`;
writeFileSync(join(root, "init"), init, { mode: 0o755 });
const initrd = join(work, "initrd.cpio");
{
  const files = spawnSync("find", [".", "-mindepth", "1"], { cwd: root, encoding: "utf8" }).stdout;
  const r = spawnSync("sh", ["-c", `cpio -o -H newc --quiet -R 0:0 > ${shq(initrd)}`], { cwd: root, input: files, stdio: ["pipe", "inherit", "inherit"] });
  if (r.status !== 0) fail(2, "cpio failed building the initramfs");
}
log(`initramfs: busybox + ${modules.map((m) => m.name).join(" ")}`);

// ---- 3. boot ------------------------------------------------------------------------------------
const qemuArgs = [
  "-accel", "tcg,thread=multi", "-cpu", "max", "-m", String(memMiB), "-smp", String(smp),
  "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
  "-kernel", join(kernelDir, "boot", vmlinuz), "-initrd", initrd,
  "-append", `console=ttyS0 panic=-1 quiet ${extraAppend}`.trim(),
  "-virtfs", "local,path=/usr,mount_tag=usr,security_model=none,readonly=on",
  "-virtfs", "local,path=/etc,mount_tag=etc,security_model=none,readonly=on",
  "-virtfs", `local,path=${repo},mount_tag=repo,security_model=none,readonly=on`,
];
const qemuBin = process.env.MCPJ_VM_QEMU || "qemu-system-x86_64";
log(`${qemuBin} (timeout ${timeoutSec}s): ${command.join(" ")}`);
const tBoot = Date.now();
let qemu;
try {
  qemu = spawn(qemuBin, qemuArgs, { stdio: ["ignore", "pipe", "pipe"] });
} catch (e) {
  fail(2, `cannot start qemu-system-x86_64: ${e.message}`);
}
let exitCode = null;
let tInit = null, tReady = null, tExit = null;
let qemuStderr = "";
let timedOut = false;
let buf = "";
let sawOutput = false;
qemu.on("error", (e) => { clearTimeout(timer); fail(2, `cannot start ${qemuBin}: ${e.message}`); });
qemu.stderr.on("data", (d) => { qemuStderr += d; process.stderr.write(d); });
qemu.stdout.on("data", (d) => {
  sawOutput = true;
  buf += d.toString("latin1"); // bytes pass through unchanged; lines are split on \n only
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i).replace(/\r$/, "");
    buf = buf.slice(i + 1);
    onLine(line);
  }
});
let killTimer = null;
function onLine(line) {
  if (line.startsWith("MCPJ_VM_INIT")) tInit = Date.now();
  if (line.startsWith("MCPJ_VM_READY")) tReady = Date.now();
  const m = /^MCPJ_VM_EXIT=(\d+)/.exec(line);
  if (m && exitCode === null) {
    exitCode = Number(m[1]);
    tExit = Date.now();
    // The guest powers off right after; if it does not, do not wait for the big timeout.
    killTimer = setTimeout(() => { log("guest did not power off; killing qemu"); qemu.kill("SIGKILL"); }, 15000);
  }
  process.stdout.write(Buffer.from(line + "\n", "latin1"));
}
const timer = setTimeout(() => {
  timedOut = true;
  log(`timeout after ${timeoutSec}s: killing qemu (pid ${qemu.pid})`);
  try { process.kill(qemu.pid, "SIGKILL"); } catch { /* already gone */ }
}, timeoutSec * 1000);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => { try { process.kill(qemu.pid, "SIGKILL"); } catch { /* gone */ } process.exit(130); });
}
qemu.on("close", (code, signal) => {
  clearTimeout(timer);
  if (killTimer) clearTimeout(killTimer);
  if (buf) onLine(buf);
  const tEnd = Date.now();
  const span = (a, b) => (a && b ? ((b - a) / 1000).toFixed(1) + "s" : "?");
  log(`times: boot→init ${span(tBoot, tInit)}, boot→ready ${span(tBoot, tReady)}, command ${span(tReady, tExit)}, poweroff ${span(tExit, tEnd)}, qemu total ${span(tBoot, tEnd)}, wall ${secs(tEnd)}s`);
  if (timedOut) fail(124, `the VM run timed out after ${timeoutSec}s`);
  if (exitCode === null) {
    if (!sawOutput) fail(2, `qemu exited (${signal ?? code}) before the guest printed anything: the VM could not start${qemuStderr ? "" : " (no message from qemu)"}`);
    fail(1, `the VM stopped (qemu ${signal ?? "exit " + code}) without reporting the command's exit code (kernel panic or crash?)`);
  }
  if (exitCode === 125) fail(125, "the VM's init failed (see MCPJ_VM_FATAL above)");
  log(`command exited ${exitCode}`);
  process.exit(exitCode);
});

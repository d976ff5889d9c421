#!/usr/bin/env bash
# The test VM's CI suite (scripts/vm/ci.sh boots one VM per kernel and runs this in it):
#   root:          the smoke set (smoke.vm.test.js), then the escape tests (escapes-*.jail.test.js)
#   unprivileged:  the same, as the guest user mcpjvm in its delegated cgroup (/.mcpj/as-user)
# With --cgroup, root first runs every *.vm.test.js (the engine's cgroup v2 tests too).
# Run with /usr/bin/bash (not the initramfs busybox sh, which prefers its own applets to the
# host tools). The two users' runs go in parallel (the VM has 2 vCPUs); every line is prefixed with its run.
# Each run ends with a line "vm-suite: KERNEL USER SET: N passed, M failed (S s)"; the exit code is
# 0 only if every run passed.
vm_set=smoke
[ "${1:-}" = --cgroup ] && vm_set=
kernel=$(uname -r)
out=/tmp/vm-suite
mkdir -p $out

# run NAME CMD...: runs CMD with its output prefixed by [NAME], records pass/fail counts.
run() {
  name=$1; shift
  t0=$(cut -d. -f1 /proc/uptime)
  { "$@" 2>&1; echo "rc=$?" > "$out/$name.rc"; } | tee "$out/$name.log" | sed -u "s/^/[$name] /"
  t1=$(cut -d. -f1 /proc/uptime)
  pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out/$name.log" | tail -n 1)
  fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out/$name.log" | tail -n 1)
  cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$out/$name.log" | tail -n 1)
  # A cancelled test (a file that timed out) counts as failed.
  echo "vm-suite: $kernel $name: ${pass:-0} passed, $(( ${fail:-0} + ${cancelled:-0} )) failed ($((t1 - t0)) s) $(cat "$out/$name.rc")" >> "$out/summary"
}
root() {
  run root-vm node scripts/run-tests.mjs --vm $vm_set
  run root-escapes node scripts/run-tests.mjs escapes
}
user() {
  run user-smoke /.mcpj/as-user node scripts/run-tests.mjs --vm smoke
  run user-escapes /.mcpj/as-user node scripts/run-tests.mjs escapes
}
root &
rootpid=$!
user
wait $rootpid

echo
cat "$out/summary"
status=0
for f in "$out"/*.rc; do
  [ "$(cat "$f")" = rc=0 ] || status=1
done
exit $status

#!/usr/bin/env bash
# The cgroup v2 tests for CI (`.ci/run` calls this): host packages, the Debian kernel, then every
# *.vm.test.js in one VM boot. Exits non-zero on any test failure, and when the VM cannot start
# (no qemu, no kernel, qemu error, timeout): in CI this fails, it never skips.
#   bash scripts/vm/ci.sh                 # as in CI
#   bash scripts/vm/ci.sh -- CMD ARG...   # another command in the VM (see run.mjs)
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/vm/setup.sh >/dev/null

# The tests run from dist/: build when the tree has not been built yet (tsc still emits when files
# outside this harness have type errors, so its exit code is not the judge; the files are).
if ! ls packages/*/dist/test/*.vm.test.js >/dev/null 2>&1; then
  echo "vm-ci: no compiled *.vm.test.js: building with tsc -b" >&2
  npx tsc -b || true
  ls packages/*/dist/test/*.vm.test.js >/dev/null 2>&1 || { echo "vm-ci: ERROR: still no *.vm.test.js after tsc -b" >&2; exit 1; }
fi

status=0
node scripts/vm/run.mjs --timeout "${MCPJ_VM_TIMEOUT:-900}" "$@" || status=$?
if [ $status -ne 0 ]; then
  echo "vm-ci: FAILED (exit $status)" >&2
fi
exit $status

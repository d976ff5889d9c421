#!/usr/bin/env bash
# Builds mcpj-jail with AddressSanitizer and UndefinedBehaviorSanitizer and runs the jail test files
# against it (MCPJ_HELPER points mcp-j at this build). A sanitizer report makes the helper exit 86
# (ASan) or 87 (UBSan), which fails the tests that ran it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=packages/engine/build/sanitize
mkdir -p "$out"
cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -o "$out/mcpj-jail" packages/engine/native/jail/*.c packages/engine/native/sanitize/defaults.c -lpthread
echo "sanitize: built $out/mcpj-jail"
MCPJ_HELPER="$(pwd)/$out/mcpj-jail" node scripts/run-tests.mjs --jail-only "$@"

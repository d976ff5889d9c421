// The C program the open benchmarks run inside the jail: N open+close of one file, printing the
// nanoseconds per pair. Built once per directory with the system compiler.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function openLoop(dir) {
  const loop = join(dir, "openloop");
  if (existsSync(loop)) return loop;
  writeFileSync(
    `${loop}.c`,
    `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = atol(argv[2]);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) { int fd = open(argv[1], O_RDONLY | O_CLOEXEC); if (fd < 0) return 1; close(fd); }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
  return 0;
}
`,
  );
  execFileSync("cc", ["-O2", "-o", loop, `${loop}.c`]);
  chmodSync(loop, 0o755);
  return loop;
}

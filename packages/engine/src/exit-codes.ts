// mcp-j's own exit codes: the one table (README "Exit codes"). Otherwise mcp-j leaves with the
// server's exit code, or 128+N when the server died of signal N. The set-up codes are the C
// helper's too (native/jail/report.h; test/codec.test.ts checks that they agree), like env(1) and
// chroot(1). JSON-RPC error codes are the proxy's (packages/proxy), not process exit codes.
export const EXIT = {
  ok: 0,
  /** A subcommand failed for a reason other than its input (an unreadable audit file...). */
  failure: 1,
  /** A bad command line or policy: the message names the flag, or the file and field. */
  usage: 2,
  /** The jail was killed for running out of memory at its limit. */
  oom: 122,
  /** The jail could not be set up (the message names the step and the fix). */
  setup: 125,
  /** The command exists in the jail but cannot be executed. */
  notExecutable: 126,
  /** The command is not visible inside the jail. */
  notFound: 127,
} as const;

// Errors of the jail layer: a message for people (with the fix when there is one), a code for
// programs, and the exit code mcp-j leaves with (125 set-up, 126 not executable, 127 not found,
// like env(1) and chroot(1)).

export type JailErrorCode =
  | "E_GRANT_MISSING" // a --ro/--rw path that does not exist
  | "E_GRANT_INVALID" // a grant or cwd that cannot be placed in the jail
  | "E_NOT_FOUND" // the command is not visible inside the jail
  | "E_NOT_EXECUTABLE"
  | "E_SETUP" // mcpj-jail reported a failing step
  | "E_HELPER_MISSING" // mcpj-jail was not built
  | "E_KERNEL" // a mandatory kernel feature is missing
  | "E_DENY_SCAN"; // a grant too large to look through for the deny rules' matches

export const EXIT = { setup: 125, notExecutable: 126, notFound: 127 } as const;

export class JailError extends Error {
  readonly code: JailErrorCode;
  readonly exitCode: number;
  constructor(code: JailErrorCode, message: string, exitCode: number = EXIT.setup) {
    super(message);
    this.name = "JailError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

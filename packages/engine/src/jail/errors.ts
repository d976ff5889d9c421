// Errors of the jail layer: a message for people (with the fix when there is one), a code for
// programs, and the exit code mcp-j leaves with (EXIT.setup, EXIT.notExecutable, EXIT.notFound).
import { EXIT } from "../exit-codes.js";

export type JailErrorCode =
  | "E_GRANT_MISSING" // a --ro/--rw path that does not exist
  | "E_GRANT_INVALID" // a grant or cwd that cannot be placed in the jail
  | "E_NOT_FOUND" // the command is not visible inside the jail
  | "E_NOT_EXECUTABLE"
  | "E_SETUP" // mcpj-jail reported a failing step
  | "E_HELPER_MISSING" // mcpj-jail was not built
  | "E_KERNEL" // a mandatory kernel feature is missing
  | "E_DENY_SCAN"; // a grant too large to look through for the deny rules' matches

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

// Opening the audit log's file, at start and after each rotation: the one place that decides which
// file mcp-j appends to. The path may be in a directory a jailed server can write (the CLI refuses
// that at start; this is the second layer), so nothing found at the path is trusted:
// - O_NOFOLLOW: a symbolic link at the path is refused (ELOOP), never followed to a file it names;
// - O_NONBLOCK: a FIFO at the path opens at once (O_RDWR never waits for a reader) and is then
//   refused, so it can never hold mcp-j in open(2); O_NOCTTY: a terminal never becomes mcp-j's;
// - fstat of the descriptor itself (not of the name, which may change in between): only a regular
//   file of mcp-j's effective user with one name is written, anything else is closed and refused.
// O_RDWR rather than O_WRONLY: the torn-line check below reads the last byte through the same
// descriptor, never by opening the name a second time.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, writeSync } from "node:fs";
import { EXIT } from "../exit-codes.js";

/** Linux's O_CLOEXEC (fs.constants does not export it; libuv adds it to every open too). */
const O_CLOEXEC = 0o2000000;
const FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY | O_CLOEXEC;

export type AuditLogErrorCode =
  | "E_AUDIT_LOG_SYMLINK" // a symbolic link at the path (dangling or not)
  | "E_AUDIT_LOG_NOT_FILE" // a directory, FIFO, socket or device at the path
  | "E_AUDIT_LOG_OWNER" // a file of another user
  | "E_AUDIT_LOG_LINKED" // a file with more than one name (hard links)
  | "E_AUDIT_LOG_OPEN"; // open(2) failed otherwise (no such directory, no permission...)

/** The audit log refused: a message for people that says the fix, a code for programs. */
export class AuditLogError extends Error {
  readonly code: AuditLogErrorCode;
  /** The path is the user's choice: they fix it on the command line or in the policy. */
  readonly exitCode = EXIT.usage;
  constructor(code: AuditLogErrorCode, message: string) {
    super(message);
    this.name = "AuditLogError";
    this.code = code;
  }
}

const REGULAR = "give the path of a regular file";

function kind(mode: number): string {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return "a directory";
    case constants.S_IFIFO:
      return "a FIFO";
    case constants.S_IFSOCK:
      return "a socket";
    case constants.S_IFCHR:
    case constants.S_IFBLK:
      return "a device";
    default:
      return "not a regular file";
  }
}

/** open(2)'s failure, as a refusal that says what is at the path. */
function refusal(path: string, e: NodeJS.ErrnoException): AuditLogError {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    st = undefined; // a directory on the way that cannot be searched: open's error says it
  }
  if (st?.isSymbolicLink() === true) return new AuditLogError("E_AUDIT_LOG_SYMLINK", `the audit log ${path} is a symbolic link (never followed): ${REGULAR}`);
  if (st !== undefined && !st.isFile()) return new AuditLogError("E_AUDIT_LOG_NOT_FILE", `the audit log ${path} is ${kind(st.mode)}: ${REGULAR}`);
  const why = e.code === "ENOENT" ? "its directory does not exist" : (e.message.split(",")[0] ?? String(e.code));
  return new AuditLogError("E_AUDIT_LOG_OPEN", `cannot open the audit log ${path} (${why}): give a path in a directory mcp-j's user can write`);
}

function endsWithNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, size - 1);
  return b[0] === 0x0a;
}

/** The audit log's file, open for appending, and its size; or an AuditLogError. */
export function openLogFile(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, FLAGS, 0o600);
  } catch (e) {
    throw refusal(path, e as NodeJS.ErrnoException);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new AuditLogError("E_AUDIT_LOG_NOT_FILE", `the audit log ${path} is ${kind(st.mode)}: ${REGULAR}`);
    const euid = process.geteuid?.() ?? st.uid;
    if (st.uid !== euid) throw new AuditLogError("E_AUDIT_LOG_OWNER", `the audit log ${path} belongs to uid ${st.uid}, not to mcp-j's user (uid ${euid}): give the path of a file of your own`);
    if (st.nlink !== 1) throw new AuditLogError("E_AUDIT_LOG_LINKED", `the audit log ${path} has ${st.nlink} names (hard links): give the path of a file with one name`);
    let size = st.size;
    // A SIGKILL can cut a write(2) to a regular file between two pages (the kernel checks for
    // fatal signals per page): a writer killed mid-line leaves a torn last line. Terminate it
    // before appending, so every line this writer adds is whole and readers skip the one bad line.
    if (size > 0 && !endsWithNewline(fd, size)) size += writeSync(fd, "\n");
    return { fd, size };
  } catch (e) {
    closeSync(fd);
    if (e instanceof AuditLogError) throw e;
    throw new AuditLogError("E_AUDIT_LOG_OPEN", `cannot read the audit log ${path} (${(e as Error).message}): give the path of a regular file mcp-j's user can read and write`);
  }
}

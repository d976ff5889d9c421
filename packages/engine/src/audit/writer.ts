// The audit log writer. Guarantees:
// - append only: the file is opened O_WRONLY|O_APPEND|O_CREAT (mode 0600), so concurrent writers and
//   a truncating rotation never interleave inside a line;
// - whole lines: each event is serialized (JSON.stringify escapes newlines) and written with ONE
//   write(2) of the complete line, synchronously, so a SIGKILLed mcp-j leaves only whole lines behind;
// - rotation, bounded: when the next line would take the file past rotateBytes, FILE.(k) moves to
//   FILE.(k+1) up to keepFiles, the oldest is deleted, FILE becomes FILE.1 and a new FILE starts
//   with an "audit.rotated" line saying where the rest went and what was deleted (so a reader
//   knows events were dropped, and which);
// - secrets: every string value in an event is scrubbed of each secret value before serialization
//   (replaced by "[REDACTED]"), so a secret never reaches the disk, whatever field carries it;
// - size: a string value longer than MAX_AUDIT_STRING is cut there (saying how much was cut).
import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync, constants } from "node:fs";
import { AUDIT_VERSION, AuditEventSchema, type AuditEventInput } from "./schema.js";

export interface AuditLogOptions {
  /** Rotate when the file would exceed this many bytes (renamed to FILE.1). */
  rotateBytes?: number;
  /** Rotated files kept (FILE.1 ... FILE.keepFiles); default 4. */
  keepFiles?: number;
  /** Values that must never be written (secrets' values). Empty strings are ignored. */
  secrets?: string[];
  /** Validate each event against the schema (default true); an invalid event is still written, tagged `_invalid`. */
  validate?: boolean;
}

export interface AuditLog {
  write(event: AuditEventInput): void;
  /** Adds values to redact from now on (e.g. secrets resolved after the log was opened). */
  addSecrets(values: string[]): void;
  close(): Promise<void>;
  readonly path: string;
}

export const REDACTED = "[REDACTED]";

export function redact(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === "string") {
    let s = value;
    for (const sec of secrets) if (s.includes(sec)) s = s.split(sec).join(REDACTED);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k, secrets) as string] = redact(v, secrets);
    return out;
  }
  return value;
}

/** The longest string value an event keeps (a path is at most 4,096 bytes): ids, names and
 * reasons come from the jailed server, and a 5 MB one in every line would rotate the log's earlier
 * events away 600 times sooner. */
export const MAX_AUDIT_STRING = 8192;

/** The event with each string value longer than MAX_AUDIT_STRING cut there, saying how much went. */
export function clip(value: unknown): unknown {
  if (typeof value === "string") return value.length <= MAX_AUDIT_STRING ? value : `${value.slice(0, MAX_AUDIT_STRING)}…[${value.length - MAX_AUDIT_STRING} characters cut]`;
  if (Array.isArray(value)) return value.map(clip);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clip(v);
    return out;
  }
  return value;
}

function endsWithNewline(path: string, size: number): boolean {
  const rfd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    readSync(rfd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(rfd);
  }
}

export function openAuditLog(path: string, opts: AuditLogOptions = {}): AuditLog {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT; // Node adds O_CLOEXEC itself
  let fd: number | undefined = openSync(path, flags, 0o600);
  let size = fstatSync(fd).size;
  // A SIGKILL can cut a write(2) to a regular file between two pages (the kernel checks for fatal
  // signals per page): a writer killed mid-line leaves a torn last line. Terminate it before
  // appending, so every line this writer adds is whole and readers can skip the one bad line.
  if (size > 0 && !endsWithNewline(path, size)) size += writeSync(fd, "\n");
  // longest first, so a secret that contains another is redacted whole
  let secrets = [...new Set((opts.secrets ?? []).filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  const validate = opts.validate ?? true;

  const keep = Math.max(1, opts.keepFiles ?? 4);
  const rotate = (): Record<string, unknown> => {
    closeSync(fd!);
    const oldest = `${path}.${keep}`;
    const deleted = existsSync(oldest) ? oldest : null;
    if (deleted !== null) rmSync(deleted, { force: true });
    for (let k = keep - 1; k >= 1; k--) if (existsSync(`${path}.${k}`)) renameSync(`${path}.${k}`, `${path}.${k + 1}`);
    renameSync(path, `${path}.1`);
    fd = openSync(path, flags, 0o600);
    size = fstatSync(fd).size;
    return { v: AUDIT_VERSION, ts: new Date().toISOString(), type: "audit.rotated", previous: `${path}.1`, deleted };
  };
  const put = (buf: Buffer): void => {
    // One write(2) for the whole line. A short write on a regular file only happens when the disk
    // is full or a file size limit is hit; finish the line then rather than leave half of it.
    let off = writeSync(fd!, buf, 0, buf.length);
    while (off < buf.length) off += writeSync(fd!, buf, off, buf.length - off);
    size += buf.length;
  };

  return {
    path,
    write(event) {
      if (fd === undefined) throw new Error("audit log is closed");
      const full: Record<string, unknown> = { v: AUDIT_VERSION, ts: new Date().toISOString(), ...event };
      const clean = clip(redact(full, secrets)) as Record<string, unknown>;
      if (validate) {
        const r = AuditEventSchema.safeParse(clean);
        if (!r.success) clean._invalid = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      }
      const buf = Buffer.from(JSON.stringify(clean) + "\n", "utf8");
      if (opts.rotateBytes !== undefined && size > 0 && size + buf.length > opts.rotateBytes) put(Buffer.from(JSON.stringify(rotate()) + "\n", "utf8"));
      put(buf);
    },
    addSecrets(values) {
      secrets = [...new Set([...secrets, ...values.filter((s) => s.length > 0)])].sort((a, b) => b.length - a.length);
    },
    async close() {
      if (fd !== undefined) {
        closeSync(fd);
        fd = undefined;
      }
    },
  };
}

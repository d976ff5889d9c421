// The audit log writer. Guarantees:
// - append only: the file is opened O_APPEND|O_CREAT (mode 0600), so concurrent writers and a
//   truncating rotation never interleave inside a line;
// - only a file of ours: a symbolic link, FIFO, directory or device at the path, or a file of
//   another user, is refused with an AuditLogError (open.ts), at start and after each rotation;
// - whole lines: each event is serialized (JSON.stringify escapes newlines) and written with ONE
//   write(2) of the complete line, synchronously, so a SIGKILLed mcp-j leaves only whole lines behind;
// - rotation, bounded: when the next line would take the file past rotateBytes, FILE.(k) moves to
//   FILE.(k+1) up to keepFiles, the oldest is deleted, FILE becomes FILE.1 and a new FILE starts
//   with an "audit.rotated" line saying where the rest went and what was deleted (so a reader
//   knows events were dropped, and which);
// - never throws once open: a rotation or a write that fails (a directory in the way, a full disk)
//   is said once through `log`, and the process goes on (its events go on in the current file, or
//   are counted as lost while the file cannot be written);
// - secrets: every string value in an event is scrubbed of each secret value before serialization
//   (replaced by "[REDACTED]"), so a secret never reaches the disk, whatever field carries it;
// - size: a string value longer than MAX_AUDIT_STRING is cut there (saying how much was cut).
import { closeSync, lstatSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { openLogFile } from "./open.js";
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
  /** One line for people when a rotation or a write fails (each said once; the log goes on). */
  log?: (line: string) => void;
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

const exists = (p: string): boolean => lstatSync(p, { throwIfNoEntry: false }) !== undefined;

/** Opens (creating it, mode 0600) the audit log at path; an AuditLogError when the path is refused. */
export function openAuditLog(path: string, opts: AuditLogOptions = {}): AuditLog {
  let { fd, size } = openLogFile(path);
  let open = true;
  // longest first, so a secret that contains another is redacted whole
  let secrets = [...new Set((opts.secrets ?? []).filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  const validate = opts.validate ?? true;
  const said = new Set<string>();
  const tell = (what: "rotate" | "write" | "lost", line: string): void => {
    if (said.has(what)) return;
    said.add(what);
    try {
      opts.log?.(line);
    } catch {
      /* a log callback that throws must not take the writer down */
    }
  };

  const keep = Math.max(1, opts.keepFiles ?? 4);
  // The next line rotates when it would take the file past this; after a failed rotation, it is
  // tried again once another rotateBytes were written (not on every line).
  let rotateAt = opts.rotateBytes;
  // Names only: unlink(2) and rename(2) act on a symbolic link at either name, never on the file
  // it names, and the new FILE is opened and checked as at start. The current file stays open
  // until the new one is: whatever step fails, lines go on in it (named FILE, or FILE.1 once
  // renamed), so a directory a jail put in the way costs the bound, never the process.
  const rotate = (): Buffer | null => {
    let deleted: string | null = null;
    let next: { fd: number; size: number };
    try {
      const oldest = `${path}.${keep}`;
      if (exists(oldest)) {
        unlinkSync(oldest);
        deleted = oldest;
      }
      for (let k = keep - 1; k >= 1; k--) if (exists(`${path}.${k}`)) renameSync(`${path}.${k}`, `${path}.${k + 1}`);
      if (exists(path)) renameSync(path, `${path}.1`);
      next = openLogFile(path);
    } catch (e) {
      rotateAt = size + opts.rotateBytes!;
      tell("rotate", `cannot rotate the audit log ${path}: ${(e as Error).message}; it goes on growing in the current file (move what is in the way)`);
      return null;
    }
    try {
      closeSync(fd);
    } catch {
      /* its lines were all written (or counted as lost): nothing more to keep */
    }
    ({ fd, size } = next);
    return Buffer.from(JSON.stringify({ v: AUDIT_VERSION, ts: new Date().toISOString(), type: "audit.rotated", previous: `${path}.1`, deleted }) + "\n", "utf8");
  };

  // One write(2) for the whole line. A short write on a regular file only happens when the disk
  // is full or a file size limit is hit; finish the line then rather than leave half of it. A
  // write that fails (ENOSPC, EIO, EFBIG) loses the event, said once and counted; a line it cut is
  // ended before the next one, so the lines after it are whole.
  let torn = false;
  let lost = 0;
  const put = (buf: Buffer): void => {
    const line = torn ? Buffer.concat([Buffer.from("\n"), buf]) : buf;
    let off = 0;
    try {
      while (off < line.length) {
        const n = writeSync(fd, line, off, line.length - off);
        if (n === 0) throw new Error("write(2) wrote nothing");
        off += n;
      }
    } catch (e) {
      lost++;
      tell("write", `cannot write the audit log ${path}: ${(e as Error).message}; its events are lost until it can be written again`);
    }
    size += off;
    if (off > 0) torn = line[off - 1] !== 0x0a;
  };

  return {
    path,
    write(event) {
      if (!open) throw new Error("audit log is closed");
      const full: Record<string, unknown> = { v: AUDIT_VERSION, ts: new Date().toISOString(), ...event };
      const clean = clip(redact(full, secrets)) as Record<string, unknown>;
      if (validate) {
        const r = AuditEventSchema.safeParse(clean);
        if (!r.success) clean._invalid = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      }
      const buf = Buffer.from(JSON.stringify(clean) + "\n", "utf8");
      if (rotateAt !== undefined && size > 0 && size + buf.length > rotateAt) {
        const note = rotate();
        if (note !== null) {
          rotateAt = opts.rotateBytes;
          put(note);
        }
      }
      put(buf);
    },
    addSecrets(values) {
      secrets = [...new Set([...secrets, ...values.filter((s) => s.length > 0)])].sort((a, b) => b.length - a.length);
    },
    async close() {
      if (!open) return;
      open = false;
      try {
        closeSync(fd);
      } catch {
        /* nothing more can be lost: every line was written or counted */
      }
      if (lost > 0) tell("lost", `${lost} audit events could not be written to ${path}`);
    },
  };
}

// mcp-j's own files on the host (the pin file, the learned policy): read and written so that
// nothing planted at their paths is followed. A link is never followed, a FIFO never blocks, only a
// regular file is read, and a file is written whole under a fresh, unguessable name created
// O_EXCL in the same directory, then renamed over the path (a reader sees the old file or the new
// one, never half of either). policy/host-files.ts keeps these paths out of the jail's writable
// grants; this is the layer below it, for whatever else could write there.
import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export class HostFileError extends Error {
  constructor(
    readonly code: "E_HOST_FILE",
    message: string,
  ) {
    super(message);
    this.name = "HostFileError";
  }
}

/** The text of a regular file, or null when there is none. Throws HostFileError for anything
 * else at the path (a link, a FIFO, a directory), for a file others can write, and when it cannot
 * be read. */
export function readOwnFile(path: string, what: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new HostFileError("E_HOST_FILE", `${what} ${path} is a symbolic link: give the path of the file itself`);
    throw new HostFileError("E_HOST_FILE", `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new HostFileError("E_HOST_FILE", `${what} ${path} is not a regular file: move it away`);
    if ((st.mode & 0o022) !== 0) throw new HostFileError("E_HOST_FILE", `${what} ${path} can be written by others (mode ${(st.mode & 0o777).toString(8)}): chmod go-w it`);
    const me = process.geteuid?.() ?? st.uid;
    if (st.uid !== me && st.uid !== 0) throw new HostFileError("E_HOST_FILE", `${what} ${path} belongs to user ${st.uid}, not to you: move it away`);
    return readFileSync(fd, "utf8");
  } catch (e) {
    if (e instanceof HostFileError) throw e;
    throw new HostFileError("E_HOST_FILE", `cannot read ${what} ${path}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` as the whole file at `path` (mode `mode`): a fresh temporary file beside it,
 * created O_EXCL and never through a link, synced, then renamed over the path. */
export function writeOwnFile(path: string, text: string, mode: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const data = Buffer.from(text);
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* closed above */
    }
    rmSync(tmp, { force: true });
    throw e;
  }
}

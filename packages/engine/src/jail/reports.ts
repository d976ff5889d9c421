// The helper's report lines ("TYPE key=value ...", values percent-encoded; see native/jail/report.c)
// parsed into typed values.

export type JailReport =
  | { type: "ready"; landlockAbi: number; procSubset: boolean; seccomp: boolean; downgrades: number }
  | { type: "downgrade"; downgrades: number }
  | { type: "memory"; used: number; limit: number }
  | { type: "error"; step: string; errno: number; detail: string }
  | { type: "exec_failed"; errno: number; path: string }
  | { type: "exit"; code: number | null; signal: number | null }
  /** `lossy`: a value was not UTF-8 and holds U+FFFD in its place (parseFields). */
  | { type: "event"; fields: Record<string, string>; lossy: boolean }
  /** A connect the supervisor redirected to the egress proxy: the socket's local end (what the
   * proxy sees as its peer) and the destination the jailed process asked for (sup_net.c). */
  | { type: "redirect"; src: string; sport: number; address: string; port: number; pid: number }
  | { type: "feature"; name: string; ok: boolean; errno: number; value: number }
  /** The answer to mcp-j's "sync N" (native/jail/ctl_in.h): every report made before it has been sent. */
  | { type: "synced"; n: number }
  | { type: "unknown"; line: string };

/**
 * A report's key=value fields, each value percent-decoded. The helper encodes a value byte by byte
 * (native/jail/report.c), and a path need not be UTF-8: such a value is decoded with U+FFFD for
 * what is not, and `lossy` says so (kept encoded, "a%FFb" would name the file "a%FFb", another one).
 */
export function parseFields(rest: string[]): { fields: Record<string, string>; lossy: boolean } {
  const fields: Record<string, string> = {};
  let lossy = false;
  for (const kv of rest) {
    const i = kv.indexOf("=");
    if (i <= 0) continue;
    const raw = kv.slice(i + 1);
    let v: string;
    try {
      v = decodeURIComponent(raw);
    } catch {
      v = Buffer.from(raw.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8");
      lossy = true;
    }
    fields[kv.slice(0, i)] = v;
  }
  return { fields, lossy };
}

export function parseReport(line: string): JailReport {
  const [type = "", ...rest] = line.split(" ");
  const { fields: f, lossy } = parseFields(rest);
  const num = (k: string): number => Number(f[k] ?? "0");
  switch (type) {
    case "ready":
      return { type, landlockAbi: num("landlock_abi"), procSubset: f.proc_subset === "1", seccomp: f.seccomp === "1", downgrades: num("downgrades") };
    case "downgrade":
      return { type, downgrades: num("downgrades") };
    case "memory":
      return { type, used: num("used"), limit: num("limit") };
    case "error":
      return { type, step: f.step ?? "?", errno: num("errno"), detail: f.detail ?? "" };
    case "exec_failed":
      return { type, errno: num("errno"), path: f.path ?? "" };
    case "exit":
      return { type, code: f.code !== undefined ? num("code") : null, signal: f.signal !== undefined ? num("signal") : null };
    case "ev":
      return { type: "event", fields: f, lossy };
    case "redirect":
      return { type, src: f.src ?? "", sport: num("sport"), address: f.addr ?? "", port: num("port"), pid: num("pid") };
    case "synced":
      return { type, n: num("n") };
    case "feature":
      return { type, name: f.name ?? "?", ok: f.ok === "1", errno: num("errno"), value: num("value") };
    default:
      return { type: "unknown", line };
  }
}

// The helper's report lines ("TYPE key=value ...", values percent-encoded; see native/jail/report.c)
// parsed into typed values.

export type JailReport =
  | { type: "ready"; landlockAbi: number; procSubset: boolean; seccomp: boolean; downgrades: number }
  | { type: "downgrade"; downgrades: number }
  | { type: "memory"; used: number; limit: number }
  | { type: "error"; step: string; errno: number; detail: string }
  | { type: "exec_failed"; errno: number; path: string }
  | { type: "exit"; code: number | null; signal: number | null }
  | { type: "event"; fields: Record<string, string> }
  /** A connect the supervisor redirected to the egress proxy: the socket's local end (what the
   * proxy sees as its peer) and the destination the jailed process asked for (sup_net.c). */
  | { type: "redirect"; src: string; sport: number; address: string; port: number; pid: number }
  | { type: "feature"; name: string; ok: boolean; errno: number; value: number }
  /** The answer to mcp-j's "sync N" (native/jail/ctl_in.h): every report made before it has been sent. */
  | { type: "synced"; n: number }
  | { type: "unknown"; line: string };

export function parseFields(rest: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const kv of rest) {
    const i = kv.indexOf("=");
    if (i <= 0) continue;
    let v = kv.slice(i + 1);
    try {
      v = decodeURIComponent(v);
    } catch {
      /* a malformed escape: keep the raw text */
    }
    fields[kv.slice(0, i)] = v;
  }
  return fields;
}

export function parseReport(line: string): JailReport {
  const [type = "", ...rest] = line.split(" ");
  const f = parseFields(rest);
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
      return { type: "event", fields: f };
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

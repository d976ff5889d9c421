// `mcp-j audit summarize`: per jail (one mcp-j run), first what most likely broke the server (limits
// it hit, executables and network it was refused, the last refusals before it exited), then what it
// read, wrote, executed and contacted, what was denied, which tools it ran, how it ended. Look-ups of
// paths that do not exist (ENOENT, ENOTDIR: runtimes probe dozens at start) are counted, not listed
// among the causes (issue 12 item 10).
import { escapeHidingCharacters } from "../footprint/pin.js";
import { AuditEventSchema, type AuditEvent } from "./schema.js";

export interface JailSummary {
  jail: string;
  server?: string;
  command?: string[];
  started?: string;
  ended?: string;
  layers?: Record<string, unknown>;
  landlockAbi?: number | null;
  read: string[];
  wrote: string[];
  executed: string[];
  /** host:port (egress proxy) or address (direct connects the supervisor allowed). */
  contacted: string[];
  denied: { kind: string; what: string; reason?: string; count: number }[];
  tools: { name: string; calls: number; denied: number; errors: number }[];
  limits: { limit: string; event: string; count: number }[];
  exit?: { code: number | null; signal: string | null; reason: string };
  events: number;
  /** What most likely broke the server, most telling first: one line each. */
  cause: string[];
  /** Denied look-ups of paths that do not exist (not among the causes). */
  probes: number;
}

/** A refusal the kernel would have given any process for a name that is not there. */
function isProbe(errno: string | undefined, reason: string | undefined): boolean {
  return (errno === "ENOENT" || errno === "ENOTDIR") && (reason === undefined || reason === "outside");
}

/** How many of the last refusals before the exit the cause lists. */
const LAST_DENIALS = 5;

interface Refusal {
  kind: string;
  what: string;
  reason?: string | undefined;
}

const shown = (r: Refusal) => `${r.kind} ${r.what}${r.reason ? ` (${r.reason})` : ""}`;

/** The cause lines from what the jail hit, in order of how telling each is. */
function causeOf(s: JailSummary, execs: Refusal[], network: Refusal[], last: Refusal[]): string[] {
  const out: string[] = [];
  for (const l of s.limits) out.push(`limit: ${l.limit} ${l.event}${l.count > 1 ? ` ×${l.count}` : ""}`);
  for (const e of execs) out.push(`refused exec: ${e.what}${e.reason ? ` (${e.reason})` : ""}: add --allow-exec ${e.what} if the server needs it`);
  for (const n of network) out.push(`refused network: ${shown(n)}: add --allow-net HOST[:PORT] if the server needs it`);
  const listed = new Set([...execs, ...network].map(shown));
  for (const r of last.filter((x) => !listed.has(shown(x)))) out.push(`${s.exit !== undefined ? "denied before the exit" : "last denied"}: ${shown(r)}`);
  return out;
}

export interface AuditSummary {
  jails: JailSummary[];
  /** Lines that were not valid events (JSON errors or schema mismatches). */
  invalidLines: number;
  totalEvents: number;
}

function add(list: string[], set: Set<string>, v: string | undefined) {
  if (v !== undefined && !set.has(v)) {
    set.add(v);
    list.push(v);
  }
}

export function summarizeAudit(lines: Iterable<string>): AuditSummary {
  const jails = new Map<
    string,
    {
      s: JailSummary;
      sets: Record<string, Set<string>>;
      denied: Map<string, JailSummary["denied"][number]>;
      tools: Map<string, JailSummary["tools"][number]>;
      limits: Map<string, JailSummary["limits"][number]>;
      execs: Map<string, Refusal>;
      network: Map<string, Refusal>;
      last: Refusal[];
    }
  >();
  let invalid = 0;
  let total = 0;
  const get = (id: string) => {
    let j = jails.get(id);
    if (!j) {
      j = {
        s: { jail: id, read: [], wrote: [], executed: [], contacted: [], denied: [], tools: [], limits: [], events: 0, cause: [], probes: 0 },
        sets: { read: new Set(), wrote: new Set(), executed: new Set(), contacted: new Set() },
        denied: new Map(),
        tools: new Map(),
        limits: new Map(),
        execs: new Map(),
        network: new Map(),
        last: [],
      };
      jails.set(id, j);
    }
    return j;
  };
  for (const line of lines) {
    if (line.trim() === "") continue;
    let ev: AuditEvent;
    try {
      const r = AuditEventSchema.safeParse(JSON.parse(line));
      if (!r.success) {
        invalid++;
        continue;
      }
      ev = r.data;
    } catch {
      invalid++;
      continue;
    }
    total++;
    if (ev.type === "audit.rotated") continue; /* the writer's note: no jail's event */
    const j = get(ev.jail);
    const s = j.s;
    s.events++;
    s.started ??= ev.ts;
    s.ended = ev.ts;
    const deny = (kind: string, what: string, reason?: string) => {
      const key = `${kind}\0${what}\0${reason ?? ""}`;
      // The most recent refusals, each once, newest last.
      const r: Refusal = { kind, what, reason };
      j.last = [...j.last.filter((x) => shown(x) !== shown(r)), r].slice(-LAST_DENIALS);
      const d = j.denied.get(key);
      if (d) d.count++;
      else {
        const nd: JailSummary["denied"][number] = { kind, what, count: 1 };
        if (reason !== undefined) nd.reason = reason;
        j.denied.set(key, nd);
        s.denied.push(nd);
      }
    };
    switch (ev.type) {
      case "jail.start":
        if (ev.server !== undefined) s.server = ev.server;
        s.command = ev.command;
        s.layers = ev.layers;
        s.landlockAbi = ev.landlock_abi;
        s.started = ev.ts;
        break;
      case "syscall": {
        const what = ev.path ?? ev.addr ?? "?";
        if (ev.decision === "deny") {
          if (isProbe(ev.errno, ev.reason)) {
            s.probes++;
            break;
          }
          deny(ev.syscall, what, ev.reason);
          if (/^exec/.test(ev.syscall)) j.execs.set(what, { kind: ev.syscall, what, reason: ev.reason });
          else if (/^(connect|sendto|sendmsg|sendmmsg)$/.test(ev.syscall) && ev.addr !== undefined) j.network.set(what, { kind: ev.syscall, what, reason: ev.reason });
          break;
        }
        if (/^exec/.test(ev.syscall)) add(s.executed, j.sets.executed!, ev.path);
        else if (/^(connect|sendto|sendmsg)$/.test(ev.syscall)) add(s.contacted, j.sets.contacted!, ev.addr);
        else if (ev.access === "write" || ev.access === "create") add(s.wrote, j.sets.wrote!, ev.path);
        else if (ev.access === "readwrite") {
          add(s.read, j.sets.read!, ev.path);
          add(s.wrote, j.sets.wrote!, ev.path);
        } else if (ev.access === "exec") add(s.executed, j.sets.executed!, ev.path);
        else if (ev.path !== undefined) add(s.read, j.sets.read!, ev.path);
        break;
      }
      case "net": {
        const hp = `${ev.host}:${ev.port}`;
        if (ev.decision === "deny") {
          deny("net", hp, ev.reason);
          j.network.set(hp, { kind: "net", what: hp, reason: ev.reason });
        } else add(s.contacted, j.sets.contacted!, hp);
        break;
      }
      case "tool": {
        let t = j.tools.get(ev.name);
        if (!t) {
          t = { name: ev.name, calls: 0, denied: 0, errors: 0 };
          j.tools.set(ev.name, t);
          s.tools.push(t);
        }
        t.calls++;
        if (ev.decision === "deny") {
          t.denied++;
          deny("tool", ev.name, ev.reason);
        } else if (ev.outcome === "error") t.errors++;
        break;
      }
      case "limit": {
        const key = `${ev.limit}\0${ev.event}`;
        const l = j.limits.get(key);
        if (l) l.count++;
        else {
          const nl = { limit: ev.limit, event: ev.event, count: 1 };
          j.limits.set(key, nl);
          s.limits.push(nl);
        }
        break;
      }
      case "exit":
        s.exit = { code: ev.code, signal: ev.signal, reason: ev.reason };
        break;
      case "rpc":
      case "audit.dropped":
        break;
    }
  }
  for (const j of jails.values()) j.s.cause = causeOf(j.s, [...j.execs.values()], [...j.network.values()], j.last);
  return { jails: [...jails.values()].map((j) => j.s), invalidLines: invalid, totalEvents: total };
}

/** The human report printed by `mcp-j audit summarize`. The paths, addresses and names in it are
 * the server's choice: each line is printed escaped (escapeHidingCharacters; mcp-j's own words hold
 * nothing it escapes), so a name can neither forge a line of the report nor act on the terminal. */
export function formatAuditSummary(sum: AuditSummary): string {
  const out: string[] = [];
  const list = (title: string, xs: string[]) => {
    out.push(`  ${title} (${xs.length})${xs.length ? ":" : ""}`);
    for (const x of xs.slice(0, 200)) out.push(`    ${x}`);
    if (xs.length > 200) out.push(`    ... ${xs.length - 200} more`);
  };
  for (const j of sum.jails) {
    const name = j.server ?? (j.command ? j.command.join(" ") : "(unknown server)");
    out.push(`jail ${j.jail}: ${name}`);
    if (j.started) out.push(`  from ${j.started} to ${j.ended ?? "?"}, ${j.events} events`);
    if (j.exit) out.push(`  exit: ${j.exit.reason}${j.exit.code !== null ? ` code ${j.exit.code}` : ""}${j.exit.signal ? ` signal ${j.exit.signal}` : ""}`);
    if (j.cause.length > 0) {
      out.push("  most likely cause:");
      for (const c of j.cause) out.push(`    ${c}`);
    }
    if (j.landlockAbi !== undefined) out.push(`  landlock ABI: ${j.landlockAbi ?? "none"}`);
    list("read", j.read);
    list("wrote", j.wrote);
    list("executed", j.executed);
    list("contacted", j.contacted);
    list(
      "denied",
      j.denied.map((d) => `${d.kind} ${d.what}${d.reason ? ` (${d.reason})` : ""}${d.count > 1 ? ` ×${d.count}` : ""}`),
    );
    if (j.probes > 0) out.push(`  and ${j.probes} look-up${j.probes === 1 ? "" : "s"} of paths that do not exist (ENOENT, ENOTDIR)`);
    list(
      "tools",
      j.tools.map((t) => `${t.name}: ${t.calls} call${t.calls === 1 ? "" : "s"}${t.denied ? `, ${t.denied} denied` : ""}${t.errors ? `, ${t.errors} errors` : ""}`),
    );
    if (j.limits.length) list("limits", j.limits.map((l) => `${l.limit} ${l.event}${l.count > 1 ? ` ×${l.count}` : ""}`));
    out.push("");
  }
  out.push(`${sum.totalEvents} events, ${sum.jails.length} jail${sum.jails.length === 1 ? "" : "s"}${sum.invalidLines ? `, ${sum.invalidLines} invalid lines skipped` : ""}`);
  return out.map(escapeHidingCharacters).join("\n") + "\n";
}

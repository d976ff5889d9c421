// The join of the two halves mcp-j sees (docs/audit.md "Attribution"): each supervisor and egress
// event gets the set of client requests in flight when it happened; from that, the refusals told
// to the model in a tool call's result, the footprints learn mode writes as a policy, and the pins
// (`--pin`) compared tool by tool. The proxy keeps the in-flight log (it never imports the
// engine); this module reads it, and the engine's footprint module decides what the touches mean.
import { idKey, inFlightKey, monotonicNow, type InFlightRequest, type ProxyEvent, type ProxySession, type ToolGate, type ToolResultNote } from "@mcp-j/proxy";
import {
  FootprintRecorder,
  grantViews,
  learnPolicy,
  listedTool,
  PinBook,
  PinFileError,
  mergePinFile,
  readPinFile,
  refusalOfEgress,
  refusalOfSyscall,
  refusalText,
  systemClass,
  touchOfEgress,
  touchOfSyscall,
  within,
  writeOwnFile,
  writePinFile,
  type Change,
  type EgressEvent,
  type PinFile,
  type Policy,
  type Refusal,
  type SupervisorEvent,
  type Touch,
} from "@mcp-j/engine/core";
import type { AuditRequests, AuditSink } from "./audit-sink.js";
import { RefusalNotes } from "./notes.js";

/** The `_meta` key of the refusals note on a tool call's result. */
export const REFUSED_META_KEY = "mcp-j/refused";

export interface AttributionOptions {
  policy: Policy;
  command: readonly string[];
  say: (line: string) => void;
  /** Learn mode: where to write the learned policy at the end. */
  learnOut?: string;
}

/** Requests named in one audit event: a client with thousands of requests outstanding must not
 * make every line of the log that long (the oldest are named; docs/audit.md). */
const MAX_AUDITED_REQUESTS = 32;

function auditRequests(list: InFlightRequest[] | null): AuditRequests | undefined {
  if (list === null) return undefined;
  if (list.length === 0) return "idle";
  return list.slice(0, MAX_AUDITED_REQUESTS).map((r) => (r.tool !== null ? { method: r.method, id: r.id, tool: r.tool } : { method: r.method, id: r.id }));
}

function labels(list: InFlightRequest[] | null): string[] {
  return (list ?? []).map((r) => r.tool ?? r.method);
}

export class Attribution {
  private session: ProxySession | null = null;
  private audit: AuditSink | null = null;
  private readonly recorder: FootprintRecorder | null;
  private readonly pins: PinBook | null;
  /** The pin file as this run read it at start (null: none yet). */
  private readonly pinBase: PinFile | null;
  private readonly roots: string[];
  /** Refusals during each tools/call in flight, by request id. */
  private readonly notes = new RefusalNotes();
  private readonly refusals: Array<{ refusal: Refusal; labels: string[] }> = [];
  readonly gate: ToolGate | null;
  /** Whether the supervisor must report allowed decisions (footprints are made of them). */
  readonly needsAllowed: boolean;

  constructor(private readonly o: AttributionOptions) {
    const pinFile = o.policy.pin.file;
    if (o.policy.pin.enforce && pinFile === undefined) throw new PinFileError("--pin-enforce needs a pin file: add --pin FILE (or pin.file in the policy)");
    this.pinBase = pinFile !== undefined ? readPinFile(pinFile) : null;
    this.pins = pinFile !== undefined ? new PinBook(this.pinBase) : null;
    this.recorder = o.learnOut !== undefined || this.pins !== null ? new FootprintRecorder() : null;
    this.needsAllowed = this.recorder !== null;
    this.roots = grantViews(o.policy).map((v) => v.jail);
    this.gate = this.pins === null ? null : this.pinGate(this.pins, o.policy.pin.enforce, pinFile!);
  }

  /** Whether the proxy must keep its in-flight log. */
  get enabled(): boolean {
    return this.o.policy.audit.attribution || this.recorder !== null;
  }

  bind(session: ProxySession, audit: AuditSink): void {
    this.session = session;
    this.audit = audit;
  }

  /** A supervisor event: its requests (for the audit log), and what it means for notes, learn, pins. */
  syscall(e: SupervisorEvent): AuditRequests | undefined {
    if (e.action === "dropped") {
      this.lost(e);
      return undefined;
    }
    const list = this.session?.inFlightAt(e.mono ?? monotonicNow()) ?? null;
    // A report that left a value out (report.h) does not say whole what was touched.
    if (e.incomplete === true) this.unverified(list ?? [], "unknown (a supervisor report too long to carry whole)");
    this.observe(list, touchOfSyscall(e), refusalOfSyscall(e));
    return auditRequests(list);
  }

  /** An egress or resolver event, placed when it happened (a closed connection: when it opened). */
  egress(e: EgressEvent): AuditRequests | undefined {
    if (e.type === "net_allow") {
      // Not audited (its net_close is), but it is the touch: where the connection went.
      this.observe(this.session?.inFlightAt(monotonicNow()) ?? null, touchOfEgress(e), null);
      return undefined;
    }
    const at = monotonicNow() - (e.type === "net_close" ? BigInt(Math.round(e.durationMs * 1e6)) : 0n);
    const list = this.session?.inFlightAt(at) ?? null;
    this.observe(list, null, refusalOfEgress(e));
    return auditRequests(list);
  }

  /** The proxy's events: a finished tool call leaves nothing behind. */
  proxyEvent(e: ProxyEvent): void {
    if (e.type === "tool_call" && e.id !== null) this.notes.drop(idKey(e.id));
  }

  /** The note for a tools/call result: what the jail refused while the call was in flight. */
  readonly noteFor = (call: InFlightRequest): ToolResultNote | null => {
    const list = this.notes.take(inFlightKey(call));
    if (list.length === 0) return null;
    return { meta: { [REFUSED_META_KEY]: list }, text: this.o.policy.proxy.denialText ? refusalText(list) : null };
  };

  /** A tools/call's answer started a task: the call's refusals go on the task's result. */
  readonly taskStarted = (call: InFlightRequest, task: InFlightRequest): void => this.notes.carry(inFlightKey(call), inFlightKey(task));

  private observe(list: InFlightRequest[] | null, touch: Touch | null, refusal: Refusal | null): void {
    if (refusal !== null) {
      for (const r of list ?? []) {
        if (r.tool === null) continue;
        // A refusal that arrives after its call ended leaves an entry nobody takes: bounded.
        this.notes.add(inFlightKey(r), refusal);
      }
      if (this.o.learnOut !== undefined && this.refusals.length < 10_000) this.refusals.push({ refusal, labels: labels(list) });
    }
    if (touch === null || this.recorder === null) return;
    this.recorder.add(touch, labels(list));
    const tools = (list ?? []).flatMap((r) => (r.tool !== null ? [r.tool] : []));
    if (this.pins !== null && !this.pins.recording && tools.length > 0) {
      this.report(this.pins.touched(tools, touch, this.roots, this.detail(touch)), list);
    }
  }

  /** Reports the supervisor lost (it slows the jail down rather than lose one, so this takes a
   * fault): what a pinned tool in flight then did is unknown, and taken as outside its footprint. */
  private lost(e: SupervisorEvent): void {
    if (this.session === null) return;
    // From the first loss (`mono`) until the count was read.
    const list = [...(this.session.inFlightAt(e.mono ?? monotonicNow()) ?? []), ...(this.session.inFlightAt(monotonicNow()) ?? [])];
    this.unverified(list, `unknown (${e.count ?? "some"} of the supervisor's reports were lost)`);
  }

  /** A tool call whose result went on before the jail's reports of it arrived (the supervisor did
   * not answer in time): what it did is not known yet, and is taken as outside its footprint. */
  unsettled(call: InFlightRequest): void {
    this.unverified([call], "unknown (its result went on before the supervisor's reports of it arrived)");
  }

  private unverified(list: InFlightRequest[], detail: string): void {
    if (this.pins === null || this.pins.recording) return;
    const tools = [...new Set(list.flatMap((r) => (r.tool !== null ? [r.tool] : [])))];
    if (tools.length > 0) this.report(this.pins.unseen(tools, detail), list);
  }

  /** A touch as a pin records it: a path under a grant as is, anything else by its class. */
  private detail(t: Touch): string {
    if (t.kind === "net") return `net ${t.host}:${t.port}`;
    if (t.kind === "exec" || this.roots.some((r) => within(t.path, r))) return `${t.kind} ${t.path}`;
    return `${t.kind} ${systemClass(t.path)}`;
  }

  private pinGate(pins: PinBook, enforce: boolean, file: string): ToolGate {
    return {
      listed: (tools) => {
        const hidden = new Set<string>();
        for (const entry of tools) {
          const tool = listedTool(entry);
          if (tool === null) continue;
          this.report(pins.listed(tool), null);
          if (enforce && pins.isChanged(tool.name)) hidden.add(tool.name);
        }
        return hidden;
      },
      refusal: (name) => {
        if (!enforce || !pins.isChanged(name)) return null;
        return `changed since it was pinned in ${file} and is refused until the user accepts the change (mcp-j pin accept ${file})`;
      },
    };
  }

  private report(changes: Change[], list: InFlightRequest[] | null): void {
    const pins = this.o.policy.pin;
    for (const c of changes) {
      const what =
        c.change === "new_tool"
          ? "is new (not in the pin file)"
          : c.change === "control_chars"
            ? "has control or invisible characters in its description (they can hide text from you)"
            : c.change === "footprint"
              ? `touched something outside its recorded footprint: ${c.detail ?? "?"}`
              : `changed its ${c.change === "schema" ? "input schema" : "description"} since it was pinned`;
      const then = pins.enforce ? "; hidden and refused until" : "; review it, then";
      this.o.say(`pin: the tool ${JSON.stringify(c.tool)} ${what}${then} mcp-j pin accept ${pins.file ?? ""}`);
      const requests = auditRequests(list);
      this.audit?.write({
        type: "pin",
        jail: this.audit.jailId,
        name: c.tool,
        change: c.change,
        ...(c.detail !== undefined ? { detail: c.detail } : {}),
        enforced: pins.enforce,
        ...(requests !== undefined && list !== null ? { requests } : {}),
      });
    }
  }

  /** At the end of the run: the learned policy and the pin file. */
  finish(): void {
    const recorder = this.recorder;
    if (this.pins !== null && recorder !== null) {
      this.pins.footprints((tool) => (recorder.labels().includes(tool) ? recorder.footprint(tool, this.roots) : null));
      try {
        // Another mcp-j may share the file and have written it since: its findings stay.
        const file = this.o.policy.pin.file!;
        let now: PinFile | null = null;
        try {
          now = readPinFile(file);
        } catch (e) {
          this.o.say(`the pin file ${file} changed into something else during the run (${(e as Error).message}): writing this run's pins over it`);
        }
        writePinFile(file, mergePinFile(this.pinBase, this.pins.file(), now));
      } catch (e) {
        this.o.say(`cannot write the pin file ${this.o.policy.pin.file}: ${(e as Error).message}`);
      }
    }
    if (this.o.learnOut !== undefined && recorder !== null) {
      const learned = learnPolicy({ policy: this.o.policy, command: this.o.command, recorder, refusals: this.refusals, when: new Date().toISOString() });
      try {
        writeOwnFile(this.o.learnOut, learned.text, 0o644);
        this.o.say(
          `learned policy written to ${this.o.learnOut}: ${learned.ro.length} read-only, ${learned.rw.length} read-write, ${learned.exec.length} exec, ${learned.net.length} host(s)`,
        );
      } catch (e) {
        this.o.say(`cannot write the learned policy to ${this.o.learnOut}: ${(e as Error).message}`);
      }
    }
  }
}

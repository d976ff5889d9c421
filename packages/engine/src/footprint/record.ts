// Footprints: what each tool touched (and what the server touched outside any tool call), kept raw
// while the server runs and generalized at the end (generalize.ts) for learn mode and pinning.
import { generalize, systemClass, within } from "./generalize.js";
import type { Touch } from "./touch.js";

/** The label of what was in flight: a tool's name for tools/call, else the method; IDLE for none. */
export const IDLE = "(idle)";

export interface Footprint {
  read: string[];
  write: string[];
  exec: string[];
  /** host:port */
  net: string[];
}

interface Raw {
  read: Set<string>;
  write: Set<string>;
  exec: Set<string>;
  net: Set<string>;
}

/** Raw touches kept per label; bounded so a server touching millions of names cannot grow mcp-j. */
const MAX_PER_LABEL = 50_000;

export class FootprintRecorder {
  private readonly byLabel = new Map<string, Raw>();

  add(touch: Touch, labels: readonly string[]): void {
    for (const label of labels.length === 0 ? [IDLE] : labels) {
      let raw = this.byLabel.get(label);
      if (raw === undefined) {
        raw = { read: new Set(), write: new Set(), exec: new Set(), net: new Set() };
        this.byLabel.set(label, raw);
      }
      const set = raw[touch.kind];
      if (set.size >= MAX_PER_LABEL) continue;
      set.add(touch.kind === "net" ? `${touch.host}:${touch.port}` : touch.path);
    }
  }

  labels(): string[] {
    return [...this.byLabel.keys()].sort();
  }

  /** The raw touches of one kind, with the labels that made each. */
  touches(kind: keyof Raw): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [label, raw] of this.byLabel) {
      for (const t of raw[kind]) {
        const labels = out.get(t) ?? new Set<string>();
        labels.add(label);
        out.set(t, labels);
      }
    }
    return out;
  }

  /** One label's footprint as classes: paths under `roots` generalized, others by systemClass. */
  footprint(label: string, roots: readonly string[]): Footprint {
    const raw = this.byLabel.get(label);
    if (raw === undefined) return { read: [], write: [], exec: [], net: [] };
    return {
      read: classes(raw.read, roots),
      write: classes(raw.write, roots),
      exec: [...raw.exec].sort(),
      net: [...raw.net].sort(),
    };
  }
}

function classes(paths: Set<string>, roots: readonly string[]): string[] {
  const under = [...paths].filter((p) => roots.some((r) => within(p, r)));
  const system = [...paths].filter((p) => !roots.some((r) => within(p, r))).map(systemClass);
  return [...new Set([...generalize(under, roots), ...system])].sort();
}

/** Whether a touch lies inside a footprint: a read inside a read or write class, a write inside a
 * write class, an exec of a recorded program, a connection to a recorded host:port. */
export function covers(fp: Footprint, touch: Touch, roots: readonly string[]): boolean {
  if (touch.kind === "net") return fp.net.includes(`${touch.host}:${touch.port}`);
  if (touch.kind === "exec") return fp.exec.includes(touch.path);
  const inside = (list: string[]): boolean => {
    const underRoot = roots.some((r) => within(touch.path, r));
    return underRoot ? list.some((c) => within(touch.path, c)) : list.includes(systemClass(touch.path));
  };
  return touch.kind === "read" ? inside(fp.read) || inside(fp.write) : inside(fp.write);
}

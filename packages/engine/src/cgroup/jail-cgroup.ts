// The jail's cgroup: creation with limits, event watching, kill and removal.
//
// Layout: <parentDir>/mcp-j/<jail-id>.<owner>, where parentDir comes from detect.ts and <owner>
// names the mcp-j process that removes it (orphans.ts: each start collects the cgroups of an mcp-j
// that was SIGKILLed). `mcp-j` is shared by the jails of every mcp-j process under the same parent
// and is removed by whoever removes its last jail; creating a jail retries when another mcp-j
// removed `mcp-j` in between.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { join } from "node:path";
import type { CgroupEvent, CgroupRoute, JailCgroup, ResourceLimits } from "./types.js";
import { cpuMaxFor, parseControllerList, parseKeyedFile, parsePidList } from "./parse.js";
import { MCPJ_DIR, SUPERVISOR_LEAF } from "./detect.js";
import { collectOrphans, ownedName, selfOwner, type Owner } from "./orphans.js";


export class CgroupSetupError extends Error {
  override readonly name = "CgroupSetupError";
}

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new CgroupSetupError(`writing "${value.trim()}" to ${path}: ${(e as Error).message}`);
  }
}
/** A cgroup file's text, or `dflt` when it cannot be read (gone with its cgroup). */
export function readOr(path: string, dflt = ""): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return dflt;
  }
}
function mkdirOwn(path: string): boolean {
  try {
    mkdirSync(path);
    return true;
  } catch (e) {
    if (errno(e) === "EEXIST") return false;
    throw new CgroupSetupError(`mkdir ${path}: ${(e as Error).message}`);
  }
}
function rmdirQuiet(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

export function validJailId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) && id !== SUPERVISOR_LEAF;
}

export interface CreateOptions {
  route: CgroupRoute;
  parentDir: string;
  jailId: string;
  limits: ResourceLimits;
  /** Controllers to enable for the jail (memory, pids and, when --cpus is given and available, cpu). */
  controllers: string[];
  /** cgroup.kill usable (Linux 5.14+); false forces the pid-by-pid teardown (older kernels, tests). */
  hasKill: boolean;
  pid?: number;
  /** Who removes the cgroup (default: this process); carried in its name. */
  owner?: Owner;
  /** Interval of the fallback poll of the event files (ms). The poll always runs (slowly, 1 s)
   * next to fs.watch; with watch disabled (tests) it is the only source. */
  pollMs?: number;
  useWatch?: boolean;
}

/** What mcp-j changed on the "leaf" route, to undo it. */
interface LeafState {
  ownDir: string;
  addedToOwn: string[];
  pid: number;
}

/**
 * Creates <parentDir>/mcp-j/<jailId> with the limits written. On failure nothing that this call
 * created is left behind.
 */
export async function createJailCgroup(o: CreateOptions): Promise<CgroupHandle> {
  if (!validJailId(o.jailId)) throw new CgroupSetupError(`invalid jail id ${JSON.stringify(o.jailId)}`);
  const mcpjDir = join(o.parentDir, MCPJ_DIR);
  const jailDir = join(mcpjDir, ownedName(o.jailId, o.owner ?? selfOwner(o.pid ?? process.pid)));
  // What a SIGKILLed mcp-j left here goes first (it also keeps the limits of the shared `mcp-j`
  // directory from counting dead jails).
  await collectOrphans(mcpjDir);
  const plus = o.controllers.map((c) => `+${c}`).join(" ");
  let leaf: LeafState | undefined;

  if (o.route === "leaf") leaf = enterSupervisorLeaf(o.parentDir, o.controllers, o.pid ?? process.pid);

  let created = false;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirOwn(mcpjDir);
        const enabled = parseControllerList(readOr(join(mcpjDir, "cgroup.subtree_control")));
        if (o.controllers.some((c) => !enabled.includes(c))) write(join(mcpjDir, "cgroup.subtree_control"), plus);
        try {
          mkdirSync(jailDir);
        } catch (e) {
          if (errno(e) === "EEXIST") throw new CgroupSetupError(`${jailDir} already exists: another jail has this id, and mcp-j does not reuse a cgroup it did not create`);
          throw e;
        }
        created = true;
        break;
      } catch (e) {
        // Another mcp-j removed the shared mcp-j directory between our mkdir and our use of it.
        const code = errno(e) ?? errno((e as { cause?: unknown }).cause);
        if (attempt < 5 && (code === "ENOENT" || /ENOENT|no such file/i.test(String((e as Error).message)))) continue;
        throw e instanceof CgroupSetupError ? e : new CgroupSetupError(`creating ${jailDir}: ${(e as Error).message}`);
      }
    }
    const f = (name: string) => join(jailDir, name);
    write(f("memory.max"), String(o.limits.memoryBytes));
    // No swap accounting (swapaccount=0 or no CONFIG_MEMCG_SWAP) → no file; then there is nothing
    // to limit it with, and the caller's warning covers it.
    if (existsSync(f("memory.swap.max"))) write(f("memory.swap.max"), "0");
    write(f("memory.oom.group"), "1");
    write(f("pids.max"), String(o.limits.pids));
    if (o.limits.cpus !== undefined && o.controllers.includes("cpu")) write(f("cpu.max"), cpuMaxFor(o.limits.cpus));
    return new CgroupHandle(jailDir, mcpjDir, o, leaf);
  } catch (e) {
    if (created) rmdirQuiet(jailDir);
    rmdirQuiet(mcpjDir); // only succeeds when no other jail uses it
    if (leaf) leaveSupervisorLeaf(leaf, join(leaf.ownDir, MCPJ_DIR));
    throw e;
  }
}

const leafStates = new Map<string, LeafState>();

/** "leaf" route: X/mcp-j/supervisor ← mcp-j, then enable the controllers in X. See detect.ts. */
function enterSupervisorLeaf(ownDir: string, controllers: string[], pid: number): LeafState {
  const mcpjDir = join(ownDir, MCPJ_DIR);
  const sup = join(mcpjDir, SUPERVISOR_LEAF);
  mkdirOwn(mcpjDir);
  mkdirOwn(sup);
  write(join(sup, "cgroup.procs"), String(pid));
  const before = parseControllerList(readOr(join(ownDir, "cgroup.subtree_control")));
  const add = controllers.filter((c) => !before.includes(c));
  // Shared by every jail of this process under ownDir, so the last one out undoes all of it.
  let state = leafStates.get(ownDir);
  if (!state) {
    state = { ownDir, addedToOwn: [], pid };
    leafStates.set(ownDir, state);
  }
  try {
    if (add.length) write(join(ownDir, "cgroup.subtree_control"), add.map((c) => `+${c}`).join(" "));
    state.addedToOwn.push(...add);
  } catch (e) {
    leaveSupervisorLeaf(state, mcpjDir);
    throw e;
  }
  return state;
}

/** Undoes enterSupervisorLeaf when no jail is left. Best effort: returns whether all was undone. */
function leaveSupervisorLeaf(s: LeafState, mcpjDir: string): boolean {
  const jails = (() => {
    try {
      return readdirSync(mcpjDir, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== SUPERVISOR_LEAF);
    } catch {
      return [];
    }
  })();
  if (jails.length > 0) return false;
  try {
    const enabled = parseControllerList(readOr(join(mcpjDir, "cgroup.subtree_control")));
    if (enabled.length) writeFileSync(join(mcpjDir, "cgroup.subtree_control"), enabled.map((c) => `-${c}`).join(" "));
    if (s.addedToOwn.length) writeFileSync(join(s.ownDir, "cgroup.subtree_control"), s.addedToOwn.map((c) => `-${c}`).join(" "));
    writeFileSync(join(s.ownDir, "cgroup.procs"), String(s.pid));
  } catch {
    return false;
  }
  s.addedToOwn = [];
  leafStates.delete(s.ownDir);
  return rmdirQuiet(join(mcpjDir, SUPERVISOR_LEAF)) && rmdirQuiet(mcpjDir);
}

const MEMORY_EVENTS: ReadonlyArray<[key: string, type: CgroupEvent["type"]]> = [
  ["max", "memory_max"],
  ["oom", "oom"],
  ["oom_kill", "oom_kill"],
];

export class CgroupHandle implements JailCgroup {
  readonly path: string;
  private readonly listeners: Array<(e: CgroupEvent) => void> = [];
  private readonly seen = new Map<string, number>();
  private watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private removed = false;
  private readonly pending: CgroupEvent[] = [];

  constructor(
    path: string,
    private readonly mcpjDir: string,
    private readonly o: CreateOptions,
    private readonly leaf: LeafState | undefined,
  ) {
    this.path = path;
    this.startWatching();
  }

  onEvent(cb: (e: CgroupEvent) => void): void {
    this.listeners.push(cb);
    // Events seen before the first listener was registered are delivered to it.
    for (const e of this.pending.splice(0)) this.emit(e);
    this.check();
  }

  private emit(e: CgroupEvent): void {
    if (this.listeners.length === 0) {
      this.pending.push(e);
      return;
    }
    for (const cb of this.listeners) {
      try {
        cb(e);
      } catch {
        /* a listener's failure must not stop the watcher */
      }
    }
  }

  /** Reads memory.events and pids.events and emits one event per counter that went up. */
  check(): void {
    if (this.removed) return;
    const mem = parseKeyedFile(readOr(join(this.path, "memory.events")));
    for (const [key, type] of MEMORY_EVENTS) this.bump(`memory.${key}`, mem.get(key), { type, count: 0, limitBytes: this.o.limits.memoryBytes });
    const pids = parseKeyedFile(readOr(join(this.path, "pids.events")));
    this.bump("pids.max", pids.get("max"), { type: "pids_max", count: 0, limitPids: this.o.limits.pids });
  }

  private bump(key: string, value: number | undefined, e: CgroupEvent): void {
    if (value === undefined) return;
    const before = this.seen.get(key) ?? 0; // a new cgroup's counters start at 0
    if (value > before) {
      this.seen.set(key, value);
      this.emit({ ...e, count: value });
    }
  }

  private startWatching(): void {
    // kernfs notifies inotify watchers when memory.events / pids.events change, so fs.watch sees
    // each event; the poll is the fallback (and catches a watch that failed to arm).
    if (this.o.useWatch !== false) {
      for (const file of ["memory.events", "pids.events"]) {
        try {
          const w = watch(join(this.path, file), { persistent: false }, () => this.check());
          w.on("error", () => w.close());
          this.watchers.push(w);
        } catch {
          /* poll only */
        }
      }
    }
    const ms = this.o.pollMs ?? (this.watchers.length > 0 ? 1000 : 250);
    this.poll = setInterval(() => this.check(), ms);
    this.poll.unref();
  }

  private stopWatching(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  populated(): boolean {
    return parseKeyedFile(readOr(join(this.path, "cgroup.events"), "populated 0")).get("populated") === 1;
  }

  pids(): number[] {
    return parsePidList(readOr(join(this.path, "cgroup.procs")));
  }

  async kill(timeoutMs = 10_000): Promise<void> {
    if (!existsSync(this.path)) return;
    const deadline = Date.now() + timeoutMs;
    const killFile = join(this.path, "cgroup.kill");
    if (this.o.hasKill && existsSync(killFile)) {
      // Linux 5.14+: SIGKILL to every process of the cgroup and its descendants, atomically with
      // respect to forks.
      write(killFile, "1");
    } else {
      // Older kernels: freeze (no new forks while we read the list), SIGKILL each pid, repeat.
      const freeze = join(this.path, "cgroup.freeze");
      const canFreeze = existsSync(freeze);
      if (canFreeze) writeFileSync(freeze, "1");
      for (let pids = this.allPids(); pids.length > 0 && Date.now() < deadline; pids = this.allPids()) {
        for (const p of pids) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            /* already gone */
          }
        }
        await sleep(10);
      }
      if (canFreeze) writeFileSync(freeze, "0");
    }
    // Killed processes leave the cgroup once they have exited (not when reaped by their parent).
    let wait = 2;
    while (this.populated()) {
      if (Date.now() > deadline) throw new CgroupSetupError(`${this.path} still has processes ${timeoutMs} ms after the kill: ${this.allPids().join(" ")}`);
      await sleep(wait);
      wait = Math.min(wait * 2, 50);
    }
    this.check(); // the last events (e.g. the oom_kill that preceded teardown)
  }

  private allPids(dir = this.path): number[] {
    const out = parsePidList(readOr(join(dir, "cgroup.procs")));
    for (const d of this.subdirs(dir)) out.push(...this.allPids(join(dir, d)));
    return out;
  }

  private subdirs(dir: string): string[] {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    if (existsSync(this.path) && this.populated()) await this.kill();
    this.check();
    this.stopWatching();
    this.removed = true;
    // Depth first: the jail cannot make sub-cgroups (no cgroupfs in the jail), but be thorough.
    const rm = async (dir: string): Promise<void> => {
      for (const d of this.subdirs(dir)) await rm(join(dir, d));
      for (let i = 0; ; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch (e) {
          if (errno(e) === "ENOENT") return;
          // EBUSY can last a moment after `populated 0` while the last task is released.
          if (errno(e) === "EBUSY" && i < 100) {
            await sleep(10);
            continue;
          }
          throw new CgroupSetupError(`rmdir ${dir}: ${(e as Error).message}`);
        }
      }
    };
    await rm(this.path);
    if (this.leaf) leaveSupervisorLeaf(this.leaf, this.mcpjDir);
    else rmdirQuiet(this.mcpjDir); // fails while other jails use it: fine
  }
}

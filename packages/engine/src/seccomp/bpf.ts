// A tiny classic-BPF assembler with symbolic labels, for seccomp filters.
//
// Classic BPF jumps only forward. Conditional jumps carry 8-bit offsets (jt/jf <= 255); BPF_JA carries a
// 32-bit one. The assembler resolves labels after layout and, when a conditional target is more than
// 255 instructions away, rewrites the jump as a short conditional hop onto an inserted `ja` trampoline:
//
//     jeq K, FAR, NEAR        =>      jeq K, +0, +1
//                                     ja FAR
//     NEAR: ...                       NEAR: ...
//
// Layout is iterated to a fixed point (a trampoline only ever lengthens the program, so widening is
// monotone and terminates). Backward jumps and jumps past the end are rejected at assembly time.
import { BPF_MAXINSNS } from "./types.js";

// Instruction classes and fields (<linux/bpf_common.h>).
export const BPF = Object.freeze({
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // size
  W: 0x00,
  H: 0x08,
  B: 0x10,
  // mode
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // alu op
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jmp op
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // source
  K: 0x00,
  X: 0x08,
  // ret source
  A: 0x10,
  // misc
  TAX: 0x00,
  TXA: 0x80,
});

/** One struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export type JumpOp = "jeq" | "jgt" | "jge" | "jset";
export type AluOp = "add" | "sub" | "and" | "or" | "xor" | "lsh" | "rsh";

const JUMP_CODE: Record<JumpOp, number> = { jeq: BPF.JEQ, jgt: BPF.JGT, jge: BPF.JGE, jset: BPF.JSET };
const ALU_CODE: Record<AluOp, number> = {
  add: BPF.ADD,
  sub: BPF.SUB,
  and: BPF.AND,
  or: BPF.OR,
  xor: BPF.XOR,
  lsh: BPF.LSH,
  rsh: BPF.RSH,
};

/** A position in the program, bound exactly once with Assembler.bind(). */
export class Label {
  /** Address after layout; -1 while unbound. */
  addr = -1;
  bound = false;
  constructor(readonly name: string) {}
}

/** A jump target: a label, or `null` for "the next instruction" (fall through). */
export type Target = Label | null;

type Item =
  | { kind: "insn"; insn: SockFilter; comment?: string }
  | { kind: "cjmp"; code: number; k: number; jt: Target; jf: Target; farT: boolean; farF: boolean; comment?: string }
  | { kind: "ja"; target: Label; comment?: string }
  | { kind: "label"; label: Label };

function u32(k: number, what: string): number {
  if (!Number.isInteger(k) || k < -0x80000000 || k > 0xffffffff) throw new RangeError(`bpf: ${what} ${k} is not a 32-bit value`);
  return k >>> 0;
}

export class Assembler {
  private readonly items: Item[] = [];
  private labelCount = 0;
  private readonly labelNames = new Set<string>();

  /** A new, unbound label. Names are for listings and errors; they are made unique. */
  label(name = "L"): Label {
    let unique = name;
    while (this.labelNames.has(unique)) unique = `${name}.${++this.labelCount}`;
    this.labelNames.add(unique);
    return new Label(unique);
  }

  /** Place `label` at the current position. */
  bind(label: Label): this {
    if (label.bound) throw new Error(`bpf: label ${label.name} bound twice`);
    label.bound = true;
    this.items.push({ kind: "label", label });
    return this;
  }

  /** A = *(u32 *)(data + offset). Seccomp only accepts 4-byte aligned offsets inside seccomp_data. */
  ldAbs(offset: number, comment?: string): this {
    if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0) throw new RangeError(`bpf: bad absolute load offset ${offset}`);
    return this.insn({ code: BPF.LD | BPF.W | BPF.ABS, jt: 0, jf: 0, k: offset }, comment);
  }

  /** A = k. */
  ldImm(k: number, comment?: string): this {
    return this.insn({ code: BPF.LD | BPF.W | BPF.IMM, jt: 0, jf: 0, k: u32(k, "immediate") }, comment);
  }

  /** A = A <op> k. */
  alu(op: AluOp, k: number, comment?: string): this {
    return this.insn({ code: BPF.ALU | ALU_CODE[op] | BPF.K, jt: 0, jf: 0, k: u32(k, "alu operand") }, comment);
  }

  /** M[slot] = A. */
  st(slot: number, comment?: string): this {
    if (!Number.isInteger(slot) || slot < 0 || slot > 15) throw new RangeError(`bpf: scratch slot ${slot} is not 0..15`);
    return this.insn({ code: BPF.ST, jt: 0, jf: 0, k: slot }, comment);
  }

  /** A = M[slot]. */
  ldMem(slot: number, comment?: string): this {
    if (!Number.isInteger(slot) || slot < 0 || slot > 15) throw new RangeError(`bpf: scratch slot ${slot} is not 0..15`);
    return this.insn({ code: BPF.LD | BPF.W | BPF.MEM, jt: 0, jf: 0, k: slot }, comment);
  }

  /** if (A <op> k) goto jt else goto jf; `null` = next instruction. */
  jmp(op: JumpOp, k: number, jt: Target, jf: Target, comment?: string): this {
    if (jt === null && jf === null) throw new Error("bpf: conditional jump with both branches falling through");
    this.items.push({ kind: "cjmp", code: BPF.JMP | JUMP_CODE[op] | BPF.K, k: u32(k, "jump operand"), jt, jf, farT: false, farF: false, ...(comment ? { comment } : {}) });
    return this;
  }

  /** goto target (32-bit offset). */
  ja(target: Label, comment?: string): this {
    this.items.push({ kind: "ja", target, ...(comment ? { comment } : {}) });
    return this;
  }

  /** return k (the seccomp action). */
  ret(k: number, comment?: string): this {
    return this.insn({ code: BPF.RET | BPF.K, jt: 0, jf: 0, k: u32(k, "return value") }, comment);
  }

  private insn(insn: SockFilter, comment?: string): this {
    this.items.push({ kind: "insn", insn, ...(comment ? { comment } : {}) });
    return this;
  }

  /** Resolve labels (inserting trampolines for far conditional jumps) and return the program. */
  assemble(): SockFilter[] {
    return this.layout().program;
  }

  /** Like assemble(), with a readable listing (labels and comments) for debugging and doctor output. */
  listing(): string[] {
    return this.layout().listing;
  }

  private layout(): { program: SockFilter[]; listing: string[] } {
    for (const it of this.items) {
      const targets = it.kind === "cjmp" ? [it.jt, it.jf] : it.kind === "ja" ? [it.target] : [];
      for (const t of targets) if (t && !t.bound) throw new Error(`bpf: jump to unbound label ${t.name}`);
    }
    const size = (it: Item): number => (it.kind === "label" ? 0 : it.kind === "cjmp" ? 1 + (it.farT ? 1 : 0) + (it.farF ? 1 : 0) : 1);
    // Iterate layout until no conditional jump needs widening.
    for (let round = 0; ; round++) {
      if (round > this.items.length + 1) throw new Error("bpf: layout did not converge");
      let addr = 0;
      const addrs: number[] = [];
      for (const it of this.items) {
        addrs.push(addr);
        if (it.kind === "label") it.label.addr = addr;
        addr += size(it);
      }
      let widened = false;
      this.items.forEach((it, i) => {
        if (it.kind !== "cjmp") return;
        const a = addrs[i]!;
        const next = a + size(it);
        const tT = it.jt ? it.jt.addr : next;
        const tF = it.jf ? it.jf.addr : next;
        if (!it.farT && tT - (a + 1) > 255) {
          it.farT = true;
          widened = true;
        }
        if (!it.farF && tF - (a + 1) > 255) {
          it.farF = true;
          widened = true;
        }
      });
      if (!widened) break;
    }

    const program: SockFilter[] = [];
    const listing: string[] = [];
    const total = this.items.reduce((n, it) => n + size(it), 0);
    const check = (from: number, to: number, what: string): number => {
      const off = to - (from + 1);
      if (off < 0) throw new Error(`bpf: backward jump (${what}) at ${from}`);
      if (to >= total) throw new Error(`bpf: jump past the end of the program (${what}) at ${from}`);
      return off;
    };
    const name = (t: Target): string => (t ? t.name : "next");
    for (const it of this.items) {
      const pc = program.length;
      if (it.kind === "label") {
        listing.push(`${it.label.name}:`);
        continue;
      }
      if (it.kind === "insn") {
        program.push({ ...it.insn });
        listing.push(`  ${String(pc).padStart(4)}  ${disassembleOne(it.insn)}${it.comment ? `  ; ${it.comment}` : ""}`);
        continue;
      }
      if (it.kind === "ja") {
        const k = check(pc, it.target.addr, `ja ${it.target.name}`);
        program.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k });
        listing.push(`  ${String(pc).padStart(4)}  ja ${it.target.name}${it.comment ? `  ; ${it.comment}` : ""}`);
        continue;
      }
      const next = pc + 1 + (it.farT ? 1 : 0) + (it.farF ? 1 : 0);
      const tT = it.jt ? it.jt.addr : next;
      const tF = it.jf ? it.jf.addr : next;
      const insn: SockFilter = { code: it.code, jt: 0, jf: 0, k: it.k };
      const tramps: SockFilter[] = [];
      let slot = pc + 1;
      if (it.farT) {
        insn.jt = slot - (pc + 1);
        tramps.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: check(slot, tT, `far jt ${name(it.jt)}`) });
        slot++;
      } else {
        insn.jt = check(pc, tT, `jt ${name(it.jt)}`);
      }
      if (it.farF) {
        insn.jf = slot - (pc + 1);
        tramps.push({ code: BPF.JMP | BPF.JA, jt: 0, jf: 0, k: check(slot, tF, `far jf ${name(it.jf)}`) });
        slot++;
      } else {
        insn.jf = check(pc, tF, `jf ${name(it.jf)}`);
      }
      if (insn.jt > 255 || insn.jf > 255) throw new Error("bpf: internal error: short jump out of range after layout");
      program.push(insn);
      const op = disassembleOne(insn).split(" ")[0];
      listing.push(`  ${String(pc).padStart(4)}  ${op} #0x${it.k.toString(16)}, ${name(it.jt)}, ${name(it.jf)}${it.comment ? `  ; ${it.comment}` : ""}`);
      for (const t of tramps) {
        listing.push(`  ${String(program.length).padStart(4)}  ja +${t.k}  ; trampoline`);
        program.push(t);
      }
    }
    if (program.length === 0) throw new Error("bpf: empty program");
    if (program.length > BPF_MAXINSNS) throw new Error(`bpf: program has ${program.length} instructions (max ${BPF_MAXINSNS})`);
    const last = program[program.length - 1]!;
    if ((last.code & 0x07) !== BPF.RET) throw new Error("bpf: program does not end with a return");
    return { program, listing };
  }
}

/** struct sock_filter[] as bytes: u16 code, u8 jt, u8 jf, u32 k, little-endian (both supported arches). */
export function encodeProgram(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

export function decodeProgram(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % 8 !== 0) throw new Error(`bpf: program length ${bytes.length} is not a multiple of 8`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let off = 0; off < buf.length; off += 8) {
    out.push({ code: buf.readUInt16LE(off), jt: buf.readUInt8(off + 2), jf: buf.readUInt8(off + 3), k: buf.readUInt32LE(off + 4) });
  }
  return out;
}

function hex(k: number): string {
  return `0x${(k >>> 0).toString(16)}`;
}

/** One instruction in a bpf_dbg-like syntax (relative jump offsets). */
export function disassembleOne(ins: SockFilter): string {
  const cls = ins.code & 0x07;
  switch (cls) {
    case BPF.LD:
    case BPF.LDX: {
      const mode = ins.code & 0xe0;
      const reg = cls === BPF.LD ? "ld" : "ldx";
      if (mode === BPF.ABS) return `${reg} [${ins.k}]`;
      if (mode === BPF.IMM) return `${reg} #${hex(ins.k)}`;
      if (mode === BPF.MEM) return `${reg} M[${ins.k}]`;
      if (mode === BPF.LEN) return `${reg} #len`;
      return `${reg} ?${hex(ins.code)}`;
    }
    case BPF.ST:
      return `st M[${ins.k}]`;
    case BPF.STX:
      return `stx M[${ins.k}]`;
    case BPF.ALU: {
      const ops: Record<number, string> = { 0x00: "add", 0x10: "sub", 0x20: "mul", 0x30: "div", 0x40: "or", 0x50: "and", 0x60: "lsh", 0x70: "rsh", 0x80: "neg", 0x90: "mod", 0xa0: "xor" };
      const op = ops[ins.code & 0xf0] ?? "alu?";
      return (ins.code & BPF.X) !== 0 ? `${op} x` : `${op} #${hex(ins.k)}`;
    }
    case BPF.JMP: {
      const op = ins.code & 0xf0;
      if (op === BPF.JA) return `ja +${ins.k}`;
      const ops: Record<number, string> = { 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset" };
      return `${ops[op] ?? "j?"} #${hex(ins.k)}, +${ins.jt}, +${ins.jf}`;
    }
    case BPF.RET:
      return (ins.code & 0x18) === BPF.A ? "ret a" : `ret #${hex(ins.k)}`;
    default:
      return (ins.code & 0xf8) === BPF.TXA ? "txa" : "tax";
  }
}

/** The whole program, one line per instruction, with absolute jump targets. */
export function disassemble(program: readonly SockFilter[]): string[] {
  return program.map((ins, pc) => {
    let text = disassembleOne(ins);
    if ((ins.code & 0x07) === BPF.JMP) {
      text += (ins.code & 0xf0) === BPF.JA ? `  -> ${pc + 1 + ins.k}` : `  -> ${pc + 1 + ins.jt} / ${pc + 1 + ins.jf}`;
    }
    return `${String(pc).padStart(4)}  ${text}`;
  });
}

// Span-aware JSONC reading for in-place edits of client configs: comments and formatting outside the
// entries we rewrite are kept byte for byte. Only what `wrap`/`unwrap` need: find the members of the
// top-level object and of one nested object, with the [start, end) offsets of each value, in a text
// whose comments the policy reader's blankJsonComments (engine) has blanked, offsets kept.

export interface Member {
  key: string;
  keyStart: number;
  valueStart: number;
  valueEnd: number;
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}
  ws() {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  fail(what: string): never {
    throw new SyntaxError(`${what} at offset ${this.i}`);
  }
  string(): string {
    const start = this.i;
    if (this.s[this.i] !== '"') this.fail("expected a string");
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== '"') this.i += this.s[this.i] === "\\" ? 2 : 1;
    this.i++;
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }
  value(): void {
    this.ws();
    const c = this.s[this.i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      this.i++;
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return;
      }
      for (;;) {
        this.ws();
        if (c === "{") {
          this.string();
          this.ws();
          if (this.s[this.i] !== ":") this.fail("expected ':'");
          this.i++;
        }
        this.value();
        this.ws();
        if (this.s[this.i] === ",") {
          this.i++;
          continue;
        }
        if (this.s[this.i] === close) {
          this.i++;
          return;
        }
        this.fail(`expected ',' or '${close}'`);
      }
    }
    if (c === '"') {
      this.string();
      return;
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i, this.i + 64));
    if (!m) this.fail("unexpected token");
    this.i += m[0].length;
  }
  /** Members of the object starting at this.i. */
  members(): Member[] {
    this.ws();
    if (this.s[this.i] !== "{") this.fail("expected an object");
    this.i++;
    const out: Member[] = [];
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      const keyStart = this.i;
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ":") this.fail("expected ':'");
      this.i++;
      this.ws();
      const valueStart = this.i;
      this.value();
      out.push({ key, keyStart, valueStart, valueEnd: this.i });
      this.ws();
      if (this.s[this.i] === ",") {
        this.i++;
        continue;
      }
      if (this.s[this.i] === "}") {
        this.i++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }
}

/** Members of the object at `offset` in the (blanked) text. */
export function objectMembers(blanked: string, offset = 0): Member[] {
  const sc = new Scanner(blanked);
  sc.i = offset;
  return sc.members();
}

/** The indentation (spaces/tabs) of the line containing `offset`. */
export function lineIndent(text: string, offset: number): string {
  const ls = text.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(ls))![0];
}

/** Guesses the file's indentation unit (two spaces by default). */
export function indentUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return "  ";
  return m[1]!.startsWith("\t") ? "\t" : m[1]!.length >= 4 && m[1]!.length % 4 === 0 && !/\n {2}\S/.test(text) ? "    " : "  ";
}

/** JSON.stringify(value) indented to sit at `indent` (first line not indented). */
export function serializeAt(value: unknown, indent: string, unit: string): string {
  const ser = (v: unknown, ind: string): string => {
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const flat = v.every((x) => x === null || typeof x !== "object");
      const one = `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
      if (flat && one.length + ind.length <= 100) return one;
      return `[\n${v.map((x) => ind + unit + ser(x, ind + unit)).join(",\n")}\n${ind}]`;
    }
    if (v !== null && typeof v === "object") {
      const es = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      if (es.length === 0) return "{}";
      return `{\n${es.map(([k, x]) => `${ind}${unit}${JSON.stringify(k)}: ${ser(x, ind + unit)}`).join(",\n")}\n${ind}}`;
    }
    return JSON.stringify(v);
  };
  return ser(value, indent);
}

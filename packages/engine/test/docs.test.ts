// The code's references to docs/design.md name something the document has (issue 10): a section by
// its heading (`docs/design.md, "Network"`, the comma optional), one of the three rules every change
// keeps (`docs/design.md, rule 2`), a seccomp notification rule (`rule S6`), or in Markdown an anchor
// (`docs/design.md#the-test-vm`). The team's shared notes, which are not in the repository, were
// cited under another name; no reference of that spelling is left.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT } from "../src/exit-codes.js";

// dist/test/x.test.js → repository root
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const DOC = "docs/design.md";
/** Where references are looked for (this test's own source, which spells the format out, aside). */
const SCANNED = ["packages", "scripts", "bench", ".ci", "docs", "README.md"];
const SELF = "packages/engine/test/docs.test.ts";
const SKIPPED_DIRS = new Set(["node_modules", "dist", "build", ".cache", ".git"]);
/** The notes' old name, assembled so that this file does not match it. */
const OLD_SPELLING = new RegExp("DESIGN" + "(\\.md| rule)");

/** What docs/design.md offers to be cited. */
interface Targets {
  headings: Set<string>;
  slugs: Set<string>;
  rules: Set<string>;
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-");
}

/** The lines of one section (up to the next heading of the same or a higher level). */
function section(doc: string, heading: string): string[] {
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, "") === heading);
  if (start < 0) return [];
  const level = lines[start]!.indexOf(" ");
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(" ") <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

function targets(doc: string): Targets {
  const headings = new Set(
    doc
      .split("\n")
      .filter((l) => /^#{2,4} /.test(l))
      .map((l) => l.replace(/^#+ /, "")),
  );
  const rules = new Set<string>();
  for (const l of section(doc, "Three rules every change keeps")) {
    const m = /^(\d+)\. /.exec(l);
    if (m) rules.add(m[1]!);
  }
  for (const l of section(doc, "Seccomp notification rules")) {
    const m = /^- \*\*(S\d+)\. /.exec(l);
    if (m) rules.add(m[1]!);
  }
  return { headings, slugs: new Set([...headings].map(slug)), rules };
}

interface Reference {
  kind: "section" | "rule" | "anchor";
  name: string;
}

/** Comments spread over lines read as one line: `docs/design.md,\n * "Resources"` is one reference. */
function flatten(text: string): string {
  return text.replace(/\n[ \t]*(?:\*(?!\/)|\/\/|#+)?[ \t]*/g, " ");
}

/** The references in one file's text, and what is wrong with them. */
function check(file: string, text: string, t: Targets): { refs: Reference[]; problems: string[] } {
  const refs: Reference[] = [];
  const problems: string[] = [];
  if (OLD_SPELLING.test(text)) problems.push(`${file}: cites the shared notes by their old name; cite ${DOC} instead`);
  const flat = flatten(text);
  for (let i = flat.indexOf(DOC); i >= 0; i = flat.indexOf(DOC, i + 1)) {
    const rest = flat.slice(i + DOC.length, i + DOC.length + 200);
    const sec = /^,?\s*"([^"]+)"/.exec(rest);
    const rule = /^,?\s*rule (S?\d+)\b/.exec(rest);
    const anchor = /^#([\w-]+)/.exec(rest);
    if (sec) {
      refs.push({ kind: "section", name: sec[1]! });
      if (!t.headings.has(sec[1]!)) problems.push(`${file}: ${DOC} has no section "${sec[1]}"`);
    } else if (rule) {
      refs.push({ kind: "rule", name: rule[1]! });
    } else if (anchor) {
      refs.push({ kind: "anchor", name: anchor[1]! });
      if (!t.slugs.has(anchor[1]!)) problems.push(`${file}: ${DOC} has no heading with the anchor #${anchor[1]}`);
    } else if (!(file.endsWith(".md") && /^[\])]/.test(rest))) {
      // A Markdown link to the whole document is fine; anywhere else, say which part is meant.
      problems.push(`${file}: "${DOC}${rest.slice(0, 30)}..." names no section or rule (write ${DOC}, "Section" or ${DOC}, rule N)`);
    }
  }
  for (const m of flat.matchAll(/\brule (S\d+)\b/g)) {
    if (!refs.some((r) => r.kind === "rule" && r.name === m[1])) refs.push({ kind: "rule", name: m[1]! });
  }
  for (const r of refs) {
    if (r.kind === "rule" && !t.rules.has(r.name)) problems.push(`${file}: ${DOC} has no rule ${r.name}`);
  }
  return { refs, problems };
}

function walk(path: string, out: string[]): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) if (!SKIPPED_DIRS.has(name)) walk(join(path, name), out);
  } else if (st.isFile() && st.size < 1 << 20) {
    out.push(path);
  }
}

function scanRepository(t: Targets): { refs: Reference[]; problems: string[] } {
  const files: string[] = [];
  for (const p of SCANNED) walk(join(root, p), files);
  const refs: Reference[] = [];
  const problems: string[] = [];
  for (const f of files) {
    if (relative(root, f) === SELF) continue;
    const bytes = readFileSync(f);
    if (bytes.includes(0)) continue; // not text
    const r = check(relative(root, f), bytes.toString("utf8"), t);
    refs.push(...r.refs);
    problems.push(...r.problems);
  }
  return { refs, problems };
}

const design = targets(readFileSync(join(root, DOC), "utf8"));

test("docs/design.md numbers its rules: 1 to 3, and S1 onwards without a gap", () => {
  const product = [...design.rules].filter((r) => !r.startsWith("S")).sort();
  assert.deepEqual(product, ["1", "2", "3"]);
  const s = [...design.rules].filter((r) => r.startsWith("S")).map((r) => Number(r.slice(1)));
  assert.ok(s.length >= 8, `only ${s.length} seccomp notification rules found`);
  assert.deepEqual(s.sort((a, b) => a - b), s.map((_, i) => i + 1));
});

test("every reference to docs/design.md in the repository names a section or rule it has", () => {
  const { refs, problems } = scanRepository(design);
  assert.deepEqual(problems, []);
  // The scan itself works: it found the references known to exist, of every kind.
  const names = new Set(refs.map((r) => `${r.kind}:${r.name}`));
  for (const known of ["section:Network", "section:Resources", "section:Identity", "rule:2", "rule:S6"]) {
    assert.ok(names.has(known), `the scan did not find the reference ${known}`);
  }
  assert.ok(refs.length >= 25, `only ${refs.length} references found`);
});

test("the check catches a wrong section, a wrong rule, a bare reference and the old name", () => {
  const bad = [
    `/* the supervisor (${DOC}, "The supervisr") */`,
    `// ${DOC} "Lifetime" and ${DOC}, rule 4`,
    `/* a listener left in the jail (rule S99) */`,
    `# see ${DOC} for the details`,
    `// ${"DESIGN"}.md "Identity"`,
    `see [${DOC}](../${DOC}#no-such-heading)`,
  ].join("\n");
  const { problems } = check("bad.c", bad, design);
  const expected = [/no section "The supervisr"/, /no rule 4/, /no rule S99/, /names no section or rule/, /old name/];
  for (const e of expected) assert.ok(problems.some((p) => e.test(p)), `not caught: ${e}\n${problems.join("\n")}`);
  assert.ok(!problems.some((p) => /"Lifetime"/.test(p)), "a correct reference was flagged");
  const md = check("bad.md", `see [${DOC}](../${DOC}#no-such-heading)`, design);
  assert.ok(md.problems.some((p) => /#no-such-heading/.test(p)), md.problems.join("\n"));
  // A reference spread over comment lines is read whole.
  const wrapped = check("ok.h", `/* the limit (${DOC},\n * "Resources"): ... */`, design);
  assert.deepEqual(wrapped.problems, []);
  assert.deepEqual(wrapped.refs, [{ kind: "section", name: "Resources" }]);
});

test("the README's exit-code table names exactly the codes of exit-codes.ts (the one table)", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Exit codes"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("|---|")));
  const codes = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  assert.deepEqual(codes, Object.values(EXIT).sort((a, b) => a - b));
});

// docs/escapes.md, the escape checklist (issue 10), says which test covers each item. This keeps it
// true: items 1 to 68 are each listed once, in the group they belong to (or under "Not yet
// tested"), each listed item names at least one test, and each test line names a file that exists
// and a test that is declared in it (the name on a line that calls it(, test( or describe(). A test
// renamed or moved, or an item dropped, fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./helpers.js";

const DOC = "docs/escapes.md";
const ITEMS = 68;
const UNTESTED = "Not yet tested";
/** The groups of the checklist and the items each holds. */
const GROUPS: Record<string, [number, number]> = {
  "Identity and privilege": [1, 10],
  "Processes and kernel surface": [11, 28],
  "Paths and races": [29, 34],
  Execution: [35, 39],
  Network: [40, 48],
  "Resources and lifetime": [49, 56],
  "Second round: classes": [57, 68],
};
/** What may follow an item, one line each (see the document's "How to read an item"). */
const KINDS = new Set(["test", "kernel", "note", "gap"]);

interface TestRef {
  file: string;
  name: string;
  line: number;
}

interface Item {
  n: number;
  section: string;
  line: number;
  tests: TestRef[];
}

/** Reads the items and their lines; what does not fit the format is a problem, not skipped. */
function parse(doc: string): { items: Item[]; problems: string[] } {
  const items: Item[] = [];
  const problems: string[] = [];
  let section = "";
  let item: Item | null = null;
  for (const [i, text] of doc.split("\n").entries()) {
    const line = i + 1;
    const heading = /^## (.+)$/.exec(text);
    const start = /^(\d+)\. \S/.exec(text);
    const sub = /^ {3}- (\w+): (.*)$/.exec(text);
    if (heading) {
      section = heading[1]!;
      item = null;
    } else if (start) {
      item = { n: Number(start[1]), section, line, tests: [] };
      items.push(item);
    } else if (sub) {
      const ref = /^(\S+) — "(.+)"$/.exec(sub[2]!);
      if (item === null) problems.push(`${DOC}:${line}: a "${sub[1]}:" line outside an item`);
      else if (!KINDS.has(sub[1]!)) problems.push(`${DOC}:${line}: unknown kind "${sub[1]}:" (one of ${[...KINDS].join(", ")})`);
      else if (sub[1] !== "test") continue;
      else if (ref === null) problems.push(`${DOC}:${line}: write a test line as: test: PATH — "TEST NAME"`);
      else item.tests.push({ file: ref[1]!, name: ref[2]!, line });
    } else if (item !== null && /^\s+- /.test(text)) {
      problems.push(`${DOC}:${line}: an item's line is "   - KIND: ...", indented three spaces`);
    }
  }
  return { items, problems };
}

/** Every way the parsed items fail the checklist, as one message each. */
function check(doc: string, read: (file: string) => string | null): string[] {
  const { items, problems } = parse(doc);
  const seen = new Map<number, number>();
  for (const it of items) {
    if (!Number.isInteger(it.n) || it.n < 1 || it.n > ITEMS) problems.push(`${DOC}:${it.line}: item ${it.n} is not one of 1 to ${ITEMS}`);
    const first = seen.get(it.n);
    if (first !== undefined) problems.push(`${DOC}:${it.line}: item ${it.n} is listed twice (also line ${first})`);
    else seen.set(it.n, it.line);
    if (it.section === UNTESTED) {
      if (it.tests.length > 0) problems.push(`${DOC}:${it.line}: item ${it.n} is under "${UNTESTED}" but names a test`);
      continue;
    }
    const range = GROUPS[it.section];
    if (range === undefined) problems.push(`${DOC}:${it.line}: item ${it.n} is in "${it.section}", which is not a group of the checklist`);
    else if (it.n < range[0] || it.n > range[1]) problems.push(`${DOC}:${it.line}: item ${it.n} belongs in another group than "${it.section}" (items ${range[0]}-${range[1]})`);
    if (it.tests.length === 0) problems.push(`${DOC}:${it.line}: item ${it.n} names no test (list it under "${UNTESTED}" with the reason)`);
    for (const t of it.tests) {
      const text = read(t.file);
      if (text === null) {
        problems.push(`${DOC}:${t.line}: item ${it.n}: ${t.file} is not a file of the repository`);
        continue;
      }
      const declared = text.split("\n").some((l) => l.includes(t.name) && /\b(it|test|describe)(\.\w+)?\(/.test(l));
      if (!declared) problems.push(`${DOC}:${t.line}: item ${it.n}: no it(, test( or describe( in ${t.file} is named "${t.name}"`);
    }
  }
  for (let n = 1; n <= ITEMS; n++) if (!seen.has(n)) problems.push(`${DOC}: item ${n} is missing (list it in its group, or under "${UNTESTED}")`);
  return problems;
}

/** A file of the repository, or null. Paths stay inside the repository. */
function readRepoFile(file: string): string | null {
  if (file.startsWith("/") || file.split("/").includes("..")) return null;
  const p = join(repoRoot, file);
  if (statSync(p, { throwIfNoEntry: false })?.isFile() !== true) return null;
  return readFileSync(p, "utf8");
}

const doc = readFileSync(join(repoRoot, DOC), "utf8");

test("docs/escapes.md lists items 1 to 68 once each, and every test it names exists under that name", () => {
  assert.deepEqual(check(doc, readRepoFile), []);
  // The parse found what the document has: every item, and a test line for most of them.
  const { items } = parse(doc);
  assert.equal(items.length, ITEMS);
  const refs = items.flatMap((i) => i.tests);
  assert.ok(refs.length >= ITEMS, `only ${refs.length} test lines found`);
  assert.deepEqual(Object.keys(GROUPS).filter((g) => !doc.includes(`\n## ${g}\n`)), [], "every group has its section");
});

test("the check catches a missing item, a renamed test, a missing file, a duplicate and a misplaced item", () => {
  const files: Record<string, string> = { "a.test.ts": `describe("group", () => {\n  it("the attack is refused", () => {});\n});\n// "a comment naming a test"\n` };
  const read = (f: string): string | null => files[f] ?? null;
  const good = (n: number): string => `${n}. An attack → EPERM.\n   - test: a.test.ts — "the attack is refused"\n`;
  const all = (skip: number[] = []): string =>
    Object.entries(GROUPS)
      .map(([g, [a, b]]) => `## ${g}\n\n${Array.from({ length: b - a + 1 }, (_, i) => a + i).filter((n) => !skip.includes(n)).map(good).join("")}`)
      .join("\n");
  assert.deepEqual(check(all(), read), []);
  // An untested item is fine under its section, with its reason.
  assert.deepEqual(check(`${all([66])}\n## ${UNTESTED}\n\n66. Per-user quotas: nothing exhausts them yet.\n`, read), []);
  const cases: Array<[string, RegExp]> = [
    [all([12]), /item 12 is missing/],
    [all().replace(/the attack is refused/, "the attack is refused (renamed)"), /no it\(, test\( or describe\( in a\.test\.ts is named "the attack is refused \(renamed\)"/],
    [all().replace("- test: a.test.ts — \"the attack is refused\"\n", "- test: a.test.ts — \"a comment naming a test\"\n"), /is named "a comment naming a test"/],
    [all().replace("- test: a.test.ts", "- test: b.test.ts"), /b\.test\.ts is not a file of the repository/],
    [`${all()}\n## ${UNTESTED}\n\n5. Also here.\n`, /item 5 is listed twice/],
    [all().replace("\n40. ", "\n4. "), /item 40 is missing/],
    [all().replace("## Network\n\n40. An attack → EPERM.\n   - test: a.test.ts — \"the attack is refused\"\n", "## Network\n\n40. An attack → EPERM.\n"), /item 40 names no test/],
    [all().replace("\n40. ", "\n39. "), /item 39 belongs in another group than "Network"/],
    [all().replace("   - test: a.test.ts — \"the attack is refused\"\n", "   - tests: a.test.ts\n"), /unknown kind "tests:"/],
    [all().replace("   - test: a.test.ts — \"the attack is refused\"\n", "   - test: a.test.ts \"the attack is refused\"\n"), /write a test line as/],
    [all().replace("   - test: a.test.ts — \"the attack is refused\"\n", "  - test: a.test.ts — \"the attack is refused\"\n"), /indented three spaces/],
  ];
  for (const [text, want] of cases) {
    const problems = check(text, read);
    assert.ok(problems.some((p) => want.test(p)), `not caught: ${want}\n${problems.join("\n")}`);
  }
});

// The code cites items as "ESCAPES N" (also "ESCAPES N-M", "ESCAPES N, M"): each number must be an
// item of the checklist.
test('every "ESCAPES N" the code cites is an item of docs/escapes.md', () => {
  const bad: string[] = [];
  let cited = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(repoRoot, dir))) {
      if (["node_modules", "dist", "build", ".git", ".cache"].includes(name)) continue;
      const rel = `${dir}/${name}`;
      const st = statSync(join(repoRoot, rel));
      if (st.isDirectory()) walk(rel);
      else if (/\.(ts|mjs|js|c|h|sh|md)$/.test(name)) {
        const text = readFileSync(join(repoRoot, rel), "utf8");
        for (const m of text.matchAll(/ESCAPES ((?:\d+(?:\s*[-–,]\s*|\s+and\s+)?)+)/g)) {
          for (const n of m[1]!.match(/\d+/g) ?? []) {
            cited++;
            if (Number(n) < 1 || Number(n) > ITEMS) bad.push(`${rel}: ESCAPES ${n}`);
          }
        }
      }
    }
  };
  for (const d of ["packages", "scripts", "bench", "docs"]) walk(d);
  assert.deepEqual(bad, []);
  assert.ok(cited > 100, `only ${cited} citations found: the scan is broken`);
});

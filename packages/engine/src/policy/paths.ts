// The policy's path fields: every field of PolicySchema that names a file or a directory, and so is
// relative to the file it is written in (a policy file, or the servers file of an inline policy).
// resolve.ts (policy files, flags) and servers.ts (inline policies) both make them absolute from
// this one list; test/policy.paths.test.ts fails when a string field of the schema is neither here
// nor known not to be a path.

/**
 * How a field's value is a path:
 * - `path`: always (relative: to the file's directory; `~`: the user's home);
 * - `grant`: PATH, PATH:DEST or { path, dest }: the host path is;
 * - `deny`: a glob, a path only when written ./x, ../x or ~/x (pathLikeDeny);
 * - `exec`: a path when it has a slash or starts with ~ (execIsPath), else a name looked up in PATH;
 * - `ref`: a file when it looks like one (refIsFile), else the name of a built-in profile.
 */
export type PathKind = "path" | "grant" | "deny" | "exec" | "ref";

/** `field`: the keys from the policy's root; "[]" steps into each entry of a list. A field whose
 * value is a list has each entry mapped. */
export interface PathField {
  field: readonly string[];
  kind: PathKind;
}

export const POLICY_PATH_FIELDS: readonly PathField[] = [
  { field: ["extends"], kind: "ref" },
  { field: ["filesystem", "ro"], kind: "grant" },
  { field: ["filesystem", "rw"], kind: "grant" },
  { field: ["filesystem", "exec"], kind: "exec" },
  { field: ["filesystem", "deny"], kind: "deny" },
  { field: ["filesystem", "cwd"], kind: "path" },
  { field: ["audit", "file"], kind: "path" },
  { field: ["pin", "file"], kind: "path" },
  { field: ["env", "secrets", "[]", "fromFile"], kind: "path" },
];

/** A deny entry that names a path ("./x", "../x", "~/x"); any other relative glob matches at any depth. */
export function pathLikeDeny(glob: string): boolean {
  return glob === "~" || glob.startsWith("~/") || glob === "." || glob === ".." || glob.startsWith("./") || glob.startsWith("../");
}

/** An exec entry that is a path rather than a program name. */
export function execIsPath(p: string): boolean {
  return p.includes("/") || p.startsWith("~");
}

/** An `extends` entry that is a file rather than a built-in profile. */
export function refIsFile(name: string): boolean {
  return name.includes("/") || name.startsWith("~") || /\.(ya?ml|jsonc?)$/i.test(name);
}

/** Where a value is, for messages: ["filesystem", "exec", 2]. */
export type FieldAt = (string | number)[];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Replaces, in place, every value of a path field of a raw (validated, not yet defaulted) policy
 * with `fn(value, kind, at)`; a list's entries one by one. Absent fields are left absent.
 */
export function mapPathFields(policy: Obj, fn: (value: unknown, kind: PathKind, at: FieldAt) => unknown): void {
  const visit = (holder: unknown, rest: readonly string[], at: FieldAt, kind: PathKind): void => {
    const [key, ...more] = rest;
    if (key === undefined) return;
    if (key === "[]") {
      if (Array.isArray(holder)) holder.forEach((item, i) => visit(item, more, [...at, i], kind));
      return;
    }
    if (!isObj(holder) || holder[key] === undefined) return;
    if (more.length) return visit(holder[key], more, [...at, key], kind);
    const v = holder[key];
    holder[key] = Array.isArray(v) ? v.map((x, i) => fn(x, kind, [...at, key, i])) : fn(v, kind, [...at, key]);
  };
  for (const f of POLICY_PATH_FIELDS) visit(policy, f.field, [], f.kind);
}

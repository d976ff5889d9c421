import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { foldToolName, globMatch, ToolPolicy } from "../src/index.js";

test("folding: case, compatibility forms, accents, look-alike letters, dashes and invisible characters", () => {
  const delete_file = foldToolName("delete_file");
  for (const name of [
    "Delete_file",
    "DELETE_FILE",
    "delete\u2010file", // hyphen
    "delete-file",
    "delete.file",
    "d\u0435lete_file", // Cyrillic ie
    "\u0434elete_file".replace("\u0434", "d"),
    "dеlеtе_filе", // three Cyrillic ie
    "ｄｅｌｅｔｅ＿ｆｉｌｅ", // fullwidth
    "dele\u200bte_file", // zero-width space
    "délète_file",
    "de1ete_fi1e", // digit one for l
    "delete\u2212file", // minus sign
    "ᴅelete_file".replace("ᴅ", "d"),
  ]) {
    assert.equal(foldToolName(name), delete_file, JSON.stringify(name));
  }
  assert.equal(foldToolName("\u0440\u0430\u0443"), "pay"); // Cyrillic er, a, u
  assert.equal(foldToolName("strasse"), foldToolName("STRAßE"));
  assert.notEqual(foldToolName("read_file"), foldToolName("write_file"));
});

test("deny rules hide look-alikes; allow rules match the exact name only", () => {
  const deny = new ToolPolicy({ allow: [], deny: ["delete_*"] });
  for (const name of ["delete_file", "Delete_file", "delete\u2010file", "d\u0435lete_file", "DELETE-DIR", "ｄelete_x"]) {
    assert.equal(deny.allows(name), false, JSON.stringify(name));
  }
  assert.equal(deny.allows("read_file"), true);
  assert.equal(deny.allows("undelete"), true);

  const allow = new ToolPolicy({ allow: ["read_file"], deny: [] });
  assert.equal(allow.allows("read_file"), true);
  for (const name of ["Read_file", "read-file", "r\u0435ad_file", "read_file\u200b"]) {
    assert.equal(allow.allows(name), false, `${JSON.stringify(name)} is not the allowed name`);
  }
});

test("folding is idempotent and never makes a denied exact name allowed", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 24 }), (name) => {
      const once = foldToolName(name);
      assert.equal(foldToolName(once), once);
      const policy = new ToolPolicy({ allow: [], deny: [name.replaceAll("*", "").replaceAll("?", "")] });
      assert.equal(policy.allows(name.replaceAll("*", "").replaceAll("?", "")), false);
    }),
    { numRuns: 3000 },
  );
  assert.ok(globMatch(foldToolName("Delete_*"), foldToolName("dеlete‐file")));
});

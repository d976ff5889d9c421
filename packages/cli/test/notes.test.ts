// The refusal notes mcp-j keeps for calls and tasks until their results go out (notes.ts): what a
// result gets, and the bounds that hold whatever a server leaves unanswered.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_PER_CALL, RefusalNotes } from "../src/notes.js";

const refusal = (target: string, action = "read") => ({ action, target, reason: "outside", allow: `--ro ${target}` });

test("a call's note: each refusal once, at most MAX_PER_CALL, taken once", () => {
  const book = new RefusalNotes();
  for (let i = 0; i < MAX_PER_CALL + 5; i++) book.add("c1", refusal(`/f${i}`));
  book.add("c1", refusal("/f0"));
  const list = book.take("c1");
  assert.deepEqual(list.map((r) => r.target), Array.from({ length: MAX_PER_CALL }, (_, i) => `/f${i}`));
  assert.deepEqual(book.take("c1"), []);
  assert.equal(book.size, 0);
});

test("carry: the call's refusals come first on the task's note, each once, at most MAX_PER_CALL", () => {
  const book = new RefusalNotes();
  book.add("task", refusal("/during-task"));
  book.add("task", refusal("/both"));
  book.add("call", refusal("/at-start"));
  book.add("call", refusal("/both"));
  book.carry("call", "task");
  assert.deepEqual(book.take("call"), []);
  assert.deepEqual(book.take("task").map((r) => r.target), ["/at-start", "/both", "/during-task"]);
  // Nothing to carry leaves the task's note alone.
  book.add("t2", refusal("/x"));
  book.carry("none", "t2");
  assert.deepEqual(book.take("t2").map((r) => r.target), ["/x"]);
  for (let i = 0; i < MAX_PER_CALL; i++) {
    book.add("a", refusal(`/a${i}`));
    book.add("b", refusal(`/b${i}`));
  }
  book.carry("a", "b");
  assert.equal(book.take("b").length, MAX_PER_CALL);
});

test("bounded in characters: the oldest notes are forgotten first, never the one being written", () => {
  const path = "/p".repeat(500);
  const each = refusal(path).action.length + path.length + "outside".length + `--ro ${path}`.length;
  const book = new RefusalNotes(each * 10);
  for (let i = 0; i < 25; i++) book.add(`c${i}`, refusal(path));
  assert.equal(book.size, 10);
  assert.deepEqual(book.take("c14"), [], "the oldest were forgotten");
  assert.equal(book.take("c24").length, 1, "the newest is kept");
  // One note larger than the whole budget is still the one kept.
  const small = new RefusalNotes(each);
  small.add("old", refusal(path));
  small.add("big", refusal(path, "write"));
  small.add("big", refusal(path, "exec"));
  assert.deepEqual(small.take("old"), []);
  assert.equal(small.take("big").length, 2);
  assert.equal(small.size, 0);
});

test("bounded in calls: 4,096 notes at most", () => {
  const book = new RefusalNotes();
  for (let i = 0; i < 5000; i++) book.add(`c${i}`, refusal("/x"));
  assert.equal(book.size, 4096);
  assert.equal(book.take("c903").length, 0);
  assert.equal(book.take("c904").length, 1);
});

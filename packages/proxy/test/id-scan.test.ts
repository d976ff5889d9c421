import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isValidId, scanTopLevel, TopLevelIdScanner } from "../src/index.js";

const scan = (text: string) => scanTopLevel(Buffer.from(text, "utf8"));

test("finds the top-level id wherever it is, and ignores nested ones", () => {
  assert.equal(scan('{"id":1,"method":"m"}').id, 1);
  assert.equal(scan('{"result":{"id":5,"x":[{"id":6}]},"jsonrpc":"2.0","id":"a\\"b"}').id, 'a"b');
  assert.equal(scan('{"params":{"id":5}}').id, null);
  assert.equal(scan('{"params":{"id":5}}').hasId, false);
  assert.equal(scan(' \t{ "id" : -42 , "x": "}" }').id, -42);
});

test("reads escaped keys as JSON does, and takes the last of duplicate ids", () => {
  assert.equal(scan('{"\\u0069d":3}').id, 3);
  assert.equal(scan('{"id":1,"id":2}').id, 2);
  assert.equal(scan('{"id":1,"id":null}').id, null);
});

test("invalid ids are not recovered but are noticed", () => {
  for (const bad of ["null", "true", "1.5", "[1]", '{"a":1}', "1e400", "9007199254740993"]) {
    const s = scan(`{"id":${bad},"method":"m"}`);
    assert.equal(s.id, null, bad);
    assert.equal(s.hasId, true, bad);
  }
  assert.equal(scan(`{"id":"${"x".repeat(1000)}"}`).id, null);
});

test("tells objects from batches and scalars, and notes method/result/error keys", () => {
  assert.equal(scan('[{"id":1}]').isObject, false);
  assert.equal(scan('[{"id":1}]').id, null);
  assert.equal(scan("123").isObject, false);
  const s = scan('{"error":{"code":1,"message":"m"},"id":4}');
  assert.deepEqual([s.hasError, s.hasResult, s.hasMethod, s.id], [true, false, false, 4]);
});

test("property: the scanner agrees with JSON.parse on the top-level id, however the bytes are fed", () => {
  const idArb = fc.oneof(fc.string({ unit: "binary", maxLength: 20 }), fc.maxSafeInteger(), fc.maxSafeNat(), fc.double(), fc.constant(null), fc.boolean());
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 })),
      idArb,
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 10 }),
      (rest, id, idFirst, offsets) => {
        const obj = idFirst ? { id, ...rest } : { ...rest, id };
        const text = JSON.stringify(obj);
        const parsed = JSON.parse(text) as { id: unknown };
        const expected = isValidId(parsed.id) ? parsed.id : null;
        const bytes = Buffer.from(text, "utf8");
        const scanner = new TopLevelIdScanner();
        let start = 0;
        for (const o of [...offsets.map((x) => x % (bytes.length + 1))].sort((a, b) => a - b)) {
          scanner.push(bytes.subarray(start, o));
          start = o;
        }
        scanner.push(bytes.subarray(start));
        assert.deepEqual(scanner.summary().id, expected);
      },
    ),
    { numRuns: 1000 },
  );
});

/**
 * std-style assertions over `node:assert/strict` (JSR's `@std/assert` is unreachable here).
 * @module
 */
import assert from "node:assert/strict";

/** Throws if `value` is falsy. */
export function assertOk(value: unknown, message?: string): asserts value {
  if (message === undefined) assert.ok(value);
  else assert.ok(value, message);
}

/** Deep strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  if (message === undefined) assert.deepStrictEqual(actual, expected);
  else assert.deepStrictEqual(actual, expected, message);
}

/** `actual` matches the regular expression. */
export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  if (message === undefined) assert.match(actual, expected);
  else assert.match(actual, expected, message);
}

/** |actual − expected| ≤ tolerance (absolute); names both values on failure. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new assert.AssertionError({
      message:
        `${
          message ? message + ": " : ""
        }expected ${actual} to be within ${tolerance} of ${expected}` +
        ` (off by ${Math.abs(actual - expected)})`,
      actual,
      expected,
    });
  }
}

/** Max |a_i − b_i| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Every |a_i − b_i| ≤ tolerance. */
export function assertAllClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tolerance: number,
  message?: string,
): void {
  const diff = maxAbsDiff(a, b);
  if (!(diff <= tolerance)) {
    throw new assert.AssertionError({
      message: `${message ? message + ": " : ""}max |a − b| = ${diff} exceeds ${tolerance}`,
    });
  }
}

/** `fn()` throws an instance of `type` whose message matches `pattern` (if given). */
export function assertThrows(
  fn: () => unknown,
  type: abstract new (...args: never[]) => Error,
  pattern?: RegExp,
): Error {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** `fn()` rejects with an instance of `type` whose message matches `pattern` (if given). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  type: abstract new (...args: never[]) => Error,
  pattern?: RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be rejected` });
}

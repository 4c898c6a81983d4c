/**
 * CPython's `random.Random` reproduced bit for bit for the operations the IOI generator uses:
 * MT19937 seeded through `init_by_array` (as `random.seed(int)` does), `getrandbits(k ≤ 32)`,
 * `_randbelow`, `choice`, `shuffle` and `random()`.
 * @module
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * A Mersenne Twister that produces the same stream as CPython's `random.Random(seed)` for an
 * integer seed (Python 3.2+ `random.seed(int)`: the key is |seed| split into 32-bit words,
 * least significant first; seed 0 gives the key `[0]`).
 *
 * @example
 * ```ts
 * import { PythonRandom } from "./python_random.ts";
 * const rng = new PythonRandom(0);
 * // python3 -c "import random; random.seed(0); print(random.getrandbits(32))" → 3626764237
 * if (rng.getrandbits(32) !== 3626764237) throw new Error("not CPython's stream");
 * ```
 */
export class PythonRandom {
  readonly #mt = new Uint32Array(N);
  #index = N + 1;

  /** Seeds like `random.seed(seed)` for an integer seed (negative seeds use |seed|). */
  constructor(seed: number | bigint) {
    this.seed(seed);
  }

  /** Re-seeds like `random.seed(seed)` for an integer seed. */
  seed(seed: number | bigint): void {
    if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
      throw new RangeError(`PythonRandom seed must be a safe integer, got ${seed}`);
    }
    let n = BigInt(seed);
    if (n < 0n) n = -n;
    const key: number[] = [];
    while (n > 0n) {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    }
    if (key.length === 0) key.push(0);
    this.#initByArray(key);
  }

  #initGenrand(s: number): void {
    const mt = this.#mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.#index = N;
  }

  #initByArray(key: number[]): void {
    const mt = this.#mt;
    this.#initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  #twist(): void {
    const mt = this.#mt;
    for (let kk = 0; kk < N; kk++) {
      const y = (mt[kk]! & UPPER_MASK) | (mt[(kk + 1) % N]! & LOWER_MASK);
      mt[kk] = (mt[(kk + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.#index = 0;
  }

  /** The next raw 32-bit output (`genrand_uint32`), as an unsigned number. */
  nextUint32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#mt[this.#index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.getrandbits(k)` for 0 ≤ k ≤ 32 (the top k bits of one 32-bit output). */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 32) {
      throw new RangeError(`getrandbits supports 0 ≤ k ≤ 32, got ${k}`);
    }
    if (k === 0) return 0;
    return this.nextUint32() >>> (32 - k);
  }

  /** `random.random()`: a 53-bit float in [0, 1). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `random._randbelow(n)` (rejection sampling on `getrandbits(n.bit_length())`), n ≥ 1. */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
      throw new RangeError(`randbelow needs an integer 1 ≤ n < 2^32, got ${n}`);
    }
    const k = 32 - Math.clz32(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.choice(seq)`. */
  choice<T>(seq: readonly T[]): T {
    if (seq.length === 0) throw new RangeError("choice from an empty sequence");
    return seq[this.randbelow(seq.length)]!;
  }

  /** `random.shuffle(x)` in place (Fisher–Yates from the end, as CPython 3.11). */
  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i >= 1; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i]!;
      x[i] = x[j]!;
      x[j] = t;
    }
  }
}

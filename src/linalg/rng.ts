/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) so every
 * random draw in svlens is reproducible from one recorded integer seed.
 * @module
 */

/** splitmix32 step: spreads an arbitrary 32-bit seed over the generator state. */
function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Seeded random numbers: `uniform()` in [0, 1) with 53 random bits, `normal()` (standard
 * Gaussian, Box–Muller), `int(n)` uniform in {0, …, n−1}. The same seed always gives the same
 * sequence on every platform (only 32-bit integer arithmetic and IEEE doubles are used).
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(42), b = new Rng(42);
 * if (a.normal() !== b.normal()) throw new Error("not reproducible");
 * ```
 */
export class Rng {
  /** The seed this generator was created with (record it in results). */
  readonly seed: number;
  readonly #s = new Uint32Array(4);
  #spare: number | undefined = undefined;

  /** Creates a generator from a finite integer seed (|seed| < 2^53). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Rng seed must be a safe integer, got ${seed}; pass e.g. 0 or 1234`);
    }
    this.seed = seed;
    // Mix the low and high 32-bit halves so seeds beyond 2^32 still differ.
    const lo = seed % 0x100000000;
    const hi = Math.floor(seed / 0x100000000);
    const st = { x: (lo ^ Math.imul(hi | 0, 0x27d4eb2d)) | 0 };
    for (let i = 0; i < 4; i++) this.#s[i] = splitmix32(st);
    if ((this.#s[0]! | this.#s[1]! | this.#s[2]! | this.#s[3]!) === 0) this.#s[0] = 1;
  }

  /** The next raw 32-bit unsigned output (xoshiro128**). */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform double in [0, 1) built from 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal draw (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.#spare !== undefined) {
      const v = this.#spare;
      this.#spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) guard
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in {0, …, n−1} (unbiased; n a positive safe integer). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RangeError(`Rng.int(n) needs a positive integer n, got ${n}`);
    }
    if (n <= 0x100000000) {
      // Rejection sampling on 32 bits removes modulo bias.
      const limit = 0x100000000 - (0x100000000 % n);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return x % n;
    }
    return Math.floor(this.uniform() * n);
  }

  /** `count` standard normal draws as a Float64Array. */
  normals(count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

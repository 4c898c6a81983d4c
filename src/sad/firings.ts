/**
 * Which (query d, key s) pairs of a head are decomposed (method.md §4.7): every pair with
 * 1 ≤ s ≤ d ≤ END and attention A_ds ≥ τ (τ = 0.5 by default, or 1/(d+1)), plus the canonical
 * IOI pair of the head's type.
 * @module
 */
import { SvlensError } from "../errors.ts";

/** The IOI roles whose canonical (query, key) pair is known (method.md §4.7). */
export type HeadType =
  | "name-mover"
  | "s-inhibition"
  | "duplicate-token"
  | "previous-token"
  | "induction";

/** All head types, for validation. */
export const HEAD_TYPES: readonly HeadType[] = [
  "name-mover",
  "s-inhibition",
  "duplicate-token",
  "previous-token",
  "induction",
];

/** The IOI heads of GPT-2 small used by SAD/ACC, with their roles (method.md §4.7). */
export const GPT2_SMALL_IOI_HEADS: ReadonlyMap<string, HeadType> = new Map([
  ["8.6", "s-inhibition"],
  ["4.11", "previous-token"],
  ["3.0", "duplicate-token"],
  ["9.9", "name-mover"],
  ["9.6", "name-mover"],
  ["10.0", "name-mover"],
]);

/** Attention threshold: a fixed τ or `"1/m"` (τ = 1/(d+1) for query d). */
export type Tau = number | "1/m";

/** Token positions a firing rule needs (see `IoiPositions`). */
export interface FiringPositions {
  /** Number of real tokens. */
  length: number;
  /** Last query position analysed. */
  end: number;
  /** IO, S1, S2 positions (for canonical pairs); −1 when unknown. */
  io: number;
  /** First subject position. */
  s1: number;
  /** Second subject position. */
  s2: number;
}

/** One (query, key) pair to decompose. */
export interface Firing {
  /** Query (destination) position d. */
  query: number;
  /** Key (source) position s. */
  key: number;
  /** Attention weight A_ds. */
  attention: number;
  /** `threshold` (A ≥ τ) or the canonical pair's head type. */
  reason: "threshold" | HeadType;
}

/** The canonical IOI pair (d, s) of a head type. */
export function canonicalPair(type: HeadType, p: FiringPositions): [number, number] {
  switch (type) {
    case "name-mover":
      return [p.end, p.io];
    case "s-inhibition":
      return [p.end, p.s2];
    case "duplicate-token":
      return [p.s2, p.s1];
    case "previous-token":
      return [p.s1 + 1, p.s1];
    case "induction":
      return [p.s2, p.s1 + 1];
  }
}

/**
 * Firings of one head on one prompt. `pattern(d, s)` reads A_ds. Threshold firings come first
 * (query-major); the canonical pair is appended when `type` is given (even below τ; if it is
 * also a threshold firing it is listed once, under its type).
 */
export function selectFirings(
  pattern: (d: number, s: number) => number,
  positions: FiringPositions,
  tau: Tau,
  type?: HeadType,
): Firing[] {
  if (positions.end >= positions.length) {
    throw new SvlensError(
      `firing rule: END position ${positions.end} is not inside the prompt of ` +
        `${positions.length} tokens`,
    );
  }
  const canonical = type === undefined ? undefined : canonicalPair(type, positions);
  const out: Firing[] = [];
  for (let d = 1; d <= positions.end; d++) {
    const threshold = tau === "1/m" ? 1 / (d + 1) : tau;
    for (let s = 1; s <= d; s++) {
      if (canonical && canonical[0] === d && canonical[1] === s) continue;
      const a = pattern(d, s);
      if (a >= threshold) out.push({ query: d, key: s, attention: a, reason: "threshold" });
    }
  }
  if (canonical && type) {
    const [d, s] = canonical;
    if (d >= 1 && s >= 0 && s <= d && d <= positions.end) {
      out.push({ query: d, key: s, attention: pattern(d, s), reason: type });
    }
  }
  return out;
}

/**
 * Demo of SAD on planted models (where the right answer is known): for a GPT-2-shaped and a
 * rotary (Pythia-shaped) planted model, the forward pass, then per head the planted firings'
 * N_recon and sparseness in the SVD basis and under a random rotation.
 *
 * Run: `deno run src/sad/planted_demo.ts` (no permissions).
 * @module
 */
import { runWithCache } from "../runtime/mod.ts";
import { analyseHead } from "./analyse.ts";
import type { FiringPositions } from "./firings.ts";
import { plantedModel, plantedPrompts } from "./planted.ts";
import { headRotations } from "./rotation.ts";
import { summarizeHead } from "./summary.ts";

/** One row of the demo: a head's planted firings in the SVD and the rotated basis. */
export interface PlantedDemoRow {
  /** `gpt2` or `gpt_neox` (+ rotary mode). */
  model: string;
  /** Head "L.H". */
  head: string;
  /** Planted firings found (query token a → key token b, attention ≥ 0.5). */
  firings: number;
  /** Mean N_recon in the SVD basis (1 expected). */
  nRecon: number;
  /** Mean N_recon in the rotated basis. */
  rotatedNRecon: number;
  /** Mean sparseness in the SVD basis (1/K expected). */
  sparseness: number;
  /** Mean sparseness in the rotated basis. */
  rotatedSparseness: number;
}

/** Runs the demo (seeded; the rotation seed is `seed` too). */
export async function plantedDemo(seed = 0): Promise<PlantedDemoRow[]> {
  const rows: PlantedDemoRow[] = [];
  const variants = [["gpt2", "residual"], ["gpt_neox", "residual"], ["gpt_neox", "per-offset"]];
  for (
    const [architecture, rotary] of variants as Array<
      ["gpt2" | "gpt_neox", "residual" | "per-offset"]
    >
  ) {
    const { model, plants } = plantedModel({ architecture, nLayers: 2, nHeads: 4, seed });
    const { nLayers, nHeads, dHead, dVocab } = model.config;
    const { tokens } = plantedPrompts(plants, dVocab, { n: 32, length: 12, seed: seed + 1 });
    const cache = await runWithCache(model, tokens, {
      names: ["blocks.*.ln1.hook_normalized", "blocks.*.attn.hook_pattern"],
      backend: "reference",
    });
    const positions: FiringPositions[] = tokens.map((t) => ({
      length: t.length,
      end: t.length - 1,
      io: -1,
      s1: -1,
      s2: -1,
    }));
    const rotations = headRotations(nLayers, nHeads, dHead, seed);
    for (const plant of plants) {
      const { layer, head } = plant;
      const acts = {
        normalized: cache.get(`blocks.${layer}.ln1.hook_normalized`)!,
        pattern: cache.get(`blocks.${layer}.attn.hook_pattern`)!,
      };
      const all = analyseHead(model, layer, head, acts, positions, rotations(layer, head), {
        rotary,
      });
      const planted = all.firings.filter((f) =>
        tokens[f.prompt]![f.query] === plant.queryToken &&
        tokens[f.prompt]![f.key] === plant.keyToken
      );
      const s = summarizeHead(layer, head, planted, dHead);
      rows.push({
        model: architecture === "gpt2" ? "gpt2" : `gpt_neox (${rotary})`,
        head: s.head,
        firings: planted.length,
        nRecon: s.svd.meanNRecon,
        rotatedNRecon: s.rotated.meanNRecon,
        sparseness: s.svd.meanSparseness,
        rotatedSparseness: s.rotated.meanSparseness,
      });
    }
  }
  return rows;
}

if (import.meta.main) {
  const rows = await plantedDemo();
  console.log("model                    head  firings  N_recon  rot N_recon  S      rot S");
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(24)} ${r.head.padEnd(5)} ${String(r.firings).padStart(7)}  ` +
        `${r.nRecon.toFixed(2).padStart(7)}  ${r.rotatedNRecon.toFixed(2).padStart(11)}  ` +
        `${r.sparseness.toFixed(3)}  ${r.rotatedSparseness.toFixed(3)}`,
    );
  }
  console.log("planted firings: N_recon = 1 and S = 1/K (K = d_head = 16) in the SVD basis;");
  console.log("a Haar-random rotation of the basis spreads each logit over many components.");
}

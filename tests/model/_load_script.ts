/**
 * Subprocess helper for Hub/cache tests: loads `Deno.args[0]` (model id or dir) at revision
 * `Deno.args[1]` with whatever permissions and environment the test grants, and prints a JSON
 * summary (or the error's class and message).
 * @module
 */
import { loadModel } from "../../src/model/load.ts";

const [id, revision] = Deno.args;
try {
  const m = await loadModel(id!, { revision });
  let sum = 0;
  for (const t of m.weights.values()) for (const v of t.data) sum += v;
  console.log(JSON.stringify({
    commit: m.commit,
    dir: m.dir,
    weightFile: m.weightFile,
    dModel: m.config.dModel,
    sum,
    tokenizer: m.tokenizer?.files ?? [],
  }));
} catch (error) {
  console.log(JSON.stringify({ error: (error as Error).name, message: (error as Error).message }));
  Deno.exit(1);
}

// @ts-self-types="./_kernels_mt_source.d.ts"
// The compiled (not instantiated) thread-shareable kernels module. A source-phase import keeps it
// in the module graph (no permissions, works when run from a URL) while letting us instantiate it
// ourselves on a shared memory, once per thread. TypeScript cannot parse `import source` yet,
// hence this tiny JS file with a .d.ts.
import source kernelsMt from "../../wasm/kernels_mt.wasm";
export default kernelsMt;

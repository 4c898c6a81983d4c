/** The compiled `wasm/kernels_mt.wasm` (imports `env.memory`, a shared memory). */
declare const kernelsMt: WebAssembly.Module;
export default kernelsMt;

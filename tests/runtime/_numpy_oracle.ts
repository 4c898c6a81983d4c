/**
 * An independent forward pass in numpy (float64), written from the HF GPT-NeoX / GPT-2 code
 * (NeoX rotate-half over the first rotary_dim dims, parallel residual, erf or tanh GELU), used as
 * the oracle for the TypeScript reference on random models.
 * @module
 */
import type { Model, Tensor } from "../../src/model/types.ts";
import { runPython } from "../_helpers.ts";

const SCRIPT = `
import sys, json, numpy as np
from math import erf
raw = sys.stdin.buffer.read()
n = int.from_bytes(raw[:8], 'little'); head = json.loads(raw[8:8+n]); blob = raw[8+n:]
cfg = head['config']; W = {}
for name, shape, off in head['tensors']:
    size = int(np.prod(shape)); W[name] = np.frombuffer(blob, '<f4', size, off).astype(np.float64).reshape(shape)
toks = head['tokens']; T = len(toks); C, H, D = cfg['dModel'], cfg['nHeads'], cfg['dHead']; R = cfg['rotaryDim']
def ln(x, p):
    mu = x.mean(-1, keepdims=True); s = np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + cfg['lnEps'])
    y = (x - mu) / s
    if p + '.w' in W: y = y * W[p + '.w']
    if p + '.b' in W: y = y + W[p + '.b']
    return y
def g(name, shape): return W.get(name, np.zeros(shape))
verf = np.vectorize(erf)
def act(x):
    if cfg['act'] == 'gelu': return 0.5 * x * (1 + verf(x / np.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
def rope(x):  # x [T, H, D]; HF GPT-NeoX: cat(freqs, freqs), rotate_half = cat(-x2, x1)
    if R == 0: return x
    inv = 1.0 / (cfg['rotaryBase'] ** (np.arange(0, R, 2) / R)); ang = np.outer(np.arange(T), inv)
    emb = np.concatenate([ang, ang], -1); cos = np.cos(emb)[:, None, :]; sin = np.sin(emb)[:, None, :]
    xr, xp = x[..., :R], x[..., R:]
    rot = np.concatenate([-xr[..., R // 2:], xr[..., :R // 2]], -1)
    return np.concatenate([xr * cos + rot * sin, xp], -1)
out = {}
x = W['embed.W_E'][toks]
if R == 0: x = x + W['pos_embed.W_pos'][:T]
for l in range(cfg['nLayers']):
    p = 'blocks.%d.' % l
    h1 = ln(x, p + 'ln1'); out[p + 'ln1.hook_normalized'] = h1
    q = np.einsum('tc,hcd->thd', h1, W[p + 'attn.W_Q']) + g(p + 'attn.b_Q', (H, D))
    k = np.einsum('tc,hcd->thd', h1, W[p + 'attn.W_K']) + g(p + 'attn.b_K', (H, D))
    v = np.einsum('tc,hcd->thd', h1, W[p + 'attn.W_V']) + g(p + 'attn.b_V', (H, D))
    q, k = rope(q), rope(k)
    s = np.einsum('qhd,khd->hqk', q, k) / np.sqrt(D)
    s = np.where(np.tril(np.ones((T, T))) > 0, s, -np.inf); out[p + 'attn.hook_attn_scores'] = s
    a = np.exp(s - s.max(-1, keepdims=True)); a = a / a.sum(-1, keepdims=True); out[p + 'attn.hook_pattern'] = a
    z = np.einsum('hqk,khd->qhd', a, v)
    ao = np.einsum('thd,hdc->tc', z, W[p + 'attn.W_O']) + g(p + 'attn.b_O', (C,))
    mid = x if cfg['parallelResidual'] else x + ao
    m = act(ln(mid, p + 'ln2') @ W[p + 'mlp.W_in'] + g(p + 'mlp.b_in', (cfg['dMlp'],))) @ W[p + 'mlp.W_out'] + g(p + 'mlp.b_out', (C,))
    x = x + ao + m if cfg['parallelResidual'] else mid + m
    out[p + 'hook_resid_post'] = x
f = ln(x, 'ln_final'); out['ln_final.hook_normalized'] = f
out['logits'] = f @ W['unembed.W_U'] + g('unembed.b_U', (cfg['dVocab'],))
print(json.dumps({k: np.where(np.isinf(v), -1e30, v).ravel().tolist() for k, v in out.items()}))
`;

/** Runs the numpy oracle on one prompt; returns hook name → float64 values (-∞ as -1e30). */
export async function numpyForward(model: Model, tokens: number[]): Promise<Map<string, number[]>> {
  const entries: Array<[string, Tensor]> = [...model.weights.entries()];
  const tensors: Array<[string, readonly number[], number]> = [];
  let offset = 0;
  for (const [name, t] of entries) {
    tensors.push([name, t.shape, offset]);
    offset += t.data.byteLength;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ config: model.config, tensors, tokens }),
  );
  const buf = new Uint8Array(8 + header.length + offset);
  new DataView(buf.buffer).setBigUint64(0, BigInt(header.length), true);
  buf.set(header, 8);
  let at = 8 + header.length;
  for (const [, t] of entries) {
    buf.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  const json = JSON.parse(await runPython(SCRIPT, buf)) as Record<string, number[]>;
  return new Map(
    Object.entries(json).map(([k, v]) => [k, v.map((x) => (x <= -1e29 ? -Infinity : x))]),
  );
}

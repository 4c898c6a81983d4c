"""Writes PyTorch-style zip checkpoints without torch (test helper for svlens).

Stand-in classes/functions carry torch's __module__/__qualname__, so Python's own pickle module
emits exactly the GLOBAL opcodes torch.save does; the Pickler's persistent_id mirrors
torch.serialization._save: ('storage', <torch.XStorage>, key, 'cpu', numel).
Input (stdin JSON): {"out": path, "tensors": {name: {"dtype": "f32"|"f16"|"bf16"|"f64"|"i64"|"bool",
"shape": [...], "data": [...], "transpose": bool, "share": name?}}, "protocol": 2, "evil": str?}
"""
import collections, io, json, pickle, struct, sys, types, zipfile
import numpy as np

torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
torch._utils = utils

def _rebuild_tensor_v2(*a): raise RuntimeError("never called")
tensor_mod = types.ModuleType("torch._tensor"); sys.modules["torch._tensor"] = tensor_mod
def _rebuild_from_type_v2(*a): raise RuntimeError("never called")
_rebuild_from_type_v2.__module__ = "torch._tensor"; _rebuild_from_type_v2.__qualname__ = "_rebuild_from_type_v2"
tensor_mod._rebuild_from_type_v2 = _rebuild_from_type_v2
class TorchTensorType: pass
TorchTensorType.__module__ = "torch"; TorchTensorType.__qualname__ = "Tensor"; TorchTensorType.__name__ = "Tensor"; torch.Tensor = TorchTensorType
def _rebuild_parameter(*a): raise RuntimeError("never called")
for f in (_rebuild_tensor_v2, _rebuild_parameter):
    f.__module__ = "torch._utils"; f.__qualname__ = f.__name__; setattr(utils, f.__name__, f)
STORAGE = {}
for name in ["FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage", "BoolStorage"]:
    cls = type(name, (), {}); cls.__module__ = "torch"; cls.__qualname__ = name
    setattr(torch, name, cls); STORAGE[name] = cls

class Storage:
    def __init__(self, kind, key, raw, numel): self.kind, self.key, self.raw, self.numel = kind, key, raw, numel

class Tensor:
    def __init__(self, storage, offset, size, stride, param=False, from_type=False):
        self.storage, self.offset, self.size, self.stride, self.param = storage, offset, size, stride, param
        self.from_type = from_type
    def __reduce_ex__(self, proto):
        t = (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))
        if self.from_type:
            return (_rebuild_from_type_v2, (t[0], TorchTensorType, t[1], {}))
        if self.param:
            return (_rebuild_parameter, (Inner(t), False, collections.OrderedDict()))
        return t

class Inner:
    def __init__(self, t): self.t = t
    def __reduce_ex__(self, proto): return self.t

class Evil:
    def __init__(self, target): self.target = target
    def __reduce__(self):
        mod, name = self.target.rsplit(".", 1)
        fn = types.FunctionType((lambda *a: None).__code__, {}); fn.__module__ = mod; fn.__qualname__ = name
        m = sys.modules.setdefault(mod, types.ModuleType(mod)); setattr(m, name, fn)
        return (fn, ("echo pwned",))

class P(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE[obj.kind], obj.key, "cpu", obj.numel)
        return None

spec = json.load(sys.stdin)
kinds = {"f32": ("FloatStorage", "<f4"), "f16": ("HalfStorage", "<f2"), "f64": ("DoubleStorage", "<f8"),
         "i64": ("LongStorage", "<i8"), "bool": ("BoolStorage", "?"), "bf16": ("BFloat16Storage", None)}
sd = collections.OrderedDict(); storages = {}; blobs = {}
for i, (name, t) in enumerate(spec["tensors"].items()):
    kind, np_dtype = kinds[t["dtype"]]
    shape = t["shape"]
    if t.get("share"):
        st = storages[t["share"]]
        sd[name] = Tensor(st, 0, shape, [int(np.prod(shape[j+1:])) for j in range(len(shape))])
        continue
    arr = np.array(t["data"], dtype=np.float64).reshape(shape)
    if t.get("transpose"):
        # store the transpose contiguously and describe arr as a strided view of it
        stored = np.ascontiguousarray(arr.T); stride = [1, shape[0]]
    else:
        stored = arr; stride = [int(np.prod(shape[j+1:])) for j in range(len(shape))]
    pad = t.get("offset", 0)
    flat = np.concatenate([np.zeros(pad), stored.reshape(-1)])
    if kind == "BFloat16Storage":
        raw = (flat.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    else:
        raw = flat.astype(np_dtype).tobytes()
    key = str(i)
    st = Storage(kind, key, raw, flat.size); storages[name] = st; blobs[key] = raw
    sd[name] = Tensor(st, pad, shape, stride, param=t.get("param", False), from_type=t.get("from_type", False))
if spec.get("evil"):
    sd["evil"] = Evil(spec["evil"])
if spec.get("nested_evil"):
    sd["x"] = Tensor(list(storages.values())[0], 0, [1], [1])
    sd["x"].__class__ = type("T2", (Tensor,), {"__reduce_ex__": lambda self, p: (_rebuild_tensor_v2, (self.storage, 0, (1,), (1,), False, Evil(spec["nested_evil"])))})
buf = io.BytesIO(); P(buf, protocol=spec.get("protocol", 2)).dump(sd)
z = io.BytesIO()
with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED if spec.get("deflate") else zipfile.ZIP_STORED) as zf:
    zf.writestr("archive/data.pkl", buf.getvalue())
    zf.writestr("archive/byteorder", "little")
    for k, raw in blobs.items(): zf.writestr(f"archive/data/{k}", raw)
    zf.writestr("archive/version", "3\n")
open(spec["out"], "wb").write(z.getvalue())

"""Loads netc's safetensors of a reference network into its PyTorch twin, strictly.

Usage: python3 twin_load.py NETS_PY NET DIR

DIR holds what gen's TestTwinsLoadStrict wrote: weights.safetensors (netc's file, as netc
export writes it), tensors.json (netc's parameter tensors in order: name, layer) and x.f32
(inputs, batch × C×H×W). The twin NET of nets.py names its modules by position, so the
file's tensors are renamed: the k-th module with state takes the k-th netc layer's, part
by part (weight, bias, running_mean, running_var, num_batches_tracked); then
load_state_dict(strict=True) must take them all, every key of the twin filled. It writes
the twin's logits in evaluation mode to DIR/eval.f32 and the batch counters to
DIR/tracked.i64.
"""
import json, os, struct, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(sys.argv[1]))
from nets import NETS

net_name, d = sys.argv[2], sys.argv[3]
DTYPES = {"F32": np.float32, "I64": np.int64}
with open(f"{d}/weights.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
header.pop("__metadata__", None)
file = {name: torch.from_numpy(np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]],
                                             dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).copy())
        for name, e in header.items()}

make, shape = NETS[net_name]
model = make()
layers = {}  # netc layer index → its names, in netc's order
for t in json.load(open(f"{d}/tensors.json")):
    layers.setdefault(t["layer"], []).append(t["name"])
groups = [layers[k] for k in sorted(layers)]
mods = [(p, m) for p, m in model.named_modules()
        if not list(m.children()) and (list(m.parameters(recurse=False)) or list(m.buffers(recurse=False)))]
assert len(mods) == len(groups), (len(mods), len(groups))
state = {}
for (prefix, m), names in zip(mods, groups):
    layer = names[0].rsplit(".", 1)[0]
    for part in [k for k, _ in m.named_parameters(recurse=False)] + [k for k, _ in m.named_buffers(recurse=False)]:
        state[f"{prefix}.{part}"] = file.pop(f"{layer}.{part}")
assert not file, f"tensors of the file the twin has no place for: {sorted(file)}"
model.load_state_dict(state, strict=True)
model.eval()
x = torch.from_numpy(np.fromfile(f"{d}/x.f32", dtype=np.float32).reshape(-1, *shape))
with torch.no_grad():
    model(x).numpy().astype(np.float32).tofile(f"{d}/eval.f32")
np.array([b for k, b in model.state_dict().items() if k.endswith("num_batches_tracked")], dtype=np.int64).tofile(f"{d}/tracked.i64")

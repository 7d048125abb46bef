"""One step of a reference network in PyTorch, from netc's weights and inputs.

Usage: python3 torch_step.py NETS_PY NET DIR METHOD SMOOTHING

DIR holds what gen's TestPyTorchEquivalence wrote: tensors.json (netc's parameter tensors
in order: name, offset, shape, buffer), params.f32, x.f32 (batch × C×H×W) and labels.i64.
The twin NET of nets.py gets netc's tensors by position: the k-th module with parameters
or buffers takes the k-th netc layer's (weight, bias; then running_mean, running_var).
It writes to DIR: eval.f32 (logits in evaluation mode), then after one training-mode step
with METHOD (momentum: SGD momentum 0.9, weight decay 5e-4 on weights only; adamw: lr
0.01, weight decay 0.01 on weights only) and the cross-entropy's label_smoothing SMOOTHING:
loss.f32, grads.f32 and params_after.f32, in netc's layout.
"""
import json, os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(sys.argv[1]))
from nets import NETS

net_name, d, method, smoothing = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
torch.manual_seed(0)
tensors = json.load(open(f"{d}/tensors.json"))
flat = np.fromfile(f"{d}/params.f32", dtype=np.float32)
make, shape = NETS[net_name]
model = make()

# netc's tensors grouped by layer, in layer order; the twin's modules with state, in order.
layers = {}
for t in tensors:
    layers.setdefault(t["layer"], []).append(t)
groups = [layers[k] for k in sorted(layers)]
mods = [m for m in model.modules() if list(m.children()) == [] and (list(m.parameters(recurse=False)) or list(m.buffers(recurse=False)))]
assert len(mods) == len(groups), (len(mods), len(groups))
pairs = []  # (netc tensor, torch tensor)
for m, g in zip(mods, groups):
    named = dict(m.named_parameters(recurse=False))
    named.update({k: v for k, v in m.named_buffers(recurse=False) if k != "num_batches_tracked"})
    for t in g:
        part = t["name"].split(".")[-1]
        target = named[part]
        assert list(target.shape) == t["shape"], (t["name"], list(target.shape), t["shape"])
        pairs.append((t, target))
with torch.no_grad():
    for t, target in pairs:
        n = int(np.prod(t["shape"]))
        target.copy_(torch.from_numpy(flat[t["offset"]:t["offset"] + n].reshape(t["shape"])))

x = torch.from_numpy(np.fromfile(f"{d}/x.f32", dtype=np.float32).reshape(-1, *shape))
y = torch.from_numpy(np.fromfile(f"{d}/labels.i64", dtype=np.int64))

def out(name, arr):
    np.asarray(arr, dtype=np.float32).tofile(f"{d}/{name}")

def layout(get):
    res = np.zeros_like(flat)
    for t, target in pairs:
        v = get(t, target)
        if v is not None:
            res[t["offset"]:t["offset"] + v.numel()] = v.detach().numpy().ravel()
    return res

model.eval()
with torch.no_grad():
    out("eval.f32", model(x).numpy())

model.train()
decay = [p for t, p in pairs if not t["buffer"] and not t["bias"]]
rest = [p for t, p in pairs if not t["buffer"] and t["bias"]]
if method == "momentum":
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}], lr=0.1, momentum=0.9)
else:
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0}], lr=0.01, eps=1e-3)
opt.zero_grad()
loss = torch.nn.functional.cross_entropy(model(x), y, label_smoothing=smoothing)
loss.backward()
out("loss.f32", [loss.item()])
out("grads.f32", layout(lambda t, p: None if t["buffer"] else p.grad))
opt.step()
out("params_after.f32", layout(lambda t, p: p))

"""One step of exported networks in PyTorch, from netc's weights and inputs.

Usage: python3 pytorch_step.py DIR...

Each DIR holds a package of netc export --format pytorch (model.py, train.py,
netc_support.py) and what gen's TestPyTorchExport wrote: weights.safetensors (netc's
weights, as netc export writes them), tensors.json (netc's parameter tensors in order:
name, offset, shape), x.f32 (batch × C×H×W), labels.i64, recipe.json (the entries of
train.py's RECIPE as the test's recipe has them: key and Python value) and, for each dropout layer, mask_<layer>.f32 (the
mask netc draws). The module loads the weights with load_state_dict(strict=True). It
writes to DIR: eval.f32 (scores in evaluation mode), then after one training-mode step
with train.py's optimizer and learning rate (netc_support.optimizer, step and Schedule
at iteration 0 of a run of 10 iterations an epoch, 100 in all) lr.f32, loss.f32,
grads.f32 (NaN for tensors without a gradient: buffers and frozen ones) and
params_after.f32, in netc's layout, and the state_dict after the step as
after.safetensors, written by netc_support.save_safetensors.
"""
import ast
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


class Mask(torch.nn.Module):
    """Dropout with the mask netc drew."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask.view(x.shape) if self.training else x


torch.manual_seed(0)
for d in sys.argv[1:]:
    support = load("netc_support", os.path.join(d, "netc_support.py"))
    model = load("model", os.path.join(d, "model.py"))
    recipe = dict(load("train", os.path.join(d, "train.py")).RECIPE)
    recipe.update((k, ast.literal_eval(v)) for k, v in json.load(open(os.path.join(d, "recipe.json"))))
    tensors = json.load(open(os.path.join(d, "tensors.json")))

    net = model.Net()
    state, _ = support.load_safetensors(os.path.join(d, "weights.safetensors"))
    net.load_state_dict(state, strict=True)
    x = torch.from_numpy(np.fromfile(os.path.join(d, "x.f32"), dtype=np.float32).reshape(-1, *model.INPUT_SHAPE))
    y = torch.from_numpy(np.fromfile(os.path.join(d, "labels.i64"), dtype=np.int64))

    def out(name, arr):
        np.asarray(arr, dtype=np.float32).tofile(os.path.join(d, name))

    def layout(get):
        flat = np.zeros(sum(int(np.prod(t["shape"])) for t in tensors), dtype=np.float32)
        sd = dict(net.named_parameters())
        sd.update(net.named_buffers())
        for t in tensors:
            v = get(sd[t["name"]])
            n = int(np.prod(t["shape"]))
            flat[t["offset"]:t["offset"] + n] = np.nan if v is None else v.detach().numpy().ravel()
        return flat

    net.eval()
    with torch.no_grad():
        out("eval.f32", net(x).numpy())

    for name, m in list(net.named_modules()):
        if isinstance(m, torch.nn.Dropout):
            mask = np.fromfile(os.path.join(d, f"mask_{name}.f32"), dtype=np.float32)
            setattr(net, name, Mask(torch.from_numpy(mask)))
    net.train()
    opt = support.optimizer(net, model.TENSORS, recipe)
    lr = support.Schedule(recipe["schedule"], recipe["warmup"], recipe["lr"], 10, 100).lr(0)
    opt.zero_grad()
    loss = model.loss(net(x), y, recipe["labelsmooth"])
    loss.backward()
    out("lr.f32", [lr])
    out("loss.f32", [loss.item()])
    out("grads.f32", layout(lambda p: p.grad))
    support.step(opt, lr)
    out("params_after.f32", layout(lambda p: p))
    support.save_safetensors(os.path.join(d, "after.safetensors"), net.state_dict(),
                             {"format": support.WEIGHTS_FORMAT, "network": model.NAME, "spec_hash": model.SPEC_HASH})

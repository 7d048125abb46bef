"""One training step of an exported network, data-parallel and alone, under torchrun.

Usage: torchrun --standalone --nproc_per_node 2 ddp_step.py PKG OUT

PKG is a package of netc export --format pytorch. Every process builds the network from
the same seed and takes one step of train.py's optimizer (netc_support.optimizer and
step, lr 0.1) on its share of a batch of 8, under DistributedDataParallel with the batch
norms over the global batch (netc_support.sync_batch_norms), as train.py does; rank 0
also takes the step alone on the whole batch, and again data-parallel with each
process's batch norms on its own share (PyTorch's default). Rank 0 writes OUT, JSON: the
losses and the largest difference, relative to the largest value, between the state
after the step alone and after each data-parallel step.
"""
import json
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

pkg, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, pkg)
import model  # noqa: E402
import netc_support as ns  # noqa: E402
from train import RECIPE  # noqa: E402

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(3)
batch = 8
x = torch.randn(batch, *model.INPUT_SHAPE)
y = torch.randint(0, model.OUTPUTS, (batch,))
share = slice(rank * batch // world, (rank + 1) * batch // world)


def fresh():
    net = model.Net()
    ns.initialize(net, model.TENSORS, RECIPE, 5)
    return net


def step(net, wrap, xs, ys):
    opt = ns.optimizer(net, model.TENSORS, RECIPE)
    run = wrap(net)
    run.train()
    loss = model.loss(run(xs), ys)
    loss.backward()
    ns.step(opt, 0.1)
    return loss.detach()


def ddp(sync):
    net = fresh()
    if sync:
        ns.sync_batch_norms(net, dist.new_group())
    loss = step(net, DistributedDataParallel, x[share], y[share])
    dist.all_reduce(loss)
    return net, loss.item() / world


def diff(a, b):
    d = m = 0.0
    for k, v in a.state_dict().items():
        if v.is_floating_point():
            d = max(d, (v - b.state_dict()[k]).abs().max().item())
            m = max(m, v.abs().max().item())
    return d / m


synced, loss_synced = ddp(True)
own, loss_own = ddp(False)
if rank == 0:
    alone = fresh()
    loss_alone = step(alone, lambda n: n, x, y).item()
    with open(out, "w") as f:
        json.dump({"loss_alone": loss_alone, "loss_global": loss_synced, "loss_own": loss_own,
                   "diff_global": diff(alone, synced), "diff_own": diff(alone, own)}, f)
dist.destroy_process_group()

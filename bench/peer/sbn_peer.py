"""The PyTorch peer of `npm run bench:peer`: a straight-through (ST) step of a stochastic binary network in PyTorch,
timed on the cases bench/peer.ts sends, so that our steps are compared with what a PyTorch user would write.

The network is the engine's: hidden units x = sign(a - z) with logistic noise z, i.e. x = +1 with probability
sigmoid(a) and -1 otherwise (±1 coding); the backward pass is straight-through with the derivative of the expected
state, d E[x] / da = 2 sigmoid'(a) (our DSTE); the output layer is a softmax with the mean negative log-likelihood.

Line protocol (one command per line on stdin, one reply per line on stdout):
  startup                  ->  "ready <json {torch, threads}>"   or  "missing-torch <reason>" (then exit 0)
  "setup <json case>"      ->  "ok <what was built>"             (see bench/peerProtocol.ts for the case objects)
  "run <reps>"             ->  "times <ms> <ms> ..."             (one wall time per repetition, after no warm-up)
  "quit"                   ->  exit 0
Any failure of a command  ->  "error <one line>".
"""

import json
import sys
import time


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # ImportError, or a broken install (missing shared libraries)
    reply("missing-torch " + (str(e).splitlines() or ["import torch failed"])[0])
    sys.exit(0)


class StraightThroughSign(torch.autograd.Function):
    """Sample x in {-1, +1} with P(x = +1) = sigmoid(a); backward: 2 sigmoid'(a) = 2 p (1 - p)."""

    @staticmethod
    def forward(ctx, a):
        p = torch.sigmoid(a)
        ctx.save_for_backward(p)
        return torch.where(torch.rand_like(p) < p, 1.0, -1.0)

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        return grad * (2.0 * p * (1.0 - p))


def build_layers(input_shape, layers):
    """Hidden layers as torch modules ('flatten' included), and the feature count that reaches the output layer."""
    modules = []
    shape = list(input_shape)
    for spec in layers:
        kind = spec["type"]
        if kind == "dense":
            n_in = 1
            for d in shape:
                n_in *= d
            modules.append(("dense", torch.nn.Linear(n_in, spec["units"])))
            shape = [spec["units"]]
        elif kind == "conv":
            c, h, w = shape
            k, s, p = spec["kernel"], spec.get("stride", 1), spec.get("padding", 0)
            modules.append(("conv", torch.nn.Conv2d(c, spec["filters"], k, stride=s, padding=p)))
            shape = [spec["filters"], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1]
        elif kind == "flatten":
            modules.append(("flatten", None))
            n = 1
            for d in shape:
                n *= d
            shape = [n]
        else:
            raise ValueError("layer type " + repr(kind) + " is not one the peer builds (dense, conv, flatten)")
    n = 1
    for d in shape:
        n *= d
    return modules, n


def hidden_forward(modules, x):
    h = x
    for kind, m in modules:
        if kind == "flatten":
            h = torch.flatten(h, 1)
        else:
            if kind == "dense" and h.dim() > 2:
                h = torch.flatten(h, 1)
            h = StraightThroughSign.apply(m(h))
    return h


def make_optimizer(params, spec, lr):
    if spec["type"] == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=spec.get("momentum", 0.9), nesterov=spec.get("nesterov", True))


class NetCase:
    """One training step (ST forward and backward, mean NLL, optimizer update) of a network on a fixed batch."""

    def __init__(self, c):
        modules, features = build_layers(c["input"], c["layers"])
        self.modules = modules
        self.output = torch.nn.Linear(features, c["outputUnits"])
        params = [p for _, m in modules if m is not None for p in m.parameters()] + list(self.output.parameters())
        self.opt = make_optimizer(params, c["optimizer"], c["lr"])
        self.x = torch.rand([c["batch"]] + list(c["input"]))
        self.y = torch.randint(0, c["outputUnits"], (c["batch"],))
        self.what = "training step, %d parameters" % sum(p.numel() for p in params)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        logits = self.output(torch.flatten(hidden_forward(self.modules, self.x), 1))
        loss = F.cross_entropy(logits, self.y)
        loss.backward()
        self.opt.step()
        return loss.item()


class ConvLayerCase:
    """One conv layer step: forward, ST sampling, parameter gradient and gradient to the input, given the gradient
    arriving at the layer's states (as bench/kernels.ts's layer step)."""

    def __init__(self, c):
        C, H, W = c["inShape"]
        self.conv = torch.nn.Conv2d(C, c["filters"], c["kernel"], stride=c["stride"], padding=c["padding"])
        self.x = torch.where(torch.rand(c["batch"], C, H, W) < 0.5, 1.0, -1.0).requires_grad_(True)
        with torch.no_grad():
            out = self.conv(self.x)
        self.upstream = torch.rand_like(out) * 0.01
        self.what = "conv layer step, output %s" % "x".join(str(d) for d in out.shape)

    def step(self):
        self.conv.zero_grad(set_to_none=True)
        self.x.grad = None
        s = StraightThroughSign.apply(self.conv(self.x))
        s.backward(self.upstream)
        return float(self.conv.bias.grad[0])


def sbn_evaluate(modules, output, x, y, samples, chunk):
    """The engine's SBN evaluation (src/engine/train/evaluate.ts): `samples` noise draws per example, the last layer
    averaged exactly over the base state and every single flip of the last hidden layer. Returns (u_loss, acc1,
    acc_e, entropy) — the same work per example, so the same time, as `sbn train`'s evaluation."""
    n = x.shape[0]
    w_out_t = output.weight.t()  # [n_last, K]
    sums = [0.0, 0.0, 0.0, 0.0]
    with torch.no_grad():
        for start in range(0, n, chunk):
            xb, yb = x[start : start + chunk], y[start : start + chunk]
            size = xb.shape[0]
            h = xb.repeat(samples, *([1] * (xb.dim() - 1)))
            ys = yb.repeat(samples)
            entropy = torch.zeros(h.shape[0])
            units = 0
            p = None
            for kind, m in modules:
                if kind == "flatten":
                    h = torch.flatten(h, 1)
                    continue
                if kind == "dense" and h.dim() > 2:
                    h = torch.flatten(h, 1)
                p = torch.sigmoid(m(h))
                q = p.clamp(1e-7, 1 - 1e-7)
                bits = -(q * q.log() + (1 - q) * (1 - q).log()) / 0.6931471805599453
                entropy += bits.flatten(1).sum(1)
                units += bits[0].numel()
                h = torch.where(torch.rand_like(p) < p, 1.0, -1.0)
            xl, pl = torch.flatten(h, 1), torch.flatten(p, 1)
            rows, n_last = xl.shape
            logits = output(xl)
            logp0 = F.log_softmax(logits, 1)
            f0 = -logp0.gather(1, ys[:, None])[:, 0]
            correct0 = (logits.argmax(1) == ys).float()
            prob_sampled = torch.where(xl > 0, pl, 1 - pl)
            rho = (1 - prob_sampled) / n_last
            base = 1 - rho.sum(1)
            flipped = logits[:, None, :] + (-2 * xl)[:, :, None] * w_out_t[None]  # [rows, n_last, K]
            logp = F.log_softmax(flipped, 2)
            f_flip = -logp.gather(2, ys[:, None, None].expand(rows, n_last, 1))[:, :, 0]
            correct_flip = (flipped.argmax(2) == ys[:, None]).float()
            probs = base[:, None] * logp0.exp() + (rho[:, :, None] * logp.exp()).sum(1)
            mean_probs = probs.reshape(samples, size, -1).mean(0)
            sums[0] += float((base * f0 + (rho * f_flip).sum(1)).sum())
            sums[1] += float((base * correct0 + (rho * correct_flip).sum(1)).sum())
            sums[2] += float((mean_probs.argmax(1) == yb).float().sum())
            sums[3] += float((entropy / max(units, 1)).sum())
    return sums[0] / (n * samples), sums[1] / (n * samples), sums[2] / n, sums[3] / (n * samples)


class EpochCase:
    """One epoch as `sbn train` runs it: shuffled batches over the training split with an optimizer step each, then
    the SBN evaluations of the first `evalTrain` training examples and of the validation split, and (the run's
    last epoch) of the test split. MNIST-sized random data: the time does not depend on the values."""

    def __init__(self, c):
        modules, features = build_layers(c["input"], c["layers"])
        self.modules = modules
        self.output = torch.nn.Linear(features, c["outputUnits"])
        params = [p for _, m in modules if m is not None for p in m.parameters()] + list(self.output.parameters())
        self.opt = make_optimizer(params, c["optimizer"], c["lr"])
        self.c = c
        k = c["outputUnits"]
        shape = list(c["input"])
        self.splits = {
            name: (torch.rand([c[name]] + shape), torch.randint(0, k, (c[name],)))
            for name in ("train", "validation", "test")
        }
        self.what = "epoch of %d training examples, batch %d" % (c["train"], c["batch"])

    def step(self):
        c = self.c
        x, y = self.splits["train"]
        order = torch.randperm(x.shape[0])
        for start in range(0, x.shape[0], c["batch"]):
            idx = order[start : start + c["batch"]]
            self.opt.zero_grad(set_to_none=True)
            logits = self.output(torch.flatten(hidden_forward(self.modules, x[idx]), 1))
            loss = F.cross_entropy(logits, y[idx])
            loss.backward()
            self.opt.step()
            loss.item()  # the trainer reads every step's loss (logging, divergence check)
        ev = lambda xs, ys: sbn_evaluate(self.modules, self.output, xs, ys, c["evalSamples"], c["evalChunk"])
        ev(x[: c["evalTrain"]], y[: c["evalTrain"]])
        ev(*self.splits["validation"])
        return ev(*self.splits["test"])[0]


CASES = {"net": NetCase, "conv-layer": ConvLayerCase, "epoch": EpochCase}


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    reply("ready " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}))
    case = None
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        try:
            if command == "quit":
                return
            if command == "setup":
                spec = json.loads(arg)
                if spec.get("kind") not in CASES:
                    raise ValueError("case kind %r is not one of %s" % (spec.get("kind"), ", ".join(CASES)))
                case = CASES[spec["kind"]](spec)
                reply("ok " + case.what)
            elif command == "run":
                if case is None:
                    raise ValueError("run before setup")
                times = []
                for _ in range(int(arg)):
                    t = time.perf_counter()
                    case.step()
                    times.append((time.perf_counter() - t) * 1000)
                reply("times " + " ".join("%.4f" % ms for ms in times))
            else:
                raise ValueError("unknown command %r (expected setup, run or quit)" % command)
        except Exception as e:
            reply("error " + (" ".join(str(e).split()) or type(e).__name__))


if __name__ == "__main__":
    main()

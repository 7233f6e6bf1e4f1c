"""PyTorch's side of otoc's training benchmark (bench/train-speed.ts).

Reads a network description (bench/torch-architecture.ts) as JSON on stdin, builds the same
network, and times SGD training steps on one in-memory batch as the issue pins it: 2 threads,
BatchNorm in training mode, SGD momentum 0.9, 3 warm-up steps then 20 timed, 3 repeats.
Prints JSON: the torch version, threads, and the milliseconds per step of every repeat, wall
and CPU (all threads of the process).

    python3 bench/torch_train_speed.py --batch 64 < architecture.json
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def layer(node):
    op = node["op"]
    if op == "Conv":
        return nn.Conv2d(node["inChannels"], node["outChannels"], node["kernel"], node["stride"], node["pad"],
                         groups=node["group"], bias=node["bias"])
    if op == "BatchNormalization":
        return nn.BatchNorm2d(node["channels"], eps=node["eps"], momentum=node["momentum"])
    if op == "Gemm":
        return nn.Linear(node["inFeatures"], node["outFeatures"], bias=node["bias"])
    if op == "MaxPool":
        return nn.MaxPool2d(node["kernel"], node["stride"])
    if op == "Relu":
        return nn.ReLU()
    if op == "Add":
        return lambda a, b: a + b
    if op == "GlobalAveragePool":
        return lambda x: F.adaptive_avg_pool2d(x, 1)
    if op == "Flatten":
        return lambda x: torch.flatten(x, 1)
    raise ValueError(f"unknown op {op}")


class Net(nn.Module):
    """Runs the described nodes in order, each reading and writing named values."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        self.calls = [layer(node) for node in arch["nodes"]]
        self.layers = nn.ModuleList([c for c in self.calls if isinstance(c, nn.Module)])

    def forward(self, x):
        values = {self.arch["input"]: x}
        for node, call in zip(self.arch["nodes"], self.calls):
            values[node["output"]] = call(*(values[name] for name in node["inputs"]))
        return values[self.arch["output"]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    arch = json.load(sys.stdin)

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    net = Net(arch).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(args.batch, *arch["inputShape"], dtype=torch.float32)
    labels = torch.randint(0, arch["classes"], (args.batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(net(images), labels).backward()
        optimizer.step()

    ms_per_step = []
    cpu_ms_per_step = []
    for _ in range(args.repeats):
        for _ in range(args.warmup):
            step()
        start = time.perf_counter()
        cpu_start = time.process_time()
        for _ in range(args.steps):
            step()
        ms_per_step.append(1000 * (time.perf_counter() - start) / args.steps)
        cpu_ms_per_step.append(1000 * (time.process_time() - cpu_start) / args.steps)
    parameters = sum(p.numel() for p in net.parameters())
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "parameters": parameters,
                      "msPerStep": ms_per_step, "cpuMsPerStep": cpu_ms_per_step}))


if __name__ == "__main__":
    main()

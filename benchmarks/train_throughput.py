"""Training throughput (images/s) and peak memory per backbone: naive path vs fast path.

    .venv/bin/python benchmarks/train_throughput.py --root ../shared/data/celeba \
        [--backbones mobilenet_v2,shufflenet_v2_x1_0] [--steps 8] [--batch-size 32] [--size 224]

naive: JPEG decode + transforms per sample in 2 DataLoader workers, float32, NCHW tensors.
fast:  decode-once memory-mapped cache + batch-level loader, channels-last tensors, and bf16
       autocast where this CPU runs bf16 natively (AVX512-BF16/AMX), as ``train.amp=auto`` does.
Both run the same model, loss (40-attribute BCE) and Adam step. Each (backbone, path) runs in a
fresh process so peak memory (max RSS) is its own; the first 2 steps are warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

DEFAULT_BACKBONES = ("shufflenet_v2_x1_0", "mobilenet_v2", "efficientnet_b0",
                     "efficientnet_lite0", "mobilenet_v3_large", "resnet18", "vgg16")


def run_one(root: str, backbone: str, path: str, steps: int, batch_size: int, size: int,
            cache_dir: str) -> dict:
    import numpy as np
    import torch

    from faceattr.data.celeba import CelebA
    from faceattr.data.stacked import StackedDataset
    from faceattr.losses import build_loss
    from faceattr.models import build_model
    from faceattr.training.data import build_loader
    from faceattr.training.runtime import Runtime, amp_dtype

    torch.manual_seed(0)
    fast = path == "fast"
    model = build_model({"backbone": backbone, "pretrained": False,
                         "heads": {"attributes": {"num_labels": 40}}})
    device = torch.device("cpu")
    runtime = Runtime(device, size, amp=amp_dtype("auto", device) if fast else None,
                      channels_last=fast, mean=tuple(model.backbone.input_mean),
                      std=tuple(model.backbone.input_std))
    if fast:
        model.to(memory_format=torch.channels_last)
    n_images = batch_size * (steps + 2)
    dataset = StackedDataset([CelebA(root, "train", indices=np.arange(n_images))])
    data_cfg = {"img_size": size, "resize": round(size * 256 / 224), "flip_p": 0.5,
                "fast": fast, "workers": 2, "cache_dir": cache_dir}
    loader = build_loader(dataset, data_cfg, batch_size=batch_size, train=True, seed=0,
                          mean=runtime.mean, std=runtime.std)
    loader.set_epoch(1)
    criterion = build_loss({"attributes": {}})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    seen, start = 0, 0.0
    for step, batch in enumerate(loader):
        if step == 2:
            seen, start = 0, time.perf_counter()
        with runtime.autocast():
            outputs = runtime.outputs(model(runtime.images(batch)))
        loss, _ = criterion(outputs, runtime.targets(batch, ("attributes",)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(batch["image"])
    seconds = time.perf_counter() - start
    return {"backbone": backbone, "path": path, "images_per_s": round(seen / seconds, 2),
            "amp": str(runtime.amp).replace("torch.", ""), "channels_last": fast,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="CelebA root folder")
    parser.add_argument("--backbones", default=",".join(DEFAULT_BACKBONES))
    parser.add_argument("--steps", type=int, default=8, help="timed steps after 2 warm-up")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--one", nargs=2, metavar=("BACKBONE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.root, *args.one, args.steps, args.batch_size, args.size,
                                 args.cache_dir)))
        return
    results = []
    with tempfile.TemporaryDirectory() as cache_dir:
        for backbone in args.backbones.split(","):
            row: dict = {"backbone": backbone}
            for path in ("naive", "fast"):
                cmd = [sys.executable, __file__, "--root", args.root, "--one", backbone, path,
                       "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                       "--size", str(args.size), "--cache-dir", cache_dir]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                one = json.loads(out.strip().splitlines()[-1])
                row[f"{path}_images_per_s"] = one["images_per_s"]
                row[f"{path}_peak_rss_mb"] = one["peak_rss_mb"]
                row["fast_amp"] = one["amp"] if path == "fast" else row.get("fast_amp")
            row["speedup"] = round(row["fast_images_per_s"] / row["naive_images_per_s"], 2)
            results.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                      f"torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}",
                      "batch_size": args.batch_size, "size": args.size,
                      "timed_steps": args.steps, "load_average_1min": os.getloadavg()[0],
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()

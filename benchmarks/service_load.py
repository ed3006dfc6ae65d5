"""Requests/s and latency of ``faceattr serve`` under N concurrent clients, on 127.0.0.1 only.

    .venv/bin/python benchmarks/service_load.py --model RUN_DIR --clients 32 --seconds 30

Starts ``faceattr serve --no-detect`` as a separate process on a free loopback port (so the
clients do not share the server's GIL), waits for ``/health``, then every client POSTs the
same real CelebA crop to ``/v1/analyze`` in a loop. Any non-200 answer is an error.
``--train-tiny`` first trains the 64 px test model (tests/configs/tiny.yaml, one step) and
serves that, for a run that needs no trained model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from faceattr.serving.local import LOOPBACK, run_load

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEATTR_DATA", REPO.parent / "shared" / "data"))


def _train_tiny(out: Path) -> Path:
    from faceattr.training import fit, load_config

    config = load_config(REPO / "tests" / "configs" / "tiny.yaml", [
        "train.epochs=1", "train.max_steps_per_epoch=1", f"data.cache_dir={out / 'cache'}",
        "model.heads={attributes: {}, gender: {}, landmarks: {}}",
        "loss={attributes: {}, gender: {}, landmarks: {}}"])
    fit(config, data_root=DATA, out_dir=out / "run")
    return out / "run"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"faceattr serve exited with status {server.returncode}")
        try:
            health = httpx.get(url + "/health", timeout=2).json()
            if health.get("model_loaded"):
                return health
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit("faceattr serve did not become healthy in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="run folder, checkpoint or .onnx file")
    parser.add_argument("--train-tiny", action="store_true", help="serve the tiny test model")
    parser.add_argument("--image", default=str(DATA / "celeba" / "img_align_celeba" /
                                               "000004.jpg"))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-concurrency", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    if not args.model and not args.train_tiny:
        parser.error("give --model or --train-tiny")
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        model = str(_train_tiny(Path(tmp))) if args.train_tiny else args.model
        port = _free_port()
        url = f"http://{LOOPBACK}:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "faceattr.cli.main", "serve", "--model", model,
             "--no-detect", "--host", LOOPBACK, "--port", str(port), "--log-level", "warning",
             "--max-concurrency", str(args.max_concurrency), "--max-queue", str(args.clients)])
        try:
            health = _wait_healthy(url, server)
            image = Path(args.image).read_bytes()
            run_load(url, image, clients=2, duration_s=2)  # warm-up
            result = run_load(url, image, clients=args.clients, duration_s=args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=60)
    report = {"command": " ".join(sys.argv), "model": health["model"], "model_path": model,
              "image": args.image, "max_concurrency": args.max_concurrency,
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "python": platform.python_version(),
                          "load_average_before": load_before,
                          "load_average_after": [round(x, 2) for x in os.getloadavg()]},
              **result.to_dict()}
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

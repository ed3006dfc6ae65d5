"""``faceattr serve [--model M] [--host H] [--port P] [--no-detect] [--max-upload-mb MB] ...``.

Runs the HTTP service (FastAPI + uvicorn): ``POST /v1/analyze``, ``GET /health``, the web page
at ``/`` and the API docs at ``/docs``. The model is loaded once, at startup.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

NAME = "serve"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(NAME, help="HTTP service with a web page")
    parser.add_argument("--model", default="default",
                        help="'default', a run folder, a checkpoint or an .onnx file")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-detect", action="store_true",
                        help="treat each upload as an already aligned face crop")
    parser.add_argument("--detector", default="mtcnn")
    parser.add_argument("--max-upload-mb", type=float, default=10.0,
                        help="largest accepted upload (413 above it)")
    parser.add_argument("--max-concurrency", type=int, default=2,
                        help="inferences running at once")
    parser.add_argument("--max-queue", type=int, default=32,
                        help="requests waiting for a slot before 503 busy")
    parser.add_argument("--timeout-s", type=float, default=30.0,
                        help="per-request deadline, queue wait included (504 past it)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: cores / max-concurrency)")
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from faceattr.inference.analyzer import DEFAULT_MODEL_DIR
    from faceattr.serving import ServiceSettings, create_app

    if args.model == "default" and not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        raise FileNotFoundError(f"{DEFAULT_MODEL_DIR}: the bundled default model is not "
                                "installed; pass --model RUN_DIR, a checkpoint or an .onnx file")
    if args.model != "default" and not Path(args.model).exists():
        raise FileNotFoundError(f"{args.model}: no such model file or run folder")
    if not args.no_detect and importlib.util.find_spec("faceattr.inference.detect") is None:
        print("faceattr serve: error: face detection is not available in this install; "
              "use --no-detect to analyse aligned face crops", file=sys.stderr)
        return 2
    if min(args.max_concurrency, args.port) < 1 or args.max_queue < 0 or args.timeout_s <= 0:
        print("faceattr serve: error: need --max-concurrency >= 1, --max-queue >= 0, "
              "--timeout-s > 0 and a port >= 1", file=sys.stderr)
        return 2
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.max_concurrency)
    settings = ServiceSettings(model=args.model, detect=not args.no_detect,
                               detector=args.detector, max_upload_mb=args.max_upload_mb,
                               max_concurrency=args.max_concurrency, max_queue=args.max_queue,
                               timeout_s=args.timeout_s, threads=threads)
    print(f"faceattr serve: http://{args.host}:{args.port}/ (API docs at /docs)", flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port,
                log_level=args.log_level, timeout_graceful_shutdown=int(args.timeout_s))
    return 0

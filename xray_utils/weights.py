"""Pretrained weights: find, verify and load the state_dict a run starts from.

``resolve_state_dict(backbone, spec)`` turns the ``--weights`` setting into a state_dict for the
torchvision architecture with its 1000-class ImageNet head (``models.build_model`` loads it strictly):

* ``"none"``: ``None``, the model keeps its random initialisation (training from scratch).
* ``"imagenet"``: torchvision's default weights for the backbone. The file lives where torch.hub keeps it
  (``$TORCH_HOME/hub/checkpoints/``); it is downloaded only when missing. torch verifies the SHA-256 only
  while downloading, so a file already in the cache is verified here. Offline and not cached is an error
  that says which file to put where: nothing silently falls back to random weights.
* a path: a file holding a state_dict (torchvision's own ``.pth``, or a checkpoint dict with it under
  ``"state_dict"`` or ``"model"``), or a folder holding torchvision's files under their own names
  (``resnet18-f37072fd.pth``, ...): the one for the backbone is taken, so one setting serves a report grid.

Files are always read with ``torch.load(weights_only=True)``: a weights file cannot run code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import torch
import torchvision

from .config import BACKBONES
from .errors import ConfigError, WeightsError

# torchvision (and torch.hub) name weight files "<name>-<first hex digits of the SHA-256>.pth".
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,})\.pth?$")

# Old DenseNet checkpoints (including the ones torchvision still serves) use "norm.1"-style keys that are
# no longer legal module names; torchvision.models.densenet._load_state_dict renames them the same way.
_DENSENET_LEGACY_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def imagenet_url(backbone: str) -> str:
    """URL of torchvision's default ImageNet weights for ``backbone``."""
    if backbone not in BACKBONES:
        raise ConfigError(f"unknown backbone {backbone!r}", f"use one of: {', '.join(BACKBONES)}")
    return torchvision.models.get_model_weights(backbone).DEFAULT.url


def _url_filename(url: str) -> str:
    """The name torch.hub saves a download under: the URL's last part (e.g. resnet18-f37072fd.pth)."""
    return url.rsplit("/", 1)[-1]


def checkpoint_dir() -> Path:
    """The folder torch.hub downloads weights into (follows ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_state_dict(backbone: str, spec: str, progress: bool = True) -> dict[str, torch.Tensor] | None:
    """State_dict for ``backbone`` given ``spec`` ("imagenet", "none" or a file path), or None for "none"."""
    if backbone not in BACKBONES:
        raise ConfigError(f"unknown backbone {backbone!r}", f"use one of: {', '.join(BACKBONES)}")
    if spec == "none":
        return None
    if spec == "imagenet":
        state_dict = _imagenet_state_dict(backbone, progress)
    elif Path(spec).expanduser().is_dir():
        state_dict = _folder_state_dict(backbone, Path(spec).expanduser())
    else:
        state_dict = _file_state_dict(Path(spec).expanduser())
    return upgrade_legacy_keys(state_dict)


def upgrade_legacy_keys(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename old DenseNet keys ("...denselayer1.norm.1.weight" -> "...denselayer1.norm1.weight")."""
    out = {}
    for key, value in state_dict.items():
        match = _DENSENET_LEGACY_KEY.match(key)
        out[match.group(1) + match.group(2) if match else key] = value
    return out


# ----------------------------------------------------------------------------------------------------


def _imagenet_state_dict(backbone: str, progress: bool) -> dict[str, torch.Tensor]:
    url = imagenet_url(backbone)
    filename = _url_filename(url)
    folder = checkpoint_dir()
    cached = folder / filename
    if cached.is_file():
        fix = f"delete {cached} and run again to download it afresh, or pass --weights PATH"
        _check_hash(cached, fix)
        return _load(cached, fix)
    try:
        loaded = torch.hub.load_state_dict_from_url(
            url, model_dir=str(folder), map_location="cpu", progress=progress, check_hash=True,
            weights_only=True,
        )
    except Exception as err:  # no network, proxy, disk full, hash mismatch on download: all user-fixable
        raise WeightsError(
            f"ImageNet weights for {backbone} are not in {folder} and could not be downloaded from {url} "
            f"({type(err).__name__}: {err}); nothing falls back to random weights",
            f"download {url} on a machine with internet and put the file, named {filename}, in the folder "
            f"{folder} (set TORCH_HOME to use another cache); or pass --weights PATH to a {backbone} "
            f"state_dict you already have, or a folder of torchvision's files (--weights none trains from random "
            f"weights on purpose)",
        ) from err
    return _as_state_dict(loaded, cached)


def _folder_state_dict(backbone: str, folder: Path) -> dict[str, torch.Tensor]:
    """A folder of torchvision's own files (as copied from a hub cache): one weights setting for a whole
    report grid of several backbones, offline."""
    url = imagenet_url(backbone)
    filename = _url_filename(url)
    path = folder / filename
    if not path.is_file():
        raise WeightsError(
            f"the weights folder {folder} has no {filename} (torchvision's ImageNet file for {backbone})",
            f"put {filename} from {url} into {folder}, or pass --weights with a single file",
        )
    return _file_state_dict(path)


def _file_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(
            f"weights file {path} does not exist",
            "pass --weights PATH to an existing state_dict file (or a folder of torchvision's .pth files), "
            "or --weights imagenet / --weights none",
        )
    fix = f"check the file {path}: it should be a torch.save'd state_dict (e.g. torchvision's .pth)"
    if _HASH_IN_NAME.search(path.name):
        _check_hash(path, "the file is damaged or not the one its name says: download it again "
                          "(or, if it is your own file, rename it without the '-<hex>' suffix)")
    return _load(path, fix)


def _check_hash(path: Path, fix: str) -> None:
    """A name ending in "-<hex>.pth" promises a SHA-256 starting with <hex> (torchvision's convention)."""
    match = _HASH_IN_NAME.search(path.name)
    if not match:
        return
    expected = match.group(1)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if not actual.startswith(expected):
        raise WeightsError(
            f"weights file {path} is corrupt or incomplete: its SHA-256 starts with {actual[:len(expected)]}, "
            f"the name promises {expected}",
            fix,
        )


def _load(path: Path, fix: str) -> dict[str, torch.Tensor]:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, not a torch file, or a pickle that weights_only refuses
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"cannot load weights file {path}: {reason}", fix) from err
    return _as_state_dict(loaded, path)


def _as_state_dict(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    """The state_dict inside what torch.load returned: the dict itself or under "state_dict" / "model"."""
    if isinstance(loaded, Mapping) and not _is_state_dict(loaded):
        for key in ("state_dict", "model"):
            if key in loaded and _is_state_dict(loaded[key]):
                loaded = loaded[key]
                break
    if not _is_state_dict(loaded):
        raise WeightsError(
            f"weights file {path} holds no state_dict (found {type(loaded).__name__}"
            + (f" with keys {', '.join(map(str, list(loaded)[:5]))}" if isinstance(loaded, Mapping) else "") + ")",
            "save it with torch.save(model.state_dict(), path), or as a dict with the state_dict under "
            "'state_dict' or 'model'",
        )
    # DataParallel / DistributedDataParallel save every key with a "module." prefix.
    if all(k.startswith("module.") for k in loaded):
        return {k[len("module."):]: v for k, v in loaded.items()}
    return dict(loaded)


def _is_state_dict(obj: object) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )

"""weights: ImageNet files found in the torch cache or downloaded, checked by hash; --weights PATH files."""

import hashlib
import re
import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision

from xray_utils import models, weights
from xray_utils.config import BACKBONES
from xray_utils.errors import ConfigError, WeightsError


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME; any download attempt fails the test unless a test replaces it."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    return home


def small_state_dict(seed=0):
    torch.manual_seed(seed)
    return torchvision.models.squeezenet1_1().state_dict()  # 5 MB: the smallest real backbone


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_imagenet_urls_are_torchvisions_files():
    assert weights.imagenet_url("resnet18") == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    for backbone in BACKBONES:
        assert re.search(r"/[\w.]+-[0-9a-f]{8,}\.pth$", weights.imagenet_url(backbone)), backbone
    with pytest.raises(ConfigError, match="resnet18"):
        weights.imagenet_url("alexnet")


def test_none_means_random_weights(torch_home):
    assert weights.resolve_state_dict("resnet18", "none") is None


def test_checkpoint_dir_follows_torch_home(torch_home):
    assert weights.checkpoint_dir() == torch_home / "hub" / "checkpoints"


def cache_file(torch_home, monkeypatch, state_dict, backbone="squeezenet1_1", prefix=None):
    """Write state_dict into the cache under a torchvision-style name; point imagenet_url at it."""
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    tmp = folder / "tmp.pth"
    torch.save(state_dict, tmp)
    name = f"{backbone}-{prefix or sha256(tmp)[:8]}.pth"
    tmp.rename(folder / name)
    monkeypatch.setattr(weights, "imagenet_url", lambda b: f"https://example.invalid/models/{name}")
    return folder / name


def test_cached_imagenet_file_is_loaded_without_download(torch_home, monkeypatch):
    state_dict = small_state_dict()
    cache_file(torch_home, monkeypatch, state_dict)
    loaded = weights.resolve_state_dict("squeezenet1_1", "imagenet")
    assert_same(loaded, state_dict)
    model = models.build_model("squeezenet1_1", "frozen", loaded)
    assert torch.equal(model.backbone.features[0].weight, state_dict["features.0.weight"])


def test_cached_file_with_wrong_hash_is_refused(torch_home, monkeypatch):
    path = cache_file(torch_home, monkeypatch, small_state_dict(), prefix="deadbeef")
    with pytest.raises(WeightsError) as err:
        weights.resolve_state_dict("squeezenet1_1", "imagenet")
    assert str(path) in str(err.value) and "delete" in str(err.value)


def test_offline_without_cache_says_what_to_download_and_where(torch_home, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsError) as err:
        weights.resolve_state_dict("resnet18", "imagenet")
    text = str(err.value)
    assert "resnet18-f37072fd.pth" in text
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in text
    assert str(torch_home / "hub" / "checkpoints") in text
    assert "--weights PATH" in text
    assert "random weights" in text
    assert isinstance(err.value.__cause__, urllib.error.URLError)


def test_download_goes_to_the_cache_with_hash_check(torch_home, monkeypatch):
    state_dict = small_state_dict()
    calls = []

    def fake_download(url, model_dir=None, check_hash=False, **kwargs):
        calls.append((url, model_dir, check_hash))
        return dict(state_dict)

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    loaded = weights.resolve_state_dict("squeezenet1_1", "imagenet", progress=False)
    assert_same(loaded, state_dict)
    assert calls == [(weights.imagenet_url("squeezenet1_1"), str(torch_home / "hub" / "checkpoints"), True)]


@pytest.mark.parametrize("wrap", ["plain", "model", "state_dict", "ddp"])
def test_path_spec_loads_state_dict_files(tmp_path, torch_home, wrap):
    state_dict = small_state_dict()
    content = {
        "plain": state_dict,
        "model": {"model": state_dict, "epoch": 3},
        "state_dict": {"state_dict": state_dict, "optimizer": {}},
        "ddp": {f"module.{k}": v for k, v in state_dict.items()},
    }[wrap]
    path = tmp_path / "mine.pth"
    torch.save(content, path)
    assert_same(weights.resolve_state_dict("squeezenet1_1", str(path)), state_dict)


def test_path_with_torchvision_name_is_hash_checked(tmp_path, torch_home):
    path = tmp_path / "squeezenet1_1-b8a52dc0.pth"  # torchvision's real name, but other content
    torch.save(small_state_dict(), path)
    with pytest.raises(WeightsError) as err:
        weights.resolve_state_dict("squeezenet1_1", str(path))
    assert str(path) in str(err.value) and "download it again" in str(err.value)

    good = tmp_path / "good.pth"
    torch.save(small_state_dict(), good)
    renamed = good.rename(tmp_path / f"squeezenet1_1-{sha256(good)[:10]}.pth")
    assert weights.resolve_state_dict("squeezenet1_1", str(renamed)) is not None


def test_missing_corrupt_or_foreign_files_are_weights_errors(tmp_path, torch_home):
    with pytest.raises(WeightsError, match="does not exist"):
        weights.resolve_state_dict("resnet18", str(tmp_path / "nope.pth"))
    with pytest.raises(WeightsError, match="has no resnet18-f37072fd.pth"):
        weights.resolve_state_dict("resnet18", str(tmp_path))  # a folder without the backbone's file

    truncated = tmp_path / "truncated.pth"
    torch.save(small_state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file at all")
    not_weights = tmp_path / "list.pth"
    torch.save([1, 2, 3], not_weights)
    for path in (truncated, garbage, not_weights):
        with pytest.raises(WeightsError) as err:
            weights.resolve_state_dict("resnet18", str(path))
        assert str(path) in str(err.value) and err.value.hint


class NotAllowed:
    """Any pickled object outside torch's allow-list: weights_only refuses it (a file must not run code)."""


def test_pickled_code_is_refused(tmp_path, torch_home):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": small_state_dict(), "extra": NotAllowed()}, path)
    with pytest.raises(WeightsError, match=str(path)):
        weights.resolve_state_dict("squeezenet1_1", str(path))


def test_legacy_densenet_keys_load(tmp_path, torch_home):
    torch.manual_seed(0)
    state_dict = torchvision.models.densenet121().state_dict()
    # torchvision's served DenseNet file predates num_batches_tracked and still says "norm.1" where the
    # module is now "norm1"
    legacy = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v
              for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    path = tmp_path / "densenet121-legacy.pth"
    torch.save(legacy, path)
    loaded = weights.resolve_state_dict("densenet121", str(path))
    assert "features.denseblock1.denselayer1.norm1.weight" in loaded
    model = models.build_model("densenet121", "frozen", loaded)
    for key, value in model.backbone.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(value, state_dict[key]), key


def test_state_dict_of_another_backbone_is_refused_when_building(tmp_path, torch_home):
    path = tmp_path / "squeeze.pth"
    torch.save(small_state_dict(), path)
    loaded = weights.resolve_state_dict("resnet18", str(path))
    with pytest.raises(WeightsError, match="resnet18"):
        models.build_model("resnet18", "finetune", loaded)


def test_a_folder_of_torchvision_files_serves_every_backbone(tmp_path, monkeypatch):
    state_dict = small_state_dict()
    torch.save(state_dict, tmp_path / "tmp.pth")
    digest = sha256(tmp_path / "tmp.pth")[:8]
    (tmp_path / "tmp.pth").rename(tmp_path / f"squeezenet1_1-{digest}.pth")
    monkeypatch.setattr(weights, "imagenet_url",
                        lambda b: f"https://example.invalid/models/{b}-"
                                  f"{digest if b == 'squeezenet1_1' else 'f00d'}.pth")
    loaded = weights.resolve_state_dict("squeezenet1_1", str(tmp_path))
    assert all(torch.equal(loaded[k], v) for k, v in state_dict.items())
    with pytest.raises(WeightsError, match="has no resnet18-f00d.pth") as e:
        weights.resolve_state_dict("resnet18", str(tmp_path))
    assert "example.invalid/models/resnet18-f00d.pth" in e.value.hint

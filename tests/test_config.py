import json

import pytest

from xray_utils.config import RunConfig
from xray_utils.errors import ConfigError


def test_defaults_are_the_homeworks():
    cfg = RunConfig().validate()
    assert (cfg.img_size, cfg.resize_size, cfg.epochs, cfg.batch_size) == (224, 256, 10, 32)
    assert (cfg.lr, cfg.weight_decay, cfg.dropout) == (1e-4, 0.002, 0.5)
    assert cfg.jitter == (0.2, 0.2, 0.2, 0.1)
    assert cfg.resolved_weights == "imagenet"
    assert RunConfig(mode="scratch").resolved_weights == "none"


def test_img_size_scales_resize():
    assert RunConfig(img_size=64).resize_size == 73
    assert RunConfig(img_size=112).resize_size == 128


@pytest.mark.parametrize("change, word", [
    ({"lr": 0}, "lr"), ({"lr": -1e-3}, "lr"), ({"epochs": 0}, "epochs"), ({"backbone": "vgg99"}, "backbone"),
    ({"mode": "thaw"}, "mode"), ({"dataset": "kaggle"}, "dataset"), ({"dropout": 1.0}, "dropout"),
    ({"batch_size": 0}, "batch_size"), ({"img_size": 4}, "img_size"),
    ({"mode": "scratch", "weights": "imagenet"}, "scratch"), ({"weights": "/no/such/file.pth"}, "not found"),
])
def test_invalid_values_are_refused_with_the_name(change, word):
    with pytest.raises(ConfigError, match=word):
        RunConfig.from_dict({**RunConfig().to_dict(), **change})


def test_round_trip_and_unknown_keys(tmp_path):
    cfg = RunConfig(backbone="squeezenet1_1", mode="frozen", epochs=3, img_size=64)
    cfg.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == cfg
    d = cfg.to_dict() | {"learning_rate": 0.1}
    (tmp_path / "bad.json").write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="learning_rate"):
        RunConfig.load(tmp_path / "bad.json")
    (tmp_path / "typed.json").write_text(json.dumps(cfg.to_dict() | {"epochs": "ten"}))
    with pytest.raises(ConfigError, match="epochs"):
        RunConfig.load(tmp_path / "typed.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        RunConfig.load(tmp_path / "broken.json")


def test_identity_ignores_presentation_fields():
    a, b = RunConfig(), RunConfig(progress=False, num_workers=3, device="cpu")
    assert a.identity() == b.identity()
    assert a.identity() != RunConfig(seed=1).identity()

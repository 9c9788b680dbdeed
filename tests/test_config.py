import json

import pytest

from xray_utils import settings
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


# ----------------------------------------------------------------------------------------------------
# settings: one place that builds a run's RunConfig (CLI, grid and notebooks alike)

def test_layers_override_in_order_defaults_preset_file_params_extra(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"epochs": 7, "lr": 0.01, "img_size": 48}))
    cfg = settings.build_config(preset="quick", config_file=tmp_path / "c.json", extra='{"lr": 0.5}',
                                dataset="synthetic", img_size=40, batch_size=None)
    assert cfg.epochs == 7  # the file beats the preset (quick: 2)
    assert cfg.img_size == 40  # a parameter beats the file
    assert cfg.lr == 0.5  # extra JSON beats everything
    assert cfg.batch_size == RunConfig().batch_size  # None keeps the lower layers' value
    assert cfg.dropout == RunConfig().dropout  # a setting no layer names keeps the homework's value


def test_presets_homework_is_the_defaults_and_quick_is_small():
    home = settings.build_config(preset="homework", dataset="synthetic")
    assert home.identity() == RunConfig(dataset="synthetic").identity()
    quick = settings.build_config(preset="quick", dataset="synthetic")
    assert (quick.img_size, quick.epochs, quick.train_fraction) == (64, 2, 0.25)
    with pytest.raises(ConfigError, match="unknown preset 'fast'") as e:
        settings.build_config(preset="fast")
    assert "quick" in e.value.hint


def test_unknown_settings_are_named_with_their_source(tmp_path):
    with pytest.raises(ConfigError, match="extra_config: unknown setting.*learning_rate"):
        settings.build_config(dataset="synthetic", extra='{"learning_rate": 1}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        settings.build_config(dataset="synthetic", extra="{lr: 1}")
    with pytest.raises(ConfigError, match="notebook parameters: unknown setting.*colour"):
        settings.build_config(dataset="synthetic", source="notebook parameters", colour="red")
    with pytest.raises(ConfigError, match="config file not found"):
        settings.build_config(config_file=tmp_path / "missing.json")


def test_a_partial_config_file_changes_only_what_it_names(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"scheduler": "cosine"}))
    cfg = settings.build_config(config_file=tmp_path / "c.json", dataset="synthetic", epochs=2)
    assert (cfg.scheduler, cfg.epochs, cfg.img_size) == ("cosine", 2, 224)


def test_a_runs_own_config_json_rebuilds_the_same_run(tmp_path):
    cfg = settings.build_config(dataset="synthetic", backbone="squeezenet1_1", mode="frozen", epochs=2, seed=3)
    cfg.save(tmp_path / "config.json")
    assert settings.build_config(config_file=tmp_path / "config.json") == cfg


def test_auto_dataset_is_the_kaggle_folder_when_present_else_pneumoniamnist(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "default_project_dir", lambda: tmp_path)
    assert settings.build_config().dataset == "pneumoniamnist"
    (tmp_path / "data" / "chest_xray").mkdir(parents=True)
    cfg = settings.build_config(dataset="auto")
    assert (cfg.dataset, cfg.data_dir) == ("folder", str(tmp_path / "data" / "chest_xray"))
    npz = tmp_path / "p.npz"
    npz.write_bytes(b"")
    assert settings.build_config(data_dir=str(npz)).dataset == "pneumoniamnist"  # decided by what it holds
    assert settings.build_config(dataset="synthetic").dataset == "synthetic"


def test_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.pth").write_bytes(b"")
    cfg = settings.build_config(dataset="folder", data_dir="xr", weights="w.pth", cache_dir="cache")
    assert cfg.data_dir == str(tmp_path / "xr") and cfg.weights == str(tmp_path / "w.pth")
    assert cfg.cache_dir == str(tmp_path / "cache")
    assert settings.build_config(dataset="synthetic", weights="imagenet").weights == "imagenet"


def test_run_dir_is_named_by_the_run_under_reports_runs(tmp_path):
    cfg = settings.build_config(dataset="synthetic", backbone="resnet18", mode="frozen", seed=2, train_fraction=0.5)
    assert settings.default_runs_root() == settings.default_reports_dir() / "runs"
    assert settings.run_dir_for(cfg) == settings.default_runs_root() / "resnet18-frozen-seed2-frac0.5"
    assert settings.run_dir_for(cfg, root=tmp_path) == tmp_path / "resnet18-frozen-seed2-frac0.5"
    assert settings.run_dir_for(cfg, out=tmp_path / "mine") == tmp_path / "mine"

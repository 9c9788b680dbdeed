"""models: the backbone/head split, frozen vs finetune behaviour, Grad-CAM layers, size and cost."""

import io

import pytest
import torch
import torchvision
from torch import nn

from xray_utils import models
from xray_utils.config import BACKBONES
from xray_utils.errors import ConfigError, WeightsError
from xray_utils.report import task_a

SMALL = 32  # every backbone accepts 32 px (densenet121 needs >= 29); keeps densenet121 cheap on CPU


def make(backbone, mode="finetune", state_dict=None, dropout=0.5, seed=0):
    torch.manual_seed(seed)
    return models.build_model(backbone, mode, state_dict, dropout)


def images(n=2, size=SMALL, seed=1):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def train_steps(model, params, steps=2):
    optimizer = torch.optim.SGD(params, lr=0.1)
    # Unbalanced labels: with balanced ones the bias gradients of a near-zero output cancel exactly
    # (an untrained EfficientNet in eval mode gives features of ~1e-14).
    labels = torch.tensor([0, 1, 1])
    model.train()
    for step in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images(3, seed=step)), labels)
        loss.backward()
        optimizer.step()
    return loss


def clone_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("backbone", BACKBONES)
def test_head_gives_two_logits_per_image(backbone):
    model = make(backbone).eval()
    with torch.no_grad():
        assert model(images(3, 64)).shape == (3, 2)
        assert model(images(2, SMALL)).shape == (2, 2)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_frozen_backbone_is_bit_identical_after_training(backbone):
    model = make(backbone, "frozen")
    before = clone_state(model.backbone)
    head_before = clone_state(model.head)
    total, trainable = models.count_parameters(model)
    assert model.frozen
    assert trainable == sum(p.numel() for p in model.head.parameters())
    assert trainable < total
    assert not any(p.requires_grad for p in model.backbone.parameters())

    loss = train_steps(model, [p for p in model.parameters() if p.requires_grad])

    assert torch.isfinite(loss)
    assert model.training and model.head.training
    assert not any(m.training for m in model.backbone.modules())  # BatchNorm stays in eval mode
    after = model.backbone.state_dict()
    assert before.keys() == after.keys()
    for key in before:  # weights, BN running_mean/var and num_batches_tracked alike
        assert torch.equal(before[key], after[key]), key
    assert any(not torch.equal(head_before[k], v) for k, v in model.head.state_dict().items())


@pytest.mark.parametrize("mode", ["finetune", "scratch"])
def test_finetune_and_scratch_train_everything(mode):
    model = make("resnet18", mode)
    total, trainable = models.count_parameters(model)
    assert not model.frozen and total == trainable
    before = clone_state(model.backbone)
    train_steps(model, model.parameters(), steps=1)
    after = model.backbone.state_dict()
    assert not torch.equal(before["conv1.weight"], after["conv1.weight"])
    assert not torch.equal(before["bn1.running_mean"], after["bn1.running_mean"])


def test_frozen_flag_can_be_switched_off():
    model = make("squeezenet1_1", "frozen").train()
    assert not model.backbone.training
    model.frozen = False
    assert model.backbone.training
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("backbone", BACKBONES)
def test_head_applies_to_cached_features_exactly_as_in_forward(backbone):
    model = make(backbone, "frozen").eval()
    x = images()
    with torch.no_grad():
        features = model.backbone(x)
        assert features.shape[:2] == (2, models.SPECS[backbone].feature_dim)
        assert torch.equal(model(x), model.head(features))
        assert torch.equal(model.backbone(x), features)


@pytest.mark.parametrize("backbone", ["squeezenet1_1", "squeezenet1_0"])
def test_squeezenet_head_is_a_1x1_conv_without_relu(backbone):
    model = make(backbone).eval()
    convs = [m for m in model.head.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(512, 2, (1, 1))]
    assert not any(isinstance(m, nn.ReLU) for m in model.head.modules())
    # Backbone features are >= 0 (after ReLU); an all-negative conv must give negative logits,
    # which torchvision's Conv -> ReLU classifier would clamp to 0 (loss stuck at ln 2).
    with torch.no_grad():
        convs[0].weight.fill_(-1.0)
        convs[0].bias.zero_()
        assert (model(images()) < 0).all()


@pytest.mark.parametrize("backbone", ["squeezenet1_1", "squeezenet1_0"])
def test_squeezenet_head_is_torchvisions_classifier_without_the_relu(backbone):
    torch.manual_seed(3)
    reference = torchvision.models.get_model(backbone)
    model = make(backbone, "finetune", reference.state_dict()).eval()
    reference.classifier[1] = model.head.conv  # torchvision's order: Dropout, conv, ReLU, pool, flatten
    reference.classifier[2] = nn.Identity()
    x = images(2, 224)
    with torch.no_grad():
        maps = model.backbone(x)
        assert maps.shape == (2, 512, 13, 13)  # what frozen mode caches per image (see _split_squeezenet)
        torch.testing.assert_close(model(x), reference.eval()(x))


def test_squeezenet_dropout_drops_positions_of_the_feature_map():
    model = make("squeezenet1_1", dropout=0.5).train()
    seen = {}
    model.head.dropout.register_forward_hook(lambda m, inputs, out: seen.update(x=inputs[0], out=out))
    with torch.no_grad():
        model(images(2, 64))
    x, out = seen["x"], seen["out"]
    assert x.ndim == 4 and x.shape[1] == 512
    live = x > 0
    dropped = live & (out == 0)
    # within one channel of one image some positions are dropped and others kept: not whole channels
    mixed = (dropped.flatten(2).any(2) & (live & ~dropped).flatten(2).any(2)).float().mean()
    assert mixed > 0.2


@pytest.mark.parametrize("backbone", BACKBONES)
def test_cam_layer_is_a_conv_block_inside_the_backbone(backbone):
    model = make(backbone).eval()
    layer = models.cam_layer(model)
    assert any(layer is m for m in model.backbone.modules())
    seen = []
    handle = layer.register_forward_hook(lambda m, i, out: seen.append(out.shape))
    with torch.no_grad():
        model(images(1, 64))
    handle.remove()
    assert len(seen) == 1 and len(seen[0]) == 4


def test_loads_a_torchvision_state_dict_into_the_backbone():
    torch.manual_seed(3)
    reference = torchvision.models.resnet18()
    state_dict = reference.state_dict()
    model = make("resnet18", "frozen", state_dict)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, state_dict[key]), key
    reference.eval(), model.eval()
    with torch.no_grad():
        x = images()
        # the backbone computes exactly torchvision's penultimate features
        expected = torch.flatten(reference.avgpool(
            nn.Sequential(*list(reference.children())[:-2])(x)), 1)
        torch.testing.assert_close(model.backbone(x), expected)


def test_mismatched_state_dict_is_a_weights_error_naming_backbone_and_keys():
    state_dict = torchvision.models.squeezenet1_1().state_dict()
    with pytest.raises(WeightsError) as err:
        make("resnet18", "finetune", state_dict)
    assert "resnet18" in str(err.value) and "conv1.weight" in str(err.value)

    resnet = torchvision.models.resnet18(num_classes=2).state_dict()  # a 2-class fc: wrong shape
    with pytest.raises(WeightsError, match=r"fc\.weight"):
        make("resnet18", "finetune", resnet)


def test_unknown_backbone_or_mode_lists_the_choices():
    with pytest.raises(ConfigError) as err:
        models.build_model("vgg16", "finetune")
    assert "resnet18" in str(err.value) and "efficientnet_b0" in str(err.value)
    with pytest.raises(ConfigError) as err:
        models.build_model("resnet18", "linear-probe")
    assert "frozen" in str(err.value)


def test_head_init_is_deterministic_under_the_seed():
    a, b, c = make("resnet18", seed=5), make("resnet18", seed=5), make("resnet18", seed=6)
    assert torch.equal(a.head.fc.weight, b.head.fc.weight)
    assert not torch.equal(a.head.fc.weight, c.head.fc.weight)


def test_dropout_setting_reaches_the_head():
    model = make("efficientnet_b0", dropout=0.3)
    assert [m.p for m in model.head.modules() if isinstance(m, nn.Dropout)] == [0.3]


def test_resnet18_parameter_count_matches_torchvision():
    total, _ = models.count_parameters(make("resnet18"))
    # torchvision's 1000-class ResNet-18 minus its fc (512*1000 + 1000) plus the new head (512*2 + 2)
    assert total == 11_689_512 - 513_000 + 1_026


def test_flops_are_multiply_adds_as_in_the_papers():
    # ResNet-18 at 224 px: 1.8 G multiply-adds (He et al.; torchvision's table says 1.814).
    macs = task_a.flops_per_image(make("resnet18"), 224)
    assert 1.75e9 < macs < 1.85e9
    small = task_a.flops_per_image(make("mobilenet_v3_small"), 64)
    assert 0 < small < macs / 100


def test_flop_count_leaves_training_mode_alone():
    model = make("squeezenet1_1").train()
    task_a.flops_per_image(model, SMALL)
    assert model.training


def test_weights_size_matches_a_saved_state_dict():
    model = make("squeezenet1_1")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert task_a.weights_size_mb(model) == pytest.approx(buffer.tell() / 2**20, rel=0.02)


def test_latency_is_positive_and_keeps_the_model_in_place():
    model = make("squeezenet1_1").train()
    seconds = task_a.measure_latency(model, SMALL, "cpu", batch=2, repeats=2, warmup=1)
    assert 0 < seconds < 5
    assert model.training


def test_describe_gives_a_task_a_row_for_every_backbone():
    for backbone in BACKBONES:
        assert len(models.SPECS[backbone].description.split(". ")) >= 2
    row = task_a.describe("squeezenet1_1")
    assert row["backbone"] == "squeezenet1_1" and row["year"] == 2016 and "Iandola" in row["paper"]
    assert row["params"] == models.count_parameters(make("squeezenet1_1"))[0]
    assert row["head_params"] == 512 * 2 + 2
    assert "feature map" in row["head_layout"] and "without its ReLU" in row["head_layout"]
    assert task_a.describe("resnet18")["head_layout"] == "Dropout on the pooled 512-number vector, Linear(512, 2)"
    assert row["min_img_size"] == models.min_img_size("squeezenet1_1") == 17

"""compute: the one decision of device, precision and memory format, asked of torch (never of a CPU name)."""

import pytest
import torch

from xray_utils import compute
from xray_utils.compute import Compute

PROBES = (compute.cpu_prefers_channels_last, compute.cpu_has_native_bf16)  # cached: asked once per process


@pytest.fixture
def fresh_probes():
    for probe in PROBES:
        probe.cache_clear()
    yield
    for probe in PROBES:
        probe.cache_clear()


@pytest.mark.parametrize("capability, mkldnn, nhwc", [("AVX2", True, True), ("AVX512", True, True),
                                                      ("DEFAULT", True, False), ("AVX2", False, False)])
def test_fp32_on_the_cpu_is_channels_last_where_torch_says_onednn_runs_on_avx(monkeypatch, fresh_probes,
                                                                              capability, mkldnn, nhwc):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: mkldnn)
    monkeypatch.setattr(compute, "cpu_has_native_bf16", lambda: False)
    for amp in ("auto", "off"):
        c = Compute.decide("cpu", amp)
        assert (c.dtype, c.name, c.channels_last, c.needs_grad_scaler) == (None, "fp32", nhwc, False)


def test_bf16_on_the_cpu_is_always_channels_last(monkeypatch, fresh_probes):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")
    monkeypatch.setattr(compute, "cpu_has_native_bf16", lambda: True)
    assert Compute.decide("cpu", "auto") == Compute(torch.device("cpu"), torch.bfloat16, True)
    assert Compute.decide("cpu", "off").dtype is None


def test_batch_and_module_follow_the_decision():
    nhwc = Compute(torch.device("cpu"), None, True)
    x = nhwc.batch(torch.randn(2, 3, 8, 8))
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert Compute(torch.device("cpu")).batch(torch.randn(2, 3, 8, 8)).is_contiguous()
    conv = nhwc.module(torch.nn.Conv2d(3, 4, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    # the same convolution in either layout gives the same numbers (to float rounding)
    plain = torch.nn.Conv2d(3, 4, 3)
    plain.load_state_dict(conv.state_dict())
    torch.testing.assert_close(conv(x), plain(x.contiguous()), rtol=1e-5, atol=1e-5)

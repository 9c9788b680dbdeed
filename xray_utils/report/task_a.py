"""Task A: the architectures side by side (parameters, MACs, latency, size, ImageNet accuracy)."""

from __future__ import annotations

import copy
import html
import platform
import statistics
import time
from typing import TYPE_CHECKING

import torch
import torchvision
from torch import nn

from .. import models
from ..compute import Compute
from ..report_text import description
from .html import fmt_int, fmt_macs, heading, keep_together, paragraph, show_html, table_html

if TYPE_CHECKING:
    from .core import Report

# ----------------------------------------------------------------------------------------------------
# measuring: size, MACs, latency, the architecture's facts
# MACs are multiply-accumulates, the "FLOPs" of torchvision's model table and of the papers (ResNet-18:
# "1.8 GFLOPs"); ``torch.utils.flop_counter`` counts 2 per MAC and is halved.


def weights_size_mb(model: nn.Module) -> float:
    """Size of the parameters and buffers stored in fp32, in MB of 2**20 bytes (torchvision's unit)."""
    tensors = list(model.parameters()) + list(model.buffers())
    n_bytes = sum(t.numel() * (4 if t.is_floating_point() else t.element_size()) for t in tensors)
    return n_bytes / 2**20


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def flops_per_image(model: nn.Module, img_size: int) -> int:
    """Multiply-accumulates (MACs) for one img_size x img_size image: convolutions and matmuls only.

    This is the "FLOPs" of the papers and of torchvision's table (ResNet-18 at 224 px: 1.8 G). Real
    floating-point operations are twice as many (``FlopCounterMode`` reports those; we halve them).
    """
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, img_size, img_size, device=_device_of(model))
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // 2


def measure_latency(model: nn.Module, img_size: int, device: str | torch.device = "cpu", batch: int = 1,
                    repeats: int = 20, warmup: int = 3, amp: str = "auto") -> float:
    """Median seconds per image of inference (eval mode, ``torch.inference_mode``) on ``device``, in the
    precision training uses there (``Compute.decide(device, amp)``; ``amp="off"``: fp32).

    The model is copied when it lives on another device or memory format, so the caller's model is never
    changed.
    """
    compute = Compute.decide(device, amp)
    device, nhwc = compute.device, compute.channels_last
    net = model if _device_of(model) == device and not nhwc else copy.deepcopy(model).to(device)
    if nhwc:
        net = net.to(memory_format=torch.channels_last)
    was_training = net.training
    net.eval()
    x = torch.randn(batch, 3, img_size, img_size, device=device)
    if nhwc:
        x = x.contiguous(memory_format=torch.channels_last)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                sync()
                t0 = time.perf_counter()
                with compute.autocast():
                    net(x)
                sync()
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
    finally:
        net.train(was_training)
    return statistics.median(times) / batch


def describe(backbone: str) -> dict:
    """One Task A table row: architecture facts, where the new head sits, parameter counts of the 2-class
    model, ImageNet numbers."""
    spec = models.spec(backbone)
    dim = spec.feature_dim
    model = models.build_model(backbone, "finetune")
    total, _ = models.count_parameters(model)
    head = sum(p.numel() for p in model.head.parameters())
    meta = torchvision.models.get_model_weights(backbone).DEFAULT.meta
    return {
        "backbone": backbone,
        "year": spec.year,
        "paper": spec.paper,
        "description": spec.description,
        "feature_dim": spec.feature_dim,
        "head_layout": spec.head or f"Dropout on the pooled {dim}-number vector, Linear({dim}, 2)",
        "params": total,
        "head_params": head,  # what "frozen" trains
        "size_mb": weights_size_mb(model),
        "imagenet_top1": meta["_metrics"]["ImageNet-1K"]["acc@1"],
        "imagenet_gmacs_224": meta["_ops"],  # torchvision's figure for the 1000-class model
        "min_img_size": int(meta["min_size"][0]),
    }


# ----------------------------------------------------------------------------------------------------
# the section


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def task_a_rows(report: Report, device: str = "cpu") -> list[dict]:
    """One row per backbone: ``describe``'s facts, trainable parameters per mode of the report's runs,
    MACs at the runs' image size and at 224, and latency measured here in the training precision."""
    rows = []
    for backbone in dict.fromkeys(r.config.backbone for r in report.runs):
        img = next(r.config.img_size for r in report.runs if r.config.backbone == backbone)
        facts = describe(backbone)
        row = {"backbone": backbone, "year": facts["year"], "params": facts["params"], "head": facts["head_params"],
               "size_mb": facts["size_mb"], "top1": facts["imagenet_top1"], "img": img,
               "description": description(report.lang, backbone, facts["description"]), "paper": facts["paper"]}
        for mode in dict.fromkeys(r.config.mode for r in report.runs if r.config.backbone == backbone):
            # frozen trains the new head only; fine-tune and scratch train every weight
            row[f"trainable_{mode}"] = facts["head_params"] if mode == "frozen" else facts["params"]
        model = models.build_model(backbone, "finetune").eval()
        row["macs"] = flops_per_image(model, img)
        row["macs_224"] = flops_per_image(model, 224)
        row["latency_ms"] = 1000 * measure_latency(model, img, device)
        rows.append(row)
    return rows


def _columns(report: Report, rows: list[dict]) -> list[tuple[str, str]]:
    modes = list(dict.fromkeys(r.config.mode for r in report.runs))
    img = rows[0]["img"]
    cols = [("backbone", report.t("col_backbone")), ("params", report.t("col_params"))]
    cols += [(f"trainable_{m}", report.t("col_trainable", mode=report.mode_label(m))) for m in modes]
    if "frozen" not in modes:  # what a frozen run would train
        cols.append(("head", report.t("col_head")))
    cols += [("macs", report.t("col_macs", img=img))] + ([("macs_224", report.t("col_macs_224"))] if img != 224 else [])
    return cols + [("latency", report.t("col_latency")), ("size", report.t("col_size")), ("top1", report.t("col_top1"))]


def show_task_a(report: Report, device: str = "cpu") -> None:
    if device == "cuda" and not torch.cuda.is_available():
        device = "cpu"
    rows = task_a_rows(report, device)
    shown = []
    for r in rows:
        s = {k: fmt_int(v) for k, v in r.items() if k.startswith("trainable_")}
        s.update(backbone=r["backbone"], params=fmt_int(r["params"]), head=fmt_int(r["head"]),
                 macs=fmt_macs(r["macs"]), macs_224=fmt_macs(r["macs_224"]), latency=f"{r['latency_ms']:.2f}",
                 size=f"{r['size_mb']:.2f}", top1=f"{r['top1']:.2f}%")
        shown.append(s)
    parts = [heading(report.t("h_task_a"), 2, "task-a"),
             paragraph(report.t("task_a_intro", img=rows[0]["img"], device=device_name(device))),
             paragraph(report.t("task_a_latency_caveat"), "xray-note"),
             table_html(shown, _columns(report, rows), "task-a", row_key=None)]
    parts = [keep_together("".join(parts))]  # printed, the heading stays on the page of its table
    if len(rows) > 1:
        fastest = min(rows, key=lambda r: r["latency_ms"])
        smallest = min(rows, key=lambda r: r["size_mb"])
        parts.append(paragraph(report.t("fastest", backbone=fastest["backbone"], ms=f"{fastest['latency_ms']:.2f}",
                                        small=smallest["backbone"], mb=f"{smallest['size_mb']:.2f}")))
    for r in rows:
        parts.append(f"<p><b>{html.escape(r['backbone'])}</b> ({r['year']}): {html.escape(r['description'])} "
                     f'<span class="xray-note">({html.escape(r["paper"])})</span></p>')
    if any(r["backbone"].startswith("squeezenet") for r in rows):
        parts.append(paragraph(report.t("squeezenet_head"), "xray-note"))
    show_html("".join(parts))

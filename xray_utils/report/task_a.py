"""Task A: the architectures side by side (parameters, MACs, latency, size, ImageNet accuracy)."""

from __future__ import annotations

import html
import platform
from typing import TYPE_CHECKING

import torch

from .. import models
from ..report_text import description
from .html import fmt_int, fmt_macs, heading, paragraph, show_html, table_html

if TYPE_CHECKING:  # the Report imports this module
    from .core import Report


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def task_a_rows(report: Report, device: str = "cpu") -> list[dict]:
    """One row per backbone: ``models.describe``'s facts, trainable parameters per mode of the report's runs,
    MACs at the runs' image size and at 224, and latency measured here in the training precision."""
    rows = []
    for backbone in dict.fromkeys(r.config.backbone for r in report.runs):
        img = next(r.config.img_size for r in report.runs if r.config.backbone == backbone)
        facts = models.describe(backbone)
        row = {"backbone": backbone, "year": facts["year"], "params": facts["params"], "head": facts["head_params"],
               "size_mb": facts["size_mb"], "top1": facts["imagenet_top1"], "img": img,
               "description": description(report.lang, backbone, facts["description"]), "paper": facts["paper"]}
        for mode in dict.fromkeys(r.config.mode for r in report.runs if r.config.backbone == backbone):
            # frozen trains the new head only; fine-tune and scratch train every weight
            row[f"trainable_{mode}"] = facts["head_params"] if mode == "frozen" else facts["params"]
        model = models.build_model(backbone, "finetune").eval()
        row["macs"] = models.flops_per_image(model, img)
        row["macs_224"] = models.flops_per_image(model, 224)
        row["latency_ms"] = 1000 * models.measure_latency(model, img, device)
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
             table_html(shown, _columns(report, rows), "task-a", row_key=None)]
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

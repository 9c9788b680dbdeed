"""Is it pneumonia the networks see? The shortcut audit (region ablation, Grad-CAM mass in the lungs), the
image-property baseline, patient-level results and the leakage split; every number from ``audit``."""

from __future__ import annotations

import html as _html
from typing import TYPE_CHECKING

import numpy as np

from .. import audit, plots
from .html import Raw, fmt_ci, fmt_metric, fmt_num, fmt_pct, heading, paragraph, show_figure, show_html, table_html

if TYPE_CHECKING:  # the model this section reads (sections.Report calls it; core imports no section)
    from .core import Report


def _cell(metric: str, value, ci) -> Raw:
    ci_text = fmt_ci(metric, ci)
    ci_html = f'<br><span class="ci">{_html.escape(ci_text)}</span>' if ci_text else ""
    return Raw(f'<span class="value">{_html.escape(fmt_metric(metric, value))}</span>{ci_html}')


def _pct_cell(value, ci) -> Raw:
    return _cell("accuracy", value, ci)  # a share, shown as a percentage like the rates


def results(report: Report) -> dict[str, dict]:
    """run name -> its audit (computed once per run and cached by its weights), for the full-data runs."""
    if not hasattr(report, "_shortcut_results"):
        report._shortcut_results = {r.name: audit.shortcut(r) for r in report.runs}
    return report._shortcut_results


def cam_images(report: Report) -> int:
    """How many test images Grad-CAM ran on (the same fixed sample for every run)."""
    return max(r["cam_in_lungs"]["sampled"] for r in results(report).values())


def region_text(report: Report) -> str:
    left, top, right, bottom = audit.LUNG_REGION
    return report.t("shortcut_region", left=f"{left:.0%}", right=f"{right:.0%}", top=f"{top:.0%}",
                    bottom=f"{bottom:.0%}")


def show_examples(report: Report) -> None:
    """One test image as the network sees it, with the lungs masked, and with the outside masked."""
    run = report.main[0]
    _, pixels = audit.test_pixels(run.config)
    labels = run.y
    k = int(np.flatnonzero(labels == 1)[0]) if (labels == 1).any() else 0
    images = [pixels[k]] + [audit.masked(pixels[k], kind) for kind in audit.KINDS]
    titles = [report.t("mask_none"), report.t("mask_lungs"), report.t("mask_outside")]
    show_figure(plots.image_grid(images, titles, ncols=3, lang=report.lang))


def shortcut_rows(report: Report) -> list[dict]:
    rows = []
    for name, r in results(report).items():
        rows.append({"run": name, "auc": _cell("roc_auc", r["auc"]["value"], r["auc"]["ci"]),
                     "lungs": _cell("roc_auc", r["auc_lungs_masked"]["value"], r["auc_lungs_masked"]["ci"]),
                     "outside": _cell("roc_auc", r["auc_outside_masked"]["value"], r["auc_outside_masked"]["ci"]),
                     "retained": fmt_pct(r["retained"], 0) if r["retained"] is not None else report.t("not_judged"),
                     "cam": _pct_cell(r["cam_in_lungs"]["value"], r["cam_in_lungs"]["ci"]),
                     "flag": report.t("flag_yes") if r["flag"] else report.t("flag_no")})
    return rows


def shortcut_sentences(report: Report) -> list[str]:
    res = results(report)
    flagged = [n for n, r in res.items() if r["flag"]]
    cams = [r["cam_in_lungs"]["value"] for r in res.values() if r["cam_in_lungs"]["value"] is not None]
    chance = next(iter(res.values()))["cam_in_lungs"]["chance"]
    out = [report.t("shortcut_flagged", runs=report.t("list_sep").join(flagged), n=len(flagged), total=len(res))
           if flagged else report.t("shortcut_none_flagged", total=len(res))]
    if cams:
        out.append(report.t("shortcut_cam", lo=fmt_pct(min(cams), 0), hi=fmt_pct(max(cams), 0),
                            chance=fmt_pct(chance, 0)))
    return out


def show_shortcut(report: Report) -> None:
    share = audit.FLAG_SHARE
    columns = [("run", report.t("col_run")), ("auc", report.t("col_auc_as_is")),
               ("lungs", report.t("col_auc_lungs_masked")), ("outside", report.t("col_auc_outside_masked")),
               ("retained", report.t("col_retained")), ("cam", report.t("col_cam_in_lungs")),
               ("flag", report.t("col_flag"))]
    chance = audit.region_share(report.runs[0].config.img_size)
    show_html(heading(report.t("h_shortcut"), 2, "shortcut")
              + paragraph(report.t("shortcut_intro", region=region_text(report), chance=fmt_pct(chance, 0),
                                   n_cam=cam_images(report)))
              + paragraph(report.t("shortcut_rule", share=f"{share:.0%}", min_auc=fmt_num(audit.MIN_AUC, 2))))
    show_examples(report)
    show_html(table_html(shortcut_rows(report), columns, "shortcut-table")
              + paragraph(" ".join(shortcut_sentences(report)))
              + paragraph(report.t("shortcut_limits"), "xray-note"))
    show_properties(report)
    show_patient_level(report)
    show_leakage(report)


# ----------------------------------------------------------------------------------------------------
# the data-level checks and the patient-level table


def property_result(report: Report) -> dict | None:
    if not hasattr(report, "_property_result"):
        report._property_result = audit.property_baseline(report.runs[0].config)
    return report._property_result


def property_sentence(report: Report, r: dict) -> str:
    auc = fmt_num(r["auc"], 3)
    ci = fmt_ci("roc_auc", r["ci"])
    leaks = r["ci"] is not None and r["ci"][0] > 0.5
    squash = "aspect_ratio" not in r["constant"]  # the square squash matters only where the shapes differ
    key = ("properties_leak" if squash else "properties_leak_sizes") if leaks else "properties_no_leak"
    return report.t(key, auc=auc, ci=ci, above=fmt_num(r["auc"] - 0.5, 3))


def show_properties(report: Report) -> None:
    show_html(heading(report.t("h_properties"), 3, "image-properties"))
    r = property_result(report)
    if r is None:
        show_html(paragraph(report.t("properties_folder_only")))
        return
    rows = [property_row(report, name, r["per_feature_auc"][name]) for name in r["features"]]
    constant = ""
    if r["constant"]:
        constant = " " + report.t("properties_constant",
                                  names=report.t("list_sep").join(report.t(f"prop_{n}") for n in r["constant"]))
    columns = [("property", report.t("col_property")), ("auc", report.t("col_property_auc")),
               ("direction", report.t("col_direction"))]
    show_html(paragraph(report.t("properties_intro", n_train=r["n_train"], n_test=r["n_test"]))
              + paragraph(property_sentence(report, r) + constant)
              + table_html(rows, columns, "properties-table", row_key=None))


def property_row(report: Report, name: str, auc: float | None) -> dict:
    """One property alone as a score: its AUC either way round, and whether PNEUMONIA images have more of it."""
    if auc is None:
        return {"property": report.t(f"prop_{name}"), "auc": report.t("prop_constant"), "direction": ""}
    return {"property": report.t(f"prop_{name}"), "auc": fmt_num(max(auc, 1 - auc), 3),
            "direction": report.t("prop_higher" if auc >= 0.5 else "prop_lower")}


def patient_results(report: Report) -> dict[str, dict]:
    if not hasattr(report, "_patient_results"):
        report._patient_results = {r.name: audit.run_patient_level(r) for r in report.runs}
    return report._patient_results


def show_patient_level(report: Report) -> None:
    show_html(heading(report.t("h_patient_level"), 3, "patient-level"))
    res = patient_results(report)
    offered = {n: r for n, r in res.items() if r["offered"]}
    if not offered:
        show_html(paragraph(report.t("patients_" + next(iter(res.values()))["reason"])))
        return
    rows = [{"run": n, "patients": f"{r['n_patients']} ({r['n_images']})",
             **{m: _cell(m, r[m], r["ci"].get(m)) for m in audit.PATIENT_METRICS}} for n, r in offered.items()]
    columns = [("run", report.t("col_run")), ("patients", report.t("col_patients_images"))] + [
        (m, report.t(f"metric_{m}")) for m in audit.PATIENT_METRICS]
    show_html(paragraph(report.t("patient_level_intro"))
              + table_html(rows, columns, "patient-level-table", metric_cells=audit.PATIENT_METRICS))


def leakage_results(report: Report) -> dict[str, dict] | None:
    if not hasattr(report, "_leakage_results"):
        if report.runs[0].config.dataset != "folder":
            report._leakage_results = None
        else:
            train_patients = audit.training_patients(report.runs[0].config)
            report._leakage_results = {r.name: audit.run_leakage(r, train_patients) for r in report.runs}
    return report._leakage_results


def leakage_sentence(report: Report, name: str, r: dict) -> str:
    d = r["differences"].get("sensitivity")
    if d is None:
        return report.t("leakage_no_comparison", run=name)
    diff = f"{100 * d['value']:+.1f} pp"
    ci = f"[{100 * d['ci'][0]:+.1f}, {100 * d['ci'][1]:+.1f}] pp"
    return report.t("leakage_differ" if r["differ"] else "leakage_same", run=name, diff=diff, ci=ci)


def show_leakage(report: Report) -> None:
    show_html(heading(report.t("h_leakage"), 3, "leakage"))
    res = leakage_results(report)
    if res is None:
        show_html(paragraph(report.t("leakage_folder_only")))
        return
    rows = []
    for name, r in res.items():
        for group in ("shared", "unshared"):
            g = r[group]
            if g is None:
                continue
            rows.append({"run": name, "group": report.t(f"leakage_{group}"),
                         "images": f"{g['n_images']} ({g['n_pneumonia']})",
                         **{m: _cell(m, g[m], g["ci"].get(m)) for m in audit.LEAKAGE_METRICS}})
    columns = [("run", report.t("col_run")), ("group", report.t("col_group")),
               ("images", report.t("col_images_pneumonia"))] + [(m, report.t(f"metric_{m}"))
                                                                 for m in audit.LEAKAGE_METRICS]
    show_html(paragraph(report.t("leakage_intro"))
              + table_html(rows, columns, "leakage-table", row_key=None)
              + paragraph(" ".join(leakage_sentence(report, n, r) for n, r in res.items())))


def finding_sentences(report: Report) -> list[str]:
    """The Findings' lines: which runs the audit flags, and the image-property baseline where it was run."""
    out = shortcut_sentences(report)[:1]
    r = property_result(report)
    if r is not None:
        out.append(report.t("properties_finding", sentence=property_sentence(report, r)))
    return out

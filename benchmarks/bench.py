"""`make bench`: the README's speed claims, measured side by side in one run on this machine.

    .venv/bin/python benchmarks/bench.py                 # everything (a few minutes on 2 CPU cores)
    .venv/bin/python benchmarks/bench.py --quick         # small sizes: a smoke check, targets not meaningful
    .venv/bin/python benchmarks/bench.py --only loop_efficiency,demo_wall_s --out /tmp/b.json

Measurements (benchmarks/README.md explains each):
  frozen_cache_speedup   frozen-mode training, backbone once (feature cache) vs every epoch (the homework's loop)
  decode_cache_speedup   training DataLoader images/s over full-size JPEGs, with vs without the decode cache
  loop_efficiency        train.train_one_epoch images/s / the bare forward+backward+step on in-memory tensors
  demo_wall_s            wall time of `xray demo` (what `make demo` runs)

Both sides of a comparison run in this one process, with the same torch threads, on the same data, with
repeats interleaved (A B B A ...) so that load from other processes hits both alike; a side never reuses a
cache built by the other. Results go to reports/bench/bench.json (atomically, after every measurement) and a
table on stdout. Exit status 1 when a measurement could not run; a missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader

from xray_utils import atomic, data, distributed, models, train
from xray_utils.config import RunConfig, default_project_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fullsize_data  # noqa: E402  (beside this file)

PROJECT = default_project_dir()
BENCH_DIR = PROJECT / "reports" / "bench"
CPU = torch.device("cpu")

# Sizes: the full run takes about 4-5 minutes on two quiet CPU cores, --quick about 20 seconds.
FULL = {
    "frozen_cache_speedup": dict(backbone="resnet18", img_size=224, epochs=10, synthetic_train=80, synthetic_test=4,
                                 batch_size=32, repeats=3),
    "decode_cache_speedup": dict(n_train=180, n_test=8, img_size=224, batch_size=32, workers=[0, 1, 2], epochs=3),
    "loop_efficiency": dict(backbone="resnet18", img_size=224, batch_size=32, images=64, repeats=3,
                            diagnostic_repeats=2),
    "demo_wall_s": dict(timeout_s=1200),
}
QUICK = {
    "frozen_cache_speedup": dict(FULL["frozen_cache_speedup"], img_size=64, epochs=3, synthetic_train=24, repeats=1),
    "decode_cache_speedup": dict(FULL["decode_cache_speedup"], n_train=24, n_test=4, img_size=64, workers=[0, 2],
                                 epochs=1),
    "loop_efficiency": dict(FULL["loop_efficiency"], img_size=64, images=32, repeats=1, diagnostic_repeats=1),
    "demo_wall_s": None,  # minutes whatever the sizes: run it alone with --only demo_wall_s
}
TARGETS = {  # name: (comparison, target, unit)
    "frozen_cache_speedup": (">=", 8.0, "x"),
    "decode_cache_speedup": (">=", 5.0, "x"),
    "loop_efficiency": (">=", 0.85, "ratio"),
    "demo_wall_s": ("<=", 300.0, "s"),
}


# ----------------------------------------------------------------------------------------------------
# small helpers


def say(msg: str) -> None:
    print(msg, flush=True)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def r3(x: float) -> float:
    return round(float(x), 3)


def interleaved(repeats: int, sides: tuple[str, str]) -> list[tuple[int, str]]:
    """A B, B A, A B, ...: neither side always runs first (warm caches, drifting background load)."""
    order = []
    for r in range(repeats):
        order += [(r, s) for s in (sides if r % 2 == 0 else sides[::-1])]
    return order


def entry(name: str, value: float | None, sizes: dict, repeats: int, raw: dict, timed: str,
          status: str = "measured", **extra) -> dict:
    op, target, unit = TARGETS[name]
    ok = None if value is None else bool(value >= target if op == ">=" else value <= target)
    return {"value": None if value is None else r3(value), "unit": unit, "target": f"{op} {target:g}",
            "ok": ok, "status": status, "timed": timed, "sizes": sizes, "repeats": repeats, **extra, "raw": raw}


def machine() -> dict:
    cpu_model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu_model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu_model)
    except OSError:
        pass
    git = None
    try:  # read-only plumbing (no index refresh, no lock): the lead commits while benches run
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True,
                              text=True, timeout=10, env=env).stdout.strip()
        if head:
            dirty = subprocess.run(["git", "diff-index", "--quiet", "HEAD", "--"], cwd=PROJECT,
                                   capture_output=True, timeout=10, env=env).returncode != 0
            git = head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "platform": platform.platform(), "cpu_model": cpu_model, "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "default_num_workers": data.default_num_workers(), "torch": torch.__version__,
        "torchvision": torchvision.__version__, "python": platform.python_version(),
        "cuda_available": torch.cuda.is_available(), "git": git,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def cpu_probe() -> dict:
    """How much of the cores this process gets right now: a 512x512 matmul with 1 thread and with torch's
    thread count. On a quiet N-core machine the speedup is near N; under load from other processes (or vCPUs
    the host preempts) it falls, and below 1 the threads spend their time waiting for each other."""
    threads = torch.get_num_threads()
    a = torch.randn(512, 512)
    out = {}
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        a @ a
        t = time.perf_counter()
        for _ in range(20):
            a @ a
        out[n] = time.perf_counter() - t
    torch.set_num_threads(threads)
    return {"threads": threads, "matmul_ms_1_thread": r3(out[1] * 50),
            f"matmul_ms_{threads}_threads": r3(out[threads] * 50),
            "thread_speedup": r3(out[1] / out[threads]), "loadavg": [round(x, 2) for x in os.getloadavg()]}


def contended(*probes: dict) -> bool | None:
    """True when torch's threads did not get the cores (another process was using them): then both sides of
    a comparison are slowed by chance and the numbers are noisy. Unknown with one thread."""
    threads = probes[0]["threads"]
    if threads < 2:
        return None
    return min(p["thread_speedup"] for p in probes) < 0.75 * threads


def warm_up(backbone: str, img_size: int, batch: int) -> None:
    """One untimed forward pass, so oneDNN's first-call set-up lands on neither side."""
    m = models.build_model(backbone, "finetune", None, 0.5).eval()
    with torch.inference_mode():
        m(torch.randn(batch, 3, img_size, img_size))


# ----------------------------------------------------------------------------------------------------
# frozen_cache_speedup


EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+):")
FEATURES_LINE = re.compile(r"features computed once in ([\d.]+)s")


def timed_fit(cfg: RunConfig, run_dir: Path) -> dict:
    """train.fit from its call to the log line of its last epoch (the final test evaluation is left out)."""
    events: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    train.fit(cfg, run_dir, force=True, log=lambda msg: events.append((time.perf_counter() - t0, str(msg))))
    fit_total = time.perf_counter() - t0
    last = [t for t, m in events if (e := EPOCH_LINE.match(m)) and int(e.group(1)) == cfg.epochs]
    if not last:
        raise RuntimeError("train.fit no longer logs 'epoch E/E: ...' after its last epoch; update timed_fit")
    with open(run_dir / "history.csv", encoding="utf-8", newline="") as f:
        epoch_s = [float(row["seconds"]) for row in csv.DictReader(f)]
    setup = next((t for t, m in events if m.startswith("model:")), 0.0)
    features = next((float(e.group(1)) for _, m in events if (e := FEATURES_LINE.search(m))), 0.0)
    return {
        "timed_s": r3(last[-1]), "fit_total_s": r3(fit_total),
        "breakdown_s": {"data_and_model": r3(setup), "feature_extraction": r3(features),
                        "epochs_train_and_val": r3(sum(epoch_s)),
                        "checkpoints_and_other": r3(last[-1] - setup - features - sum(epoch_s))},
        "epoch_s": [r3(s) for s in epoch_s],
        # last.pt every epoch, best.pt when validation improved (the log line ends in "(best)")
        "checkpoint_files_written": len(epoch_s) + sum(1 for _, m in events if EPOCH_LINE.match(m) and "(best)" in m),
        "timeline": [[r3(t), m.splitlines()[0][:90]] for t, m in events],
    }


def checkpoint_cost(backbone: str, work: Path) -> dict:
    """Seconds of one atomic.torch_save of a frozen model's whole state_dict, and of its head alone."""
    model = models.build_model(backbone, "frozen", None, 0.5)
    out = {}
    for what, state in (("whole_model", model.state_dict()), ("head_only", model.head.state_dict())):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            atomic.torch_save({"model": state}, work / "checkpoint-probe.pt")
            times.append(time.perf_counter() - t)
        out[what] = r3(median(times))
    out["whole_model_mb"] = r3(sum(v.numel() * v.element_size() for v in model.state_dict().values()) / 2**20)
    return out


def extraction_by_workers(cfg: RunConfig, splits: data.Splits) -> dict:
    """Seconds of train.extract_features per split as build_stage runs it (default workers) and with none."""
    model = models.build_model(cfg.backbone, cfg.mode, None, cfg.dropout)
    datasets = {"train": train.SeededAugmentation(data.make_dataset(splits.train, cfg, train=True), cfg.seed),
                "val": data.make_dataset(splits.val, cfg, train=False),
                "test": data.make_dataset(splits.test, cfg, train=False)}
    out = {}
    for w in dict.fromkeys([data.default_num_workers(), 0]):
        for name, ds in datasets.items():
            t = time.perf_counter()
            train.extract_features(model, ds, cfg, distributed.Context(), CPU, w)
            out[f"{name}_workers{w}"] = r3(time.perf_counter() - t)
        gc.collect()
    return out


def bench_frozen(sz: dict, work: Path) -> dict:
    cached = RunConfig(dataset="synthetic", backbone=sz["backbone"], mode="frozen", weights="none",
                       img_size=sz["img_size"], epochs=sz["epochs"], batch_size=sz["batch_size"],
                       synthetic_train=sz["synthetic_train"], synthetic_test=sz["synthetic_test"],
                       cache_dir=str(work / "frozen-cache"), progress=False)
    sides = {"feature_cache": cached, "backbone_every_epoch": cached.replace(feature_cache=False)}
    t = time.perf_counter()
    splits = data.load_splits(cached)  # the decode cache both sides read, built before either is timed
    decode_cache_s = time.perf_counter() - t
    warm_up(sz["backbone"], sz["img_size"], sz["batch_size"])
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    for rep, side in interleaved(sz["repeats"], tuple(sides)):
        run = timed_fit(sides[side], work / f"frozen-{side}-{rep}")
        runs[side].append(run)
        say(f"  {side:<22} repeat {rep + 1}: {run['timed_s']:.1f} s")
    med = {s: median([r["timed_s"] for r in runs[s]]) for s in sides}
    n = {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}
    ckpt = checkpoint_cost(sz["backbone"], work)
    extraction = extraction_by_workers(cached, splits)
    whole = {s: median([r["fit_total_s"] for r in runs[s]]) for s in sides}
    rest = {s: median([r["timed_s"] - r["breakdown_s"]["checkpoints_and_other"] for r in runs[s]]) for s in sides}
    return entry(
        "frozen_cache_speedup", med["backbone_every_epoch"] / med["feature_cache"],
        sizes={**sz, "images": n, "num_workers": data.default_num_workers(), "decode_cache": True,
               "feature_views": cached.feature_views},
        repeats=sz["repeats"],
        timed="train.fit from its call to the end of its last epoch (data loading from a warm decode cache, model "
              "build, feature extraction on the cached side, every epoch's training + validation + checkpoints); "
              "the final val/test evaluation after the last epoch is identical work on features or images and is "
              "not timed (test split kept tiny: its features are extracted inside the timed part)",
        median_s=med, decode_cache_build_s=r3(decode_cache_s),
        diagnostics={
            "speedup_whole_fit": r3(whole["backbone_every_epoch"] / whole["feature_cache"]),
            "checkpoint_save_s": ckpt,
            "feature_extraction_s_by_workers": extraction,
            "speedup_without_checkpoints_and_other": r3(rest["backbone_every_epoch"] / rest["feature_cache"]),
            "explained": "speedup_whole_fit: the same ratio over the whole fit() call, final val/test evaluation "
                         "included; checkpoint_save_s: one atomic.torch_save of the whole model's state_dict (what "
                         "fit writes as last.pt every epoch and best.pt when validation improves) vs of the head "
                         "alone; feature_extraction_s_by_workers: train.extract_features per split with the default "
                         "worker count (what build_stage uses) and with none; speedup_without_...: the ratio with "
                         "each run's 'checkpoints_and_other' time taken out (derived, not measured)",
        },
        note="weights none: the random-initialised backbone costs exactly what the ImageNet one does (same "
             "architecture and FLOPs), and no download is needed. The uncached side recomputes a freshly "
             "augmented view every epoch (cfg.feature_cache=False, the homework's loop); the cached side trains "
             f"on feature_views={cached.feature_views} stored view(s).",
        raw=runs,
    )


# ----------------------------------------------------------------------------------------------------
# decode_cache_speedup


def loader_epochs(dataset, cfg: RunConfig, workers: int, epochs: int) -> list[list[float]]:
    """[seconds, images] per epoch of the training DataLoader (as train.fit builds it), consuming nothing
    but the batches. Epoch 0 includes starting the (persistent) workers."""
    ctx = distributed.Context()
    loader = train.make_loader(train.SeededAugmentation(dataset, cfg.seed), cfg, ctx, CPU, True, workers)
    out = []
    for e in range(epochs):
        loader.sampler.set_epoch(e)
        t, n = time.perf_counter(), 0
        for _, y in loader:
            n += len(y)
        out.append([r3(time.perf_counter() - t), n])
    del loader
    gc.collect()  # shut the persistent workers down before the next setting starts its own
    return out


def bench_decode(sz: dict, work: Path) -> dict:
    root = BENCH_DIR / f"fullsize-jpegs-{sz['n_train']}"
    say(f"  full-size JPEG folder: {root} (generated once)")
    folder = fullsize_data.ensure_folder(root, sz["n_train"], sz["n_test"])
    base = RunConfig(dataset="folder", data_dir=str(root), img_size=sz["img_size"], batch_size=sz["batch_size"],
                     weights="none", cache_dir=str(work / "decode-cache"), progress=False)
    cfgs = {"decode_cache": base, "no_decode_cache": base.replace(decode_cache=False)}

    t = time.perf_counter()
    splits = {"decode_cache": data.load_splits(cfgs["decode_cache"])}  # lists the folder and builds the cache
    load_cold = time.perf_counter() - t
    t = time.perf_counter()
    data.load_splits(cfgs["decode_cache"])
    load_warm = time.perf_counter() - t
    t = time.perf_counter()
    splits["no_decode_cache"] = data.load_splits(cfgs["no_decode_cache"])  # its own pass: unreadable-file check
    load_uncached = time.perf_counter() - t
    assert splits["decode_cache"].train.ids == splits["no_decode_cache"].train.ids, "sides must see the same images"

    epochs = 1 + sz["epochs"]  # the first one (worker start-up, cold) is reported apart
    raw: dict[str, dict[str, list]] = {s: {} for s in cfgs}
    for w in sz["workers"]:
        for side in (list(cfgs) if w % 2 == 0 else list(cfgs)[::-1]):  # alternate which side goes first
            ds = data.make_dataset(splits[side].train, cfgs[side], train=True)
            raw[side][str(w)] = loader_epochs(ds, cfgs[side], w, epochs)
            rates = [n / s for s, n in raw[side][str(w)][1:]]
            say(f"  {side:<16} workers {w}: {median(rates):8.1f} images/s")

    def rate(side: str, w: str) -> float:
        return median([n / s for s, n in raw[side][w][1:]])

    per_workers = {s: {w: r3(rate(s, w)) for w in raw[s]} for s in cfgs}
    best = {s: max(raw[s], key=lambda w: rate(s, w)) for s in cfgs}
    first = {s: raw[s][best[s]][0][0] for s in cfgs}
    speedup = rate("decode_cache", best["decode_cache"]) / rate("no_decode_cache", best["no_decode_cache"])
    return entry(
        "decode_cache_speedup", speedup,
        sizes={**sz, "images_per_epoch": len(splits["decode_cache"].train), "folder": folder},
        repeats=sz["epochs"],
        timed="images/s delivered by the training DataLoader (train.make_loader over SeededAugmentation(make_dataset"
              f"(train split)), batch {sz['batch_size']}, shuffled; decode + resize + ColorJitter + normalise, no "
              "model), median of the epochs after the first, each side at its best worker count. Not counted: "
              "building the decode cache and each side's first epoch (worker start-up); both are reported below. "
              "The JPEGs are in the OS page cache for both sides (as from epoch 2 of a real run).",
        images_per_s=per_workers, best_workers={s: int(w) for s, w in best.items()},
        startup_s={"decode_cache_load_splits_cold_with_build": r3(load_cold),
                   "decode_cache_load_splits_warm": r3(load_warm),
                   "decode_cache_build_approx": r3(load_cold - load_warm),
                   "no_decode_cache_load_splits_with_readability_pass": r3(load_uncached)},
        first_epoch_s={"decode_cache_including_build": r3(load_cold + first["decode_cache"]),
                       "no_decode_cache_including_load": r3(load_uncached + first["no_decode_cache"]),
                       "decode_cache_first_epoch_only": r3(first["decode_cache"]),
                       "no_decode_cache_first_epoch_only": r3(first["no_decode_cache"])},
        raw={"epochs_seconds_images": raw},
    )


# ----------------------------------------------------------------------------------------------------
# loop_efficiency


def raw_epoch(model: nn.Module, batches: list, criterion, optimizer) -> None:
    """The compute limit: forward, loss, backward, optimiser step on batches already in memory."""
    model.train()
    for x, y in batches:
        loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def per_item_ms(dataset, keys: list, passes: int = 2) -> float:
    """Milliseconds per dataset[key] in this process; the fastest of a few passes (the first one warms up)."""
    best = float("inf")
    for _ in range(passes):
        t = time.perf_counter()
        for k in keys:
            dataset[k]
        best = min(best, (time.perf_counter() - t) / len(keys))
    return 1000 * best


def bench_loop(sz: dict, work: Path) -> dict:
    n = sz["images"]
    cfg = RunConfig(dataset="synthetic", backbone=sz["backbone"], mode="finetune", weights="none",
                    img_size=sz["img_size"], batch_size=sz["batch_size"], synthetic_train=int(n / 0.85) + 4,
                    synthetic_test=4, cache_dir=str(work / "loop-cache"), progress=False)
    train.seed_everything(cfg.seed, cfg.deterministic)  # the global torch settings fit() runs under
    splits = data.load_splits(cfg)  # builds the decode cache (not timed)
    if len(splits.train) < n:
        raise RuntimeError(f"loop_efficiency: {len(splits.train)} train images, {n} needed")
    splits = data.Splits(splits.train.subset(np.arange(n)), splits.val, splits.test, splits.source)
    ctx = distributed.Context()
    model = models.build_model(cfg.backbone, cfg.mode, None, cfg.dropout)
    criterion = nn.CrossEntropyLoss()
    optimizer = train.make_optimizer(cfg, model.parameters())
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # what fit() makes on the CPU

    default_w = data.default_num_workers()
    stages = {w: train.build_stage(cfg.replace(num_workers=w), model, splits, CPU, ctx, lambda _m: None)
              for w in dict.fromkeys([default_w, 0])}
    # the same pixels, collated once and kept in memory
    batches = list(DataLoader(stages[0].train_loader.dataset.dataset, batch_size=cfg.batch_size))
    epoch = [0]

    def ours(w: int) -> float:
        t = time.perf_counter()
        train.train_one_epoch(stages[w], model, criterion, optimizer, scaler, CPU, None, epoch[0], ctx, False)
        epoch[0] += 1
        return time.perf_counter() - t

    def bare() -> float:
        t = time.perf_counter()
        raw_epoch(model, batches, criterion, optimizer)
        return time.perf_counter() - t

    runners: dict[str, Callable[[], float]] = {f"train_one_epoch_workers{default_w}": lambda: ours(default_w),
                                              "bare_step_in_memory": bare}
    first = {"bare_step_in_memory": r3(bare()), f"train_one_epoch_workers{default_w}": r3(ours(default_w))}
    times: dict[str, list[float]] = {k: [] for k in runners}
    for rep, side in interleaved(sz["repeats"], tuple(runners)):
        times[side].append(r3(runners[side]()))
        say(f"  {side:<26} repeat {rep + 1}: {n / times[side][-1]:6.2f} images/s")
    if default_w != 0:  # diagnostic: the same loop without worker processes competing for the two cores
        key = "train_one_epoch_workers0"
        times[key] = [r3(ours(0)) for _ in range(sz["diagnostic_repeats"])]
        say(f"  {key:<26} {n / median(times[key]):6.2f} images/s (diagnostic)")
    rates = {k: r3(n / median(v)) for k, v in times.items()}

    # where a loop could lose time: per-item data work, SeededAugmentation's per-image seeding
    seeded = stages[0].train_loader.dataset
    keys = list(range(n))
    item = per_item_ms(seeded.dataset, keys)
    forked = per_item_ms(seeded, [(i, 0) for i in keys])
    train.seed_everything(cfg.seed, cfg.deterministic)
    loader_w = loader_epochs(stages[default_w].train_loader.dataset.dataset, cfg, default_w, 2)[1]
    step_ms_per_image = 1000 / rates["bare_step_in_memory"]
    diagnostics = {
        "data_item_ms_workers0": r3(item), "seeded_item_ms_workers0": r3(forked),
        "seeding_overhead_ms_per_item": r3(forked - item),
        f"data_only_loader_images_per_s_workers{default_w}": r3(loader_w[1] / loader_w[0]),
        "compute_ms_per_image": r3(step_ms_per_image),
        "data_cpu_share_of_compute": r3(forked / step_ms_per_image),
    }
    value = rates[f"train_one_epoch_workers{default_w}"] / rates["bare_step_in_memory"]
    return entry(
        "loop_efficiency", value,
        sizes={**sz, "num_workers_default": default_w, "decode_cache": True, "threads": torch.get_num_threads()},
        repeats=sz["repeats"],
        timed="one epoch of train.train_one_epoch (the Stage train.build_stage makes for finetune mode over the "
              "decode-cached split, default worker count, ColorJitter on) vs one pass of forward + loss + backward + "
              "AdamW step over the same images already collated in memory; same model, batch, threads and "
              "deterministic settings; images/s = images / median epoch seconds. A first, untimed epoch of each "
              "(worker start-up, allocator warm-up) is listed in first_epoch_s.",
        images_per_s=rates, first_epoch_s=first, diagnostics=diagnostics,
        raw={"epoch_seconds": times, "images_per_epoch": n},
    )


# ----------------------------------------------------------------------------------------------------
# demo_wall_s


def bench_demo(sz: dict | None, work: Path) -> dict:
    timed = ("wall time of `.venv/bin/xray demo` (what `make demo` runs once the venv exists) into a fresh output "
             "folder with a fresh decode cache (XRAY_CACHE_DIR), so nothing from an earlier demo is reused: "
             "data, 4 trainings, notebooks executed by papermill, HTML and PDF")
    if sz is None:
        return entry("demo_wall_s", None, {}, 0, {}, timed, status="skipped",
                     reason="--quick does not run the demo (minutes at any size); use --only demo_wall_s")
    xray = Path(sys.executable).parent / "xray"
    probe = None
    if xray.exists():
        probe = subprocess.run([str(xray), "demo", "--help"], capture_output=True, text=True, timeout=300)
    if probe is None or probe.returncode != 0:
        why = "no xray command in the venv" if probe is None else (probe.stderr.strip().splitlines() or ["?"])[-1]
        return entry("demo_wall_s", None, sz, 0, {}, timed, status="skipped", reason=f"not available: {why}")
    out, cache, log = work / "demo", work / "demo-cache", BENCH_DIR / "demo.log"
    env = {**os.environ, "XRAY_CACHE_DIR": str(cache)}
    cmd = [str(xray), "demo", "--out", str(out)]
    t = time.perf_counter()
    status, reason = "measured", None
    try:
        with open(log, "w", encoding="utf-8") as f:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=PROJECT,
                                timeout=sz["timeout_s"]).returncode
    except subprocess.TimeoutExpired:
        rc, status, reason = None, "failed", f"timed out after {sz['timeout_s']} s"
    wall = time.perf_counter() - t
    if rc not in (0, None):
        status, reason = "failed", f"exit status {rc}; see {log}"
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    return entry("demo_wall_s", wall if status == "measured" else None, sz, 1, {"wall_s": [r3(wall)],
                 "exit_status": rc, "log_tail": tail}, timed, status=status, reason=reason,
                 command=" ".join(cmd[1:]), log=str(log),
                 note="one repeat: the demo takes minutes; the wall time is the median of one run")


BENCHES = {
    "frozen_cache_speedup": bench_frozen,
    "decode_cache_speedup": bench_decode,
    "loop_efficiency": bench_loop,
    "demo_wall_s": bench_demo,
}


# ----------------------------------------------------------------------------------------------------
# report


def fmt_value(res: dict) -> str:
    v = res.get("value")
    if v is None:
        return res.get("status", "-")
    return {"x": f"{v:.1f}x", "s": f"{v:.0f} s", "ratio": f"{v:.2f}"}[res["unit"]]


def table(results: dict) -> str:
    rows = [("name", "value", "target", "ok")]
    for name, res in results.items():
        ok = {True: "yes", False: "NO", None: "-"}[res.get("ok")]
        rows.append((name, fmt_value(res), res.get("target", ""), ok))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for name, res in results.items():
        if res.get("reason"):
            lines.append(f"{name}: {res['status']}: {res['reason']}")
        if res.get("cpu_contended"):
            lines.append(f"{name}: other processes were using the CPU (torch's threads ran "
                         f"{res['cpu_before']['thread_speedup']:.2f}x / {res['cpu_after']['thread_speedup']:.2f}x "
                         "faster than one, before / after): noisy, rerun on a quiet machine")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\nBoth sides")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke check (targets not meaningful)")
    p.add_argument("--only", metavar="NAME[,NAME]", help=f"run only these: {', '.join(BENCHES)}")
    p.add_argument("--out", metavar="PATH", default=str(BENCH_DIR / "bench.json"), help="JSON output")
    p.add_argument("--keep", action="store_true", help=f"keep the scratch folder {BENCH_DIR / 'work'}")
    p.add_argument("--threads", type=int, metavar="N",
                   help=f"torch intra-op threads for every measurement (default: torch's, {torch.get_num_threads()})")
    args = p.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            p.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    names = list(BENCHES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHES]
        if unknown or not names:
            p.error(f"unknown measurement(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(BENCHES)}")
    sizes = QUICK if args.quick else FULL
    if args.quick and args.only and "demo_wall_s" in names:
        sizes = {**QUICK, "demo_wall_s": FULL["demo_wall_s"]}  # asked for by name: time the real demo
    out = Path(args.out).expanduser()
    work = BENCH_DIR / "work"
    shutil.rmtree(work, ignore_errors=True)  # nothing from an earlier bench is reused
    work.mkdir(parents=True)

    t_all = time.perf_counter()
    report = {"benchmark": "cxr-transfer make bench", "quick": args.quick, "threads_option": args.threads,
              "machine": machine(),
              "notes": ["values are medians of the repeats; raw holds every timing",
                        "both sides of a comparison run in one process with the same torch threads",
                        "other processes on the machine slow both sides alike only on average: see loadavg"],
              "results": {}}
    failed = False
    for name in names:
        say(f"== {name}")
        probe = cpu_probe()
        t = time.perf_counter()
        try:
            res = BENCHES[name](sizes[name], work)
        except Exception as e:  # one broken measurement must not lose the others
            failed = True
            res = {"value": None, "ok": None, "status": "failed", "target": "{} {:g}".format(*TARGETS[name][:2]),
                   "reason": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc().splitlines()[-12:]}
        res["bench_wall_s"] = r3(time.perf_counter() - t)
        res["cpu_before"], res["cpu_after"] = probe, cpu_probe()
        res["cpu_contended"] = contended(res["cpu_before"], res["cpu_after"])
        report["results"][name] = res
        say(f"   {name}: {fmt_value(res)} (target {res.get('target')}) in {res['bench_wall_s']:.0f} s")
        atomic.write_json(out, report)
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["total_wall_s"] = r3(time.perf_counter() - t_all)
    atomic.write_json(out, report)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    say("")
    say(table(report["results"]))
    say(f"\n{out} ({report['total_wall_s']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

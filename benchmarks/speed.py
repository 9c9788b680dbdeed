"""The speed measurements of `make bench`: the frozen-feature cache, the decode cache, and the training
loop against the bare compute step (benchmarks/README.md explains each)."""

from __future__ import annotations

import copy
import gc
import shutil
import time
from pathlib import Path
from typing import Callable

import fullsize_data
import numpy as np
import torch
from common import BENCH_DIR, CPU, entry, interleaved, median, r3, say, timed_fit, warm_up
from torch import nn
from torch.utils.data import DataLoader

from xray_utils import atomic, data, models
from xray_utils.compute import Compute
from xray_utils.config import RunConfig, default_cache_dir
from xray_utils.training import distributed, environment, features, loaders, stage, train

# ----------------------------------------------------------------------------------------------------
# frozen_cache_speedup


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
    """Seconds of features.extract_features per split with the default worker count and with none."""
    compute = Compute.decide(CPU, cfg.amp)
    model = train.make_model(cfg, compute)
    datasets = {"train": loaders.SeededAugmentation(data.make_dataset(splits.train, cfg, train=True), cfg.seed),
                "val": data.make_dataset(splits.val, cfg, train=False),
                "test": data.make_dataset(splits.test, cfg, train=False)}
    out = {}
    for w in dict.fromkeys([data.default_num_workers(), 0]):
        for name, ds in datasets.items():
            t = time.perf_counter()
            features.extract_features(model, ds, cfg, distributed.Context(), compute, w)
            out[f"{name}_workers{w}"] = r3(time.perf_counter() - t)
        gc.collect()
    return out


def bench_frozen(sz: dict, work: Path) -> dict:
    """Three sides: the homework's loop (backbone every epoch, a fresh augmentation each time), the feature
    cache as a run uses it (feature_views=1, the default), and the feature cache at exact equivalence
    (feature_views=epochs: epoch e trains on the very augmented images the homework's loop draws in epoch e)."""
    cached = RunConfig(dataset="synthetic", backbone=sz["backbone"], mode="frozen", weights="none",
                       img_size=sz["img_size"], epochs=sz["epochs"], batch_size=sz["batch_size"],
                       synthetic_train=sz["synthetic_train"], synthetic_test=sz["synthetic_test"],
                       cache_dir=str(work / "frozen-cache"), progress=False)
    equivalent = f"feature_cache_views{sz['epochs']}"
    sides = {"feature_cache": cached, equivalent: cached.replace(feature_views=sz["epochs"]),
             "backbone_every_epoch": cached.replace(feature_cache=False)}
    t = time.perf_counter()
    splits = data.load_splits(cached)  # the decode cache every side reads, built before any is timed
    decode_cache_s = time.perf_counter() - t
    warm_up(sz["backbone"], sz["img_size"], sz["batch_size"])
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    store = default_cache_dir(cached) / "features"  # features.py's store: shared by runs that can reuse them
    for rep, side in interleaved(sz["repeats"], tuple(sides)):
        shutil.rmtree(store, ignore_errors=True)  # every run extracts afresh, as a run on new data does
        run = timed_fit(sides[side], work / f"frozen-{side}-{rep}")
        if sides[side].feature_cache and not store.is_dir():
            raise RuntimeError(f"the feature store is no longer {store}: update bench_frozen, or repeats would "
                               "time reused features")
        runs[side].append(run)
        say(f"  {side:<22} repeat {rep + 1}: {run['timed_s']:.1f} s")
    med = {s: median([r["timed_s"] for r in runs[s]]) for s in sides}
    whole = {s: median([r["fit_total_s"] for r in runs[s]]) for s in sides}
    homework = med["backbone_every_epoch"]
    n = {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}
    return entry(
        "frozen_cache_speedup", homework / med["feature_cache"],
        sizes={**sz, "images": n, "num_workers": data.default_num_workers(), "decode_cache": True,
               "feature_views": cached.feature_views, "compute_dtype": Compute.decide(CPU, cached.amp).name},
        repeats=sz["repeats"],
        timed="train.fit's own timings (metrics.json 'timings'): total_s - evaluation_s, i.e. data loading from a "
              "warm decode cache, model build, feature extraction on the cached sides, and every epoch's training "
              "+ validation + checkpoints; the final val/test evaluation is identical work on features or images "
              "and is left out (test split kept tiny: its features are extracted inside the timed part)",
        median_s=med, decode_cache_build_s=r3(decode_cache_s),
        speedup_exact_equivalence=r3(homework / med[equivalent]),
        secondary={f"  at exact equivalence (feature_views={sz['epochs']})": (homework / med[equivalent], "x")},
        diagnostics={
            "speedup_whole_fit": r3(whole["backbone_every_epoch"] / whole["feature_cache"]),
            "speedup_whole_fit_exact_equivalence": r3(whole["backbone_every_epoch"] / whole[equivalent]),
            "checkpoint_save_s": checkpoint_cost(sz["backbone"], work),
            "feature_extraction_s_by_workers": extraction_by_workers(cached, splits),
            "explained": "value: the homework's loop against the cache as runs use it (feature_views=1: the head "
                         "sees one stored augmented view of each image in every epoch, the homework a fresh one); "
                         "speedup_exact_equivalence: against feature_views=epochs, where epoch e trains on the very "
                         "augmented images the homework's loop draws in epoch e (same per-image seeds), so the two "
                         "compute the same thing; speedup_whole_fit*: the same ratios over fit's total_s, final "
                         "evaluation included; checkpoint_save_s: one atomic.torch_save of the whole model vs of "
                         "the head alone; feature_extraction_s_by_workers: features.extract_features per split with "
                         "the default worker count and with none",
        },
        note="weights none: the random-initialised backbone costs exactly what the ImageNet one does (same "
             "architecture and FLOPs), and no download is needed.",
        raw=runs,
    )

# ----------------------------------------------------------------------------------------------------
# decode_cache_speedup


def loader_epochs(dataset, cfg: RunConfig, workers: int, epochs: int) -> list[list[float]]:
    """[seconds, images] per epoch of the training DataLoader (as train.fit builds it), consuming nothing
    but the batches. Epoch 0 includes starting the (persistent) workers."""
    ctx = distributed.Context()
    loader = loaders.make_loader(loaders.SeededAugmentation(dataset, cfg.seed), cfg, ctx, CPU, True, workers)
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


def raw_epoch(model: nn.Module, batches: list, criterion, optimizer, compute: Compute) -> None:
    """The compute limit: forward, loss, backward, optimiser step on batches already in memory (already in
    the memory format the loop uses), in the precision the loop runs in."""
    model.train()
    for x, y in batches:
        with compute.autocast():
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


def loop_diagnostics(stages: dict, cfg: RunConfig, n: int, default_w: int, bare_rate: float) -> dict:
    """Where a loop could lose time: per-item data work, SeededAugmentation's per-image seeding, and the
    data-only throughput of the loader."""
    seeded = stages[0].train_loader.dataset
    keys = list(range(n))
    item = per_item_ms(seeded.dataset, keys)
    forked = per_item_ms(seeded, [(i, 0) for i in keys])
    environment.seed_everything(cfg.seed, cfg.deterministic)
    loader_w = loader_epochs(stages[default_w].train_loader.dataset.dataset, cfg, default_w, 2)[1]
    step_ms_per_image = 1000 / bare_rate
    return {
        "data_item_ms_workers0": r3(item), "seeded_item_ms_workers0": r3(forked),
        "seeding_overhead_ms_per_item": r3(forked - item),
        f"data_only_loader_images_per_s_workers{default_w}": r3(loader_w[1] / loader_w[0]),
        "compute_ms_per_image": r3(step_ms_per_image),
        "data_cpu_share_of_compute": r3(forked / step_ms_per_image),
    }


def bench_loop(sz: dict, work: Path) -> dict:
    n = sz["images"]
    cfg = RunConfig(dataset="synthetic", backbone=sz["backbone"], mode="finetune", weights="none",
                    img_size=sz["img_size"], batch_size=sz["batch_size"], synthetic_train=int(n / 0.85) + 4,
                    synthetic_test=4, cache_dir=str(work / "loop-cache"), progress=False)
    environment.seed_everything(cfg.seed, cfg.deterministic)  # the global torch settings fit() runs under
    splits = data.load_splits(cfg)  # builds the decode cache (not timed)
    if len(splits.train) < n:
        raise RuntimeError(f"loop_efficiency: {len(splits.train)} train images, {n} needed")
    splits = data.Splits(splits.train.subset(np.arange(n)), splits.val, splits.test, splits.source)
    ctx = distributed.Context()
    # the model as fit() makes it, in fit()'s compute (compute.Compute: bf16 + channels_last on a CPU with
    # native bf16, fp32 + channels_last where oneDNN runs on AVX2 or wider):
    # both sides compute in it, so the bare step is the compute limit of the very same work
    compute = Compute.decide(CPU, cfg.amp)
    model = train.make_model(cfg, compute)
    nhwc = compute.channels_last
    criterion = nn.CrossEntropyLoss()
    optimizer = train.make_optimizer(cfg, model.parameters())
    scaler = torch.amp.GradScaler("cpu", enabled=compute.needs_grad_scaler)  # what fit() makes

    default_w = data.default_num_workers()
    stages = {w: stage.build_stage(cfg.replace(num_workers=w), model, splits, compute, ctx, lambda _m: None)
              for w in dict.fromkeys([default_w, 0])}
    # the same pixels, collated once and kept in memory, in the loop's memory format
    batches = [(x.contiguous(memory_format=torch.channels_last) if nhwc else x, y)
               for x, y in DataLoader(stages[0].train_loader.dataset.dataset, batch_size=cfg.batch_size)]
    epoch = [0]

    def ours(w: int) -> float:
        t = time.perf_counter()
        train.train_one_epoch(stages[w], model, criterion, optimizer, scaler, epoch[0], ctx)
        epoch[0] += 1
        return time.perf_counter() - t

    def bare() -> float:
        t = time.perf_counter()
        raw_epoch(model, batches, criterion, optimizer, compute)
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
    value = rates[f"train_one_epoch_workers{default_w}"] / rates["bare_step_in_memory"]
    return entry(
        "loop_efficiency", value,
        sizes={**sz, "num_workers_default": default_w, "decode_cache": True, "threads": torch.get_num_threads(),
               "compute_dtype": compute.name, "channels_last": nhwc},
        repeats=sz["repeats"],
        timed="one epoch of train.train_one_epoch (the Stage stage.build_stage makes for finetune mode over the "
              "decode-cached split, default worker count, ColorJitter on) vs one pass of forward + loss + backward + "
              "AdamW step over the same images already collated in memory; same model, batch, threads, "
              "deterministic settings and precision (compute_dtype and channels_last as fit() chooses them with "
              "amp=auto: bf16 + channels_last on a CPU with native bf16, fp32 + channels_last on AVX2/AVX512); "
              "images/s = images / median epoch seconds. A first, untimed epoch of each (worker start-up, "
              "allocator warm-up) is listed in first_epoch_s.",
        images_per_s=rates, first_epoch_s=first,
        diagnostics=loop_diagnostics(stages, cfg, n, default_w, rates["bare_step_in_memory"]),
        raw={"epoch_seconds": times, "images_per_epoch": n},
    )


# ----------------------------------------------------------------------------------------------------
# channels_last_fp32


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds of one forward + cross-entropy + backward + optimiser step."""
    t = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return time.perf_counter() - t


def bench_channels_last(sz: dict, work: Path) -> dict:
    """fp32 train steps (forward, loss, backward, AdamW step) of each backbone in NCHW and in NHWC, the same
    weights, batch and threads, interleaved pair by pair. Each backbone's speed-up is the median over its pairs
    of NCHW seconds / NHWC seconds; the value is their geometric mean (the decision is one per CPU, for every
    backbone): compute.py's fp32 channels_last decision holds on this CPU when it is >= 1. The slowest
    backbone's speed-up is listed beside it."""
    decided = Compute.decide(CPU, "off").channels_last
    x = torch.randn(sz["batch_size"], 3, sz["img_size"], sz["img_size"], generator=torch.Generator().manual_seed(0))
    y = torch.arange(sz["batch_size"]) % 2
    speedups, seconds = {}, {}
    for backbone in sz["backbones"]:
        torch.manual_seed(0)
        base = models.build_model(backbone, "finetune", None, 0.5)
        sides = {}
        for layout, fmt in (("nchw", torch.contiguous_format), ("nhwc", torch.channels_last)):
            model = copy.deepcopy(base).to(memory_format=fmt).train()
            sides[layout] = (model, torch.optim.AdamW(model.parameters(), 1e-4), x.contiguous(memory_format=fmt))

        for layout in sides:  # oneDNN's first-call set-up, untimed
            train_step(*sides[layout], y)
        times: dict[str, list[float]] = {"nchw": [], "nhwc": []}
        for _, layout in interleaved(sz["repeats"], ("nchw", "nhwc")):
            times[layout].append(r3(train_step(*sides[layout], y)))
        pairs = [a / b for a, b in zip(times["nchw"], times["nhwc"], strict=True)]
        speedups[backbone] = r3(median(pairs))
        seconds[backbone] = times
        say(f"  {backbone:<16} NHWC {speedups[backbone]:.2f}x (pairs {', '.join(f'{p:.2f}' for p in pairs)})")
    value = float(np.exp(np.mean(np.log(list(speedups.values())))))
    return entry(
        "channels_last_fp32", value, sizes={**sz, "threads": torch.get_num_threads()}, repeats=sz["repeats"],
        timed="one fp32 train step (forward + cross-entropy + backward + AdamW step) on a batch in memory, NCHW vs "
              "NHWC (model and batch), same weights and threads, interleaved A B, B A, ...; speed-up = median over "
              "the pairs of NCHW seconds / NHWC seconds; value = their geometric mean over the backbones",
        speedup_by_backbone=speedups, slowest=r3(min(speedups.values())), compute_decides_channels_last=decided,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        agrees=bool(decided == (value >= 1.0)),
        raw={"step_seconds": seconds},
    )

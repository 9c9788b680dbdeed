"""`make bench`: the README's speed claims, measured side by side in one run on this machine.

    .venv/bin/python benchmarks/bench.py                 # everything (amp_parity alone trains two ResNet-18s)
    .venv/bin/python benchmarks/bench.py --quick         # small sizes: a smoke check, targets not meaningful
    .venv/bin/python benchmarks/bench.py --only loop_efficiency,amp_parity --quick --out /tmp/b.json

Measurements (benchmarks/README.md explains each):
  frozen_cache_speedup   frozen-mode training, backbone once (feature cache) vs every epoch (the homework's loop);
                         also at exact equivalence (feature_views = epochs)
  decode_cache_speedup   training DataLoader images/s over full-size JPEGs, with vs without the decode cache
  loop_efficiency        train.train_one_epoch images/s / the bare forward+backward+step on in-memory tensors, both
                         in the compute fit() uses (compute.Compute: bf16 autocast + channels_last on a CPU with
                         native bf16; fp32, channels_last where oneDNN runs on AVX2 or wider)
  amp_parity             fp32 vs the default precision on the real Kaggle images: speed, test accuracy and ROC-AUC
  channels_last_fp32     fp32 train steps NCHW vs NHWC (ResNet18, SqueezeNet): whether compute.py's fp32
                         channels_last decision (asked of torch: oneDNN on AVX2 or wider) holds on this CPU
  demo_wall_s            wall time of `xray demo` (what `make demo` runs)

Both sides of a comparison run in this one process, with the same torch threads, on the same data, with
repeats interleaved (A B B A ...) so that load from other processes hits both alike; a side never reuses a
cache built by the other. Training times come from the timings train.fit records in metrics.json, never
from its log lines. Results go to reports/bench/bench.json (atomically, after every measurement) and a
table on stdout. Exit status 1 when a measurement could not run; a missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the measurement modules beside this file
from common import BENCH_DIR, PROJECT, TARGETS, entry, r3, say  # noqa: E402
from parity import bench_amp  # noqa: E402
from speed import bench_channels_last, bench_decode, bench_frozen, bench_loop  # noqa: E402

from xray_utils import atomic, data  # noqa: E402

# Sizes. Before amp_parity the full run took 4-5 minutes on two quiet CPU cores; amp_parity adds two ResNet-18
# trainings of 3 epochs at 128 px on the 4.7k Kaggle training images (fp32 and bf16: several minutes, not yet
# timed on a quiet machine). --quick: under a minute for the others, a few for amp_parity (it decodes every
# real image once for the decode cache, then trains each side for one epoch on 5% of train).
FULL = {
    "frozen_cache_speedup": dict(backbone="resnet18", img_size=224, epochs=10, synthetic_train=80, synthetic_test=4,
                                 batch_size=32, repeats=3),
    "decode_cache_speedup": dict(n_train=180, n_test=8, img_size=224, batch_size=32, workers=[0, 1, 2], epochs=3),
    "loop_efficiency": dict(backbone="resnet18", img_size=224, batch_size=32, images=64, repeats=3,
                            diagnostic_repeats=2),
    # the suggestion: ResNet18 from scratch at 128 px for 3 epochs on the Kaggle images
    "amp_parity": dict(backbone="resnet18", img_size=128, epochs=3, batch_size=32, train_fraction=1.0),
    "channels_last_fp32": dict(backbones=["squeezenet1_1", "resnet18"], img_size=224, batch_size=16, repeats=4),
    "demo_wall_s": dict(timeout_s=1200),
}
QUICK = {
    "frozen_cache_speedup": dict(FULL["frozen_cache_speedup"], img_size=64, epochs=3, synthetic_train=24, repeats=1),
    "decode_cache_speedup": dict(FULL["decode_cache_speedup"], n_train=24, n_test=4, img_size=64, workers=[0, 2],
                                 epochs=1),
    "loop_efficiency": dict(FULL["loop_efficiency"], img_size=64, images=32, repeats=1, diagnostic_repeats=1),
    "amp_parity": dict(FULL["amp_parity"], img_size=64, epochs=1, train_fraction=0.05),
    "channels_last_fp32": dict(FULL["channels_last_fp32"], img_size=64, batch_size=8, repeats=2),
    "demo_wall_s": None,  # minutes whatever the sizes: run it alone with --only demo_wall_s
}


# ----------------------------------------------------------------------------------------------------
# the machine


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
    "amp_parity": bench_amp,
    "channels_last_fp32": bench_channels_last,
    "demo_wall_s": bench_demo,
}


# ----------------------------------------------------------------------------------------------------
# report


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return {"x": f"{value:.1f}x", "s": f"{value:.0f} s", "ratio": f"{value:.2f}",
            "pp": f"{100 * value:+.1f} pp", "diff": f"{value:+.3f}"}[unit]


def fmt_value(res: dict) -> str:
    if res.get("value") is None:
        return res.get("status", "-")
    return fmt(res["value"], res["unit"])


def table(results: dict) -> str:
    rows = [("name", "value", "target", "ok")]
    for name, res in results.items():
        ok = {True: "yes", False: "NO", None: "-"}[res.get("ok")]
        rows.append((name, fmt_value(res), res.get("target", ""), ok))
        if res.get("value") is not None:  # a second view of the same measurement, e.g. at exact equivalence
            rows += [(label, fmt(v, unit), "", "") for label, (v, unit) in (res.get("secondary") or {}).items()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
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

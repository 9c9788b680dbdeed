"""Running the grid's notebooks: one after another, or N at a time (``--jobs N``).

The runs of a grid are independent, so N of them can train at once, each in its own worker process
(``pipeline.worker``) on its own slot: with GPUs, one GPU per slot, round-robin over CUDA_VISIBLE_DEVICES;
without, the CPU cores split evenly (slot i pinned to its share of the cores, so N jobs do not fight over the
same cores). A CPU job keeps the thread count of a single run, though: PyTorch's CPU kernels divide their work
by the number of threads, and a run with fewer threads computes slightly different numbers, which ten epochs
turn into a different model. `--jobs N` must train exactly the runs `--jobs 1` trains, so the threads of a job
share its cores, waiting passively (OMP_WAIT_POLICY) instead of spinning. Every line a job prints is shown
with its run's name in front.
A failed run stops the others (they resume from their last finished epoch when the command is run again)
and the error names its executed notebook; complete runs stay complete.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import XrayError
from ..runs import RunDir
from . import notebooks
from .grid import RunPlan

Log = Callable[[str], None]


@dataclass
class Slot:
    """Where one job runs: a GPU, or a share of the CPU cores."""

    index: int
    gpu: str | None = None
    cpus: tuple[int, ...] = ()
    threads: int = 1

    def env(self) -> dict[str, str]:
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        if self.cpus and self.threads > len(self.cpus):  # threads share cores: yield while waiting, never spin
            env["OMP_WAIT_POLICY"] = "PASSIVE"
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.gpu
        return env

    def describe(self) -> str:
        where = f"GPU {self.gpu}" if self.gpu is not None else f"CPU cores {','.join(map(str, self.cpus))}"
        return f"{where}, {self.threads} thread{'s' if self.threads != 1 else ''}"


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def visible_gpus() -> list[str]:
    """The GPUs jobs may use: CUDA_VISIBLE_DEVICES's entries when set, else every GPU torch sees."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip() and g.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # no usable CUDA build or driver: the CPU it is
        return []


def single_run_threads() -> int:
    """The intra-op threads a run of ``--jobs 1`` computes with: torch's count here (it honours OMP_NUM_THREADS)."""
    import torch  # only when jobs run on the CPU; the rest of this module needs no torch

    return torch.get_num_threads()


def make_slots(jobs: int, gpus: list[str], cpus: list[int], cpu_threads: int | None = None) -> list[Slot]:
    """``jobs`` slots: GPUs round-robin when there are any; the CPU cores shared out evenly in every case.

    With GPUs a slot's threads only feed its GPU: cores / N. Without, a slot computes on the CPU and keeps a
    single run's thread count (every core's worth) on its share of the cores, so its numbers equal --jobs 1's.
    """
    share = max(1, len(cpus) // jobs)
    threads = share if gpus else (cpu_threads or max(1, len(cpus)))
    slots = []
    for i in range(jobs):
        mine = tuple(cpus[(i * share + k) % len(cpus)] for k in range(share))
        slots.append(Slot(i, gpus[i % len(gpus)] if gpus else None, mine, threads))
    return slots


def run_sequential(plans: list[RunPlan], kernel: str, log: Log, stream: Log, detail: Log) -> None:
    for i, plan in enumerate(plans, start=1):
        log(f"[run {i}/{len(plans)}] {plan.name}: {plan.notebook.name} -> {plan.run_dir}")
        notebooks.execute_notebook(plan.notebook, plan.executed, plan.parameters, kernel, stream, detail)
        _check_complete(plan)


def _check_complete(plan: RunPlan) -> None:
    if not RunDir(plan.run_dir).is_complete():
        raise XrayError(f"{plan.notebook.name} finished but {plan.run_dir} has no COMPLETE marker",
                        f"see the executed notebook {plan.executed}")


@dataclass
class _Job:
    plan: RunPlan
    slot: Slot
    proc: subprocess.Popen
    error: XrayError | None = None


def run_parallel(plans: list[RunPlan], jobs: int, kernel: str, log: Log, stream: Log,
                 slots: list[Slot] | None = None) -> None:
    """Run ``plans`` ``jobs`` at a time in worker processes; raise the first failure after stopping the rest."""
    gpus = [] if slots else visible_gpus()
    slots = slots or make_slots(jobs, gpus, available_cpus(), None if gpus else single_run_threads())
    free, pending = list(slots), list(plans)
    running: dict[str, _Job] = {}
    lines: queue.Queue = queue.Queue()
    failed: _Job | None = None
    started = 0
    try:
        while pending or running:
            while pending and free and failed is None:
                plan, slot = pending.pop(0), free.pop(0)
                started += 1
                log(f"[run {started}/{len(plans)}] {plan.name}: {plan.notebook.name} on {slot.describe()} "
                    f"-> {plan.run_dir}")
                running[plan.name] = _start(plan, slot, kernel, lines)
            if failed is not None:
                pending.clear()
            name, line = lines.get()
            job = running[name]
            if line is not None:
                job.error = job.error or notebooks.parse_error(line)
                if job.error is None:  # the worker's lines come indented; the name in front says whose they are
                    stream(f"[{name}] {line[4:] if line.startswith('    ') else line}")
                continue
            # the job's output has ended: the process is done
            job.proc.wait()
            del running[name]
            free.append(job.slot)
            free.sort(key=lambda s: s.index)
            if failed is None and job.proc.returncode != 0:
                failed = job
                _stop(running.values(), log)
            elif failed is None:
                _check_complete(job.plan)
                log(f"[done] {name} ({len(plans) - len(pending) - len(running)}/{len(plans)} finished)")
    except BaseException:
        _stop(running.values(), log)
        raise
    if failed is not None:
        raise _failure(failed, stopped=[n for n in plans if n.name != failed.plan.name
                                        and not RunDir(n.run_dir).is_complete()])


def _start(plan: RunPlan, slot: Slot, kernel: str, lines: queue.Queue) -> _Job:
    # the run folder is made by the worker's execute_notebook, with its manifest (an empty folder made here
    # would hold the executed notebook before any manifest, and the run would refuse it as not the tool's)
    proc = subprocess.Popen(notebooks.worker_command(plan.notebook, plan.executed, plan.parameters, kernel),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
                            env=slot.env(), start_new_session=True)  # its own process group, stopped as one
    if slot.cpus and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(proc.pid, slot.cpus)  # inherited by the kernel papermill starts
        except OSError:
            pass  # it exited already, or the cores are not ours to give: OMP threads still share them

    def pump() -> None:
        for line in proc.stdout:
            lines.put((plan.name, line.rstrip("\n")))
        lines.put((plan.name, None))

    threading.Thread(target=pump, daemon=True).start()
    return _Job(plan, slot, proc)


def _stop(jobs, log: Log, grace: float = 30.0) -> None:
    """Stop running jobs: SIGTERM (papermill shuts its kernel down), SIGKILL after ``grace`` seconds."""
    jobs = [j for j in jobs if j.proc.poll() is None]
    for job in jobs:
        log(f"stopping {job.plan.name} (it resumes from its last finished epoch next time)")
        _signal(job.proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for job in jobs:
        try:
            job.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(job.proc, signal.SIGKILL)
            job.proc.wait()


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _failure(job: _Job, stopped: list[RunPlan]) -> XrayError:
    error = job.error or XrayError(f"{job.plan.notebook.name} for {job.plan.name} stopped with exit code "
                                   f"{job.proc.returncode}", f"the executed notebook so far is {job.plan.executed}")
    note = (f"; not finished: {', '.join(p.name for p in stopped)} (rerun the same command: complete runs are "
            "reused, stopped ones resume)") if stopped else ""
    error.message = f"{job.plan.name}: {error.message}"
    error.hint = (error.hint or "") + note
    error.args = (error.message,)
    return error

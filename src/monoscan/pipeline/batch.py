"""Run the pipeline over many photos: a local process pool or a Ray cluster.

:func:`run_batch` reconstructs every input into ``OUT/<image-stem>/`` exactly as
``monoscan reconstruct`` does, and writes ``OUT/batch.json`` listing every input with its
``status``:

``done``
    reconstructed in this run;
``skipped``
    ``OUT/<stem>/result.json`` was already complete (see :func:`is_complete`);
``failed``
    the pipeline refused or crashed on it; ``error`` holds the one-line reason;
``pending``
    only after an interruption (Ctrl-C, SIGTERM): not finished; a rerun does it.

A failure never stops the batch. A rerun skips complete results and re-does incomplete ones
(no ``result.json``, unreadable ``result.json`` or a listed artifact missing), so a batch that
was killed is resumed by running the same command again. On Ctrl-C, and on SIGTERM under the
``monoscan`` command (exit codes 130 and 143), the workers are terminated (local) or their tasks
cancelled (Ray), hidden temporary files they left are removed, and ``batch.json`` is written
(atomically) with what finished and ``"interrupted": true``; the pipeline writes
``result.json`` last and atomically, so a folder is either complete or visibly incomplete.

No worker outlives the batch. A local worker ends when the batch process dies, however it
dies (SIGKILL, a crash, the out-of-memory killer): Linux signals it (``PR_SET_PDEATHSIG``) and
a thread in every worker checks that its parent still exists; it then unwinds its photo
(deleting its temporary files) and exits within a few seconds. A worker terminated on its own
is a lost worker (its photos are retried once each, alone), never the end of the batch. A Ray the
batch started is shut down with it; when the batch process is killed outright, Ray's own
fate-sharing stops Ray's processes and their tasks.

Engines
-------
``engine="local"`` (default)
    :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method (MediaPipe
    is not fork-safe once its models are loaded). Each worker loads the models once and keeps
    them for the next photos. A worker's peak memory is about 0.6 GB (models) plus 70 MB per
    photo megapixel (measured: 0.97 GB at 6 MP, 1.7 GB at 16.8 MP). Photos start in order
    while their estimated peaks fit in a memory budget (default 80 % of the available RAM),
    so N workers never ask for more than the machine has; ``load_image`` refuses photos
    above its pixel limit.
``engine="ray"``
    the same work as Ray tasks (``pip install "monoscan[distributed]"``; plain ``ray``, not
    ``ray[default]``, whose dashboard dependencies break the numpy/protobuf pins). Without
    ``address`` a local Ray instance with ``workers`` CPUs is started and stopped again; an
    already initialised Ray session is reused.

Running on a multi-machine Ray cluster
--------------------------------------
1. Install the same monoscan (and ``ray``) version on every machine, in the same Python
   (3.11) environment.
2. Make the input photos and the output folder visible at the **same absolute path** on every
   machine (NFS, SMB or any shared mount): tasks read the photo and write
   ``OUT/<stem>/`` where they run; only the small status records travel back.
3. On the head machine: ``ray start --head --port=6379 --num-cpus=N``; on each other machine:
   ``ray start --address=HEAD_IP:6379 --num-cpus=N``. One CPU per task; give each machine
   about 1.4 GB of RAM per CPU you declare (measured peak per worker: 1.2-1.35 GB).
4. From any machine of the cluster: ``monoscan batch /shared/photos --out /shared/out
   --engine ray --address HEAD_IP:6379`` (or ``--address auto`` on a cluster machine).
   ``--workers`` then caps the number of photos in flight (default: the cluster's CPUs).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monoscan.core.errors import InputError, MonoscanError
from monoscan.io.atomic import write_text
from monoscan.io.images import SUPPORTED_SUFFIXES
from monoscan.io.results import BATCH_JSON, is_complete
from monoscan.pipeline.options import Options

__all__ = [
    "ENGINES",
    "BatchItem",
    "BatchReport",
    "available_memory_mb",
    "discover_inputs",
    "estimate_peak_mb",
    "run_batch",
]

ENGINES = ("local", "ray")
BATCH_SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class BatchItem:
    """What happened to one input.

    Attributes
    ----------
    input : str
        The photo's path as given.
    output : str
        ``OUT/<stem>/``.
    status : str
        ``done``, ``skipped``, ``failed`` or ``pending`` (interrupted before it finished).
    error : str or None
        One-line reason for ``failed``.
    seconds : float or None
        Wall time spent on it in its worker (s).
    peak_rss_mb : float or None
        Peak resident memory of the worker process that ran it, up to the end of this input
        (MiB; the process's high-water mark, so it includes the loaded models).
    worker : str or None
        ``host:pid`` of that worker.
    started, finished : float or None
        When its worker started and finished it (Unix time, s).
    """

    input: str
    output: str
    status: str
    error: str | None = None
    seconds: float | None = None
    peak_rss_mb: float | None = None
    worker: str | None = None
    started: float | None = None
    finished: float | None = None

    def to_json(self) -> dict:
        out = {"input": self.input, "output": self.output, "status": self.status}
        if self.error is not None:
            out["error"] = self.error
        for key in ("seconds", "peak_rss_mb", "worker", "started", "finished"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class BatchReport:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    items : tuple of BatchItem
        One per input, in input order.
    path : Path
        The ``batch.json`` written.
    engine : str
    workers : int
    wall_s : float
        Wall time of the whole batch (s).
    interrupted : bool
        True when stopped by Ctrl-C or SIGTERM (then some items are ``pending``).
    """

    items: tuple[BatchItem, ...]
    path: Path
    engine: str
    workers: int
    wall_s: float
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every input is ``done`` or ``skipped``."""
        return all(i.status in ("done", "skipped") for i in self.items)

    @property
    def peak_rss_mb(self) -> dict[str, float]:
        """Peak resident memory per worker (MiB), keyed by ``host:pid``."""
        out: dict[str, float] = {}
        for i in self.items:
            if i.worker and i.peak_rss_mb is not None:
                out[i.worker] = max(out.get(i.worker, 0.0), i.peak_rss_mb)
        return out


# --------------------------------------------------------------------------------------------
# Inputs and completeness


def discover_inputs(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The photos to process.

    Parameters
    ----------
    inputs : path or iterable of paths
        A folder (its image files by suffix, sorted by name, not recursive) or files. Files
        given explicitly are kept whatever their suffix (a bad one fails on its own).

    Raises
    ------
    InputError
        A path that does not exist, or no images at all.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.is_file()
                    and p.suffix.lower() in SUPPORTED_SUFFIXES
                    and not p.name.startswith(".")
                )
            )
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError(f"no images ({', '.join(SUPPORTED_SUFFIXES)}) found in the input")
    return found


# --------------------------------------------------------------------------------------------
# The work of one input (runs in a worker process)


def _peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def process_one(image: str, out: str, options: Options, report: bool = True) -> dict:
    """Reconstruct one photo into ``OUT/<stem>/`` and return its status record.

    Never raises for a bad input: the reason goes into ``error``. Runs inside a worker.
    """
    import socket

    start = time.perf_counter()
    record: dict = {
        "input": image,
        "status": "done",
        "error": None,
        "started": round(time.time(), 3),
    }
    try:
        from monoscan.pipeline import reconstruct, write_outputs

        recon = reconstruct(image, options)
        result = write_outputs(recon, out, options, overwrite=True)
        if report:
            from monoscan.viewer.report import write_report

            write_report(result.parent)
    except MonoscanError as exc:
        record.update(status="failed", error=_one_line(str(exc)))
    except Exception as exc:  # noqa: BLE001  a bug on one photo must not stop the batch
        record.update(
            status="failed", error=_one_line(f"internal error: {type(exc).__name__}: {exc}")
        )
    record["seconds"] = round(time.perf_counter() - start, 3)
    record["finished"] = round(time.time(), 3)
    record["peak_rss_mb"] = _peak_rss_mb()
    record["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return record


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


#: After SIGTERM a worker unwinds its photo (the atomic writers delete their temporary files)
#: and ends; it is ended hard this long after the signal whatever it was doing (s).
WORKER_EXIT_GRACE_S = 3.0
#: How often a worker checks that the batch process still exists (s).
PARENT_POLL_S = 0.5

_terminating = False


def _worker_init(parent_pid: int) -> None:
    """Set up a local-engine worker; ``parent_pid`` is the batch process that spawned it."""
    # Ctrl-C reaches the whole process group; the parent decides what to do and terminates
    # the workers, so they ignore SIGINT. SIGTERM unwinds the photo (SystemExit), so the
    # atomic writers delete their temporary files, then ends the worker (_pool_task).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    # A worker must never outlive the batch (killed, crashed, out of memory): nobody would
    # send it work or read its result, and it holds its models (0.6 GB) for nothing. Linux
    # sends it SIGTERM when the batch process dies; elsewhere, and as a second line, a thread
    # watches for the parent to disappear.
    _set_parent_death_signal(signal.SIGTERM)
    if _parent_gone(parent_pid):  # died before the line above took effect
        os._exit(128 + signal.SIGTERM)
    import threading

    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="monoscan-parent-watch", daemon=True
    ).start()


def _worker_sigterm(signum: int, _frame) -> None:
    global _terminating
    if _terminating:  # a second SIGTERM must not interrupt the clean-up of the first
        return
    _terminating = True
    _exit_later(WORKER_EXIT_GRACE_S)  # even if some library swallows the SystemExit
    raise SystemExit(128 + signum)


def _exit_later(seconds: float) -> None:
    import threading

    def _exit() -> None:
        time.sleep(seconds)
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=_exit, name="monoscan-exit", daemon=True).start()


def _set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent dies (``PR_SET_PDEATHSIG``).

    The kernel sends it when the *thread* that spawned this process ends; the pool's workers
    are spawned by ``submit`` on the thread running :func:`run_batch`, which outlives the pool.
    Returns False where unsupported (not Linux, no usable libc).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library Python itself runs on
        return libc.prctl(pr_set_pdeathsig, ctypes.c_ulong(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parent_gone(parent_pid: int) -> bool:
    # An orphan is re-parented (to init or a subreaper) the moment its parent dies.
    if os.getppid() != parent_pid:
        return True
    if os.name != "posix":  # os.kill(pid, 0) would terminate it on Windows
        return False
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (permission denied)
        pass
    return False


def _watch_parent(parent_pid: int) -> None:
    while not _parent_gone(parent_pid):
        time.sleep(PARENT_POLL_S)
    # Unwind as on SIGTERM (the signal handler runs in the main thread), and make sure.
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(WORKER_EXIT_GRACE_S)
    os._exit(128 + signal.SIGTERM)


def _pool_task(image: str, out: str, options: Options, report: bool) -> dict:
    """:func:`process_one` in a local-engine worker: SIGTERM ends the worker, not the batch."""
    try:
        record = process_one(image, out, options, report)
    except SystemExit as exc:
        # The pool would send the SystemExit back as this photo's result, raise it in the
        # batch process and end the whole batch, and keep this worker waiting for work.
        # Unwound by now (temporary files deleted): end the worker; the batch sees a lost
        # worker, or is terminating it anyway.
        os._exit(exc.code if isinstance(exc.code, int) else 128 + signal.SIGTERM)
    if _terminating:  # something swallowed the SystemExit: no result from a dying worker
        os._exit(128 + signal.SIGTERM)
    return record


# --------------------------------------------------------------------------------------------
# Engines: each yields status records as inputs finish


def _run_local(
    jobs: list[str],
    out: str,
    options: Options,
    workers: int,
    report: bool,
    memory_mb: float | None,
    on_done,
) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    queue = [(job, estimate_peak_mb(job)) for job in jobs]
    running: dict = {}
    solo: set[str] = set()  # photos in flight when a worker died: retried one at a time

    def can_start() -> bool:
        if not queue or len(running) >= workers:
            return False
        if any(job in solo for job, _ in running.values()):
            return False
        if not running:
            return True  # one photo always runs, however large
        if queue[0][0] in solo:
            return False
        # Start photos in order while their estimated peaks fit in the memory budget.
        return memory_mb is None or sum(m for _, m in running.values()) + queue[0][1] <= memory_mb

    pool = new_pool()
    try:
        while queue or running:
            while can_start():
                job, mb = queue.pop(0)
                running[pool.submit(_pool_task, job, out, options, report)] = (job, mb)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            lost = []
            for fut in finished:
                job, mb = running.pop(fut)
                try:
                    on_done(fut.result())
                except BrokenProcessPool:
                    lost.append((job, mb))
                except Exception as exc:  # noqa: BLE001  e.g. a result that cannot be pickled
                    on_done(
                        {
                            "input": job,
                            "status": "failed",
                            "error": _one_line(f"worker error: {type(exc).__name__}: {exc}"),
                        }
                    )
            if lost:
                # A worker died (crash in native code, killed for running out of memory or by
                # someone): the pool is unusable and every photo in flight is lost. Start a
                # new pool and retry each lost photo once, alone; one that dies alone fails.
                lost += list(running.values())
                running.clear()
                _terminate_pool(pool)
                pool = new_pool()
                retry = []
                for job, mb in lost:
                    if job in solo:
                        on_done(
                            {
                                "input": job,
                                "status": "failed",
                                "error": "worker process died (crashed or ran out of memory)",
                            }
                        )
                    else:
                        solo.add(job)
                        retry.append((job, mb))
                queue[:0] = retry
    except BaseException:
        _terminate_pool(pool)
        raise
    pool.shutdown(wait=True)


#: Measured peak RSS of one worker: models and interpreter, plus per photo megapixel (MiB).
#: (0.80 GB at 4 MP, 0.97 GB at 6 MP, 1.70 GB at 16.8 MP with the default options.)
BASE_PEAK_MB = 600.0
PEAK_MB_PER_MEGAPIXEL = 70.0


def estimate_peak_mb(image: str | os.PathLike) -> float:
    """Estimated peak resident memory of a worker reconstructing ``image`` (MiB).

    Reads only the image header; unreadable files count as the base cost.
    """
    try:
        from PIL import Image

        with Image.open(image) as im:
            megapixels = im.width * im.height / 1e6
    except Exception:  # noqa: BLE001  a bad file fails later, in its worker
        megapixels = 0.0
    return BASE_PEAK_MB + PEAK_MB_PER_MEGAPIXEL * megapixels


def available_memory_mb() -> float | None:
    """MemAvailable from /proc/meminfo (MiB), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _terminate_pool(pool) -> None:
    """End every worker of ``pool`` now: SIGTERM (they unwind their photo), then SIGKILL."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    # Workers end themselves WORKER_EXIT_GRACE_S after SIGTERM; this is the backstop.
    deadline = time.monotonic() + WORKER_EXIT_GRACE_S + 2
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1)


def _run_ray(
    jobs: list[str],
    out: str,
    options: Options,
    workers: int | None,
    report: bool,
    address: str | None,
    quiet: bool,
    on_done,
) -> None:
    try:
        import ray
    except ImportError as exc:
        raise InputError(
            "--engine ray needs Ray: pip install 'monoscan[distributed]' (plain ray)"
        ) from exc

    started = False
    running: dict = {}
    try:
        if not ray.is_initialized():
            import logging

            kwargs: dict = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR if quiet else logging.WARNING,
            }
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            started = True  # set first: an interruption inside ray.init still shuts it down
            _ray_init(ray, **kwargs)
        if not workers:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        # Ray also schedules by declared memory, so big photos never pile up on one node; a
        # request is capped at the largest node's memory so that it can always be placed.
        largest = max(
            (n.get("Resources", {}).get("memory", 0) for n in ray.nodes() if n.get("Alive")),
            default=0,
        )
        queue = list(jobs)
        while queue or running:
            while queue and len(running) < workers:
                job = queue.pop(0)
                mem = int(estimate_peak_mb(job) * 2**20)
                if largest:
                    mem = min(mem, int(largest))
                running[task.options(memory=mem).remote(job, out, options, report)] = job
            # A bounded wait returns to Python every second, so Ctrl-C and SIGTERM are seen.
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                job = running.pop(ref)
                try:
                    on_done(ray.get(ref))
                except Exception as exc:  # noqa: BLE001  worker died, node lost...
                    on_done(
                        {
                            "input": job,
                            "status": "failed",
                            "error": _one_line(
                                f"ray task failed: {type(exc).__name__}: {str(exc)[:300]}"
                            ),
                        }
                    )
    except BaseException:
        _cancel_ray_tasks(ray, list(running))
        raise
    finally:
        if started:
            with contextlib.suppress(Exception):
                ray.shutdown()  # stops the Ray processes it started, and their workers


def _ray_init(ray, **kwargs) -> None:
    """``ray.init`` that leaves this process's SIGTERM handling as it was.

    ``ray.init`` replaces the SIGTERM handler with ``sys.exit``, which ends the batch with an
    exit code that does not say SIGTERM and without marking it interrupted. A handler set
    before (``monoscan.core.interrupt`` under the CLI, or SIG_IGN) is put back; the default
    action (kill at once) is not: Ray's handler at least unwinds the batch.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        ray.init(**kwargs)  # Ray sets no handler there either
        return
    previous = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(**kwargs)
    except SystemExit as exc:
        # SIGTERM during Ray's start-up reached Ray's handler: give it to ours instead.
        if exc.code == signal.SIGTERM and callable(previous):
            previous(signal.SIGTERM, None)
        raise
    finally:
        if previous not in (None, signal.SIG_DFL):
            signal.signal(signal.SIGTERM, previous)


def _cancel_ray_tasks(ray, refs: list) -> None:
    """Stop the tasks of ``refs``: interrupt them, then kill those still running.

    ``ray.cancel`` raises KeyboardInterrupt inside a running task, which unwinds it (the
    atomic writers delete their temporary files, on whatever machine it runs); a task not
    finished :data:`WORKER_EXIT_GRACE_S` later is killed with its worker process.
    """
    if not refs:
        return
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref)
    left = refs
    with contextlib.suppress(Exception):
        _, left = ray.wait(refs, num_returns=len(refs), timeout=WORKER_EXIT_GRACE_S)
    for ref in left:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)


def _ray_task(image: str, out: str, options: Options, report: bool) -> dict:
    return process_one(image, out, options, report)


# --------------------------------------------------------------------------------------------
# The batch


def run_batch(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike,
    options: Options | None = None,
    *,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    quiet: bool = False,
    report: bool = True,
    memory_mb: float | None = None,
    overwrite: bool = False,
) -> BatchReport:
    """Reconstruct every input photo into ``OUT/<stem>/`` and write ``OUT/batch.json``.

    Parameters
    ----------
    inputs : folder, file, or list of files
        See :func:`discover_inputs`.
    out : path
        Output folder; ``OUT/batch.json`` and one ``OUT/<stem>/`` per photo.
    options : Options, optional
        Pipeline options, the same for every photo.
    workers : int, optional
        Parallel processes (local: default ``min(cpus, inputs)``; Ray: photos in flight,
        default the cluster's CPUs).
    engine : {"local", "ray"}
    address : str, optional
        Ray cluster address (``HOST:6379`` or ``auto``); only with ``engine="ray"``.
    quiet : bool
        No progress bar.
    report : bool
        Also write the self-contained ``report.html`` into each result folder.
    memory_mb : float, optional
        Local engine: memory budget (MiB) for the photos in flight, each counted at its
        estimated peak (:func:`estimate_peak_mb`); a photo waits until it fits (one always
        runs). Default: 80 % of the memory available at the start. Ray schedules by the same
        estimate through its ``memory`` resource.
    overwrite : bool
        Redo complete results too (default: skip them).

    Returns
    -------
    BatchReport

    Raises
    ------
    InputError
        Bad arguments (unknown engine, no inputs, workers < 1); never for one bad photo.
    KeyboardInterrupt
        After terminating the workers and writing ``batch.json`` with what finished.
    """
    options = options or Options()
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if address and engine != "ray":
        raise InputError("--address only applies to --engine ray")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    paths = discover_inputs(inputs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    records: dict[int, dict] = {}
    jobs: list[tuple[int, str]] = []
    stems: dict[str, str] = {}
    for k, path in enumerate(paths):
        name, stem = str(path), path.stem
        if stem in stems:
            records[k] = {
                "input": name,
                "status": "failed",
                "error": f"output folder {stem}/ is already used by {stems[stem]} "
                "in this batch; rename one of the files",
            }
            continue
        stems[stem] = name
        if not overwrite and is_complete(out / stem):
            records[k] = {"input": name, "status": "skipped"}
        else:
            # Temporaries of a run killed too hard to clean up (SIGKILL, power loss) would
            # otherwise stay beside the new result for ever.
            _remove_temporaries(out / stem)
            jobs.append((k, name))
    if engine == "local" and workers is None:
        workers = max(1, min(os.cpu_count() or 1, len(jobs)))
    if memory_mb is None and engine == "local":
        avail = available_memory_mb()
        memory_mb = None if avail is None else 0.8 * avail

    index = {name: k for k, name in jobs}
    bar = None
    if not quiet and jobs:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="batch", unit="photo", dynamic_ncols=True, leave=False)

    def on_done(record: dict) -> None:
        records[index[record["input"]]] = record
        if bar is not None:
            bar.update(1)
            if record["status"] == "failed":
                err = record["error"]
                prefix = "" if err.startswith(record["input"]) else f"{record['input']}: "
                bar.write(f"failed: {prefix}{err}", file=sys.stderr)

    interrupted = False
    try:
        if jobs:
            names = [name for _, name in jobs]
            if engine == "local":
                _run_local(names, str(out), options, workers, report, memory_mb, on_done)
            else:
                _run_ray(names, str(out), options, workers, report, address, quiet, on_done)
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, SIGTERM (CLI), or an exit mid-batch
        interrupted = True
        raise
    finally:
        if bar is not None:
            bar.close()
        items = []
        for k, path in enumerate(paths):
            rec = records.get(k) or {"input": str(path), "status": "pending"}
            if rec["status"] == "pending":
                _remove_temporaries(out / path.stem)
                if is_complete(out / path.stem):  # finished just before the interruption
                    rec["status"] = "done"
            items.append(
                BatchItem(
                    input=rec["input"],
                    output=str(out / path.stem),
                    status=rec["status"],
                    error=rec.get("error"),
                    seconds=rec.get("seconds"),
                    peak_rss_mb=rec.get("peak_rss_mb"),
                    worker=rec.get("worker"),
                    started=rec.get("started"),
                    finished=rec.get("finished"),
                )
            )
        counts = {
            s: sum(i.status == s for i in items) for s in ("done", "skipped", "failed", "pending")
        }
        wall = round(time.perf_counter() - t0, 3)
        batch_json = write_text(
            out / BATCH_JSON,
            json.dumps(
                {
                    "schema_version": BATCH_SCHEMA_VERSION,
                    "engine": engine,
                    "address": address,
                    "workers": workers,
                    "interrupted": interrupted,
                    "wall_s": wall,
                    "counts": counts,
                    "items": [i.to_json() for i in items],
                },
                indent=2,
            ),
        )
    return BatchReport(
        items=tuple(items),
        path=batch_json,
        engine=engine,
        workers=int(workers or 0),
        wall_s=wall,
        interrupted=interrupted,
        counts=counts,
    )


def _remove_temporaries(directory: Path) -> None:
    """Delete hidden temporary files a terminated worker left (``.NAME.tmp-*``)."""
    if directory.is_dir():
        for p in directory.glob(".*.tmp-*"):
            with contextlib.suppress(OSError):
                p.unlink()

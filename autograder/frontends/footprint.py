"""What one grading costs in Gradescope's container: peak memory and wall time of the Gradescope
entry point, measured on a simulated ``/autograder`` layout, and the settings they lead to.

``python -m autograder footprint [--memory MB] [--cpus N] [--write]`` builds the autograder zip,
unpacks it into a temporary root as Gradescope does, runs its ``setup.sh`` with this
environment's interpreter (so the image's caches exist, nothing is downloaded) and runs
``run_autograder`` on two example
submissions: the solved notebook (the common case) and an infinite loop (the longest a grading
can take: the student's time limit runs out). Each run is sampled every
:data:`SAMPLE_SECONDS`:

- **peak PSS**: the largest sum, over every process of the run (grader, its workers, the
  sandbox), of the proportional set size, so a page shared by several processes (torch's
  libraries, copy-on-write pages of forked workers) counts once: what a memory cgroup charges
  for mapped memory; ``Pss_Anon``, its anonymous part (what no memory pressure can reclaim
  without swap, which containers lack), is recorded beside it;
- where this machine lets root make cgroups (v1 or v2), the run is also put into a fresh one
  with ``--memory`` (MiB, as Docker's ``--memory 768m`` counts) and ``--cpus`` (0.5 is
  Gradescope's default share), and the cgroup's own peak and whether it killed anything (out of
  memory) are recorded. The cgroup's peak can be lower than the PSS: pages of files this
  machine had read before (torch's libraries) are charged to the cgroup that read them first,
  whereas a fresh container reads, and is charged for, all of them. The PSS is the figure the
  settings come from.

``--write`` stores the figures in :data:`FOOTPRINT_FILE`, the one home of these numbers:
``gradescope-zip`` prints the settings derived from it (:func:`recommended_settings`) and
docs/gradescope-prairielearn.md quotes them.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


FOOTPRINT_FILE = Path(__file__).resolve().with_name("gradescope_footprint.json")
SAMPLE_SECONDS = 0.05  # how often the process tree's memory is read (0.1 s missed ~50 MiB peaks)
MEMORY_MARGIN = 1.25  # recommended memory = the measured peak times this
TIMEOUT_MARGIN = 1.25  # recommended timeout = the longest possible grading times this
MiB = 2**20
CGROUP_ROOTS = (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup"))  # v1, v2 (unified)


@dataclass
class Measurement:
    """One measured run of the entry point. Bytes and seconds; ``cpus`` and
    ``memory_limit_bytes`` are the cgroup's limits (None: not limited, or no cgroup here)."""
    label: str
    returncode: int
    wall_s: float
    peak_pss_bytes: int
    peak_anon_bytes: int = 0  # the anonymous part of the PSS at its own peak
    score: float | None = None
    possible: float | None = None
    cgroup: str = ""  # "v1", "v2" or "" (none could be made)
    cgroup_peak_bytes: int | None = None
    oom_killed: bool = False
    memory_limit_bytes: int | None = None
    cpus: float | None = None
    per_process_peak_bytes: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Reading memory
# ---------------------------------------------------------------------------------------------

def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants alive now (read from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    tree, index = [root_pid], 0
    while index < len(tree):
        tree.extend(children.get(tree[index], []))
        index += 1
    return tree


def pss_bytes(pid: int) -> tuple[int, int]:
    """The proportional set size of ``pid`` and its anonymous part, in bytes ((0, 0) when it is
    gone or unreadable)."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Pss", "Pss_Anon"):
                found[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return found.get("Pss", 0), found.get("Pss_Anon", 0)


def process_label(pid: int) -> str:
    """A short name for ``pid`` and the pid: the script or module it runs ("runner.py",
    "-m autograder"), "forkserver" for multiprocessing's server and the workers forked from
    it, else the command's name."""
    try:
        argv = [w.decode(errors="replace") for w in
                Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if w]
        command = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return f"? ({pid})"
    text = " ".join(argv)
    name = next((marker for marker in ("forkserver", "resource_tracker") if marker in text), "")
    if not name and "-m" in argv[1:-1]:
        name = "-m " + argv[argv.index("-m") + 1]
    if not name and "-c" in argv[1:]:
        name = f"{command} -c"
    if not name:
        name = next((Path(word).name for word in argv[1:] if not word.startswith("-")), command)
    return f"{name[:40]} ({pid})"


# ---------------------------------------------------------------------------------------------
# A memory / CPU cgroup shaped like the container
# ---------------------------------------------------------------------------------------------

class Cgroup:
    """A fresh cgroup below this process's own, with a memory limit (bytes) and a CPU quota
    (cores); v1 (separate memory and cpu hierarchies) or v2. :meth:`make` returns None where
    cgroups cannot be made (not root, read-only cgroupfs). Remove with :meth:`remove`."""

    def __init__(self, version: str, folders: dict[str, Path]):
        self.version, self.folders = version, folders

    @classmethod
    def make(cls, memory_limit: int | None, cpus: float | None) -> "Cgroup | None":
        name = f"prunekit-footprint-{os.getpid()}-{time.monotonic_ns()}"
        try:
            group = cls._make_v2(name) if _unified() else cls._make_v1(name)
            group._limit(memory_limit, cpus)
        except OSError:
            return None
        return group

    @classmethod
    def _make_v1(cls, name: str) -> "Cgroup":
        folders = {}
        for controller in ("memory", "cpu"):
            folder = Path("/sys/fs/cgroup") / controller / _own_path(controller).lstrip("/") / name
            folder.mkdir()
            folders[controller] = folder
        return cls("v1", folders)

    @classmethod
    def _make_v2(cls, name: str) -> "Cgroup":
        folder = Path("/sys/fs/cgroup") / _own_path("").lstrip("/") / name
        folder.mkdir()
        return cls("v2", {"memory": folder, "cpu": folder})

    def _limit(self, memory_limit: int | None, cpus: float | None) -> None:
        memory, cpu = self.folders["memory"], self.folders["cpu"]
        if self.version == "v1":
            if memory_limit:
                (memory / "memory.limit_in_bytes").write_text(str(int(memory_limit)))
            if cpus:
                period = int((cpu / "cpu.cfs_period_us").read_text())
                (cpu / "cpu.cfs_quota_us").write_text(str(int(period * cpus)))
        else:
            if memory_limit:
                (memory / "memory.max").write_text(str(int(memory_limit)))
                if (memory / "memory.swap.max").exists():
                    (memory / "memory.swap.max").write_text("0")
            if cpus:
                (cpu / "cpu.max").write_text(f"{int(100_000 * cpus)} 100000")

    def join(self) -> None:
        """Move the calling process into the cgroup (its children follow)."""
        for folder in dict.fromkeys(self.folders.values()):
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def peak_bytes(self) -> int | None:
        names = ("memory.max_usage_in_bytes",) if self.version == "v1" else ("memory.peak",)
        for name in names:
            path = self.folders["memory"] / name
            if path.exists():
                return int(path.read_text())
        return None

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the cgroup for want of memory."""
        name = "memory.oom_control" if self.version == "v1" else "memory.events"
        counters = dict(line.split()[:2] for line in
                        (self.folders["memory"] / name).read_text().splitlines() if " " in line)
        return counters.get("oom_kill", "0") != "0"

    def remove(self) -> None:
        for folder in dict.fromkeys(self.folders.values()):
            for _ in range(50):  # the last processes may still be leaving
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _unified() -> bool:
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def _own_path(controller: str) -> str:
    """This process's cgroup path for ``controller`` (v1) or in the unified hierarchy ("")."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (not controller and controllers == ""):
            return path
    return "/"


# ---------------------------------------------------------------------------------------------
# Measuring a command, and the Gradescope entry point
# ---------------------------------------------------------------------------------------------

def run_measured(command: list[str], label: str, env: dict | None = None,
                 memory_limit: int | None = None, cpus: float | None = None,
                 timeout_s: float = 1800.0) -> Measurement:
    """Run ``command`` (in a fresh cgroup with these limits where one can be made), sampling
    the summed PSS of its process tree every :data:`SAMPLE_SECONDS`; returns the measurement.
    The command's output goes to this process's standard error; past ``timeout_s``, or when
    this process is interrupted, the command's whole process group is killed and the cgroup
    removed."""
    group = Cgroup.make(memory_limit, cpus) if (memory_limit or cpus) else None
    try:
        measurement = _run_sampled(command, label, env, group, timeout_s)
        if group:
            measurement.cgroup, measurement.cpus = group.version, cpus
            measurement.memory_limit_bytes = memory_limit
            measurement.cgroup_peak_bytes = group.peak_bytes()
            measurement.oom_killed = group.oom_killed()
    finally:
        if group:
            group.remove()
    return measurement


def _run_sampled(command: list[str], label: str, env: dict | None, group: Cgroup | None,
                 timeout_s: float) -> Measurement:
    """Run ``command`` in its own process group (in ``group``), sampling its tree's PSS."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=sys.stderr,
                               start_new_session=True,
                               preexec_fn=group.join if group else None)
    peak, peak_anon, per_process = 0, 0, {}
    try:
        while process.poll() is None and time.monotonic() - started < timeout_s:
            total, anon = _sample(process.pid, per_process)
            peak, peak_anon = max(peak, total), max(peak_anon, anon)
            time.sleep(SAMPLE_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return Measurement(label, process.returncode, round(time.monotonic() - started, 1), peak,
                       peak_anon, per_process_peak_bytes=per_process)


def _sample(root_pid: int, per_process: dict[str, int]) -> tuple[int, int]:
    """Summed PSS of the tree now and its anonymous part (bytes); updates each process's
    largest PSS (labelled afresh each time: a process may have exec'd another program)."""
    total = anon = 0
    for pid in process_tree(root_pid):
        pss, pss_anon = pss_bytes(pid)
        total, anon = total + pss, anon + pss_anon
        label = process_label(pid)
        per_process[label] = max(per_process.get(label, 0), pss)
    return total, anon


def measure_gradescope(submission: Path, label: str, profile: str = "offline",
                       memory_limit: int | None = None, cpus: float | None = None,
                       python: str = sys.executable) -> Measurement:
    """Build the autograder zip, unpack it into a temporary ``/autograder`` layout, run its
    ``setup.sh`` with ``python`` as the image's interpreter (``PRUNEKIT_SETUP_PYTHON``: nothing
    is installed; the caches are built as in the image), put ``submission`` into its
    ``submission/`` folder and measure ``run_autograder``; records the score from
    ``results/results.json``.

    Raises:
        RuntimeError: setup.sh failed (its output is on standard error)."""
    from autograder.frontends import gradescope

    with tempfile.TemporaryDirectory(prefix="prunekit-footprint-") as scratch:
        root = Path(scratch) / "autograder"
        gradescope.unpack(gradescope.build_zip(Path(scratch) / "ag.zip", profile), root)
        env = {k: v for k, v in os.environ.items() if k != "PRUNEKIT_PYTHON"}
        setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], stdout=sys.stderr,
                               env=dict(env, PRUNEKIT_SETUP_PYTHON=python))
        if setup.returncode:
            raise RuntimeError(f"setup.sh failed with status {setup.returncode}")
        shutil.copy(submission, root / "submission" / Path(submission).name)
        measurement = run_measured(["bash", str(root / "run_autograder")], label, env,
                                   memory_limit, cpus)
        results = root / "results" / "results.json"
        if results.is_file():
            data = json.loads(results.read_text())
            measurement.score = data.get("score")
            measurement.possible = sum(test.get("max_score", 0) for test in data.get("tests", []))
    return measurement


# ---------------------------------------------------------------------------------------------
# The settings the measurements lead to
# ---------------------------------------------------------------------------------------------

def recommended_settings(footprint: dict) -> dict:
    """Gradescope settings from a stored footprint: ``memory_mb`` (at least the measured peak
    times :data:`MEMORY_MARGIN`, in MiB, rounded up to a multiple of 64),
    ``timeout_min`` (whole minutes: the longest possible grading, i.e. the slowest measured run
    plus the batch's hard limit per submission ``deadline_s``, times :data:`TIMEOUT_MARGIN`) and
    the figures they come from."""
    runs = footprint["measurements"]
    peak = max(run["peak_pss_bytes"] for run in runs)
    slowest = max(run["wall_s"] for run in runs)
    honest = min(run["wall_s"] for run in runs)
    longest = honest + float(footprint["deadline_s"])
    return {"memory_mb": int(math.ceil(peak * MEMORY_MARGIN / MiB / 64) * 64),
            "timeout_min": int(math.ceil(max(longest, slowest) * TIMEOUT_MARGIN / 60)),
            "peak_mib": round(peak / MiB), "longest_s": round(max(longest, slowest)),
            "slowest_measured_s": slowest}


def settings_lines(footprint: dict | None = None, profile: str | None = None) -> list[str]:
    """What ``gradescope-zip`` prints about the memory and timeout to set (from
    :data:`FOOTPRINT_FILE` unless given); one line saying how to measure when there is none, or
    when the stored footprint was measured on another profile than ``profile`` (a footprint
    without its profile is the offline one's)."""
    footprint = footprint if footprint is not None else load_footprint()
    if not footprint:
        return ["no measured footprint (autograder/frontends/gradescope_footprint.json): measure it with "
                "`python -m autograder footprint --write`"]
    measured_on = footprint.get("profile", "offline")
    if profile and profile != measured_on:
        return [f"no measured footprint for profile {profile!r} (the stored one was measured "
                f"on profile {measured_on!r}, whose settings do not carry over: a real-data profile "
                "evaluates larger models on more images, so it needs more memory and time); "
                f"measure it with `python -m autograder footprint --profile {profile}`"]
    settings = recommended_settings(footprint)
    return [f"Gradescope settings (measured {footprint['measured_on']}, {footprint['machine']}):",
            f"  memory:  at least {settings['memory_mb']} MB (one grading peaked at "
            f"{settings['peak_mib']} MiB, grader and student process together; Gradescope's "
            "default 768 MB is "
            + ("enough)" if settings["memory_mb"] <= 768 else "not enough)"),
            f"  timeout: at least {settings['timeout_min']} min (a grading never takes more "
            f"than {settings['longest_s']} s: the batch stops a worker at "
            f"{footprint['deadline_s']:.0f} s; Gradescope's default is 10 min)"]


def load_footprint(path: Path = FOOTPRINT_FILE) -> dict | None:
    """The stored footprint, or None when there is none (or it cannot be read)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def footprint_record(measurements: list[Measurement], deadline_s: float,
                     profile: str = "offline") -> dict:
    """``measurements`` with the date, the machine, the profile and the batch's hard limit per
    submission (seconds): what :func:`settings_lines` reads and :func:`write_footprint` stores."""
    import platform

    import torch

    return {"measured_on": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch "
                       f"{torch.__version__}",
            "deadline_s": deadline_s, "profile": profile,
            "measurements": [asdict(m) for m in measurements]}


def write_footprint(record: dict, path: Path = FOOTPRINT_FILE) -> Path:
    """Store a :func:`footprint_record` in ``path`` (side effect: rewrites it); returns it."""
    Path(path).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return Path(path)


def describe(measurement: Measurement) -> str:
    """One line for people: label, status, score, wall, peak, cgroup figures."""
    limits = ""
    if measurement.cgroup:
        limit = measurement.memory_limit_bytes
        limits = (f"; cgroup {measurement.cgroup}"
                  + (f" limited to {limit / MiB:.0f} MiB" if limit else "")
                  + (f", {measurement.cpus:g} CPU" if measurement.cpus else "")
                  + (f", its peak {measurement.cgroup_peak_bytes / MiB:.0f} MiB"
                     if measurement.cgroup_peak_bytes else "")
                  + (", OUT OF MEMORY" if measurement.oom_killed else ""))
    score = (f"score {measurement.score:g}/{measurement.possible:g}"
             if measurement.score is not None else "no results.json")
    return (f"{measurement.label}: exit {measurement.returncode}, {score}, "
            f"{measurement.wall_s:.0f} s, peak PSS {measurement.peak_pss_bytes / MiB:.0f} MiB "
            f"(anonymous {measurement.peak_anon_bytes / MiB:.0f} MiB){limits}")

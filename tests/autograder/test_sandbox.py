"""Tests of the grader's isolation layer: the autograder/sandbox package (its runner and probes).

Every test that calls ``run_in_sandbox`` starts real child processes (about 1.5 s each: Python and
torch start-up). Attacks are written as student notebook cells; the grader must survive all of them
and report what happened. Tests that need root (unprivileged user, secrets, network) skip with the
reason elsewhere.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import torch

from autograder.sandbox import (NOBODY, REPO_ROOT, BadResult, Isolation, IsolationUnavailable, Limits,
                                ProbeRequest, SandboxError, SandboxResult, choose_backend, exposed_secrets,
                                harden_permissions, load_untrusted, readable_by, run_in_sandbox,
                                verify_backend)
from autograder.sandbox import cgroups, plan
from autograder.sandbox.untrusted import Budget, load_stage_seconds
from prunekit.model import VGG, vgg_from_state_dict

IS_ROOT = os.geteuid() == 0
FAST = Limits(wall_seconds=60, cpu_seconds=60)
pytestmark = pytest.mark.timeout(120)
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs a root grader (privilege drop, "
                                                    "namespaces)")


def run(cells, requests=(), workdir=None, limits=FAST, **kwargs) -> SandboxResult:
    """run_in_sandbox on dedented cells."""
    return run_in_sandbox([textwrap.dedent(cell) for cell in cells], list(requests), limits,
                          workdir, **kwargs)


def call(request_id: str, name: str, *args, **kwargs) -> ProbeRequest:
    """A call_function probe request."""
    return ProbeRequest(request_id, "call_function", {"name": name, "args": list(args),
                                                      "kwargs": kwargs})


def processes_with_token(token: str) -> list[int]:
    """Pids of live processes whose environment holds PRUNEKIT_SANDBOX_ID=token."""
    needle = f"PRUNEKIT_SANDBOX_ID={token}".encode()
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            environment = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in environment.split(b"\0"):
            found.append(int(entry))
    return found


@pytest.fixture
def workdir(tmp_path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def open_dir():
    """A fresh directory under /tmp that every user may traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="prunekit-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- honest code ------------------------------------------------------------------------------

HONEST = """
import copy
import torch

def get_sparsity(tensor):
    return 1 - tensor.count_nonzero().item() / tensor.numel()

def zero_classifier(model):
    clone = copy.deepcopy(model)
    clone.classifier.weight.data.zero_()
    return clone

def load_extra():
    return torch.load("model.pt", weights_only=True)["classifier.bias"]
"""


def test_honest_code_returns_correct_values(workdir, tmp_path):
    """Values, returned models (as state dicts that the grader can rebuild), the untouched input
    model and extra files all come back as plain data; status ok, no reason."""
    model = VGG(width=1 / 16)
    state = model.state_dict()
    torch.save(state, tmp_path / "model.pt")
    requests = [
        call("sparsity", "get_sparsity", torch.tensor([[0.0, 1.0], [2.0, 0.0]])),
        ProbeRequest("copy", "call_on_vgg", {"name": "zero_classifier", "state_dict": state}),
        ProbeRequest("names", "defined_names", {"names": ["get_sparsity", "missing"]}),
        call("extra", "load_extra"),
    ]
    result = run([HONEST], requests, workdir, extra_files={"model.pt": tmp_path / "model.pt"})
    assert (result.status, result.reason, result.cell_errors) == ("ok", "", {})
    assert result.outcomes["sparsity"].value["result"] == 0.5
    returned = result.outcomes["copy"].value
    rebuilt = vgg_from_state_dict(returned["state_dict"])
    assert torch.count_nonzero(rebuilt.classifier.weight) == 0
    assert torch.equal(rebuilt.backbone.conv0.weight, state["backbone.conv0.weight"])
    assert returned["same_object"] is False and returned["returned_type"] == "VGG"
    assert all(torch.equal(returned["input_state_dict_after"][k], v) for k, v in state.items())
    assert result.outcomes["names"].value == {"get_sparsity": "function", "missing": None}
    assert torch.equal(result.outcomes["extra"].value["result"], state["classifier.bias"])


def test_stage_timings_come_back_and_add_up(workdir):
    """The runner's timing record (start-up, cells, probes; seconds) comes back with every
    stage non-negative and their sum within the run's wall time; a cell that sleeps 0.3 s shows
    in "cells"."""
    result = run(["import time\ntime.sleep(0.3)\n", HONEST],
                 [call("sparsity", "get_sparsity", torch.tensor([0.0, 1.0]))], workdir)
    assert set(result.stage_seconds) == {"startup", "cells", "probes"}
    assert result.stage_seconds["cells"] >= 0.3
    assert all(seconds >= 0 for seconds in result.stage_seconds.values())
    assert sum(result.stage_seconds.values()) <= result.wall_seconds


@pytest.mark.parametrize("record", [
    {"startup": 1.0, "cells": 1.0},                       # a stage missing
    {"startup": 1.0, "cells": -1.0, "probes": 1.0},       # negative
    {"startup": 1.0, "cells": 1e9, "probes": 1.0},        # longer than the run
    {"startup": 1.0, "cells": "1.0", "probes": 1.0},      # not a number
    ["startup", 1.0],                                     # not a record
])
def test_implausible_timing_records_are_dropped(tmp_path, record):
    """Student code can rewrite timing.pt; anything but three plausible floats reads as {}."""
    torch.save(record, tmp_path / "timing.pt")
    assert load_stage_seconds(tmp_path, Budget(2**20), wall_seconds=60.0) == {}


def test_in_place_changes_are_seen(workdir):
    """A function that changes its tensor argument in place shows it in args_after; one that
    does not leaves args_after equal to the input."""
    cell = """
    def prune_in_place(tensor):
        mask = tensor.abs() > 0.5
        tensor.mul_(mask)
        return mask

    def pure(tensor):
        return tensor * (tensor.abs() > 0.5)
    """
    tensor = torch.tensor([0.1, -0.9, 0.4, 2.0])
    result = run([cell], [call("inplace", "prune_in_place", tensor), call("pure", "pure", tensor)],
                 workdir)
    inplace, pure = result.outcomes["inplace"].value, result.outcomes["pure"].value
    assert torch.equal(inplace["args_after"][0], torch.tensor([0.0, -0.9, 0.0, 2.0]))
    assert inplace["result"].dtype == torch.bool
    assert torch.equal(pure["args_after"][0], tensor)


# --- failing and exiting cells ----------------------------------------------------------------

def test_failing_cells_do_not_stop_later_cells(workdir):
    """A syntax error and an exception are reported per cell with their location; later cells
    still run; a missing function is a ProbeError naming it."""
    cells = ["def first():\n    return 1\n", "x = 1\ndef broken(:\n    pass\n", "y = 1 / 0\n",
             "def last():\n    return 'last'\n"]
    requests = [call("first", "first"), call("last", "last"), call("broken", "broken")]
    result = run(cells, requests, workdir)
    assert result.status == "ok" and result.cells_run == 4
    assert sorted(result.cell_errors) == [1, 2]
    assert result.cell_errors[1].kind == "SyntaxError"
    assert result.cell_errors[1].where == "cell 1, line 2"
    assert result.cell_errors[2].kind == "ZeroDivisionError"
    assert result.cell_errors[2].where == "cell 2, line 1"
    assert result.outcomes["first"].value["result"] == 1
    assert result.outcomes["last"].value["result"] == "last"
    assert result.outcomes["broken"].failure.kind == "ProbeError"
    assert "broken" in result.outcomes["broken"].failure.message


def test_sys_exit_only_stops_its_cell(workdir):
    """sys.exit(), exit() and KeyboardInterrupt in cells are recorded per cell; the rest of the
    notebook and the probes still run, and the status stays ok."""
    cells = ["import sys\nsys.exit(3)\n", "exit()\n", "def f():\n    return 1\n",
             "raise KeyboardInterrupt\n"]
    result = run(cells, [call("f", "f")], workdir)
    assert result.status == "ok"
    assert [result.cell_errors[i].kind for i in (0, 1, 3)] == ["SystemExit", "SystemExit",
                                                                "KeyboardInterrupt"]
    assert "sys.exit(3)" in result.cell_errors[0].message
    assert result.outcomes["f"].value["result"] == 1


def test_os_exit_in_a_cell_gives_exit_status(workdir):
    """os._exit(3) in a cell ends the student process: status "exit" with the code and the cell
    in the reason, every request a NoResult failure, and the grader goes on."""
    cells = ["def f():\n    return 1\n", "import os\nos._exit(3)\n"]
    result = run(cells, [call("f", "f")], workdir)
    assert result.status == "exit" and result.returncode == 3
    assert "code 3" in result.reason and "cell 1" in result.reason
    assert result.outcomes["f"].failure.kind == "NoResult"
    assert result.cell_errors == {} and result.cells_run == 1


def test_os_exit_in_a_probe_keeps_earlier_results(workdir):
    """A student function that calls os._exit(0) while probed keeps the results of the probes
    before it; the ones from it on are NoResult; status "exit" names the probe."""
    cells = ["import os\ndef f():\n    return 1\ndef die():\n    os._exit(0)\n"]
    result = run(cells, [call("before", "f"), call("die", "die"), call("after", "f")], workdir)
    assert result.status == "exit" and "probe 1" in result.reason
    assert result.outcomes["before"].value["result"] == 1
    assert result.outcomes["die"].failure.kind == "NoResult"
    assert result.outcomes["after"].failure.kind == "NoResult"


# --- resource attacks -------------------------------------------------------------------------

def test_a_late_infinite_loop_costs_only_its_cell(workdir):
    """A cell that loops forever is stopped at its share of the wall limit and recorded as that
    cell's CellTimeout; the cells after it and the probes still run (status ok)."""
    limits = Limits(wall_seconds=16, cpu_seconds=60)
    cells = ["def f():\n    return 1\n", "import time\nwhile True:\n    time.sleep(0.05)\n",
             "def g():\n    return 2\n"]
    result = run(cells, [call("f", "f"), call("g", "g")], workdir, limits)
    assert result.status == "ok", (result.status, result.reason)
    assert result.cell_errors[1].kind == "CellTimeout" and "8 s" in result.cell_errors[1].message
    assert set(result.cell_errors) == {1}
    assert [result.outcomes[k].value["result"] for k in ("f", "g")] == [1, 2]


def test_infinite_loop_times_out(workdir):
    """A busy loop that swallows the cell's stop (``except BaseException``) is killed at the
    wall-time limit: status timeout, the cell named, no result, no process left."""
    # The limit counts from the process's start: on a loaded machine Python and torch take
    # several seconds to start, and a 5 s limit then ran out before the loop's cell (CI).
    limits = Limits(wall_seconds=15, cpu_seconds=60)
    loop = "while True:\n    try:\n        while True:\n            pass\n" \
           "    except BaseException:\n        pass\n"
    result = run(["def f():\n    return 1\n", loop], [call("f", "f")], workdir, limits)
    assert result.status == "timeout"
    assert "wall-time" in result.reason and "cell 1" in result.reason
    assert result.wall_seconds < limits.wall_seconds + 10
    assert result.outcomes["f"].failure.kind == "NoResult"
    assert processes_with_token(result.sandbox_id) == []


def test_cpu_limit_is_a_timeout(workdir):
    """A busy loop that exceeds the CPU-time limit before the wall limit is a timeout too, and
    the reason says CPU."""
    result = run(["while True:\n    pass\n"], [], workdir, Limits(wall_seconds=60, cpu_seconds=3))
    assert result.status == "timeout" and "CPU-time" in result.reason


def test_memory_bomb_is_refused(workdir):
    """Allocating 10 GiB (bytes, a torch tensor) or allocating until memory runs out gives
    memory errors in those cells, status "memory", later cells and probes still work, and the
    student process stays below its address-space limit."""
    limits = Limits(wall_seconds=60, cpu_seconds=60, address_space_bytes=4 * 2**30)
    cells = [
        "data = bytearray(10 * 2**30)\n",
        "import torch\nbig = torch.ones(10 * 2**30, dtype=torch.uint8)\n",
        "chunks = []\ntry:\n    while True:\n        chunks.append(bytearray(64 * 2**20))\n"
        "finally:\n    chunks.clear()\n",
        "def f():\n    return 1\n",
    ]
    result = run(cells, [call("f", "f")], workdir, limits)
    assert result.status == "memory" and "cell 0" in result.reason
    assert [result.cell_errors[i].memory for i in (0, 1, 2)] == [True, True, True]
    assert result.cell_errors[0].kind == "MemoryError"
    assert result.outcomes["f"].value["result"] == 1
    assert 0 < result.peak_memory_bytes < limits.address_space_bytes


def test_fork_bomb_is_contained(workdir):
    """Forking in a loop stops at the process limit with an error the student code sees, and no
    forked process outlives the run."""
    cell = """
    import os, time
    forked, failure = 0, None
    for _ in range(2000):  # bounded, in case no limit applies
        try:
            pid = os.fork()
        except OSError as error:
            failure = repr(error)
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1

    def report():
        return {"forked": forked, "failure": failure}
    """
    limits = Limits(wall_seconds=60, cpu_seconds=60, max_processes=32)
    result = run([cell], [call("report", "report")], workdir, limits)
    report = result.outcomes["report"].value["result"]
    assert result.status == "ok"
    assert report["forked"] <= limits.max_processes and "BlockingIOError" in report["failure"]
    assert processes_with_token(result.sandbox_id) == []


def test_huge_output_keeps_a_bounded_tail(workdir):
    """Printing 200 MB keeps only the last output_tail_bytes in the result (with the end of the
    output and a note of what was dropped)."""
    cell = "import sys\nline = 'x' * 999 + '\\n'\nfor _ in range(200_000):\n" \
           "    sys.stdout.write(line)\nprint('END')\n"
    limits = Limits(wall_seconds=60, cpu_seconds=60, output_tail_bytes=8 * 1024)
    result = run([cell], [], workdir, limits)
    assert result.status == "ok"
    assert len(result.stdout_tail.encode()) <= limits.output_tail_bytes + 100
    assert result.stdout_tail.rstrip().endswith("END")
    assert "earlier bytes dropped" in result.stdout_tail


def test_output_beyond_the_file_size_limit_fails_in_the_cell(workdir):
    """With a 16 MiB file-size limit, printing 200 MB fails inside the cell ("File too large")
    instead of filling the disk; the rest still runs."""
    cell = "import sys\nline = 'x' * 999 + '\\n'\nfor _ in range(200_000):\n" \
           "    sys.stdout.write(line)\n"
    limits = Limits(wall_seconds=60, cpu_seconds=60, file_size_bytes=16 * 2**20)
    result = run([cell, "def f():\n    return 1\n"], [call("f", "f")], workdir, limits,
                 keep_sandbox=True)
    try:
        assert result.cell_errors[0].kind == "OSError"
        assert "too large" in result.cell_errors[0].message.lower()
        assert result.outcomes["f"].value["result"] == 1
        assert (result.sandbox_dir / "stdout.txt").stat().st_size <= limits.file_size_bytes
    finally:
        shutil.rmtree(result.sandbox_dir, ignore_errors=True)


@pytest.mark.parametrize("what", ["bytes", "files", "unlinked"])
def test_filling_the_disk_is_stopped(workdir, what):
    """Writing many files into the results directory (on the real disk), or files unlinked
    while kept open (which no folder walk sees), is killed by the grader's disk watch, beyond
    Limits.disk_bytes or MAX_SANDBOX_FILES, long before the cell's own sleep ends."""
    write = {"bytes": "open(f'../out/junk-{i}', 'wb').write(b'x' * 8 * 2**20)",
             "files": "open(f'../out/junk-{i}', 'wb').close()",
             "unlinked": "KEPT.append(open(f'junk-{i}', 'wb')); KEPT[-1].write(b'x' * 8 * 2**20);"
                         " KEPT[-1].flush(); os.unlink(f'junk-{i}')"}[what]
    count = {"bytes": 40, "files": 20_000, "unlinked": 40}[what]  # bounded, if nothing stops it
    cell = f"import os, time\nKEPT = []\nfor i in range({count}):\n    {write}\ntime.sleep(30)\n"
    limits = Limits(wall_seconds=60, cpu_seconds=60, disk_bytes=64 * 2**20)
    result = run([cell], [], workdir, limits)
    assert result.status == "killed" and result.wall_seconds < 30
    assert ("files" if what == "files" else "to disk") in result.reason


def test_memory_outside_rlimits_is_counted_by_a_cgroup(workdir):
    """Files kept in the private /dev/shm are memory no rlimit counts; where the grader can make
    a cgroup (root, cgroup v1 or a delegated v2) its memory limit counts them: the run is killed
    with that reason, and the gradebook's isolation column names the cgroup. Elsewhere the
    column says "rlimits"."""
    probe = cgroups.create(f"probe-{os.getpid()}", 2**30, 64)
    if probe is None:
        result = run(["def f():\n    return 1\n"], [call("f", "f")], workdir)
        assert result.isolation.summary.endswith(", rlimits")
        pytest.skip("no cgroup can be made here; checked that the report says so")
    assert probe.kill_and_remove()
    cell = """
    KEPT = []
    def fill(count):
        for i in range(count):
            kept = open(f"/dev/shm/fill-{i}", "wb")
            kept.write(b"x" * 64 * 2**20)
            kept.flush()
            KEPT.append(kept)
        return count
    """
    limits = Limits(wall_seconds=60, cpu_seconds=60, memory_bytes=512 * 2**20,
                    scratch_bytes=2**30)
    result = run([cell], [call("fill", "fill", 12)], workdir, limits)
    assert result.status == "killed" and "0.5 GiB of memory" in result.reason, result.reason
    assert ", cgroup v" in result.isolation.summary


def test_scratch_folders_are_bounded(workdir):
    """/tmp is a private tmpfs of Limits.scratch_bytes: writing past it fails in the cell with
    "No space left on device" (the rest still runs); the home folder lies on disk, where the
    grader's disk watch kills a run that writes more than Limits.disk_bytes."""
    cell = """
    written = 0
    for i in range(100):  # bounded: at most 800 MiB
        with open(f"/tmp/junk-{i}", "wb") as junk:
            junk.write(b"x" * 8 * 2**20)
        written += 1
    """
    limits = Limits(wall_seconds=60, cpu_seconds=60, scratch_bytes=32 * 2**20,
                    disk_bytes=64 * 2**20)
    result = run([cell, "def f():\n    return 1\n"], [call("f", "f")], workdir, limits)
    assert result.status == "ok"
    assert "No space left" in result.cell_errors[0].message
    assert result.outcomes["f"].value["result"] == 1


@pytest.mark.parametrize("new_session", [False, True], ids=["same-group", "own-session"])
def test_background_process_cannot_change_results(workdir, new_session):
    """A process the student starts to rewrite a result file after the run is killed with the
    run: the grader's value is the honest one and the file never changes afterwards. With its
    own session the process leaves the process group; only a pid namespace catches it."""
    cell = """
    import subprocess, sys
    TAMPER = "import time; time.sleep(1.5); open('../out/req-0.pt', 'wb').write(b'tampered')"

    def honest():
        return "honest"

    def spawn(new_session):
        subprocess.Popen([sys.executable, "-c", TAMPER], start_new_session=new_session)
        return "spawned"
    """
    requests = [call("honest", "honest"), call("spawn", "spawn", new_session)]
    result = run([cell], requests, workdir, keep_sandbox=True)
    if new_session and not result.isolation.pid_namespace:
        pytest.skip("no pid namespace here: a process in its own session may outlive the run")
    assert result.outcomes["spawn"].value["result"] == "spawned"
    assert result.outcomes["honest"].value["result"] == "honest"
    written = (result.sandbox_dir / "out" / "req-0.pt").read_bytes()
    time.sleep(2.5)
    assert processes_with_token(result.sandbox_id) == []
    assert (result.sandbox_dir / "out" / "req-0.pt").read_bytes() == written
    shutil.rmtree(result.sandbox_dir, ignore_errors=True)


# --- tampered result files --------------------------------------------------------------------

TAMPER = """
import builtins, io, os, pickle, zipfile
import torch

class Evil:
    def __reduce__(self):  # unpickling calls open(MARKER, "w") -- in whoever unpickles it
        return (builtins.open, (MARKER, "w"))

def honest():
    return "honest"

def tamper():
    torch.save({"ok": True, "value": Evil()}, "../out/req-0.pt")
    with open("../out/req-1.pt", "wb") as raw:
        pickle.dump({"ok": True, "value": Evil()}, raw)
    os.remove("../out/req-2.pt")
    os.symlink("/etc/passwd", "../out/req-2.pt")
    nested = []
    for _ in range(100):
        nested = [nested]
    torch.save({"ok": True, "value": nested}, "../out/req-3.pt")
    os.remove("../out/req-4.pt")
    os.mkfifo("../out/req-4.pt")
    buffer = io.BytesIO()
    torch.save({"ok": True, "value": "x" * 10_000}, buffer)
    with zipfile.ZipFile(buffer) as source, \\
            zipfile.ZipFile("../out/req-5.pt", "w", zipfile.ZIP_DEFLATED) as packed:
        for name in source.namelist():
            packed.writestr(name, source.read(name))
    return "tampered"
"""


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    """One run whose last probe replaces the earlier result files with hostile ones; returns
    (result, marker path that the malicious pickles would create)."""
    base = tmp_path_factory.mktemp("tampered")
    marker = base / "pwned"
    cells = [f"MARKER = {str(marker)!r}\n", TAMPER]
    requests = [call(f"honest-{i}", "honest") for i in range(6)] + [call("tamper", "tamper")]
    return run(cells, requests, base / "work"), marker


def test_malicious_pickles_are_refused_and_never_run(tampered):
    """A torch archive whose pickle calls a global on load (__reduce__) is refused by the
    archive parser with a clear error, a raw pickle is refused as no torch archive, and
    the code in them never runs in the grader."""
    result, marker = tampered
    assert result.status == "ok" and result.outcomes["tamper"].value["result"] == "tampered"
    zipped, raw = result.outcomes["honest-0"].failure, result.outcomes["honest-1"].failure
    assert zipped.kind == "BadResult" and "refused before anything" in zipped.message
    assert raw.kind == "BadResult" and "not a torch archive" in raw.message
    assert not marker.exists()


def test_hostile_result_files_are_refused(tampered):
    """Symlinks, FIFOs (which must not hang the grader), absurdly nested data and compressed
    archives (zip bombs) in place of result files are each refused with the reason."""
    result, _ = tampered
    failures = {i: result.outcomes[f"honest-{i}"].failure for i in (2, 3, 4, 5)}
    assert all(f is not None and f.kind == "BadResult" for f in failures.values())
    assert "symlinks are refused" in failures[2].message
    assert "nested too deeply" in failures[3].message
    assert "not a regular file" in failures[4].message
    assert "compressed" in failures[5].message


def test_load_untrusted_refuses_code_running_pickles(tmp_path):
    """load_untrusted on a torch archive with a code-running global raises BadResult and runs
    nothing (checked in the grader's own process)."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"value": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(BadResult, match="calls io.open"):
        load_untrusted(tmp_path / "evil.pt", 2**20)
    assert not marker.exists()


def test_oversized_results_are_refused(workdir):
    """Results beyond Limits.result_bytes do not come back: the runner replaces a too-large
    value with a marker, and a forged too-large file is refused by the grader."""
    cell = """
    import torch

    def big():
        return torch.zeros(1_000_000)

    def forge():
        torch.save({"ok": True, "value": torch.zeros(1_000_000)}, "../out/req-1.pt")
    """
    limits = Limits(wall_seconds=60, cpu_seconds=60, result_bytes=2**20)
    requests = [call("big", "big"), call("forged", "big"), call("forge", "forge")]
    result = run([cell], requests, workdir, limits)
    assert result.outcomes["forge"].ok
    marker = result.outcomes["big"].value["result"]
    assert marker["__kind__"] == "unsupported" and marker["why"] == "result too large"
    failure = result.outcomes["forged"].failure
    assert failure.kind == "BadResult" and "exceed" in failure.message


# --- privileges, secrets, network (root only) -------------------------------------------------

@needs_root
def test_student_code_runs_unprivileged(workdir):
    """As root, the student code runs as uid 65534 with no supplementary groups and cannot get
    root back (EPERM, or EINVAL in its user namespace, where root is not mapped); the report
    says privileges were dropped."""
    cell = """
    import os
    def who():
        try:
            os.setuid(0)
            regained = True
        except OSError:
            regained = False
        return {"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups(),
                "regained": regained}
    """
    result = run([cell], [call("who", "who")], workdir)
    assert result.outcomes["who"].value["result"] == {"uid": NOBODY, "euid": NOBODY,
                                                      "groups": [], "regained": False}
    assert result.isolation.privileges_dropped and result.isolation.uid == NOBODY


def test_student_sees_only_its_own_processes(workdir):
    """In the sandbox's /proc the student sees the sandbox's own few processes (bubblewrap's
    init, the launcher, itself), none of the grader's or the machine's, and no command line
    names the kit's folder (bubblewrap reads its options from a file)."""
    cell = """
    import os
    def visible():
        seen = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    seen[pid] = handle.read().replace(b"\\0", b" ").decode(errors="replace")
            except OSError:
                pass
        return {"me": str(os.getpid()), "seen": seen}
    """
    result = run([cell], [call("visible", "visible")], workdir)
    if not result.isolation.pid_namespace:
        pytest.skip("no pid namespace here: " + "; ".join(result.isolation.notes))
    value = result.outcomes["visible"].value["result"]
    assert value["me"] in value["seen"] and len(value["seen"]) <= 5, value
    assert not any(str(REPO_ROOT / "autograder") in line for line in value["seen"].values())
    assert not any("--ro-bind" in line for line in value["seen"].values())


READ_ATTEMPTS = """
import os

def try_read(paths):
    outcome = {}
    for path in paths:
        try:
            if os.path.isdir(path):
                outcome[path] = "listed " + ",".join(sorted(os.listdir(path)))
            else:
                with open(path) as stream:
                    outcome[path] = "read " + stream.read(100)
        except OSError as error:
            outcome[path] = type(error).__name__
    return outcome
"""


def test_only_the_allow_list_is_visible(workdir, open_dir):
    """The student sees the interpreter and its libraries, its own folder and private scratch
    folders, and nothing else of the host, wherever it lies: not the kit's repo (grader code,
    solutions), not a world-readable secret under /tmp (where the sandbox folders lie), not a
    file in the grader's work folder, not the host's /etc; the root lists only the allow-list's
    top folders, and the interpreter's files are read where bubblewrap shows them."""
    secret = open_dir / "answers.txt"
    secret.write_text("42")
    neighbour = workdir / "other-submission.ipynb"
    workdir.mkdir(parents=True)
    neighbour.write_text("{}")
    targets = [str(REPO_ROOT / "autograder" / "checks"), str(REPO_ROOT / "solutions"),
               str(secret), str(neighbour), "/etc/hostname",
               plan.inside_path(os.path.realpath(os.__file__))]
    cells = [READ_ATTEMPTS, "import os\nTOP = sorted(os.listdir('/'))\n"
             "def top():\n    return TOP\n"]
    result = run(cells, [call("read", "try_read", targets), call("top", "top")], workdir)
    seen = result.outcomes["read"].value["result"]
    assert all(seen[path] == "FileNotFoundError" for path in targets[:5]), seen
    assert seen[targets[5]].startswith("read"), seen
    shown_python = [plan.inside_executable(), plan.inside_path(os.path.realpath(sys.executable))]
    allowed_tops = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sandbox",
                    "sbin", "tmp", "usr", "var", *(Path(path).parts[1] for path in shown_python)}
    assert set(result.outcomes["top"].value["result"]) <= allowed_tops
    assert result.isolation.level == "full" and result.isolation.exposed_secrets == ()


HOST_VIEW = """
import os, sys
import torch

def host_view():
    try:
        with open("/proc/self/mountinfo") as handle:
            mounts = handle.read()
    except OSError as error:
        mounts = repr(error)
    return {"prefix": sys.prefix, "base_prefix": sys.base_prefix, "executable": sys.executable,
            "path": list(sys.path), "torch": torch.__file__, "cwd": os.getcwd(),
            "environment": dict(os.environ), "mountinfo": mounts}
"""


def host_folders(workdir: Path) -> list[str]:
    """Host folders whose names a student process must not learn: the kit's checkout, the
    grader's work folder, the virtual environment and a base interpreter outside /usr."""
    folders = [str(REPO_ROOT), str(workdir.resolve()), os.path.realpath(sys.prefix)]
    base = os.path.realpath(sys.base_prefix)
    if not base.startswith("/usr"):
        folders.append(base)
    return folders


def test_nothing_inside_names_the_hosts_folders(workdir):
    """bubblewrap shows the interpreter at neutral paths (/opt/venv, /opt/python) from
    hard-link mirrors and the sandbox folder from the system's temporary folder: neither what
    Python reports (prefixes, sys.path, a module's file, the environment) nor the mount table
    names the checkout, the grader's folders or where its Python lies; torch still imports."""
    result = run([HOST_VIEW], [call("view", "host_view")], workdir)
    assert result.status == "ok", result.reason
    assert result.isolation.level == "full"
    view = result.outcomes["view"].value["result"]
    text = repr(view)
    for folder in host_folders(workdir):
        assert folder not in text, (folder, view["mountinfo"])
    assert view["prefix"] == plan.inside_path(os.path.realpath(sys.prefix))
    assert view["torch"].startswith(view["prefix"])


def test_the_sandboxs_pyvenv_cfg_names_no_host_path(monkeypatch):
    """pyvenv.cfg as the sandbox gets it: home where bubblewrap shows the base interpreter,
    the lines that record host paths dropped, the others kept."""
    monkeypatch.setattr(plan, "relocations", lambda: (("/home/ta/.pyenv/3.11", "/opt/python"),))
    written = plan.sandbox_pyvenv_cfg(
        "home = /home/ta/.pyenv/3.11/bin\ninclude-system-site-packages = false\n"
        "version = 3.11.7\nexecutable = /home/ta/.pyenv/3.11/bin/python3.11\n"
        "command = /home/ta/.pyenv/3.11/bin/python3 -m venv /home/ta/kit/.venv\n")
    assert written == ("home = /opt/python/bin\ninclude-system-site-packages = false\n"
                       "version = 3.11.7\n")


def test_a_venv_reached_through_a_symlinked_folder_is_still_moved(tmp_path, monkeypatch):
    """A grader run as ``link/bin/python`` where ``link`` is a symlink to the venv (a course's
    shared venv linked into each checkout): the interpreter is started at the venv's mount
    point, through the venv's own ``bin/python`` link, not at the host path (which the sandbox
    does not show)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    (tmp_path / "link").symlink_to(venv)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "link" / "bin" / "python"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "link"))
    plan.relocations.cache_clear()  # computed once per process from sys.prefix
    monkeypatch.setattr(plan, "relocations", plan.relocations.__wrapped__)
    assert plan.inside_executable() == f"{plan.VENV_MOUNTPOINT}/bin/python"
    assert plan.interpreter_links() == {
        f"{plan.VENV_MOUNTPOINT}/bin/python": plan.inside_path(os.path.realpath(sys.executable))}


def test_install_records_naming_the_checkout_are_empty_inside(workdir):
    """An editable install of the kit leaves its checkout's path in site-packages (the finder
    module, direct_url.json): inside the sandbox no file of the package folders names it."""
    cell = f"""
    import glob, site
    def naming_files():
        found = []
        for folder in site.getsitepackages():
            for path in glob.glob(folder + "/*") + glob.glob(folder + "/*.dist-info/*"):
                try:
                    if {str(REPO_ROOT)!r}.encode() in open(path, "rb").read(1 << 20):
                        found.append(path)
                except OSError:
                    pass
        return found
    """
    result = run([cell], [call("found", "naming_files")], workdir)
    assert result.outcomes["found"].value["result"] == [], result.outcomes["found"]


def test_kit_packages_inside_allowed_folders_are_masked():
    """Where the kit's secret packages lie inside an allowed folder (a non-editable install puts
    autograder/ and solutions/ into site-packages), the plan covers them with empty folders."""
    from autograder.sandbox import plan

    masked = plan.masked_paths([str(REPO_ROOT)], Isolation())
    secret = {REPO_ROOT / name for name in plan.KIT_SECRET_PACKAGES} | {
        path for path in Isolation().secret_paths if path.parent == REPO_ROOT}
    assert masked == sorted(str(path) for path in secret if path.is_dir())
    assert plan.masked_paths([str(REPO_ROOT / "prunekit")], Isolation()) == []


@needs_root
def test_permissions_protect_secrets_in_the_restricted_backend(open_dir):
    """The restricted backend (containers that refuse namespaces) protects secrets by permission
    bits and Landlock: a hardened folder gives PermissionError. Where the interpreter is
    unreachable for the sandbox uid (pyenv under /root), the sandbox fails closed with an error
    instead of running student code. A whole container is simulated in test_container.py."""
    secret = open_dir / "secret"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    harden_permissions([secret])
    workdir = open_dir / "work"
    isolation = Isolation(backend="restricted")
    if not readable_by(Path(os.path.realpath(sys.executable)), NOBODY, NOBODY):
        with pytest.raises(SandboxError, match="set-up failed"):
            run([READ_ATTEMPTS], [], workdir, isolation=isolation)
        pytest.skip("interpreter unreachable for uid 65534 here; checked that the sandbox "
                    "fails closed")
    result = run([READ_ATTEMPTS], [call("read", "try_read", [str(secret / "answers.txt")])],
                 workdir, isolation=isolation)
    assert result.outcomes["read"].value["result"][str(secret / "answers.txt")] == \
        "PermissionError"
    assert result.isolation.level == "restricted"


@needs_root
def test_a_backend_whose_uid_cannot_start_python_is_refused_by_the_canary(tmp_path,
                                                                          monkeypatch):
    """Before a batch, verify_backend runs the real launcher as the sandbox uid: with the
    grader's interpreter in a folder that uid cannot enter (as pyenv's under /root), the
    restricted backend is refused with one message saying why and what to do, instead of
    every submission ending as an error."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "python").symlink_to(os.path.realpath(sys.executable))
    monkeypatch.setattr(sys, "executable", str(private / "python"))
    with pytest.raises(IsolationUnavailable) as refused:
        verify_backend(Isolation(backend="restricted", uid=64013, gid=64013))
    message = str(refused.value)
    assert "cannot run student code here" in message and "uid 64013" in message
    assert "outside a private home" in message and "bubblewrap" in message


def test_the_canary_passes_where_the_sandbox_runs():
    """Where sandboxes run (every other test here), the canary passes and names the backend."""
    assert verify_backend(Isolation(uid=NOBODY - 20, gid=NOBODY - 20)).name == "bwrap"


def test_network_is_unavailable(workdir):
    """With a network namespace, connecting to a port the grader listens on (127.0.0.1) fails
    in the sandbox; with the network allowed the same code connects (so the test is real)."""
    cell = """
    import socket
    def connect(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return "connected"
        except OSError as error:
            return "failed: " + str(error)
    """
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        isolated = run([cell], [call("c", "connect", port)], workdir)
        assert isolated.isolation.network_isolated, isolated.isolation
        outcome = isolated.outcomes["c"]
        assert outcome.value, (isolated.status, isolated.reason, outcome)
        assert outcome.value["result"].startswith("failed")
        allowed = run([cell], [call("c", "connect", port)], workdir,
                      isolation=Isolation(allow_network=True))
        assert allowed.outcomes["c"].value["result"] == "connected"


IPC_CELL = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
KEY = 0x5052554E  # a fixed System V key both runs use

def publish(text):
    """Leave text in a System V segment (mode 0666) and a POSIX shm file, as an attacker would."""
    segment = libc.shmget(KEY, 4096, 0o1666)  # IPC_CREAT | 0666
    if segment >= 0:
        libc.shmat.restype = ctypes.c_void_p
        ctypes.memmove(libc.shmat(segment, None, 0), text.encode(), len(text))
    with open("/dev/shm/prunekit-ipc", "w") as shared:
        shared.write(text)
    return segment

def look():
    """What an earlier or concurrent run left behind, if anything."""
    found = []
    if libc.shmget(KEY, 0, 0) >= 0:
        found.append("sysv")
    if os.path.exists("/dev/shm/prunekit-ipc"):
        found.append("posix")
    return found
'''


def test_ipc_objects_are_private_and_die_with_the_run(workdir):
    """Two sandboxes running at the same time share no IPC: a System V segment cannot be made
    (the seccomp filter), a POSIX shm file made in one is invisible to the other, and nothing
    of them is left on the host."""
    import threading

    first_cells = [IPC_CELL, "SEGMENT = publish('answers of A')\nimport time\ntime.sleep(6)\n"
                   "def segment():\n    return SEGMENT\n"]
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(
        first=run(first_cells, [call("segment", "segment")], workdir)))
    thread.start()
    time.sleep(4)  # the first run has published by now (start-up takes ~2 s)
    second = run([IPC_CELL], [call("look", "look")], workdir)
    thread.join()
    # refused by the seccomp filter (the IPC namespace would keep a segment private too)
    assert outcome["first"].outcomes["segment"].value["result"] == -1
    assert second.outcomes["look"].value["result"] == []
    assert "1347573070" not in Path("/proc/sysvipc/shm").read_text()  # KEY in decimal
    assert not Path("/dev/shm/prunekit-ipc").exists()


def test_student_cannot_create_namespaces(workdir):
    """Inside the sandbox no further user namespace can be made (bubblewrap's --disable-userns),
    so the student has no capabilities anywhere."""
    cell = """
    import ctypes
    def try_unshare():
        libc = ctypes.CDLL(None, use_errno=True)
        return [libc.unshare(0x10000000), ctypes.get_errno()]  # CLONE_NEWUSER
    """
    result = run([cell], [call("u", "try_unshare")], workdir)
    returned, errno = result.outcomes["u"].value["result"]
    assert returned == -1 and errno != 0
    assert result.isolation.user_namespace


def test_running_as_the_grader_user_is_reported_degraded(workdir):
    """As root without a uid drop (Isolation.uid None) the run still works, and the report says
    it is degraded and why."""
    if not IS_ROOT:
        pytest.skip("a non-root grader runs the student in a user namespace")
    result = run(["def f():\n    return 1\n"], [call("f", "f")], workdir,
                 isolation=Isolation(uid=None))
    assert result.outcomes["f"].value["result"] == 1
    assert result.isolation.degraded and result.isolation.level == "none"
    assert any("grader's own user" in note for note in result.isolation.notes)


def test_unisolated_runs_are_refused_unless_allowed(workdir):
    """The "none" backend raises IsolationUnavailable with a message saying what is missing and
    how to get it; allowed explicitly, the run happens and is reported as level "none"."""
    with pytest.raises(IsolationUnavailable, match="install bubblewrap.*--allow-unisolated"):
        run(["x = 1\n"], [], workdir, isolation=Isolation(backend="none"))
    result = run(["def f():\n    return 1\n"], [call("f", "f")], workdir,
                 isolation=Isolation(backend="none", allow_unisolated=True))
    assert result.outcomes["f"].value["result"] == 1
    assert result.isolation.level == "none" and result.isolation.degraded


def test_this_machine_gets_full_isolation():
    """On the kit's machines (and in CI) bubblewrap isolates fully: every namespace, and as root
    a nested user namespace for the sandbox uid."""
    backend = choose_backend(Isolation())
    assert (backend.name, backend.level) == ("bwrap", "full"), backend
    if IS_ROOT:
        assert backend.drop and backend.nested_userns, backend


# --- permission helpers (no sandbox run) ------------------------------------------------------

def test_harden_permissions_hides_a_directory(open_dir):
    """readable_by / exposed_secrets see a world-readable secret; after harden_permissions
    (mode 0700, root-owned when root) uid 65534 can read nothing in it."""
    secret = open_dir / "secret"
    secret.mkdir()
    answers = secret / "answers.txt"
    answers.write_text("42")
    os.chmod(secret, 0o755)
    os.chmod(answers, 0o644)
    assert readable_by(answers, NOBODY, NOBODY)
    assert answers in exposed_secrets([secret], NOBODY, NOBODY)
    harden_permissions([secret])
    assert (secret.stat().st_mode & 0o777) == 0o700
    assert not readable_by(answers, NOBODY, NOBODY)
    assert exposed_secrets([secret], NOBODY, NOBODY) == []


def test_folders_on_the_graders_path_are_not_shown(workdir, open_dir, monkeypatch):
    """A grading script's own folder (or any folder) on the grader's sys.path is not bound into
    the sandbox: only package installations (site-packages) are."""
    secret = open_dir / "grading-notes.txt"
    secret.write_text("answers")
    monkeypatch.syspath_prepend(str(open_dir))
    result = run([READ_ATTEMPTS], [call("read", "try_read", [str(secret)])], workdir)
    assert result.outcomes["read"].value["result"][str(secret)] == "FileNotFoundError"

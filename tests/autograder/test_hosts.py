"""The real grader (``python -m autograder grade``) on simulated machines: an instructor's
ordinary account, a Docker-like container (with and without Landlock), a container with no
capabilities at all, and a virtual environment outside the repository with secrets beside it.

Each run grades the attack submissions that go after secrets, the network and other
submissions, and one that execs a classmate's received solution (their files in
tests/graders/attacks), and checks that they earn nothing and leak nothing there, and that the gradebook's isolation column says what isolated them; where nothing
can isolate, the grader refuses in one line. The machines are built with bubblewrap (see
hosts.py), so the test machine must be root; each run grades a handful of submissions.
"""
from __future__ import annotations

import csv
import os
import platform
import shutil
import socket
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.frontends import examples
from autograder.sandbox.backend import _landlock_abi as landlock_abi
from tests.autograder import hosts
from tests.conftest import REPO_ROOT
from tests.graders import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.machine_wide,
              pytest.mark.skipif(os.geteuid() != 0, reason="building the machines needs root"),
              pytest.mark.skipif(platform.machine() != "x86_64",
                                 reason="the Docker-like seccomp filter is written for x86-64")]
ATTACKS = ("read_secrets", "search_secrets", "network", "ipc_publish", "ipc_steal", "report_forge",
           "batch_snoop", "kit_artifacts", "exec_received_solution")
LEAK_PHRASES = ("LEAKED", "STOLEN", "connected to", "PLANTED")
KIT_PARTS = ("autograder", "solutions", "prunekit", "assignment", "pyproject.toml")


def enterable_folder(tmp_path_factory, name: str) -> Path:
    """A new folder every simulated user may enter (pytest's own are 0700)."""
    root = tmp_path_factory.mktemp(name)
    for folder in (root, *root.parents):
        if folder == Path("/tmp") or folder == Path("/"):
            break
        os.chmod(folder, os.stat(folder).st_mode | 0o711)
    return root


def copy_kit(copy: Path) -> Path:
    """A copy of the kit (code, reference, calibration, master, checkpoint) at ``copy`` to grade
    from, so that what a machine does to the kit's files (the restricted backend hardens the
    secrets) stays with the copy."""
    for part in KIT_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns(
                "__pycache__", "dist", "*.pyc"))
        else:
            shutil.copy2(source, copy / part)
    plant_kit_outputs(copy)
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return copy


@pytest.fixture(scope="module")
def machine_root(tmp_path_factory) -> Path:
    """The root graders' machine: their kit copy, outputs and homes."""
    return enterable_folder(tmp_path_factory, "hosts")


@pytest.fixture(scope="module")
def user_root(tmp_path_factory) -> Path:
    """The ordinary user's machine, apart from the root graders': its kit copy stays readable
    while they harden theirs, and the Docker-like image (which holds ``machine_root``) never
    holds it."""
    return enterable_folder(tmp_path_factory, "hosts-user")


@pytest.fixture(scope="module")
def kit(machine_root) -> Path:
    """The root graders' copy of the kit."""
    return copy_kit(machine_root / "kit")


def plant_kit_outputs(kit: Path) -> None:
    """What the kit's own commands leave in its runs/ folder: the examples' solved notebook
    and a Gradescope zip holding the reference solutions (stand-ins with the same names)."""
    template = examples.student_template()
    examples_dir = kit / "runs" / "examples"
    examples_dir.mkdir(parents=True)
    with zipfile.ZipFile(examples_dir / "solved.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb",
                         nbformat.writes(examples.solved_notebook(template)))
    gradescope_dir = kit / "runs" / "gradescope"
    gradescope_dir.mkdir(parents=True)
    with zipfile.ZipFile(gradescope_dir / "prunekit-autograder.zip", "w") as archive:
        archive.writestr("solutions/__init__.py", "PLANTED: the reference solutions\n")


@pytest.fixture(scope="module")
def submissions(machine_root) -> Path:
    """The blank template and the attacks on it, as Otter export zips."""
    template = examples.student_template()
    src = harness.Sources(solved=examples.solved_notebook(template),
                          blank=nbformat.read(template, as_version=4), models={})
    cases = [case for case in harness.load_cases() if case.name in ATTACKS]
    folder = machine_root / "submissions"
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    harness.build_submissions(folder, cases, machine_root / "outside", src, port)
    for path in folder.iterdir():  # solved.zip stays: the classmate batch_snoop copies from
        os.chmod(path, 0o644)
    return folder


def grade_command(kit: Path, submissions: Path, out: Path, python: str = sys.executable):
    return [python, "-m", "autograder", "grade", str(submissions), "--out", str(out),
            "--workers", "1", "--timeout", "40", "--quiet", "--profile", "offline"]


def run_args(kit: Path, home: Path) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    return {"cwd": kit, "capture_output": True, "text": True, "timeout": 800,
            "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                    "MPLCONFIGDIR": str(home / "mpl")}}


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def assert_attacks_contained(out: Path, done: subprocess.CompletedProcess, isolation: str):
    """Every attack graded, scored 0 (their base is the blank template), leaked nothing, and
    the isolation column starts with ``isolation``."""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = gradebook(out)
    assert set(rows) == {"blank", "solved", *(f"attack-{name}" for name in ATTACKS)}
    assert rows["solved"]["status"] == "graded" and float(rows["solved"]["total"]) > 0
    for sub_id, row in rows.items():
        if sub_id == "solved":
            continue
        assert (row["status"], row["total"]) == ("graded", "0"), row
        assert row["isolation"].startswith(isolation), row
        feedback = (out / "feedback" / f"{sub_id}.txt").read_text()
        leaks = [line for line in feedback.splitlines() if any(p in line for p in LEAK_PHRASES)]
        assert not leaks, (sub_id, [line[:1500] for line in leaks])


@dataclass
class HostRun:
    """One simulated machine's grading: the command's outcome and its output folder."""
    done: subprocess.CompletedProcess
    out: Path
    submissions: Path
    listener_reached: bool = False


def ordinary_user_run(submissions: Path, user_root: Path) -> HostRun:
    """An instructor's account (not root) grades the attacks with its own kit copy."""
    kit = copy_kit(user_root / "kit")
    out, home = user_root / "out-user", user_root / "home-user"
    for folder in (out, home):
        folder.mkdir()
        os.chown(folder, hosts.TEST_USER, hosts.TEST_USER)
    done = hosts.ordinary_user(grade_command(kit, submissions, out), [kit, submissions, out],
                               **run_args(kit, home))
    return HostRun(done, out, submissions)


def docker_like_run(kit: Path, submissions: Path, machine_root: Path, landlock: bool) -> HostRun:
    """Root in a container that refuses namespaces grades the attacks, with a socket of the
    grader's own machine listening on 127.0.0.1 the whole time."""
    out = machine_root / f"out-docker-{landlock}"
    if not landlock:  # the batch makes its submissions root-only: keep the shared ones as they are
        submissions = Path(shutil.copytree(submissions, machine_root / "submissions-no-landlock"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.1)
        done = hosts.docker_like(grade_command(kit, submissions, out), [kit, submissions],
                                 landlock=landlock, image=None if landlock else [machine_root],
                                 **run_args(kit, machine_root / f"home-docker-{landlock}"))
        try:
            listener.accept()
            reached = True
        except OSError:  # nobody connected
            reached = False
    return HostRun(done, out, submissions, reached)


def no_capabilities_run(kit: Path, submissions: Path, machine_root: Path) -> HostRun:
    """"Root" without capabilities tries to grade."""
    out = machine_root / "out-nocaps"
    done = hosts.unprivileged_container(grade_command(kit, submissions, out),
                                        **run_args(kit, machine_root / "home-nocaps"))
    return HostRun(done, out, submissions)


def outside_venv_run(kit: Path, submissions: Path, venv_root: Path) -> HostRun:
    """A grader whose venv lives outside the repository, with an autograder zip and a solved
    notebook lying beside it (as on an instructor's disk), grades the attacks. ``venv_root``
    lies outside ``machine_root``, which the Docker-like image holds: no other machine sees
    those planted files."""
    outside = venv_root / "elsewhere"
    venv = outside / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    site_packages = next(p for p in map(Path, sys.path) if p.name == "site-packages"
                         and (p / "torch").is_dir())
    (site / "kit.pth").write_text(f"{site_packages}\n")  # torch and the rest, as installed
    (outside / "prunekit-autograder.zip").write_text("PLANTED: solutions and salt")
    (outside / "pruning_lab.ipynb").write_text("PLANTED: the solved notebook")
    out = venv_root / "out-venv"
    done = subprocess.run(grade_command(kit, submissions, out, str(venv / "bin" / "python")),
                          **run_args(kit, venv_root / "home-venv"))
    return HostRun(done, out, submissions)


@pytest.fixture(scope="module")
def host_runs(kit, submissions, machine_root, user_root,
              tmp_path_factory) -> dict[str, HostRun]:
    """Every simulated machine grades at once, sharing only the submissions (read-only) and, for
    the root graders, their kit copy: name -> HostRun. Side by side they also show that graders
    on one machine keep apart (the sandbox uid leases)."""
    runs = {"ordinary-user": lambda: ordinary_user_run(submissions, user_root),
            "docker-like-no-landlock": lambda: docker_like_run(kit, submissions, machine_root,
                                                               landlock=False),
            "no-capabilities": lambda: no_capabilities_run(kit, submissions, machine_root),
            "outside-venv": lambda: outside_venv_run(
                kit, submissions, enterable_folder(tmp_path_factory, "hosts-venv"))}
    if landlock_abi():
        runs["docker-like-landlock"] = lambda: docker_like_run(kit, submissions, machine_root,
                                                               landlock=True)
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {name: pool.submit(run) for name, run in runs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_ordinary_user_gets_full_isolation(host_runs):
    """An instructor's account (not root): bubblewrap isolates fully through an unprivileged
    user namespace; no attack gets anything."""
    run = host_runs["ordinary-user"]
    assert_attacks_contained(run.out, run.done, "full (bwrap)")


@pytest.mark.parametrize("landlock", [True, False], ids=["landlock", "no-landlock"])
def test_docker_like_container_gets_the_restricted_backend(kit, host_runs, landlock):
    """Root in a container that refuses namespaces (Docker's default profile): bubblewrap
    cannot run, the restricted backend does (uid switch, seccomp, Landlock where available,
    the kit's secrets made root-only): the grader's own socket on 127.0.0.1 stays unreachable
    and no secret or shared code reaches any attack. With Landlock even the rest of this
    machine's disk (the kit's own checkout among it) is out of reach; without it only
    permissions protect files, so the container holds what an image would: the system, the
    interpreter and the kit copy it grades from (no other checkout of the kit: this test
    machine's, or any other lying world-readable on it, is empty in there), and, as in any
    container, its own processes only."""
    if landlock and not landlock_abi():
        pytest.skip("this kernel has no Landlock")
    run = host_runs["docker-like-landlock" if landlock else "docker-like-no-landlock"]
    assert not run.listener_reached
    expected = "restricted (seccomp, Landlock ABI " if landlock else \
        "restricted (seccomp, no Landlock)"
    assert_attacks_contained(run.out, run.done, expected)
    assert (kit / "solutions").stat().st_mode & 0o777 == 0o700  # hardened before grading
    assert (kit / "runs").stat().st_mode & 0o777 == 0o700
    if not landlock:
        assert all(path.stat().st_mode & 0o077 == 0
                   for path in [run.out, *run.submissions.iterdir()])


def test_container_without_capabilities_refuses(host_runs):
    """"Root" without capabilities, where neither namespaces nor a uid switch work: the grader
    refuses before grading, in one line saying what is missing and how to grade anyway."""
    run = host_runs["no-capabilities"]
    assert run.done.returncode == 2, run.done.stdout[-2000:] + run.done.stderr[-2000:]
    line = run.done.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("error: refusing to grade"), line
    assert "bubblewrap" in line and "--allow-unisolated" in line
    assert not (run.out / "gradebook.csv").exists()


def test_virtual_environment_outside_the_repository(host_runs):
    """The grader's venv lives outside the repository, with an autograder zip and a solved
    notebook lying beside it (as on an instructor's disk): the sandbox shows neither."""
    run = host_runs["outside-venv"]
    assert_attacks_contained(run.out, run.done, "full (bwrap)")

"""Tests of the batch runner with fake graders: which paths are submissions, parallel workers,
grader errors, hung workers, dead workers, and resuming from the records."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from autograder.core import batch
from tests.autograder.fakes import QUESTION_MAX, CountingGrader, fake_grade, write_notebooks


def _run(submissions, out, **options):
    options.setdefault("progress", False)
    options.setdefault("question_max", QUESTION_MAX)
    return batch.run_batch(submissions, fake_grade if "grade_fn" not in options
                           else options.pop("grade_fn"), out, **options)


def _records(out: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text())["result"]
            for path in sorted((out / "records").glob("*.json"))}


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------

def test_discover_files_and_folder_of_submissions(tmp_path):
    """Notebooks and zips directly in a folder are submissions; subfolders too (one notebook: a
    folder submission; one zip: that zip); other files and hidden entries are ignored."""
    write_notebooks(tmp_path / "class", ["bob", "alice"])
    (tmp_path / "class" / "carol.zip").write_bytes(b"PK")
    write_notebooks(tmp_path / "class" / "dave", ["pruning_lab"])
    (tmp_path / "class" / "dave" / "finegrained.pt").write_bytes(b"model")
    (tmp_path / "class" / "erin").mkdir()
    (tmp_path / "class" / "erin" / "submission.zip").write_bytes(b"PK")
    (tmp_path / "class" / "notes.txt").write_text("ignored")
    (tmp_path / "class" / ".ipynb_checkpoints").mkdir()
    write_notebooks(tmp_path / "class" / ".ipynb_checkpoints", ["alice-checkpoint"])
    found = batch.discover([tmp_path / "class"])
    assert [(s.id, s.path.name, s.problem) for s in found] == [
        ("alice", "alice.ipynb", ""), ("bob", "bob.ipynb", ""), ("carol", "carol.zip", ""),
        ("dave", "dave", ""), ("erin", "submission.zip", "")]


def test_discover_folder_that_is_one_submission(tmp_path):
    """A folder with exactly one notebook (and no zip) is one submission, named after it."""
    write_notebooks(tmp_path / "alice", ["pruning_lab"])
    (tmp_path / "alice" / "channel_pruned.pt").write_bytes(b"x")
    [submission] = batch.discover([tmp_path / "alice"])
    assert submission.id == "alice" and submission.path == tmp_path / "alice"


def test_discover_class_folder_holding_one_students_folder(tmp_path):
    """A class folder that holds only one student's folder (a TA trying the grader on one
    submission) is that student's submission, models included, under the student's folder name,
    not the notebook alone under the notebook's name."""
    write_notebooks(tmp_path / "subs" / "alice", ["pruning_lab"])
    for name in ("finegrained.pt", "channel_pruned.pt"):
        (tmp_path / "subs" / "alice" / name).write_bytes(b"model")
    [submission] = batch.discover([tmp_path / "subs"])
    assert (submission.id, submission.path, submission.problem) == \
        ("alice", tmp_path / "subs" / "alice", "")


def test_discover_unclear_subfolders_get_a_problem(tmp_path):
    """A subfolder with no notebook, or with several, is still a row, with the reason."""
    write_notebooks(tmp_path / "class" / "frank", ["a", "b"])
    (tmp_path / "class" / "gina").mkdir()
    write_notebooks(tmp_path / "class", ["harry"])
    found = {s.id: s.problem for s in batch.discover([tmp_path / "class"])}
    assert "several submissions (a.ipynb, b.ipynb)" in found["frank"]
    assert "no notebook" in found["gina"] and found["harry"] == ""


def test_discover_looks_through_folders_that_only_wrap_one_folder(tmp_path):
    """A Gradescope export unpacked into a folder of its own is the class, not one unreadable
    row; a student's submission folder holding only the lab's folder is that student's
    submission, and the grader reads it there too."""
    export = tmp_path / "downloads" / "assignment_4242_export"
    write_notebooks(export / "submission_1" / "pruning_lab_submission", ["pruning_lab"])
    write_notebooks(export / "submission_2", ["pruning_lab"])
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Ann\n    :sid: '11'\n")
    found = {s.id: s for s in batch.discover([tmp_path / "downloads"])}
    assert set(found) == {"submission_1", "submission_2"}
    assert not found["submission_1"].problem
    from autograder.core.submission import load_submission
    from autograder.frontends.roster import identities_for

    with load_submission(export / "submission_1") as loaded:
        assert loaded.readable and loaded.notebook_name == "pruning_lab.ipynb"
    assert identities_for([tmp_path / "downloads"])["submission_1"][0].name == "Ann"


def test_discover_ids_are_unique_and_safe(tmp_path):
    """Repeated names get -2, -3; characters unsafe in file names become _."""
    first = write_notebooks(tmp_path / "a", ["lab 1"])[0]
    second = write_notebooks(tmp_path / "b", ["lab 1"])[0]
    (tmp_path / "c").mkdir()
    third = tmp_path / "c" / "lab 1.zip"
    third.write_bytes(b"PK")
    ids = [s.id for s in batch.discover([first, second, third])]
    assert ids == ["lab_1", "lab_1-2", "lab_1-3"]


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "no such file or folder"),
    (lambda root: (root / "empty").mkdir() or root / "empty", "holds no submission"),
    (lambda root: (root / "x.txt").write_text("x") and root / "x.txt", "not a notebook"),
])
def test_discover_errors(tmp_path, make, message):
    """A missing path, an empty folder and a file of another kind are one clear error."""
    with pytest.raises(batch.DiscoveryError, match=message):
        batch.discover([make(tmp_path)])


def _gradescope_export_zip(path, wrapper: str = "assignment_4242_export/"):
    """A zip laid out as Gradescope's "Download submissions" export."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{wrapper}submission_metadata.yml",
                         "submission_101:\n  :submitters:\n  - :name: Alice\n")
        archive.writestr(f"{wrapper}submission_101/pruning_lab.ipynb", "{}")
        archive.writestr(f"{wrapper}submission_102/pruning_lab_submission.zip", b"PK")
    return path


@pytest.mark.parametrize("wrapper", ["assignment_4242_export/", ""])
def test_a_gradescope_download_zip_is_recognised(tmp_path, wrapper):
    """Gradescope's export zip given as it is: one clear error saying to unpack it and how
    (not one unreadable row); an ordinary Otter export zip is still one submission."""
    export = _gradescope_export_zip(tmp_path / "submissions.zip", wrapper)
    with pytest.raises(batch.DiscoveryError, match="Download submissions.*unzip -q"):
        batch.discover([export])
    import zipfile

    with zipfile.ZipFile(tmp_path / "alice.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb", "{}")
        archive.writestr("submission_metadata_notes.txt", "not Gradescope's")
    assert [s.id for s in batch.discover([tmp_path / "alice.zip"])] == ["alice"]


def test_fingerprint_changes_with_content(tmp_path):
    """The fingerprint follows the bytes of a file, and the files of a folder."""
    [path] = write_notebooks(tmp_path / "s", ["n"])
    before, folder_before = batch.fingerprint(path), batch.fingerprint(tmp_path / "s")
    (tmp_path / "s" / "finegrained.pt").write_bytes(b"1")
    assert batch.fingerprint(path) == before
    assert batch.fingerprint(tmp_path / "s") != folder_before
    path.write_text("{}")
    assert batch.fingerprint(path) != before


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def test_two_workers_give_the_same_records_as_one(tmp_path):
    """Grading with 2 parallel workers gives exactly the records of 1 worker, in the same
    order, and both worker slots (worker_index 0 and 1) are used."""
    paths = write_notebooks(tmp_path / "class", [f"s{i}" for i in range(6)])
    paths.append(tmp_path / "class" / "slow-1.ipynb")
    paths[-1].write_text("{}")
    submissions = batch.discover([tmp_path / "class"])
    one = _run(submissions, tmp_path / "one", workers=1)
    work = tmp_path / "work"
    two = _run(submissions, tmp_path / "two", workers=2, workdir=work)
    assert [r.to_dict() for r in one.results] == [r.to_dict() for r in two.results]
    assert _records(tmp_path / "one") == _records(tmp_path / "two")
    assert [r.submission for r in two.results] == [s.id for s in submissions]
    assert {p.parent.name for p in work.rglob("slot-*")} == {"worker-0", "worker-1"}
    assert {p.name.split("-")[1] for p in work.rglob("slot-*")} == {"0", "1"}


def test_a_raising_grader_gives_an_error_row_and_the_batch_goes_on(tmp_path):
    """A grader exception in a worker becomes status "error" with the exception in the reason
    (and the traceback in the record); the other submissions are graded."""
    write_notebooks(tmp_path / "class", ["a", "raise-b", "c"])
    run = _run(batch.discover([tmp_path / "class"]), tmp_path / "out", workers=2)
    statuses = {r.submission: r.status for r in run.results}
    assert statuses == {"a": "graded", "raise-b": "error", "c": "graded"}
    error = next(r for r in run.results if r.status == "error")
    assert "RuntimeError: the grader broke on raise-b.ipynb" in error.reason
    assert error.question_max == QUESTION_MAX and error.total == 0
    record = json.loads((tmp_path / "out" / "records" / "raise-b.json").read_text())
    assert "Traceback" in record["traceback"]


def test_a_hanging_grader_times_out_and_the_batch_completes(tmp_path):
    """A grader that never returns is stopped at the deadline: status "timeout", and the
    submissions after it are graded by a fresh worker."""
    write_notebooks(tmp_path / "class", ["a", "hang-b", "c", "d"])
    run = _run(batch.discover([tmp_path / "class"]), tmp_path / "out", workers=1,
               deadline_s=2.0)
    statuses = {r.submission: r.status for r in run.results}
    assert statuses == {"a": "graded", "hang-b": "timeout", "c": "graded", "d": "graded"}
    hung = next(r for r in run.results if r.status == "timeout")
    assert "did not finish within 2 s" in hung.reason
    assert run.seconds < 30


def test_a_grader_that_swallows_the_stop_still_times_out(tmp_path):
    """A grader that catches the batch's stop and returns its own result after the deadline is
    recorded as a timeout, not with what it returned."""
    write_notebooks(tmp_path / "class", ["a", "stubborn-b"])
    run = _run(batch.discover([tmp_path / "class"]), tmp_path / "out", workers=2,
               deadline_s=1.5)
    assert [(r.submission, r.status) for r in run.results] == [("a", "graded"),
                                                               ("stubborn-b", "timeout")]


def test_a_worker_that_dies_gives_an_error_row(tmp_path):
    """A worker process that exits without reporting gives status "error" saying so."""
    write_notebooks(tmp_path / "class", ["die-a", "b"])
    run = _run(batch.discover([tmp_path / "class"]), tmp_path / "out", workers=1)
    graded, died = run.results  # sorted by name: b, die-a
    assert died.status == "error" and "exited with status 3" in died.reason
    assert graded.status == "graded"


def test_unreadable_folder_gets_a_row_without_a_worker(tmp_path):
    """A subfolder that is not a submission is recorded as "unreadable" with its reason."""
    (tmp_path / "class" / "empty").mkdir(parents=True)
    write_notebooks(tmp_path / "class", ["a", "b"])
    run = _run(batch.discover([tmp_path / "class"]), tmp_path / "out")
    assert [(r.submission, r.status) for r in run.results] == [
        ("a", "graded"), ("b", "graded"), ("empty", "unreadable")]
    assert "no notebook" in run.results[2].reason


def test_rerun_skips_recorded_submissions_and_redo_grades_again(tmp_path):
    """A second run reuses every record (grades nothing); a changed file, a grader error or
    other settings are graded again; redo grades everything again."""
    paths = write_notebooks(tmp_path / "class", ["a", "b", "raise-c"])
    submissions = batch.discover([tmp_path / "class"])
    log = tmp_path / "graded.log"
    grader = CountingGrader(log)
    first = _run(submissions, tmp_path / "out", grade_fn=grader, settings={"profile": "x"})
    assert sorted(log.read_text().split()) == ["a.ipynb", "b.ipynb", "raise-c.ipynb"]
    log.write_text("")
    second = _run(submissions, tmp_path / "out", grade_fn=grader, settings={"profile": "x"})
    assert log.read_text().split() == ["raise-c.ipynb"]  # errors are always retried
    assert second.skipped == ["a", "b"]
    assert [r.to_dict() for r in second.results][:2] == [r.to_dict() for r in first.results][:2]
    log.write_text("")
    paths[0].write_text('{"changed": true}')
    _run(submissions, tmp_path / "out", grade_fn=grader, settings={"profile": "x"})
    assert sorted(log.read_text().split()) == ["a.ipynb", "raise-c.ipynb"]
    log.write_text("")
    _run(submissions, tmp_path / "out", grade_fn=grader, settings={"profile": "other"})
    assert len(log.read_text().split()) == 3
    log.write_text("")
    _run(submissions, tmp_path / "out", grade_fn=grader, settings={"profile": "other"},
         redo=True)
    assert len(log.read_text().split()) == 3


def test_zip_submission_is_passed_to_the_grader_as_is(tmp_path):
    """A zip is one submission; the grader receives its path."""
    path = tmp_path / "alice.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pruning_lab.ipynb", "{}")
    run = _run(batch.discover([path]), tmp_path / "out")
    assert run.results[0].submission == "alice" and run.results[0].status == "graded"


def test_grade_fingerprint_covers_everything_a_grade_depends_on(tmp_path):
    """A recorded grade is reused only while nothing it depends on changed: the checks, the
    sandbox, the reference, the support package, the question table (points), the
    calibration. A front end (the report writer) and the batch runner do not count."""
    import shutil

    from autograder.core.batch import _grader_fingerprint
    from tests.conftest import REPO_ROOT

    kit = tmp_path / "kit"
    for part in ("autograder", "solutions", "prunekit"):
        shutil.copytree(REPO_ROOT / part, kit / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    calibration = tmp_path / "offline.json"
    calibration.write_text("{}")
    before = _grader_fingerprint(calibration, kit)
    for changed in ("prunekit/measure.py", "autograder/questions.json",
                    "autograder/checks/q_channel.py", "solutions/channel.py",
                    "autograder/sandbox/inside/runner.py"):
        path = kit / changed
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert _grader_fingerprint(calibration, kit) != before, changed
        path.write_bytes(original)
    calibration.write_text('{"changed": 1}')
    assert _grader_fingerprint(calibration, kit) != before
    calibration.write_text("{}")
    (kit / "autograder" / "frontends" / "report.py").write_text("# a front end\n")
    (kit / "autograder" / "core" / "batch.py").write_text("# the batch runner\n")
    assert _grader_fingerprint(calibration, kit) == before


def _raise_missing(flag: bool):
    from autograder.core.batch import CoreMissing

    raise CoreMissing("profile 'x' is not calibrated", not_calibrated=flag)


def test_call_in_worker_returns_values_and_reraises_errors():
    """call_in_worker computes in a forkserver child: the value comes back, and so does an
    exception with its attributes (CoreMissing's not_calibrated)."""
    import os

    from autograder.core.batch import CoreMissing, call_in_worker

    assert call_in_worker(os.getpid) != os.getpid()
    with pytest.raises(CoreMissing) as caught:
        call_in_worker(_raise_missing, (True,))
    assert caught.value.not_calibrated is True and "not calibrated" in str(caught.value)


@pytest.mark.slow
def test_core_grader_keeps_torch_out_of_the_calling_process():
    """Building the real CoreGrader (its pre-flight: configuration, isolation check, points,
    fingerprint) leaves torch unimported in the caller, the process that only waits for the
    workers (torch's import is about 300 MiB of it otherwise)."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT
    from tests.helpers import offline_grading_unready

    reason = offline_grading_unready()
    if reason:
        pytest.skip(reason)
    code = ("import sys; from autograder.core import batch; g = batch.CoreGrader('offline', "
            "allow_unisolated=True); print('torch' in sys.modules, g.isolation, "
            "sum(g.question_max().values()), len(g.settings['grader']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    torch_imported, isolation, *rest = done.stdout.split()
    assert torch_imported == "False" and isolation
    from autograder import questions

    assert rest[-2:] == [str(sum(questions.load().points().values())), "16"]

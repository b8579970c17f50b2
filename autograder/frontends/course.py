"""A course's output folder: everything ``grade``, ``merge`` and ``merge-manual`` write, rebuilt
from what the folder holds, and grading one class across machines.

An output folder ``OUT`` holds the records (``records/<id>.json``, one per submission, the
source of truth of automatic grades), ``identities.json`` (who submitted what,
:mod:`autograder.frontends.roster`), ``manual_scores.json`` (TA scores of the written questions,
:mod:`autograder.frontends.written`), and the settings ``export_settings.json`` (what the
exports' totals hold) and ``lateness.json`` (due date, penalty rule, submission times:
:mod:`autograder.frontends.lateness`). Every report is a function of those:
:func:`write_reports` writes the gradebook, the per-submission results and feedback, the class
report and the grade-import exports.

**Shards.** ``grade --shard i/N`` (``0 <= i < N``) grades only the submissions whose shard is
``i``: :func:`shard_of` hashes the submission id, so a submission's shard never depends on which
other submissions exist or on their order, and N machines that each run the same command with
their own ``i`` (a Slurm array task, a Kubernetes indexed Job's completion index, a CI matrix
entry) grade every submission exactly once. ``merge SHARD_OUT... --out OUT`` then copies every
shard's records, identities, export and lateness settings and manual scores into OUT and writes the reports of the whole
class (:func:`merge_outputs`), the similarity report of every submission included.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Mapping, Sequence

from autograder.core import batch
from autograder.core.batch import RecordStore
from autograder.frontends import exports, lateness, report, roster, written
from autograder.results import SubmissionResult

MAX_ROWS_PRINTED = 40  # the summary lists each submission up to this many


class MergeError(ValueError):
    """Shard outputs that cannot be merged (one line)."""


# ---------------------------------------------------------------------------------------------
# Shards
# ---------------------------------------------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` as ``(i, N)``; ValueError unless ``0 <= i < N``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must be i/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text}: need 0 <= i < N (shards are numbered from 0)")
    return index, count


def shard_of(submission_id: str, count: int) -> int:
    """The shard (0 .. count - 1) of a submission: its id's SHA-256, modulo ``count``."""
    digest = hashlib.sha256(submission_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def select_shard(submissions: Sequence, index: int, count: int) -> list:
    """The submissions (anything with an ``id``) of shard ``index`` of ``count``."""
    return [s for s in submissions if shard_of(s.id, count) == index]


SHARD_FILE = "shard.json"  # in a shard's output folder: which share of the class it graded


def record_shard(out_dir: Path, index: int, count: int) -> None:
    """Note in ``out_dir`` that it holds shard ``index`` of ``count`` (merge checks that every
    shard arrived). Side effect: creates ``out_dir``."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / SHARD_FILE).write_text(json.dumps({"index": index, "count": count}) + "\n")


def missing_shards(folders: Sequence[Path]) -> list[str]:
    """The shards (``"i/N"``) that none of ``folders`` holds, for every shard count the
    folders name (a failed job of a Slurm array, a CI matrix entry that never ran); [] when no
    folder was graded as a shard."""
    held: dict[int, set[int]] = {}
    for folder in map(Path, folders):
        try:
            shard = json.loads((folder / SHARD_FILE).read_text())
            held.setdefault(int(shard["count"]), set()).add(int(shard["index"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return [f"{index}/{count}" for count, indices in sorted(held.items())
            for index in range(count) if index not in indices]


# ---------------------------------------------------------------------------------------------
# Reading an output folder
# ---------------------------------------------------------------------------------------------

def recorded_results(out_dir: Path) -> list[SubmissionResult]:
    """Every readable record's result in ``OUT/records``, sorted by submission id."""
    store = RecordStore(out_dir)
    results = []
    for path in sorted(store.folder.glob("*.json")):
        record = store.load(path.stem)
        if record is not None:
            result = SubmissionResult.from_dict(record["result"])
            result.submission = path.stem
            results.append(result)
    return results


# ---------------------------------------------------------------------------------------------
# Writing the reports
# ---------------------------------------------------------------------------------------------

def write_reports(out_dir: Path, results: Sequence[SubmissionResult],
                  question_max: Mapping[str, float] | None = None, formats: Sequence[str] = (),
                  visibility: str = report.DEFAULT_VISIBILITY) -> dict[str, Path]:
    """Write every report of ``results`` under ``out_dir`` with the folder's identities and
    TA scores (the written questions are in every report; one no TA has scored yet is in
    neither the score nor the maximum), the index of the written pages and the TAs' score
    sheet (:func:`written.write_ta_files`), and the folder's lateness policy
    (:func:`lateness.load_policy`: its columns in the gradebook, its penalty off every total
    and export); ``formats``: exports to write
    (``grades_<format>.csv``), kept in the folder's export settings, besides those stored or
    already written there (rewritten, so that no export keeps older scores). Returns the paths
    by name."""
    out_dir = Path(out_dir)
    results = with_manual_scores(out_dir, results)
    identities = roster.load_identities(out_dir)
    maxima = report.question_maxima(results, question_max)
    paths = report.write_all(results, out_dir, maxima, visibility=visibility,
                             identities=identities, late=lateness.load_policy(out_dir))
    stored = exports.save_export_settings(out_dir, formats=formats).formats
    for fmt in sorted(set(stored) | written_formats(out_dir)):
        paths[f"grades_{fmt}"] = exports.write_export(fmt, results, maxima, identities, out_dir)
    paths.update(written.write_ta_files(out_dir, [result.submission for result in results]))
    return paths


def with_manual_scores(out_dir: Path, results: Sequence[SubmissionResult]) -> list[SubmissionResult]:
    """``results`` with the written questions and the TA scores stored in ``out_dir``
    (:func:`written.with_manual`; unchanged when the lab has no written question)."""
    questions = written.written_questions()
    if not questions:
        return list(results)
    manual = written.load_manual(Path(out_dir))
    return [written.with_manual(result, questions, manual) for result in results]


def written_formats(out_dir: Path) -> set[str]:
    """The export formats whose ``grades_<format>.csv`` is in ``out_dir``."""
    return {fmt for fmt in exports.FORMATS if (Path(out_dir) / f"grades_{fmt}.csv").is_file()}


# ---------------------------------------------------------------------------------------------
# Merging shards
# ---------------------------------------------------------------------------------------------

def merge_outputs(shard_dirs: Sequence[Path], out_dir: Path) -> list[SubmissionResult]:
    """Copy the records, identities, export settings, TA scores and written-answer pages of
    every shard output folder into ``out_dir`` (which may be one of them); returns the merged
    results, sorted by id.

    Raises:
        MergeError: a folder is not a grade output (no ``records/``), or two folders hold
            different gradings of the same submission (different content or settings: graded
            from different files).
    """
    out_dir = Path(out_dir)
    target = RecordStore(out_dir)
    target.folder.mkdir(parents=True, exist_ok=True)
    origin: dict[str, Path] = {}
    shards = list(map(Path, shard_dirs))
    _check_one_profile(shards)
    for shard in shards:
        for record in sorted(RecordStore(shard).folder.glob("*.json")):
            _merge_record(record, target, origin)
        roster.save_identities(roster.load_identities(shard), out_dir)
        exports.save_export_settings(out_dir, **exports.stored_export_settings(shard))
        _merge_lateness(shard, out_dir)
        written.save_manual(written.load_manual(shard), out_dir)
        _copy_pages(shard, out_dir)
    return recorded_results(out_dir)


def _merge_lateness(shard: Path, out_dir: Path) -> None:
    """The due date, penalty rule and submission times of ``shard`` into ``out_dir``."""
    stored = lateness.stored_settings(shard)
    if stored:
        lateness.save(out_dir, stored.get("due"), stored.get("penalty"),
                      {sid: lateness.parse_time(made, "a stored time")
                       for sid, made in stored.get("submitted", {}).items()})


def _copy_pages(shard: Path, out_dir: Path) -> None:
    """The written-answer pages of ``shard`` into ``out_dir/written`` (the index and the pages'
    links are rebuilt with the reports) and the graded code the similarity report compares
    into ``out_dir/graded_code`` (:mod:`autograder.frontends.similarity`)."""
    from autograder.frontends.similarity import ENTRIES_FOLDER

    for name in ("written", ENTRIES_FOLDER):
        pages = Path(shard) / name
        if pages.is_dir() and Path(shard).resolve() != Path(out_dir).resolve():
            shutil.copytree(pages, Path(out_dir) / name, dirs_exist_ok=True)


def _check_one_profile(shards: Sequence[Path]) -> None:
    """MergeError unless every folder is a grade output and all were graded with one profile
    (an offline grade and a cifar10-cpu one must not make one gradebook)."""
    profiles: dict[str, Path] = {}  # profile -> the first folder graded with it
    for shard in shards:
        folder = RecordStore(shard).folder
        if not folder.is_dir():  # an empty shard has the folder, without records
            raise MergeError(f"{shard} has no records/ folder: not a grade --out folder")
        for record in folder.glob("*.json"):
            profiles.setdefault(_profile(record), shard)
    if len(profiles) > 1:
        found = ", ".join(f"{profile!r} ({folder})" for profile, folder in profiles.items())
        raise MergeError(f"the folders were graded with different profiles: {found}; grade "
                         f"every shard with the same --profile")


def _profile(record: Path) -> str:
    """The profile a record was graded with ("?" when it does not say)."""
    settings = json.loads(record.read_text(encoding="utf-8")).get("settings") or {}
    return str(settings.get("profile", "?"))


def _merge_record(record: Path, target: RecordStore, origin: dict[str, Path]) -> None:
    """Copy one record into ``target`` unless the same grading is there already."""
    destination = target.path(record.stem)
    if record.resolve() == destination.resolve():
        origin.setdefault(record.stem, record)
        return
    if record.stem in origin and _identity(origin[record.stem]) != _identity(record):
        raise MergeError(f"{record.stem} was graded in two shards from different files or "
                         f"settings ({origin[record.stem].parent.parent} and "
                         f"{record.parent.parent}); grade each submission in one shard")
    origin[record.stem] = record
    shutil.copy2(record, destination)


def _identity(record: Path) -> tuple:
    data = json.loads(record.read_text(encoding="utf-8"))
    return data.get("fingerprint"), json.dumps(data.get("settings"), sort_keys=True)


# ---------------------------------------------------------------------------------------------
# Grading a class into OUT (what ``grade`` and ``demo`` run; the kit's harness and benchmarks too)
# ---------------------------------------------------------------------------------------------

def grade_class(submissions: Sequence[batch.Submission], grader, out_dir: Path,
                workers: int = 1, redo: bool = False, progress: bool = True,
                visibility: str = report.DEFAULT_VISIBILITY, identities=None,
                formats: Sequence[str] = ()) -> batch.BatchRun:
    """Grade ``submissions`` with ``grader`` (a :class:`batch.CoreGrader`, or any picklable
    grading function with the same attributes: ``deadline_s``, ``settings``, ``preload``,
    ``question_max()``), write every report under ``out_dir`` (with the submitters of
    ``identities``, the exports of ``formats`` and the written-answer pages) and print the
    summary; returns the batch run."""
    from autograder.frontends import similarity

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    roster.save_identities(identities or {}, out_dir)
    profile = (getattr(grader, "settings", None) or {}).get("profile")
    if profile:
        print(f"grading profile: {profile}")
    isolation = getattr(grader, "isolation", None)
    if isolation:
        print(f"student code isolation: {isolation}")
    if getattr(grader, "permissions_only", False):
        _protect_batch_files(submissions, out_dir)
    max_workers = getattr(grader, "max_workers", None)
    if max_workers and workers > max_workers:
        print(f"grading one submission at a time: under {isolation} parallel sandboxes could "
              "share files in /tmp and /dev/shm")
        workers = max_workers
    run = batch.run_batch(submissions, grader, out_dir, workers=workers,
                          deadline_s=grader.deadline_s, redo=redo, settings=grader.settings,
                          question_max=grader.question_max(), progress=progress,
                          preload=grader.preload)
    results = class_results(out_dir, run.results)
    question_max = report.question_maxima(results, grader.question_max())
    paths = write_reports(out_dir, results, question_max, formats, visibility)
    written.write_pages(submissions, out_dir, roster.load_identities(out_dir))
    copies = similarity.report_class(submissions, results, out_dir)
    shown = with_manual_scores(out_dir, results)  # as the gradebook has them
    print(report.summary_table(shown, report.question_maxima(shown, question_max),
                               per_submission=len(shown) <= MAX_ROWS_PRINTED,
                               late=lateness.load_policy(out_dir)))
    print(f"\ngraded {len(run.graded)}, reused {len(run.skipped)} recorded "
          f"(--redo grades them again) in {run.seconds:.0f} s with {workers} worker(s)")
    print(f"gradebook: {out_dir / 'gradebook.csv'}   report: {out_dir / 'class_report.md'}   "
          f"feedback: {out_dir / 'feedback'}/   written answers: {out_dir / 'written'}/ (TAs: "
          f"copy and fill written/{written.SCORE_SHEET}, then merge-manual)")
    if copies:
        print(copies)
    print_class_notes(out_dir, shown, paths)
    return run


def print_class_notes(out_dir: Path, results: Sequence, paths: Mapping[str, Path]) -> None:
    """After the reports of ``out_dir`` (``results`` with the TA scores): the lateness of the
    class when a due date is set, and a warning when the Canvas export holds points so far."""
    policy = lateness.load_policy(out_dir)
    if policy.due:
        late = [sid for sid in (r.submission for r in results) if policy.late_seconds(sid)]
        timed = sum(policy.late_seconds(r.submission) is not None for r in results)
        rule = f"; penalty {policy.rule.text}" if policy.rule else ""
        print(f"due {policy.due.isoformat()}: {len(late)} of {timed} submission(s) with a "
              f"submission time late{rule} (gradebook: submitted_at, late_hours"
              f"{', late_penalty' if policy.rule else ''})")
    elif policy.rule:
        print(f"late penalty {policy.rule.text} stored, but no due date: nothing is deducted "
              "until grade is given --due")
    if "grades_canvas" in paths:
        identities = roster.load_identities(out_dir)
        unmatched = exports.canvas_unmatched(results, identities)
        if unmatched:
            print(f"{len(unmatched)} submission(s) match no student Canvas knows (no ID, SIS "
                  f"User ID or SIS Login ID) and are left out of grades_canvas.csv (they stay "
                  f"in gradebook.csv): {', '.join(unmatched[:10])}"
                  + (" ..." if len(unmatched) > 10 else ""))
        warning = exports.canvas_pending_warning(results, identities,
                                                exports.load_export_settings(out_dir))
        if warning:
            print(warning)


def class_results(out_dir: Path, graded: Sequence) -> list:
    """Every submission recorded in ``out_dir`` (this run's results over older records), sorted
    by id: the reports are always of the whole class, so regrading one student into the class
    folder keeps every other row."""
    results = {result.submission: result for result in recorded_results(out_dir)}
    results.update((result.submission, result) for result in graded)
    return [results[key] for key in sorted(results)]


def _protect_batch_files(submissions: Sequence[batch.Submission], out_dir: Path) -> None:
    """Make every submission and the output folder root-only, where nothing but permissions
    keeps them from the sandbox uid (a submission could otherwise read another's files and
    grades). Side effect: chown/chmod of those paths (never of the folders holding them)."""
    from autograder.sandbox import harden_permissions

    harden_permissions([out_dir, *(submission.path for submission in submissions)])
    print("no Landlock here: the submissions and the output folder were made root-only, so "
          "no student code can read them")

"""Command line of the hardened grader: python -m autograder <command>.

Commands:
  grade PATH... --out DIR   grade notebooks, Otter export zips or folders of them
                            [--roster CSV] [--format otter|gradescope|canvas] [--shard i/N]
                            [--due DATETIME [--late-penalty RULE]]
  merge OUT... --out DIR    combine the records of shard outputs into one gradebook
  merge-manual SCORES.csv --out DIR
                            fold TA scores of the written questions into every report
  calibrate                 run the reference on a profile and store its grading thresholds
  examples                  generate the example submissions from the master notebook
  demo                      generate the examples (cached) and grade them into runs/demo/
  gradescope-zip            build the Gradescope autograder zip (this grader as entry point)
  gradescope-run            grade a submission in Gradescope's layout (the zip's entry point)
  gradescope-prepare        build the grader's caches into the image (the zip's setup.sh)
  footprint                 measure memory and time of one grading in Gradescope's layout
  prairielearn-run          grade /grade/student into /grade/results/results.json

Which paths are submissions: a .ipynb or .zip file is one; a folder that directly holds
exactly one notebook, no zip and no subfolder with a notebook or zip is one (the notebook and
the files beside it); any other folder holds submissions: each notebook, each zip and each
subfolder in it (see autograder/core/batch.py for the details).

What grade writes under --out DIR:
  gradebook.csv                 one row per submission: id, name, sid, email, q1..qN, total,
                                max, percent, status, isolation, reason
  grades_<format>.csv           with --format: a CSV that Otter / Gradescope / Canvas imports
  written/<id>.html             the written answers (W1-W4) with the outputs they refer to
  written/index.html            every page with its names and TA scores ("not graded yet")
  written/ta_scores_template.csv  the TAs' score sheet: copy it, fill it, merge-manual it
  identities.json               who submitted what (Gradescope metadata, --roster)
  export_settings.json          the exports' totals (--export-points), Canvas column and
                                formats (--format: merge and regrades write them again)
  similarity.html / .csv        copies across every submission graded here (graded_code/<id>.json:
                                what it compares, kept for regrades and merge)
  lateness.json                 --due, --late-penalty and the Gradescope export's submission
                                times (gradebook: submitted_at, late_hours, late_penalty)
  results/<id>/results.json     Gradescope's results format
  feedback/<id>.txt             the student's feedback: score per question, failed checks
  class_report.png / .md        score histogram, failed checks per check, statuses
  records/<id>.json             one record per submission; a re-run skips what is recorded
                                (same file contents, same settings) unless --redo
Errors in the command line (no such path, nothing to grade) print one line and exit with 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from autograder.manifest import KIT_ROOT
from autograder.core import batch
from autograder.frontends import report
from prunekit.profiles import PROFILE_OPTION_HELP
from autograder.sandbox import IsolationUnavailable
from autograder.sandbox.backend import UNISOLATED_FLAG

REPO_ROOT = KIT_ROOT
DEMO_OUT = REPO_ROOT / "runs" / "demo"
DEMO_PROFILE = "offline"
# The batch's hard limit per submission is the student-code time limit plus this much, for the
# grader's own work (starting up, loading models, the checks, measuring latency).


class CliError(Exception):
    """A usage or set-up problem: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str):  # noqa: D401 - argparse's signature
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 2 usage or set-up error)."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (CliError, batch.DiscoveryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if _data_unavailable(error):
            print(f"error: {error}", file=sys.stderr)
            return 2
        unreadable = _unreadable_kit(error)
        if not unreadable:
            raise
        print(f"error: {unreadable}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished submissions are recorded; run the same command again to "
              "resume", file=sys.stderr)
        return 130


def _data_unavailable(error: BaseException) -> bool:
    """A real-data profile (cifar10, cifar10-cpu) asked for where its images are absent: its one
    message says where it looked and names the offline profile. (Its class is not imported
    here, which would import torch; where it was raised, its module is loaded.)"""
    module = sys.modules.get("prunekit.data.cifar10")
    return module is not None and isinstance(error, module.DataUnavailableError)


def _unreadable_kit(error: BaseException) -> str:
    """What to do when the kit's own files cannot be read by this user ("" for another
    error). A root grader in a container without namespaces makes the secret folders root-only
    (autograder/checks, solutions, assignment, .cache, runs), which a later grading as another
    user meets as a PermissionError, or as a module that seems missing."""
    from autograder.manifest import KIT_ROOT, secret_paths

    locked = [path for path in secret_paths(KIT_ROOT)
              if path.exists() and not os.access(path, os.R_OK | os.X_OK)]
    if not locked or not isinstance(error, (PermissionError, ImportError)):
        return ""
    names = ", ".join(str(path.relative_to(KIT_ROOT)) for path in locked)
    return (f"cannot read the kit's own files ({type(error).__name__}: {error}): {names} "
            f"are not readable by this user; a grading as root without namespaces made them "
            f"root-only. Grade as root again, or give them back: sudo chown -R "
            f"{os.getuid()} {' '.join(str(path) for path in locked)}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m autograder", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(required=True, metavar="command", parser_class=_Parser)

    grade = commands.add_parser("grade", help="grade notebooks, zips or folders of them")
    grade.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                       help="a notebook, an Otter export zip, or a folder (one submission or "
                            "a folder of submissions)")
    grade.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="output folder (gradebook, results, feedback, report, records)")
    grade.add_argument("--roster", type=Path, default=None, metavar="CSV",
                       help="who submitted what: columns submission, student_id, name, email, "
                            "or a Canvas gradebook export as it comes (a Gradescope export's "
                            "submission_metadata.yml is read anyway)")
    grade.add_argument("--canvas-assignment", default=None, metavar="TITLE",
                       help="the Canvas assignment column --format canvas fills (its title or "
                            "id; needed when the Canvas roster has several)")
    grade.add_argument("--shard", default=None, metavar="i/N",
                       help="grade only shard i (0 <= i < N) of the submissions; combine the "
                            "shards' outputs with `merge`")
    grade.add_argument("--due", default=None, metavar="DATETIME",
                       help="the due date, ISO 8601 with an offset (2026-12-01T23:59-08:00): "
                            "a Gradescope export's :created_at: then gives the gradebook "
                            "submitted_at and late_hours; kept for later reports of --out "
                            "(none: forget it)")
    grade.add_argument("--late-penalty", default=None, metavar="RULE",
                       help="with --due: RATE%%/UNIT[, max N UNITs] (UNIT day or hour), e.g. "
                            "'10%%/day, max 3 days': 10%% of the earned points per started day "
                            "late, 0 after 3 days; the totals and exports are after it (none: "
                            "no penalty)")
    _add_format_option(grade)
    _add_grading_options(grade)
    grade.set_defaults(run=_grade)

    merge = commands.add_parser("merge", help="combine shard outputs into one gradebook")
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD_OUT",
                       help="the --out folders of `grade --shard` runs")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR")
    merge.add_argument("--visibility", default=report.DEFAULT_VISIBILITY,
                       choices=report.GRADESCOPE_VISIBILITIES)
    _add_format_option(merge)
    merge.set_defaults(run=_merge)

    manual = commands.add_parser("merge-manual", help="fold TA scores of the written "
                                                      "questions into the reports")
    manual.add_argument("scores", type=Path, metavar="SCORES.csv",
                        help="columns: submission (or email, or sid), w1, w1_comment, w2, ... "
                             "(the sheet grade writes: written/ta_scores_template.csv)")
    manual.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="the grade --out folder")
    manual.add_argument("--visibility", default=report.DEFAULT_VISIBILITY,
                        choices=report.GRADESCOPE_VISIBILITIES)
    _add_format_option(manual)
    manual.set_defaults(run=_merge_manual)

    calibrate = commands.add_parser("calibrate", help="run the reference on a profile and "
                                                      "store its grading thresholds")
    calibrate.add_argument("--profile", default=None, help=PROFILE_OPTION_HELP)
    calibrate.add_argument("--out", type=Path, default=None, metavar="FILE",
                           help="where to write the calibration (default: the core's place)")
    calibrate.add_argument("--new-secrets", action="store_true",
                           help="draw a new grading salt and hidden-split seed (a course that "
                                "forks the kit must not keep the published ones); later "
                                "gradings then draw other inputs")
    calibrate.set_defaults(run=_calibrate)

    examples = commands.add_parser("examples", help="generate the example submissions")
    examples.add_argument("--out", type=Path, default=None, metavar="DIR",
                          help="default: runs/examples")
    examples.add_argument("--profile", default=DEMO_PROFILE, help="profile of the reference "
                                                                  "models (default: offline)")
    examples.add_argument("--force", action="store_true", help="rebuild even if up to date")
    examples.set_defaults(run=_examples)

    demo = commands.add_parser("demo", help="generate the examples (cached) and grade them "
                                            "offline into runs/demo/")
    demo.add_argument("--out", type=Path, default=DEMO_OUT, metavar="DIR",
                      help="default: runs/demo")
    demo.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                      help="parallel grading workers (default: the CPU count)")
    demo.add_argument("--timeout", type=float, default=None, metavar="S",
                      help="seconds per submission for the student's code (default: the core's)")
    demo.add_argument("--redo", action="store_true", help="grade again what is recorded")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_isolation_option(demo)
    demo.set_defaults(run=_demo)

    gs_zip = commands.add_parser("gradescope-zip", help="build the Gradescope autograder zip")
    gs_zip.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="default: runs/gradescope/prunekit-autograder.zip")
    gs_zip.add_argument("--profile", default=DEMO_PROFILE,
                        help="profile the zip grades with (default: offline)")
    gs_zip.add_argument("--visibility", default=report.GRADESCOPE_RUN_VISIBILITY,
                        choices=report.GRADESCOPE_VISIBILITIES,
                        help="when students see each question's checks (default: "
                             "after_published, i.e. once grades are published)")
    gs_zip.set_defaults(run=_gradescope_zip)

    footprint = commands.add_parser("footprint", help="measure the memory and time of one "
                                                      "grading on a simulated Gradescope layout")
    footprint.add_argument("--memory", type=float, default=None, metavar="MIB",
                           help="also run inside a memory cgroup of this many MiB (root)")
    footprint.add_argument("--cpus", type=float, default=None, metavar="N",
                           help="and this CPU quota (Gradescope's default share: 0.5)")
    footprint.add_argument("--profile", default=DEMO_PROFILE, help="default: offline")
    footprint.add_argument("--write", action="store_true",
                           help="store the figures in autograder/frontends/gradescope_footprint.json "
                                "(what gradescope-zip prints its settings from)")
    footprint.set_defaults(run=_footprint)

    gs_run = _add_platform_run(commands, "gradescope-run", "submission", Path("/autograder"),
                               "Gradescope", _gradescope_run)
    gs_run.add_argument("--visibility", default=None, choices=report.GRADESCOPE_VISIBILITIES,
                        help="of the question rows (default: the zip's, set by gradescope-zip)")

    gs_prepare = commands.add_parser("gradescope-prepare", help="build the grader's caches "
                                                                "into the image (setup.sh)")
    gs_prepare.add_argument("--profile", default=None, help="default: the zip's, else offline")
    gs_prepare.set_defaults(run=_gradescope_prepare)

    pl_run = _add_platform_run(commands, "prairielearn-run", "student", Path("/grade"),
                               "PrairieLearn", _prairielearn_run)
    pl_run.add_argument("--profile", default=None, help="default: the zip's, else offline")
    return parser


def _add_format_option(command: argparse.ArgumentParser) -> None:
    from autograder.frontends.exports import EXPORT_POINTS, FORMATS

    command.add_argument("--format", dest="formats", action="append", default=[],
                         choices=FORMATS, help="also write grades_<format>.csv for a grade "
                                               "import (repeatable)")
    command.add_argument("--export-points", default=None, choices=EXPORT_POINTS,
                         help="what the exports' totals hold: all points (the default) or the "
                              "autograded questions alone (the written ones stay their own "
                              "columns); kept for later exports into the same --out")


def _add_grading_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                         help="parallel grading workers, one process each (default: the CPU "
                              "count)")
    command.add_argument("--timeout", type=float, default=None, metavar="S",
                         help="seconds per submission for the student's code (default: the "
                              "core's limit); the batch stops a worker still busy "
                              f"{batch.DEADLINE_GRACE_SECONDS:.0f} s after that (plus the time "
                              "the profile's model evaluations may take) and records status "
                              "timeout")
    command.add_argument("--redo", action="store_true",
                         help="grade again the submissions that have a record")
    command.add_argument("--profile", default=None,
                         help=PROFILE_OPTION_HELP)
    command.add_argument("--visibility", default=report.DEFAULT_VISIBILITY,
                         choices=report.GRADESCOPE_VISIBILITIES,
                         help="Gradescope visibility of the question rows in results.json")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_isolation_option(command)


def _add_platform_run(commands, name: str, folder: str, root: Path, platform: str,
                      run) -> argparse.ArgumentParser:
    """The command ``name`` that grades a platform's ROOT/``folder`` into
    ROOT/results/results.json, with its ``--root`` (default ``root``), ``--timeout`` and the
    isolation option."""
    command = commands.add_parser(name, help=f"grade ROOT/{folder} into "
                                              "ROOT/results/results.json")
    command.add_argument("--root", type=Path, default=root,
                         help=f"{platform}'s folder (default: {root})")
    command.add_argument("--timeout", type=float, default=None, metavar="S",
                         help="seconds for the student's code (default: the core's)")
    _add_isolation_option(command)
    command.set_defaults(run=run)
    return command


def _add_isolation_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(UNISOLATED_FLAG, dest="allow_unisolated", action="store_true",
                         help="grade even where student code cannot be isolated (no "
                              "bubblewrap, no user namespaces, not root): it then runs as "
                              "your user, with network access and your files")


# ---------------------------------------------------------------------------------------------
# grade / demo
# ---------------------------------------------------------------------------------------------

def _grade(args) -> int:
    from autograder.frontends import course, exports, lateness, roster

    submissions = batch.discover(args.paths)
    if args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    if args.timeout is not None and args.timeout <= 0:
        raise CliError(f"--timeout must be positive, got {args.timeout}")
    try:
        for value, check in ((args.due, lateness.parse_time),
                             (args.late_penalty, lateness.parse_rule)):
            if value is not None and value.strip().lower() != lateness.CLEAR:
                check(value)  # before anything is written
        identities = roster.identities_for(args.paths, args.roster, submissions)
        times, unreadable = lateness.submission_times(args.paths)
        lateness.save(args.out, args.due, args.late_penalty, times)
        if unreadable:
            print(f"{len(unreadable)} submission(s) have a :created_at: that cannot be read "
                  f"(no lateness for them): {', '.join(unreadable[:10])}")
        exports.save_export_settings(args.out, points=args.export_points,
                                    canvas_column=_canvas_column(args))
        if args.shard:
            index, count = course.parse_shard(args.shard)
            submissions = course.select_shard(submissions, index, count)
            course.record_shard(args.out, index, count)
            print(f"shard {index}/{count}: {len(submissions)} submission(s)")
    except ValueError as error:  # RosterError, a malformed --shard
        raise CliError(str(error)) from None
    _print_identity_gaps(submissions, identities, sharded=bool(args.shard))
    if not submissions:  # an empty shard: nothing to grade; `merge` accepts its empty records
        batch.RecordStore(args.out).folder.mkdir(parents=True, exist_ok=True)
        print("this shard holds no submission")
        return 0
    grader = _core_grader(args.profile, args.timeout, allow_unisolated=args.allow_unisolated)
    run = course.grade_class(submissions, grader, args.out, workers=args.workers,
                             redo=args.redo, progress=not args.quiet,
                             visibility=args.visibility, identities=identities,
                             formats=args.formats)
    return 0 if run.results else 2


def _print_identity_gaps(submissions: Sequence[batch.Submission], identities: Mapping,
                         sharded: bool) -> None:
    """Say which submissions have no submitter (their export rows cannot be matched to a
    student) and, unless grading one shard, which roster or metadata entries have no
    submission; nothing when no identities were given."""
    if not identities:
        return
    ids = {submission.id for submission in submissions}
    unnamed = sorted(ids - set(identities))
    if unnamed:
        print(f"{len(unnamed)} submission(s) have no submitter in the roster or metadata (their "
              f"rows in the exports match no student; a Canvas gradebook roster matches "
              f"files named by SIS User ID, SIS Login ID or Canvas's download): "
              f"{', '.join(unnamed[:10])}"
              + (" ..." if len(unnamed) > 10 else ""))
    missing = sorted(set(identities) - ids)
    if missing and not sharded:
        print(f"{len(missing)} roster or metadata entr(ies) have no submission here (no row "
              f"for them): {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))


def _canvas_column(args) -> str | None:
    """The Canvas assignment column of ``grade``'s options (None: keep the stored one)."""
    from autograder.frontends import roster

    if args.roster is None and args.canvas_assignment is None:
        return None
    return roster.canvas_column(args.roster, args.canvas_assignment)


def _merge(args) -> int:
    from autograder.frontends import course, exports, similarity
    from autograder.frontends import lateness

    try:
        results = course.merge_outputs(args.shards, args.out)
    except course.MergeError as error:
        raise CliError(str(error)) from None
    question_max = report.question_maxima(results)
    exports.save_export_settings(args.out, points=args.export_points)
    paths = course.write_reports(args.out, results, question_max, args.formats,
                                 args.visibility)
    shown = course.with_manual_scores(args.out, results)  # as the gradebook has them
    print(report.summary_table(shown, report.question_maxima(shown, question_max),
                               per_submission=len(shown) <= course.MAX_ROWS_PRINTED,
                               late=lateness.load_policy(args.out)))
    course.print_class_notes(args.out, shown, paths)
    print(f"\nmerged {len(results)} submission(s) from {len(args.shards)} folder(s); "
          f"gradebook: {args.out / 'gradebook.csv'}")
    print(similarity.report_folder(args.out))
    missing = course.missing_shards(args.shards)
    if missing:
        print(f"warning: no folder holds shard(s) {', '.join(missing)}: their submissions are "
              "not in this gradebook (grade them, then merge again)")
    return 0


def _merge_manual(args) -> int:
    from autograder.frontends import course, exports, roster, written

    results = course.recorded_results(args.out)
    if not results:
        raise CliError(f"{args.out} holds no graded submission (records/*.json): run grade "
                       "--out there first")
    questions = written.written_questions()
    if not questions:
        raise CliError("the lab has no written question (autograder/questions.json)")
    try:
        scores = written.read_manual_scores(args.scores, questions,
                                            [r.submission for r in results],
                                            roster.load_identities(args.out))
    except written.ManualScoresError as error:
        raise CliError(str(error)) from None
    written.save_manual(scores, args.out)
    exports.save_export_settings(args.out, points=args.export_points)
    paths = course.write_reports(args.out, results, report.question_maxima(results), args.formats,
                                 args.visibility)
    exports = sorted(name for name in paths if name.startswith("grades_"))
    print(f"merged TA scores of {len(scores)} submission(s) into {args.out} (gradebook, "
          f"{', '.join(exports) + ', ' if exports else ''}class report, results/, feedback/, "
          f"written/index.html)")
    ungraded = [r.submission for r in results
                if set(questions) - set(written.load_manual(args.out).get(r.submission, {}))]
    if ungraded:
        print(f"{len(ungraded)} submission(s) have written questions not scored yet; those count "
              f"in neither their score nor their maximum until a score file gives them (e.g. "
              f"{', '.join(ungraded[:3])}); the sheet with every score so far: "
              f"{paths['ta_sheet']}")
    course.print_class_notes(args.out, course.with_manual_scores(args.out, results), paths)
    return 0


def _core_grader(profile: str | None, timeout: float | None, calibrate_if_needed: bool = False,
                 allow_unisolated: bool = False):
    """The hardened grader for ``profile``; with ``calibrate_if_needed`` a profile without a
    calibration is calibrated first (the reference run: a few minutes on the offline profile).
    A machine where student code cannot be isolated is refused (CliError with what is missing)
    unless ``allow_unisolated``."""
    try:
        return batch.CoreGrader(profile=profile, timeout_s=timeout,
                                allow_unisolated=allow_unisolated)
    except IsolationUnavailable as error:
        raise CliError(f"refusing to grade: {error}") from None
    except batch.CoreMissing as error:
        if not (calibrate_if_needed and error.not_calibrated):
            raise CliError(str(error)) from None
    except ValueError as error:  # unknown profile and the like
        raise CliError(str(error)) from None
    except (ImportError, OSError, RuntimeError) as error:  # the pre-flight could not start
        if _data_unavailable(error) or _unreadable_kit(error):
            raise  # each has its own one message, which main prints
        message = " ".join(str(error).split())[:300]
        raise CliError(f"the grader could not start ({type(error).__name__}: {message}); check "
                       "the set-up (`./kit` installs what the grader needs) and try again") \
            from None
    print(f"profile {profile!r} is not calibrated yet: running the reference once to set its "
          f"thresholds (`python -m autograder calibrate --profile {profile}`)")
    from autograder.frontends.calibrate import calibrate

    calibrate(profile)
    return _core_grader(profile, timeout, allow_unisolated=allow_unisolated)


def _demo(args) -> int:
    from autograder.frontends import course, examples

    start = time.monotonic()
    print(f"== example submissions (profile {DEMO_PROFILE}; cached in "
          f"{_shown(examples.DEFAULT_OUT)})")
    made = _make_examples(examples.DEFAULT_OUT, DEMO_PROFILE, force=False)
    for example in made:
        print(f"  {example.zip_path.name:<28} {example.description}")
    print(f"\n== grading them into {_shown(args.out)}")
    grader = _core_grader(DEMO_PROFILE, args.timeout, calibrate_if_needed=True,
                          allow_unisolated=args.allow_unisolated)
    submissions = batch.discover([example.zip_path for example in made])
    course.grade_class(submissions, grader, args.out, workers=max(1, args.workers),
                       redo=args.redo, progress=not args.quiet)
    print(f"\ndemo done in {time.monotonic() - start:.0f} s")
    return 0


# ---------------------------------------------------------------------------------------------
# calibrate / examples / gradescope
# ---------------------------------------------------------------------------------------------

def _calibrate(args) -> int:
    from autograder.frontends.calibrate import calibrate
    from prunekit.profiles import default_profile_name

    profile = args.profile or default_profile_name()
    try:
        values = calibrate(profile, args.out, new_secrets=args.new_secrets)
    except ValueError as error:
        raise CliError(str(error)) from None
    print(f"calibrated profile {profile!r}:")
    for key, value in (values or {}).items():
        print(f"  {key}: {value}")
    return 0


def _examples(args) -> int:
    from autograder.frontends import examples

    out = args.out or examples.DEFAULT_OUT
    made = _make_examples(out, args.profile, force=args.force)
    print(f"{len(made)} example submissions in {_shown(out)}:")
    for example in made:
        loses = ", ".join(example.loses) if example.loses else "nothing"
        print(f"  {example.zip_path.name:<28} {example.description} (should lose: {loses})")
    return 0


def _make_examples(out: Path, profile: str, force: bool):
    from autograder.frontends import examples

    try:
        return examples.make_examples(out, profile, force=force, progress=True)
    except examples.ExampleError as error:
        raise CliError(str(error)) from None


def _gradescope_zip(args) -> int:
    from autograder.frontends import footprint, gradescope

    try:
        path = gradescope.build_zip(args.out, profile=args.profile, visibility=args.visibility)
    except gradescope.GradescopeError as error:
        raise CliError(str(error)) from None
    print(f"Gradescope autograder zip: {path} ({path.stat().st_size / 2**20:.1f} MiB); upload "
          "it as the assignment's autograder (Ubuntu 22.04 base image)")
    seen = {"visible": "right away", "hidden": "never", "after_due_date": "after the due date",
            "after_published": "once grades are published"}.get(args.visibility, "")
    print(f"results visibility: {args.visibility} (students see each question's checks {seen}); "
          f"to change it, build again with --visibility "
          f"{'|'.join(report.GRADESCOPE_VISIBILITIES)}")
    print("\n".join(footprint.settings_lines(profile=args.profile)))
    return 0


FOOTPRINT_EXAMPLES = ("solved", "infinite_loop")  # the common case and the longest grading


def _footprint(args) -> int:
    from autograder.frontends import footprint

    made = {example.name: example for example in
            _make_examples(_examples_folder(), args.profile, force=False)}
    memory = int(args.memory * 2**20) if args.memory else None
    measurements = []
    for name in FOOTPRINT_EXAMPLES:
        measurement = footprint.measure_gradescope(made[name].zip_path, name, args.profile,
                                                   memory, args.cpus)
        print(footprint.describe(measurement), flush=True)
        measurements.append(measurement)
    record = footprint.footprint_record(measurements, _core_grader(args.profile, None).deadline_s,
                                        profile=args.profile)
    print("\n".join(footprint.settings_lines(record)))
    if args.write:
        print(f"written: {_shown(footprint.write_footprint(record))}")
    else:
        print(f"(not stored: --write keeps these figures in {_shown(footprint.FOOTPRINT_FILE)} "
              "for gradescope-zip to print)")
    return 0 if all(m.returncode == 0 for m in measurements) else 1


def _examples_folder() -> Path:
    from autograder.frontends import examples

    return examples.DEFAULT_OUT


def _gradescope_run(args) -> int:
    from autograder.frontends import gradescope

    try:
        result = gradescope.run(args.root, timeout_s=args.timeout,
                                allow_unisolated=args.allow_unisolated,
                                visibility=args.visibility)
    except gradescope.GradescopeError as error:
        raise CliError(str(error)) from None
    print(report.feedback_text(result))
    return 0


def _gradescope_prepare(args) -> int:
    from autograder.frontends import gradescope

    print("\n".join(gradescope.prepare(args.profile)))
    return 0


def _prairielearn_run(args) -> int:
    from autograder.frontends import prairielearn

    try:
        result = prairielearn.run(args.root, timeout_s=args.timeout, profile=args.profile,
                                  allow_unisolated=args.allow_unisolated)
    except prairielearn.PrairieLearnError as error:
        raise CliError(str(error)) from None
    print(report.feedback_text(result))
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

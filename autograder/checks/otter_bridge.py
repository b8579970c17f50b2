"""The same hidden checks on the stock Otter path (``otter run`` / Gradescope's Otter image).

Stock Otter runs hidden tests inside the student's own kernel, so this path has none of the
kit's isolation (see DESIGN.md's threat model): it exists for instructors who want Otter's
pipeline, and gives the same scores as the kit's grader on honest submissions. The master's
hidden test cells hold one case per check (``hidden_check_cells``); each calls
:func:`assert_check`, which runs the question's probes in-process on the notebook's globals
(``env``) once, judges them with the very same checks and fails with the check's feedback
message.

Differences from the kit's grader, by design: inputs are drawn from the grading salt alone
(Otter does not tell a test which submission it grades), model files are read from the current
folder (Otter runs the notebook in the submission's folder), and a check that needs a missing
reference (no calibration, no base checkpoint) fails its question with the reason.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Mapping

import torch

from autograder.results import CheckResult
from autograder.sandbox import Limits, ProbeRequest, call_probe_here
from prunekit.submission import MODEL_FILES

from . import build_plan, judge_plan, question_points
from .base import Context, derive_seed
from .resources import Resources
from .settings import load_settings

MAX_RESULT_BYTES = Limits().result_bytes  # what the sandbox loads back, all together


def _profile_name(env: Mapping[str, Any], profile: str | None) -> str:
    """The profile to grade with: given, else the notebook's ``PROFILE``, else the default."""
    if profile:
        return profile
    notebook_profile = env.get("PROFILE")
    name = getattr(notebook_profile, "name", None)
    if isinstance(name, str):
        return name
    from prunekit.profiles import default_profile_name

    return default_profile_name()


def _otter_context(env: Mapping[str, Any], files_dir: str | Path, profile: str | None) -> Context:
    """The grading context of the Otter path: the profile's settings, a seed from the grading
    salt alone (Otter does not say which submission it grades) and the model files found in
    ``files_dir``."""
    settings = load_settings(_profile_name(env, profile))
    files = {name: Path(files_dir) / name for name in MODEL_FILES
             if (Path(files_dir) / name).is_file()}
    return Context(seed=derive_seed(settings.salt, "otter"), settings=settings,
                   resources=Resources(settings), files=files)


def run_question_inprocess(question: str, env: Mapping[str, Any], files_dir: str | Path = ".",
                           profile: str | None = None) -> list[CheckResult]:
    """Run ``question``'s probes on the notebook globals ``env`` in this process and judge them.

    Args:
        question: "q1" ... "q10".
        env: the notebook's globals (Otter passes them to a test parameter named ``env``).
        files_dir: where ``finegrained.pt`` / ``channel_pruned.pt`` are (the submission folder).
        profile: profile name; default: the notebook's ``PROFILE``, else the default profile.

    Returns:
        One CheckResult per check of the question (points out of the master's point value).

    Raises:
        RuntimeError: a check failed internally (a grader bug, or a broken grading set-up).
    """
    results, errors = judge_inprocess(question, env, _otter_context(env, files_dir, profile),
                                      question_points()[question])
    if errors:
        raise RuntimeError("the hidden checks failed internally:\n" + "\n".join(errors))
    return results


def judge_inprocess(question: str, env: Mapping[str, Any], ctx: Context,
                    points: float) -> tuple[list[CheckResult], list[str]]:
    """Build ``question``'s plan from ``ctx``, call every probe on ``env`` in this process (each
    seeded like in the sandbox; the global generators are restored afterwards) and judge.

    Returns:
        (CheckResults, internal errors), as :func:`autograder.checks.judge_plan`.
    """
    from autograder.probes import lab

    with _kept_random_state():
        plan = build_plan(question, ctx)
        outcomes = {}
        for call in plan.calls.values():
            request = ProbeRequest(plan.request_id(call.key), call.probe, call.kwargs,
                                   seed=derive_seed(ctx.seed, plan.request_id(call.key)) % 2**31)
            outcomes[request.id] = call_probe_here(lab, env, request, MAX_RESULT_BYTES)
        return judge_plan(plan, outcomes, points)


# --- one hidden Otter test case per check: the same partial credit as the kit's grader ---------

_RESULTS_CACHE: dict[str, tuple[tuple, list[CheckResult], list[str]]] = {}


def check_names_and_shares(question: str, profile: str | None = None) -> list[tuple[str, float]]:
    """``[(check name, maximum points)]`` of ``question``, in plan order (the shares
    :func:`autograder.checks.check_shares` gives; names and weights do not depend on the seed)."""
    from . import check_shares

    settings = load_settings(_profile_name({}, profile))
    ctx = Context(seed=0, settings=settings, resources=Resources(settings), files={})
    plan = build_plan(question, ctx)
    shares = check_shares(plan, question_points()[question])
    return [(check.name, share) for check, share in zip(plan.checks, shares)]


def hidden_check_cell(question: str, check: str, points: float) -> str:
    """Source of the hidden test cell of one check of ``question`` (TEST CONFIG ``hidden: true``
    and the check's share of the question's points, written exactly with ``repr``)."""
    return ('""" # BEGIN TEST CONFIG\nhidden: true\n'
            f'points: {points!r}\n""" # END TEST CONFIG\n'
            f"def test_{question}_{check}(env):\n"
            f"    from autograder.checks.otter_bridge import assert_check\n"
            f"    assert_check({question!r}, {check!r}, env)\n")


def hidden_check_cells(profile: str | None = None) -> dict[str, list[str]]:
    """The hidden test cells of every graded question, one per check (question -> sources)."""
    return {question: [hidden_check_cell(question, name, share)
                       for name, share in check_names_and_shares(question, profile)]
            for question in question_points()}


def _fingerprint(env: Mapping[str, Any], files_dir: str | Path) -> tuple:
    names = tuple(sorted((k, id(v)) for k, v in env.items() if not k.startswith("_")))
    stats = []
    for name in MODEL_FILES:
        path = Path(files_dir) / name
        stats.append((name, path.stat().st_mtime_ns, path.stat().st_size) if path.is_file()
                     else (name,))
    return names, tuple(stats)


def assert_check(question: str, check: str, env: Mapping[str, Any],
                 files_dir: str | Path = ".") -> None:
    """Raise AssertionError with the check's feedback unless ``check`` of ``question`` passes
    (what a per-check hidden Otter test case calls). The question's probes run once, for its
    first check (Otter runs a test file's cases in order); later checks reuse those results
    while the notebook's names and the model files are unchanged."""
    first = check_names_and_shares(question)[0][0] == check
    key = _fingerprint(env, files_dir)
    cached = _RESULTS_CACHE.get(question)
    if first or cached is None or cached[0] != key:
        results, errors = judge_inprocess(question, env, _otter_context(env, files_dir, None),
                                          question_points()[question])
        cached = _RESULTS_CACHE[question] = (key, results, errors)
    _, results, errors = cached
    matching = [r for r in results if r.name == check]
    if not matching:
        raise AssertionError(f"{question}: no hidden check named {check!r}")
    if not matching[0].passed:
        internal = [e for e in errors if e.startswith(f"{question}/{check}:")]
        raise AssertionError(f"{question} {check}: {matching[0].message}"
                             + ("\n" + "\n".join(internal) if internal else ""))


class _kept_random_state:
    """Save and restore Python's, NumPy's and torch's global generators: the probes seed them, and
    the student's kernel must not notice."""

    def __enter__(self):
        import numpy

        self.states = (random.getstate(), numpy.random.get_state(), torch.get_rng_state())

    def __exit__(self, *exc):
        import numpy

        python, numpy_state, torch_state = self.states
        random.setstate(python)
        numpy.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)
        return False

"""Tests of the hidden checks (autograder/checks/) on the code questions (those graded without
model files).

The checks run in-process here (``otter_bridge.judge_inprocess``: the same probes, the same
judges, no sandbox), on namespaces built from source: the reference solutions get full marks,
the blank template (every function raising NotImplementedError) gets zero with clear reasons,
and each typical bug loses points on its own question only. The sandboxed path is covered by
test_grade.py. Each graded namespace is graded once per module (fixtures) to keep this fast.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import torch

from autograder import questions
from autograder.checks import GRADED_QUESTIONS, PLAN_BUILDERS, build_plan, check_shares
from autograder.checks.base import Context, Plan
from autograder.checks.otter_bridge import judge_inprocess
from autograder.checks.settings import NotCalibrated, load_settings
from tests.graders import harness
from tests.helpers import code_questions

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLE = questions.load()
CODE_QUESTIONS = code_questions()
# The functions the prompts ask for (the blank notebook's stubs): the graded API but the class
# and the answer variables.
FUNCTIONS = tuple(name for name in harness.student_api() if "." not in name
                  and any(name in TABLE[q].functions for q in TABLE.graded))
SEED = 20240601


def reference_cells() -> list[str]:
    """The reference solutions as notebook cells (solutions/*.py, no package imports) plus the
    reference choices as notebook variables."""
    cells = []
    for path in sorted((REPO_ROOT / "solutions").glob("*.py")):
        if path.name in ("__init__.py", "choices.py"):  # the package's exports, the answers
            continue
        source = path.read_text()
        cells.append(re.sub(r"^from __future__ import annotations\n", "", source, flags=re.M))
    cells.append("from solutions.choices import CHANNEL_PRUNE_RATIO, SPARSITY_DICT, TARGET_SPARSITY\n"
                 "sparsity_dict = dict(SPARSITY_DICT)\n"
                 "channel_prune_ratio = CHANNEL_PRUNE_RATIO\n"
                 "target_sparsity = TARGET_SPARSITY\n")
    return cells


BLANK_CELL = "\n".join(
    [f"def {name}(*args, **kwargs):\n    raise NotImplementedError('{name}: your code here')\n"
     for name in FUNCTIONS]
    + ["class FineGrainedPruner:\n    def __init__(self, model, sparsity_dict):\n"
       "        raise NotImplementedError('FineGrainedPruner: your code here')\n",
       "target_sparsity = ...\nsparsity_dict = {'backbone.conv0.weight': ...}\n"
       "channel_prune_ratio = ...\n"])

# Typical bugs: each must lose points on its question (and, where named, exactly these checks)
# and keep full marks elsewhere. Most are the grader evidence's mutant cases (graded there in
# sandboxes, tests/graders/mutants/), graded here in process too: the case files are their one
# source.
CASE_MUTANTS = ("fgp_crash_all_zeros", "fgp_float_mask", "fgp_greater_equal",
                "fgp_int_truncation", "fgp_not_in_place", "fgp_quantile", "importance_l1",
                "importance_max", "importance_rms", "keep_ceil", "keep_int_truncation",
                "model_sparsity_buffers", "nm_float_mask", "nm_global_half",
                "nm_groups_down_columns", "nm_keeps_smallest", "nm_no_row_check",
                "nm_not_in_place", "nm_ties_keep_later", "num_params_tensor", "size_bytes",
                "sparsity_nan", "sparsity_percent", "target_sparsity_half")


def case_mutant(name: str) -> tuple[str, str]:
    """(the question a mutant case file loses points on, its code as one cell)."""
    case = harness.parse_case(harness.KINDS["mutant"] / f"{name}.py", "mutant")
    return case.loses[0], "\n".join(section.text for section in case.sections)


# The rest: a cell appended to the reference that redefines one thing with the reference's own
# helpers (``_convs_and_bns``, ``_reindexed``, its FineGrainedPruner: a notebook case cannot).
INLINE_MUTANTS = {
    "pruner_apply_noop": ("q5", """
        class FineGrainedPruner(FineGrainedPruner):
            def apply(self, model):
                pass  # BUG: pruned weights grow back
        """),
    "prune_bn_stats_not_sliced": ("q7", """
        def channel_prune(model, prune_ratio):
            model = copy.deepcopy(model)
            convs, bns = _convs_and_bns(model)
            ratios = _ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
            with torch.no_grad():
                for i, ratio in enumerate(ratios):
                    conv, bn, next_conv = convs[i], bns[i], convs[i + 1]
                    keep = torch.arange(get_num_channels_to_keep(conv.out_channels, ratio))
                    conv.weight = _reindexed(conv.weight, keep, dim=0)
                    if conv.bias is not None:
                        conv.bias = _reindexed(conv.bias, keep, dim=0)
                    conv.out_channels = len(keep)
                    bn.weight = _reindexed(bn.weight, keep, dim=0)
                    bn.bias = _reindexed(bn.bias, keep, dim=0)
                    bn.num_features = len(keep)  # BUG: running_mean / running_var not sliced
                    next_conv.weight = _reindexed(next_conv.weight, keep, dim=1)
                    next_conv.in_channels = len(keep)
            return model
        """),
    "prune_modifies_input": ("q7", """
        _reference_prune = channel_prune
        def channel_prune(model, prune_ratio):
            pruned = _reference_prune(model, prune_ratio)
            model.load_state_dict({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                model.classifier.bias.zero_()  # BUG: changes the input model
            return pruned
        """),
    "sorting_ascending": ("q8", """
        def apply_channel_sorting(model):
            model = copy.deepcopy(model)
            convs, bns = _convs_and_bns(model)
            with torch.no_grad():
                for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
                    importance = get_input_channel_importance(next_conv.weight)
                    order = torch.argsort(importance, descending=False)  # BUG: ascending
                    _reindex_out_channels(prev_conv, prev_bn, order)
                    next_conv.weight = _reindexed(next_conv.weight, order, dim=1)
            return model
        """),
    "pruner_apply_reprunes": ("q5", """
        def _apply_reprunes(self, model):
            params = dict(model.named_parameters())
            for name, mask in self.masks.items():  # BUG: prunes again instead of re-masking
                fine_grained_prune(params[name], 1.0 - float(mask.float().mean()))
        FineGrainedPruner.apply = _apply_reprunes
        """),
}
MUTANTS = {**{name: case_mutant(name) for name in CASE_MUTANTS}, **INLINE_MUTANTS}
# Mutants whose points once depended on the drawn inputs (a count, a ratio, a regrowth that
# only some draws exposed): each must lose the same checks under every submission id.
ID_SENSITIVE = ("fgp_quantile", "fgp_int_truncation", "pruner_apply_reprunes", "keep_ceil",
                "keep_int_truncation", "nm_global_half", "nm_ties_keep_later")
SUBMISSION_SEEDS = (SEED, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One torch thread, as the grader runs: small models are faster so, and on a loaded machine
    several OpenMP threads per process slow the tiny checks down tenfold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def settings():
    """The offline profile's grading settings (the code questions do not read them; None where
    the profile is not calibrated)."""
    try:
        return load_settings("offline")
    except NotCalibrated:
        return None


def namespace(cells: list[str]) -> dict:
    """Execute cells as a notebook would, in a fresh namespace."""
    env = {"__name__": "__main__"}
    for index, cell in enumerate(cells):
        exec(compile(textwrap.dedent(cell), f"<cell {index}>", "exec"), env)  # noqa: S102
    return env


def grade_inprocess(env: dict, settings, questions=CODE_QUESTIONS, seed: int = SEED) -> dict:
    """{question: [CheckResult, ...]} for ``env``; fails the test on an internal grader error."""
    ctx = Context(seed=seed, settings=settings, resources=None)
    graded = {}
    for question in questions:
        results, errors = judge_inprocess(question, env, ctx, 1.0)
        assert not errors, errors
        graded[question] = results
    return graded


def score(results) -> float:
    return sum(r.points for r in results)


@pytest.fixture(scope="module")
def reference_graded(settings):
    return grade_inprocess(namespace(reference_cells()), settings)


@pytest.fixture(scope="module")
def blank_graded(settings):
    return grade_inprocess(namespace([BLANK_CELL]), settings)


# --- the reference and the blank template ------------------------------------------------------

def test_reference_gets_full_marks(reference_graded):
    """The reference solutions pass every check of q1-q5, q7 and q8."""
    for question, results in reference_graded.items():
        failed = [(r.name, r.message) for r in results if not r.passed]
        assert not failed, f"{question}: {failed}"
        assert score(results) == pytest.approx(1.0)


def test_blank_template_gets_zero_with_reasons(blank_graded):
    """Every check of the blank template fails, and every message says why in student terms
    (NotImplementedError with the stub's hint, or the unfilled variable)."""
    for question, results in blank_graded.items():
        assert score(results) == 0.0, question
        for result in results:
            assert result.message, (question, result.name)
            assert ("NotImplementedError" in result.message
                    or "not filled in yet" in result.message), (question, result.message)


def test_messages_name_the_input_not_the_check_source(blank_graded, reference_graded):
    """Feedback describes calls on small inputs; it never contains check or reference source."""
    messages = [r.message for results in blank_graded.values() for r in results]
    assert any("fine_grained_prune(tensor of shape" in m for m in messages)
    forbidden = ("def ", "solutions", "assert ", "kthvalue", "autograder", "Traceback")
    for message in messages:
        assert not any(word in message for word in forbidden), message


# --- typical bugs lose points on their question only -------------------------------------------

@pytest.fixture(scope="module")
def mutant_graded(settings):
    """Every mutant graded once (the reference plus one redefining cell)."""
    base = reference_cells()
    return {name: grade_inprocess(namespace(base + [textwrap.dedent(source)]), settings)
            for name, (_, source) in MUTANTS.items()}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_loses_points_on_its_question_only(mutant, mutant_graded):
    """The bug costs points on its question (with a message) and nothing elsewhere."""
    question = MUTANTS[mutant][0]
    graded = mutant_graded[mutant]
    assert score(graded[question]) < 1.0 - 1e-9, f"{mutant} kept full marks on {question}"
    failed = [r for r in graded[question] if not r.passed]
    assert all(r.message for r in failed)
    for other, results in graded.items():
        if other != question:
            lost = [(r.name, r.message) for r in results if not r.passed]
            assert not lost, f"{mutant} lost points on {other}: {lost}"


def test_mutant_messages_name_the_property(mutant_graded):
    """Feedback of a few bugs names what is wrong."""
    def messages(mutant, question):
        return " ".join(r.message for r in mutant_graded[mutant][question] if not r.passed)

    assert "strictly greater" in messages("fgp_greater_equal", "q3")
    assert "Python's round, not int()" in messages("fgp_int_truncation", "q3")
    assert "torch.bool" in messages("fgp_float_mask", "q3")
    assert "in place" in messages("fgp_not_in_place", "q3")
    assert "percent" in messages("sparsity_percent", "q1")
    assert "nan" in messages("sparsity_nan", "q1")
    assert "buffers" in messages("model_sparsity_buffers", "q1")
    assert "bytes" in messages("size_bytes", "q2")
    assert "Python int" in messages("num_params_tensor", "q2")
    assert "keeps 13 of the 25 entries" in messages("target_sparsity_half", "q4")
    assert "non-zero again" in messages("pruner_apply_noop", "q5")
    assert "truncates" in messages("keep_int_truncation", "q7")
    assert "running" in messages("prune_bn_stats_not_sliced", "q7")
    assert "changed the input model" in messages("prune_modifies_input", "q7")
    assert "ascending" in messages("sorting_ascending", "q8")
    assert "L1" in messages("importance_l1", "q8")
    assert "largest magnitude in weight[:, i]" in messages("importance_max", "q8")
    assert "root mean square" in messages("importance_rms", "q8")
    assert "torch.quantile" in messages("fgp_quantile", "q3")
    assert "re-apply the masks" in messages("pruner_apply_reprunes", "q5")
    assert "the 2 smallest magnitudes of each group" in messages("nm_keeps_smallest", "q10")
    assert "down each column" in messages("nm_groups_down_columns", "q10")
    assert "in place" in messages("nm_not_in_place", "q10")
    assert "torch.bool" in messages("nm_float_mask", "q10")
    assert "kept the later of entries with equal magnitude" in messages("nm_ties_keep_later", "q10")
    assert "not per group" in messages("nm_global_half", "q10")
    assert "27 entries, not a multiple of m = 4" in messages("nm_no_row_check", "q10")


@pytest.mark.parametrize("mutant", ID_SENSITIVE)
def test_mutant_loses_the_same_checks_under_every_submission_id(mutant, settings):
    """Graded on six seeds (six input draws), the mutant fails the same checks of its question
    every time: what decides partial credit (counts, ratios, regrowth) is in every draw."""
    question, source = MUTANTS[mutant]
    env = namespace(reference_cells() + [textwrap.dedent(source)])
    failed = {seed: tuple(r.name for r in grade_inprocess(env, settings, (question,),
                                                          seed)[question] if not r.passed)
              for seed in SUBMISSION_SEEDS}
    assert len(set(failed.values())) == 1, failed
    assert failed[SEED], f"{mutant} passed every check of {question}"


def test_keep_count_bug_costs_its_own_checks_only(mutant_graded):
    """A get_num_channels_to_keep that rounds up fails its own checks, named as math.ceil;
    channel_prune, which uses it, is judged against its counts and loses nothing."""
    failed = {r.name: r.message for r in mutant_graded["keep_ceil"]["q7"] if not r.passed}
    assert set(failed) == {"num_channels_values", "num_channels_int"}, failed
    assert "math.ceil" in failed["num_channels_values"]


def test_channel_prune_that_keeps_everything_earns_nothing_with_a_count_that_does_too(settings):
    """channel_prune is judged against the notebook's own keep counts, but not when those keep
    every channel: a get_num_channels_to_keep returning ``channels`` and a channel_prune
    returning a copy of its input earn nothing on q7."""
    stub = """
        def get_num_channels_to_keep(channels, prune_ratio):
            return channels

        def channel_prune(model, prune_ratio):
            return copy.deepcopy(model)
        """
    env = namespace(reference_cells() + [textwrap.dedent(stub)])
    assert score(grade_inprocess(env, settings, questions=("q7",))["q7"]) == 0.0


def test_stub_that_ranks_nothing_earns_nothing(settings):
    """A fine_grained_prune that zeroes only the first entry (in place, as a bool mask, every
    entry at sparsity 1) has every trivial property but ranks nothing: it earns nothing on q3,
    and the reference pruner that calls it nothing on q5, under any seed."""
    stub = """
        def fine_grained_prune(tensor, sparsity):
            mask = torch.ones_like(tensor, dtype=torch.bool)
            if sparsity >= 1:
                mask.zero_()
            elif sparsity > 0:
                mask.view(-1)[0] = False
            with torch.no_grad():
                tensor.mul_(mask)
            return mask
        """
    env = namespace(reference_cells() + [textwrap.dedent(stub)])
    for seed in (SEED, 7):
        graded = grade_inprocess(env, settings, questions=("q3", "q5"), seed=seed)
        assert score(graded["q3"]) == 0.0 and score(graded["q5"]) == 0.0, seed


def test_nm_stub_that_prunes_no_pattern_earns_nothing(settings):
    """An nm_prune that raises the right ValueErrors and returns a bool mask keeping every
    entry (the tensor untouched, as n = m asks) has the trivial properties but keeps no N:M
    pattern: it earns nothing on q10, under any seed."""
    stub = """
        def nm_prune(tensor, n=2, m=4):
            _check_pattern(tensor, n, m)
            return torch.ones_like(tensor, dtype=torch.bool)
        """
    env = namespace(reference_cells() + [textwrap.dedent(stub)])
    for seed in (SEED, 7):
        assert score(grade_inprocess(env, settings, questions=("q10",), seed=seed)["q10"]) == 0.0


def test_ranking_scope_tells_whole_tensor_from_per_row_thresholds():
    """ranking_scope: 0 for a whole-tensor threshold, 1 for one threshold per row (the same
    count pruned in each), None for a mask that prunes entries it did not rank."""
    from autograder.checks.q_fine_grained import ranking_scope

    tensor = torch.tensor([[0.1, 0.9, 0.5], [0.6, 0.7, 0.8]])
    assert ranking_scope(tensor, tensor.abs() > 0.55) == 0
    assert ranking_scope(tensor, torch.tensor([[False, True, True], [False, True, True]])) == 1
    assert ranking_scope(tensor, torch.tensor([[True, False, True], [True, True, True]])) is None


# --- missing definitions, wrong types, determinism ---------------------------------------------

def test_missing_function_costs_its_questions_with_the_reason(settings):
    """Without get_sparsity, q1's get_sparsity checks fail with "get_sparsity is not defined";
    get_model_sparsity's checks and other questions are unaffected."""
    env = namespace(reference_cells() + ["del get_sparsity\n"])
    graded = grade_inprocess(env, settings, questions=("q1", "q3"))
    by_name = {r.name: r for r in graded["q1"]}
    assert not by_name["get_sparsity_values"].passed
    assert by_name["get_sparsity_values"].message.startswith("get_sparsity is not defined")
    assert by_name["get_model_sparsity_values"].passed
    assert score(graded["q3"]) == pytest.approx(1.0)


@pytest.mark.parametrize("cell, question, needle", [
    ("def get_num_channels_to_keep(c, r):\n    return 'many'\n", "q7", "not a number"),
    ("def get_input_channel_importance(w):\n    return w.pow(2).sum(dim=(0, 2, 3)).sqrt().tolist()\n", "q8",
     "not a tensor"),
    ("def fine_grained_prune(t, s):\n    return None\n", "q3", "returned None"),
    ("def channel_prune(model, ratio):\n    return model.state_dict()\n", "q7", "not an nn.Module"),
    ("class FineGrainedPruner:\n    def __init__(self, model, d):\n        pass\n"
     "    def apply(self, model):\n        pass\n", "q5", "no attribute masks"),
    ("def get_sparsity(t):\n    return torch.tensor(float('nan'))\n", "q1", "nan"),
])
def test_wrong_types_fail_with_clear_messages(settings, cell, question, needle):
    """Wrong return types and NaNs fail their checks with a message, never crash the grader."""
    graded = grade_inprocess(namespace(reference_cells() + [cell]), settings,
                             questions=(question,))
    messages = " ".join(r.message for r in graded[question] if not r.passed)
    assert score(graded[question]) < 1.0 and needle in messages, messages


def test_same_seed_same_inputs_other_seed_other_inputs(settings):
    """Plans drawn from one seed are identical (a re-grade sees the same inputs); another
    submission's seed draws other inputs."""
    def first_input(seed):
        plan = build_plan("q3", Context(seed=seed, settings=settings, resources=None))
        return plan.calls["exact1"].kwargs["args"][0]

    assert first_input(5).equal(first_input(5))
    assert not first_input(5).equal(first_input(6))


def test_check_shares_add_up_exactly():
    """A question's check shares add up (in grading order) to exactly its points."""
    for points in (1.0, 2.0, 3.0, 4.0, 7.0):
        plan = Plan("qx", ())
        for index, weight in enumerate((1, 4, 2, 1, 1, 1, 3)):
            plan.add_check(f"c{index}", weight, "", lambda out: None)
        total = 0.0
        for share in check_shares(plan, points):
            total += share
        assert total == points


def test_every_question_has_a_plan():
    """The registry covers every graded question of the table, in order."""
    assert GRADED_QUESTIONS == TABLE.graded
    assert tuple(PLAN_BUILDERS) == TABLE.graded


def test_grader_file_errors_are_not_charged_to_the_student():
    """A check that cannot read the grader's own files (OSError) stops the judging, so that the
    submission becomes a grader error (graded again next run), while any other exception fails
    only its own check."""
    from autograder.checks import judge_plan
    from autograder.checks.base import Plan

    def plan_raising(error: Exception) -> Plan:
        def judge_reading_a_grader_file(out):
            raise error

        plan = Plan("q1", ("get_sparsity",))
        plan.add_check("reads_base_model", 1, "a check that reads a grader file",
                       judge_reading_a_grader_file)
        plan.add_check("other", 1, "another check", lambda out: None)
        return plan

    with pytest.raises(PermissionError):
        judge_plan(plan_raising(PermissionError(13, "denied", "vgg-offline.pt")), {}, 2.0)
    results, errors = judge_plan(plan_raising(ValueError("odd data")), {}, 2.0)
    assert [r.passed for r in results] == [False, True] and len(errors) == 1


def test_models_of_another_profile_are_named_in_one_line(settings, tmp_path):
    """A notebook that ran cifar10-cpu (CIFAR-10 in ./data), graded by an offline course: both
    model files fail to load with one line naming the profile they were made on and the one
    graded, not a shape riddle."""
    from autograder.checks import judge_plan
    from autograder.core.grade import _resources
    from prunekit.model import VGG
    from solutions import channel_prune

    if settings is None:
        pytest.skip("the offline profile is not calibrated")
    dense = VGG(width=0.5)  # cifar10-cpu's width; the offline VGG is 0.125
    files = {"finegrained.pt": tmp_path / "finegrained.pt",
             "channel_pruned.pt": tmp_path / "channel_pruned.pt"}
    torch.save(dense.state_dict(), files["finegrained.pt"])
    torch.save(channel_prune(dense, 0.3).state_dict(), files["channel_pruned.pt"])
    ctx = Context(seed=SEED, settings=settings, resources=_resources(settings), files=files)
    for question, check, name in (("q6", "finegrained_file_loads", "finegrained.pt"),
                                  ("q9", "channel_pruned_loads", "channel_pruned.pt")):
        results, errors = judge_plan(build_plan(question, ctx), {}, 1.0)
        message = {r.name: r.message for r in results}[check]
        assert not errors, errors
        assert message.startswith(f"{name} is a model of the cifar10-cpu profile"), message
        assert "this course grades the offline profile" in message and "\n" not in message

"""Fast tests of the grader-evidence data and harness (no grading): the case files parse, there
are enough of them, they cover the whole student API, each applies to the solved notebook and
changes only what it says, and the committed report lists exactly these cases."""
from __future__ import annotations

import ast
import copy

import pytest

from autograder.checks.points import GRADED_QUESTIONS
from tests.graders import harness, report

CASES = harness.load_cases()
BY_KIND = {kind: [c for c in CASES if c.kind == kind] for kind in harness.KINDS}


@pytest.fixture(scope="module")
def notebooks():
    """The solved and blank notebooks (no model files needed)."""
    if not harness.MASTER_NOTEBOOK.is_file():
        pytest.skip("the master notebook is missing")
    import nbformat

    from autograder.frontends import examples

    template = examples.student_template()
    return harness.Sources(solved=examples.solved_notebook(template),
                           blank=nbformat.read(template, as_version=4), models={})


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_enough_cases_of_each_kind():
    """At least 30 mutants, 10 valid alternatives and 15 attacks, with unique names."""
    assert len(BY_KIND["mutant"]) >= 30
    assert len(BY_KIND["alternative"]) >= 10
    assert len(BY_KIND["attack"]) >= 15
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_mutants_cover_every_function_of_the_api():
    """Every function (and FineGrainedPruner's __init__ and apply, and the answer variables) is
    replaced by at least one mutant."""
    replaced = {name for case in BY_KIND["mutant"] for name in case.replaced}
    if "FineGrainedPruner" in replaced:
        replaced |= {"FineGrainedPruner.__init__", "FineGrainedPruner.apply"}
    api = set(harness.student_api())
    assert api <= replaced, sorted(api - replaced)


def test_declarations_are_complete():
    """Mutants name graded questions and feedback phrases; attacks name their honest part, and
    a mutant they build on exists."""
    names = {case.id for case in CASES}
    for case in BY_KIND["mutant"]:
        assert set(case.loses) <= set(GRADED_QUESTIONS), case.name
        assert case.feedback, case.name
    for case in BY_KIND["attack"]:
        assert case.base_id in names | {"solved", "blank"}, case.name
        assert not case.earns or case.header.get("why"), f"{case.name}: 'earns:' needs 'why:'"


@pytest.mark.parametrize("case", [c for c in CASES if c.kind != "attack"], ids=lambda c: c.id)
def test_case_changes_only_its_definitions(case, notebooks):
    """A mutant or alternative applied to the solved notebook changes only the cells defining
    what it replaces (an alternative may also append cells); every changed or added cell still
    parses (as IPython would run it: magics transformed) and defines the same names."""
    from IPython.core.inputtransformer2 import TransformerManager

    solved = _code(notebooks.solved)
    changed = _code(harness.case_notebook(case, notebooks, {}))
    cell_texts = {section.text.rstrip("\n") for section in case.sections if section.kind == "cell"}
    added = [cell for cell in changed if cell in cell_texts]
    assert len(added) == len(cell_texts), case.name
    for cell in added:
        ast.parse(TransformerManager().transform_cell(cell))
    changed = [cell for cell in changed if cell not in cell_texts]
    assert len(changed) == len(solved)
    differing = [i for i, (a, b) in enumerate(zip(solved, changed)) if a != b]
    assert differing or added, f"{case.name} changes nothing"
    owners = {name.split(".")[0] for name in case.replaced}
    for index in differing:
        ast.parse(TransformerManager().transform_cell(changed[index]))
        names = set(harness.defined_names(solved[index]))
        assert names & owners, f"{case.name} changed a cell that defines none of {owners}"
        assert names <= set(harness.defined_names(changed[index])), case.name


def test_attacks_build(notebooks, tmp_path):
    """Every attack's notebook and files can be built (generated files included)."""
    by_id = {case.id: case for case in CASES}
    for case in BY_KIND["attack"]:
        substitutions = {"MARKER_DIR": str(tmp_path), "NAME": case.name, "LOOPBACK_PORT": "9"}
        notebook = harness.case_notebook(case, notebooks, substitutions, by_id)
        for source in _code(notebook):
            if not source.lstrip().startswith(("%", "!")):
                ast.parse(source)
        files = harness.case_files(case, notebooks, substitutions)
        assert all(isinstance(v, (bytes, str, tuple)) or hasattr(v, "read_bytes")
                   for v in files.values())


def test_cases_touch_only_loopback():
    """No case file names a network address outside loopback (127.0.0.0/8, ::1) or a host name:
    attacks prove there is no way out without trying to reach anyone."""
    import ipaddress
    import re

    address = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
    host = re.compile(r"\b[a-z0-9-]+\.(?:org|com|net|io|edu|dev)\b", re.IGNORECASE)
    for case in CASES:
        text = case.path.read_text()
        for found in address.findall(text):
            assert ipaddress.ip_address(found).is_loopback, f"{case.name} names {found}"
        assert not host.findall(text), f"{case.name} names {host.findall(text)}"


def test_replace_definition_handles_methods_and_variables():
    """A method is replaced at its indentation, a variable by its assignment, the rest kept."""
    cell = ("import torch\n\nclass P:\n    def __init__(self):\n        self.x = 1\n\n"
            "    @staticmethod\n    def apply(model):\n        return 1\n\nratio = 0.3  # note\n")
    new = harness.replace_definition(cell, "P.apply", "def apply(self, model):\n    pass\n")
    assert "    def apply(self, model):\n        pass" in new and "@staticmethod" not in new
    assert "self.x = 1" in new and new.startswith("import torch")
    assert "ratio = 0.5" in harness.replace_definition(cell, "ratio", "ratio = 0.5")
    with pytest.raises(harness.CaseError):
        harness.replace_definition(cell, "missing", "x = 1")


def test_parse_case_sections(tmp_path):
    """Header keys, continuation lines and sections are read as documented."""
    path = tmp_path / "demo.py"
    path.write_text("# about: a demo\n#   on two lines\n# base: blank\n# status: graded, timeout\n"
                    "# --- cell\nx = 1\n# --- file: a/b.txt\nhello {{NAME}}\n"
                    "# --- file: finegrained.pt <- malicious_pickle\n")
    case = harness.parse_case(path, "attack")
    assert case.about == "a demo on two lines" and case.statuses == ("graded", "timeout")
    assert [(s.kind, s.target, s.generator) for s in case.sections] == [
        ("cell", "", ""), ("file", "a/b.txt", ""), ("file", "finegrained.pt", "malicious_pickle")]
    assert harness.substitute(case.sections[1].text, {"NAME": "demo"}) == "hello demo\n"


def test_secret_strings_hold_the_salt_and_no_public_text():
    """The leak scan looks for the salt, the hidden split's seed and check / reference source
    lines, never for text students already have (the template, the probes)."""
    import json

    secrets = harness.secret_strings()
    calibration = json.loads((harness.REPO_ROOT / "autograder" / "checks" / "calibration" /
                              "offline.json").read_text())
    assert calibration["salt"] in secrets
    assert str(calibration["grading_split"]["seed"]) in secrets
    public = harness._public_text()
    assert not [s for s in secrets if s in public]
    assert any("kthvalue" in s for s in secrets) or any("def plan_q3" in s for s in secrets)


def test_committed_report_lists_exactly_the_cases():
    """docs/grader_evidence.md has one row per case file, and each mutant row states the
    questions its file declares (regenerate with `python -m tests.graders.report`)."""
    assert report.REPORT.is_file(), "run `python -m tests.graders.report`"
    tables = report.parse_tables(report.REPORT.read_text())
    for kind, cases in BY_KIND.items():
        rows = tables.get(kind, [])
        column = report.TABLES[kind][1][0]
        assert [row[column].strip("`") for row in rows] == [c.name for c in cases], kind
    for row, case in zip(tables["mutant"], BY_KIND["mutant"]):
        assert row["must lose"] == ", ".join(case.loses), case.name


def test_case_notebook_does_not_touch_its_sources(notebooks):
    """Building a case leaves the shared solved notebook as it was."""
    before = copy.deepcopy(_code(notebooks.solved))
    harness.case_notebook(BY_KIND["mutant"][0], notebooks, {})
    assert _code(notebooks.solved) == before

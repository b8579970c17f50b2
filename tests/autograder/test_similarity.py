"""The class similarity report: a planted copy and a renamed-variables copy are found, independent
solutions and blank templates are not, and every class grading writes the report."""
from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

from autograder.core.submission import code_cells
from autograder.frontends import cli, examples, similarity
from tests.autograder.fakes import write_notebooks

# The graded functions written another way than the reference (another student's honest work).
INDEPENDENT = '''
import math
import torch


def get_sparsity(tensor):
    total = tensor.numel()
    return float((tensor == 0).sum().item()) / total if total else 0.0


def get_model_sparsity(model):
    zeros = entries = 0
    for parameter in model.parameters():
        zeros += int((parameter == 0).sum())
        entries += parameter.numel()
    return zeros / max(entries, 1)


def get_num_parameters(model, count_nonzero_only=False):
    counts = [int(torch.count_nonzero(p)) if count_nonzero_only else p.numel()
              for p in model.parameters()]
    return sum(counts)


def get_model_size(model, data_width=32, count_nonzero_only=False):
    return get_num_parameters(model, count_nonzero_only) * data_width


def fine_grained_prune(tensor, sparsity):
    sparsity = min(max(sparsity, 0.0), 1.0)
    drop = round(sparsity * tensor.numel())
    if drop == 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    flat = tensor.detach().abs().flatten()
    cut = torch.sort(flat).values[drop - 1]
    keep = tensor.abs() > cut
    tensor.mul_(keep)
    return keep


class FineGrainedPruner:
    def __init__(self, model, sparsity_dict):
        self.masks = {}
        for name, weight in model.named_parameters():
            if name in sparsity_dict:
                self.masks[name] = fine_grained_prune(weight.data, sparsity_dict[name])

    @torch.no_grad()
    def apply(self, model):
        for name, weight in model.named_parameters():
            mask = self.masks.get(name)
            if mask is not None:
                weight.mul_(mask)


def get_num_channels_to_keep(channels, prune_ratio):
    return int(round(channels * (1.0 - prune_ratio)))


def get_input_channel_importance(weight):
    return torch.sqrt((weight.detach() ** 2).sum(dim=(0, 2, 3)))
'''


@pytest.fixture(scope="module")
def solved_code() -> str:
    solved = examples.solved_notebook(examples.student_template())
    return similarity.graded_code(code_cells(json.loads(json.dumps(solved))),
                                  similarity.graded_names())


def renamed(code: str) -> str:
    """``code`` with its variables renamed and its lines re-wrapped, as a copier would."""
    for old, new in (("tensor", "t"), ("sparsity", "amount"), ("model", "net"),
                     ("num_elements", "n"), ("mask", "keep_bits"), ("weight", "w")):
        code = re.sub(rf"\b{old}\b", new, code)
    return code.replace("    ", "  ")


def test_copies_are_flagged_and_independent_work_is_not(solved_code):
    template = similarity.template_code(similarity.graded_names())
    entries = [similarity.Entry("alice", "f1", solved_code),
               similarity.Entry("bob", "f2", similarity.graded_code([renamed(solved_code)],
                                                                    similarity.graded_names())),
               similarity.Entry("carol", "f3", similarity.graded_code(
                   [INDEPENDENT], similarity.graded_names())),
               similarity.Entry("dan", "f4", template), similarity.Entry("erin", "f5", template)]
    pairs = similarity.similar_pairs(entries, template)
    assert [(pair.first, pair.second) for pair in pairs] == [("alice", "bob")]
    assert min(pairs[0].shares) >= similarity.SHARED_SHARE


@pytest.fixture
def fake_core(monkeypatch):
    from tests.autograder.fakes import FakeGrader

    monkeypatch.setattr(cli, "_core_grader",
                        lambda profile, timeout, allow_unisolated=False: FakeGrader("offline"))


def _report_rows(out):
    with open(out / "similarity.csv", newline="") as handle:
        return [(row["kind"], row["submissions"]) for row in csv.DictReader(handle)]


def test_a_class_grading_writes_the_report_with_identical_submissions(tmp_path, capsys,
                                                                      fake_core):
    """grade on a class holding a byte-identical copy: similarity.csv and .html name the pair,
    the page shows each id with its submitters' names (escaped), and the summary says how many
    submissions were compared and where the report is."""
    paths = write_notebooks(tmp_path / "class", ["alice", "bob", "carol"])
    paths[2].write_bytes(paths[0].read_bytes())  # carol hands in alice's file
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("submission,name\nalice.ipynb,Alice <A&B>\ncarol.ipynb,Carol\n")
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(out), "--quiet",
                     "--roster", str(roster_csv)]) == 0
    assert "similarity: compared 3 submission(s) (every one graded in " \
           f"{out}): 1 identical group(s)" in capsys.readouterr().out
    assert _report_rows(out) == [("identical", "alice carol")]
    page = (out / "similarity.html").read_text()
    assert "alice (Alice &lt;A&amp;B&gt;), carol (Carol)" in page
    assert "<td>Alice &lt;A&amp;B&gt;</td>" in page and "<A&B>" not in page
    assert "<h2>Every submission</h2>" in page


def test_a_regrade_compares_every_submission_graded_in_the_folder(tmp_path, capsys, fake_core):
    """Regrading one student's fixed file into the class's --out rebuilds the report of the
    whole class: the copy that was fixed is no longer flagged, and a file regraded alone is
    compared with the students graded before (from what the folder keeps, not their files)."""
    paths = write_notebooks(tmp_path / "class", ["alice", "bob", "carol"])
    paths[2].write_bytes(paths[0].read_bytes())
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(out), "--quiet"]) == 0
    assert _report_rows(out) == [("identical", "alice carol")]
    alice = paths[0].read_bytes()
    shutil.rmtree(tmp_path / "class")  # the class's files are gone; OUT is all there is
    write_notebooks(tmp_path / "fixed", ["carol"])  # carol's own work
    assert cli.main(["grade", str(tmp_path / "fixed" / "carol.ipynb"), "--out", str(out),
                     "--quiet"]) == 0
    assert "similarity: compared 3 submission(s)" in capsys.readouterr().out
    assert _report_rows(out) == []
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "bob.ipynb").write_bytes(alice)  # bob resubmits alice's file
    assert cli.main(["grade", str(tmp_path / "late" / "bob.ipynb"), "--out", str(out),
                     "--quiet"]) == 0
    assert "similarity: compared 3 submission(s)" in capsys.readouterr().out
    assert _report_rows(out) == [("identical", "alice bob")]
    page = (out / "similarity.html").read_text()
    assert all(f"<tr><td>{name}</td>" in page for name in ("alice", "bob", "carol"))


def test_merge_compares_copies_graded_in_different_shards(tmp_path, capsys, fake_core):
    """An identical pair split across two shards: neither shard sees it, merge flags it (and
    says how many submissions it compared) without the submissions' files."""
    from autograder.frontends import course

    first = next(f"s{n}" for n in range(50) if course.shard_of(f"s{n}", 2) == 0)
    second = next(f"s{n}" for n in range(50) if course.shard_of(f"s{n}", 2) == 1)
    paths = write_notebooks(tmp_path / "class", [first, second, "other"])
    paths[1].write_bytes(paths[0].read_bytes())
    for index in range(2):
        assert cli.main(["grade", str(tmp_path / "class"), "--out",
                         str(tmp_path / f"shard{index}"), "--shard", f"{index}/2",
                         "--quiet"]) == 0
        assert not (tmp_path / f"shard{index}" / "similarity.csv").exists() \
            or not _report_rows(tmp_path / f"shard{index}")
    shutil.rmtree(tmp_path / "class")
    capsys.readouterr()
    merged = tmp_path / "merged"
    assert cli.main(["merge", str(tmp_path / "shard0"), str(tmp_path / "shard1"), "--out",
                     str(merged)]) == 0
    assert "similarity: compared 3 submission(s)" in capsys.readouterr().out
    assert _report_rows(merged) == [("identical", " ".join(sorted([first, second])))]

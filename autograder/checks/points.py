"""Point values per question: read from the master notebook's ``# BEGIN QUESTION`` raw cells
(``points:``), the one place they live; a fallback table serves until the master exists (a test
asserts the two agree once it does)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MASTER_NOTEBOOK = REPO_ROOT / "assignment" / "pruning_lab.ipynb"
GRADED_QUESTIONS = ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9")

# Used only while the master notebook does not exist or lacks a question.
FALLBACK_POINTS: dict[str, float] = {"q1": 2, "q2": 2, "q3": 4, "q4": 1, "q5": 3, "q6": 3,
                                     "q7": 4, "q8": 4, "q9": 3}


def master_points(path: Path = MASTER_NOTEBOOK) -> dict[str, float]:
    """``{question name: points}`` of the auto-graded questions of a v1-format Otter master
    (manual questions are left out); empty when the file does not exist.

    A question's ``points`` may be a number or a list (one value per test case: summed).
    """
    if not Path(path).is_file():
        return {}
    notebook = json.loads(Path(path).read_text())
    points: dict[str, float] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "raw":
            continue
        source = "".join(cell.get("source", ""))
        if not source.lstrip().startswith("# BEGIN QUESTION"):
            continue
        config = yaml.safe_load(source.split("\n", 1)[1] if "\n" in source else "") or {}
        if not isinstance(config, dict) or config.get("manual") or "name" not in config:
            continue
        value = config.get("points", 1)
        points[str(config["name"])] = float(sum(value) if isinstance(value, list) else value)
    return points


def question_points(path: Path = MASTER_NOTEBOOK) -> dict[str, float]:
    """Points of every graded question (q1..q9): the master's values, the fallback table for
    questions the master does not (yet) define."""
    from_master = master_points(path)
    return {q: float(from_master.get(q, FALLBACK_POINTS[q])) for q in GRADED_QUESTIONS}

"""What grading one submission produces: plain records shared by the grading core, the batch
runner, the gradebook / Gradescope writers and the reports."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

TA_SCORE_CHECK = "ta_score"  # the check a TA's score of a written question is stored as
STORED_REASON_CHARS = 500  # a SubmissionResult's reason as the batch stores it


def one_line(text: str, limit: int = STORED_REASON_CHARS) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class CheckResult:
    """One hidden check of one question.

    ``message`` says which property failed on which small input (never hidden-check source or
    reference values beyond what the property needs); empty when the check passed.
    A TA's score of a written question (``ta_score``) carries the TA's comment as its
    message whatever the points.
    ``measured``: for a check that passed on a measurement of the submitted models, what was
    measured and the requirement (e.g. "91.20% on the hidden test split (at least 88.93%)");
    empty otherwise. A measured latency varies a little between gradings; the points do not.
    """
    question: str          # "q1" ... "q10", "w1" ... "w4"
    name: str              # short stable id of the check, e.g. "mask_exact_tie_free"
    points: float          # points earned
    max_points: float
    passed: bool
    message: str = ""
    measured: str = ""


@dataclass
class SubmissionResult:
    """The outcome of grading one submission; every submission gets one, whatever it did.

    ``status`` is "graded" when the submission's code ran and was checked (even with failures),
    else the reason grading could not look at it all: "unreadable" (corrupt notebook or zip),
    "timeout", "crashed", "memory", "error" (the grader itself failed: a bug of ours).
    """
    submission: str                      # id: file name without extension, or folder name
    status: str
    reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    # every graded question's points (a bonus question's too: what the points possible are,
    # bonus left out, the reports say: autograder.frontends.report.points_possible)
    question_max: dict[str, float] = field(default_factory=dict)
    # stage -> seconds: load, plan, sandbox (of which sandbox_startup/_cells/_probes, as the
    # student process reported them), accuracy, latency, checks, and "total" (not their sum)
    timings_s: dict[str, float] = field(default_factory=dict)
    peak_memory_bytes: int = 0
    seed: int = 0
    # How the student code was isolated: "<level> (<backend>)", e.g. "full (bwrap)"; "" when
    # no code ran (an unreadable submission).
    isolation: str = ""
    # Added by the grading core: what went wrong besides the checks (missing files, failing
    # cells, grader tracebacks: for staff), figures the checks measured (accuracy in percent,
    # MACs, speedups) and peak memory per process ("student", "grader"), bytes.
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    memory_bytes: dict[str, int] = field(default_factory=dict)
    # Questions graded by hand (W1-W4) that no TA has scored yet for this submission: they
    # count in neither its score nor its maximum (set by autograder.frontends.written).
    pending: list[str] = field(default_factory=list)

    @property
    def question_scores(self) -> dict[str, float]:
        """Points per question (every question in ``question_max`` but the ``pending`` ones,
        zero when nothing passed)."""
        scores = {question: 0.0 for question in self.question_max
                  if question not in self.pending}
        for check in self.checks:
            scores[check.question] = scores.get(check.question, 0.0) + check.points
        return scores

    @property
    def total(self) -> float:
        return sum(self.question_scores.values())

    def to_dict(self) -> dict:
        """Plain JSON-ready form (for resumable batch state and tests)."""
        record = asdict(self)
        record["question_scores"], record["total"] = self.question_scores, self.total
        return record

    @classmethod
    def from_dict(cls, record: dict) -> "SubmissionResult":
        fields = {k: v for k, v in record.items() if k not in ("question_scores", "total")}
        fields["checks"] = [CheckResult(**c) for c in fields.get("checks", [])]
        return cls(**fields)

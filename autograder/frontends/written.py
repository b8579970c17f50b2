"""The written questions (W1-W3): a page per submission for the TAs, and their scores.

**Pages.** ``grade`` writes ``OUT/written/<id>.html`` for every readable submission: for each
written question its prompt (from the master notebook, not the student's copy), the student's
answer (the markdown cells between the prompt and ``<!-- END QUESTION -->`` in the student's
notebook) and the outputs of the cells the question asks about (:data:`EVIDENCE`: the
sensitivity scan and parameter counts for W1, the channel-pruning accuracies for W2, the
results table and plot for W3), as the student's own run left them. Everything a student wrote
is untrusted: markdown is rendered with raw HTML escaped, outputs are shown as escaped text or
as PNG images (checked to be PNG), never as HTML or script, and the page's Content Security
Policy forbids scripts and any load from outside the page.

**Scores.** ``merge-manual SCORES.csv --out OUT`` reads the TAs' scores (a header row with a
key column, ``submission`` or ``email`` or ``sid``, and one column per written question named
after it, ``w1`` ... or ``W1`` ...; optional ``comment``), checks them against the points of
:func:`written_questions`, stores them in ``OUT/manual_scores.json`` and rewrites the
gradebook, the exports, the class report, the feedback and every ``results.json`` with them
(:func:`with_manual`). An empty cell is "not graded yet". Re-grading never touches them.
"""
from __future__ import annotations

import base64
import csv
import html
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from autograder.manifest import KIT_ROOT
from autograder.results import CheckResult, SubmissionResult

MANUAL_FILE = "manual_scores.json"
MANUAL_CHECK = "ta_score"  # the CheckResult name a TA's score is stored under
# What each written question asks about: code cells identified by a piece of their source (the
# template's code, which students run as given); their outputs go on the page, W1 also shows
# the student's sparsity_dict.
EVIDENCE: dict[str, tuple[str, ...]] = {
    "w1": ("prunable_weights(model)", "sensitivity_scan(", "sparsity_dict = {",
           "pruner = FineGrainedPruner(finegrained_model"),
    "w2": ("naive_pruned = channel_prune(", "sorted_model = apply_channel_sorting("),
    "w3": ("results = [", "plot_model_comparison("),
}
MAX_TEXT_CHARS = 4000  # one output's text on the page
MAX_IMAGE_BYTES = 2 * 2**20  # one PNG on the page
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_QUESTION_HEADER = re.compile(r"\*\*Question (W\d+)\*\*", re.IGNORECASE)
QUESTION_COLUMN = re.compile(r"w\d+")  # a TA score column named like a written question


class ManualScoresError(ValueError):
    """A TA score file that cannot be merged; one line naming the file, the row and why."""


# ---------------------------------------------------------------------------------------------
# The written questions of the master
# ---------------------------------------------------------------------------------------------

def written_questions(table=None) -> dict[str, dict]:
    """``{"w1": {"points": 2.0, "prompt": "..."}, ...}``: the questions graded by hand, with
    their points and prompt, from the question table (``autograder/questions.json``)."""
    from autograder import questions

    table = table or questions.load()
    return {table[q].id.lower(): {"points": table[q].points, "prompt": table[q].prompt}
            for q in table.written}


# ---------------------------------------------------------------------------------------------
# Reading a submission's notebook (the lab's notebook only, as the grader chooses it)
# ---------------------------------------------------------------------------------------------

def notebook_of(path: Path) -> dict | None:
    """The lab notebook of a submission (a notebook, an Otter zip, a folder with one of them):
    the one the grader chose and graded, read with its safeguards (size caps, no symlinks);
    None when there is none that parses."""
    import tempfile

    from autograder.core.submission import load_submission

    with tempfile.TemporaryDirectory(prefix="prunekit-written-") as scratch:
        with load_submission(path, scratch_dir=scratch, keep_notebook=True) as submission:
            return submission.notebook if submission.readable else None


def _cells(notebook: dict) -> list[dict]:
    """The notebook's cells that are dicts (the JSON is the student's: anything may be there)."""
    cells = notebook.get("cells")
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


def _text(value) -> str:
    """A notebook string field (a str, or a list of str lines); "" for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(line for line in value if isinstance(line, str))
    return ""


def answers(notebook: dict) -> dict[str, str]:
    """``{"w1": "the student's markdown", ...}``: the markdown cells after each written
    question's prompt cell, up to the cell that ends the question."""
    found: dict[str, list[str]] = {}
    current = None
    for cell in _cells(notebook):
        source = _text(cell.get("source"))
        header = _QUESTION_HEADER.search(source)
        if cell.get("cell_type") == "markdown" and header:
            current = header.group(1).lower()
            found[current] = []
        elif current and "<!-- END QUESTION -->" in source:
            current = None
        elif current and cell.get("cell_type") == "markdown":
            found[current].append(source)
    return {question: "\n\n".join(parts).strip() for question, parts in found.items()}


def evidence_cells(notebook: dict, question: str) -> list[dict]:
    """The code cells :data:`EVIDENCE` names for ``question``, in notebook order (the first
    cell holding each marker)."""
    cells = [c for c in _cells(notebook) if c.get("cell_type") == "code"]
    chosen = []
    for marker in EVIDENCE.get(question, ()):
        cell = next((c for c in cells if marker in _text(c.get("source"))), None)
        if cell is not None and cell not in chosen:
            chosen.append(cell)
    return sorted(chosen, key=cells.index)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

def written_page(submission_id: str, notebook: dict | None, questions: Mapping[str, dict],
                 who: str = "") -> str:
    """The HTML page of one submission's written answers (see the module docstring)."""
    title = f"Written answers: {submission_id}" + (f" ({who})" if who else "")
    body = [f"<h1>{html.escape(title)}</h1>"]
    if notebook is None:
        body.append("<p class='missing'>No readable notebook in this submission.</p>")
    else:
        given = answers(notebook)
        for question, info in questions.items():
            body.append(_question_section(question, info, given.get(question, ""), notebook))
    return _page(title, "\n".join(body))


def _question_section(question: str, info: Mapping, answer: str, notebook: dict) -> str:
    placeholder = not answer or answer.startswith("_Type your answer here")
    parts = [f"<section id='{question}'><h2>{question.upper()} ({info['points']:g} points)</h2>",
             f"<div class='prompt'>{_markdown(_prompt_text(info['prompt']))}</div>",
             "<h3>Answer</h3>",
             "<div class='answer missing'>No answer.</div>" if placeholder
             else f"<div class='answer'>{_markdown(answer)}</div>"]
    cells = evidence_cells(notebook, question)
    if cells:
        parts.append("<h3>What the question refers to (the student's run)</h3>")
        parts += [_cell_html(cell) for cell in cells]
    parts.append("</section>")
    return "\n".join(parts)


def _prompt_text(prompt: str) -> str:
    return re.sub(r"<!--.*?-->", "", prompt, flags=re.DOTALL).strip()


def _cell_html(cell: dict) -> str:
    source = html.escape(_text(cell.get("source"))[:MAX_TEXT_CHARS])
    raw_outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    outputs = [_output_html(output) for output in raw_outputs if isinstance(output, dict)]
    shown = "\n".join(o for o in outputs if o) or "<p class='missing'>(no output: the cell " \
                                                  "was not run)</p>"
    return f"<div class='cell'><pre class='source'>{source}</pre>{shown}</div>"


def _output_html(output: dict) -> str:
    """An output as escaped text or a checked PNG; HTML, SVG and script outputs are never
    rendered (their plain-text form is shown when there is one)."""
    if output.get("output_type") == "stream":
        return _text_html(_last_redraw(_text(output.get("text"))))
    if output.get("output_type") == "error":
        return _text_html(f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}")
    data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
    image = _png_data_uri(data.get("image/png"))
    if image:
        return f"<img alt='plot' src='{image}'>"
    text = _text(data.get("text/plain"))
    return _text_html(text) if text else ""


def _last_redraw(text: str) -> str:
    """Each line as a terminal shows it in the end: a progress bar redrawn with carriage
    returns keeps only its last frame."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _png_data_uri(value) -> str:
    """``data:image/png;base64,...`` when ``value`` is base64 of a PNG under the size cap."""
    if isinstance(value, list):
        value = "".join(value)
    if not isinstance(value, str) or len(value) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return ""
    try:
        raw = base64.b64decode(value, validate=False)
    except ValueError:
        return ""
    if not raw.startswith(PNG_SIGNATURE):
        return ""
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _text_html(text: str) -> str:
    text = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "\n…"
    return f"<pre class='output'>{html.escape(text)}</pre>"


def _markdown(text: str) -> str:
    """Markdown as HTML with every raw HTML tag escaped (mistune; escaped text without it)."""
    try:
        import mistune
    except ImportError:
        return f"<pre>{html.escape(text)}</pre>"
    return mistune.create_markdown(escape=True)(text)


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.45; }}
section {{ border-top: 2px solid #888; margin-top: 2em; }}
.prompt {{ color: #444; font-style: italic; }}
.answer {{ background: #f4f8ff; padding: 0.5em 1em; border-left: 4px solid #36c; }}
.missing {{ color: #a00; }}
pre {{ background: #f6f6f6; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; }}
pre.source {{ color: #555; font-size: 85%; }}
img {{ max-width: 100%; }}
</style></head>
<body>
{body}
</body></html>
"""


def write_pages(submissions: Sequence, out_dir: Path,
                identities: Mapping | None = None) -> list[Path]:
    """Write ``OUT/written/<id>.html`` for each submission (a :class:`batch.Submission`) and
    ``OUT/written/index.html`` linking them; returns the pages. Nothing when the lab has no
    written question."""
    from autograder.frontends.roster import identity_columns

    questions = written_questions()
    if not questions:
        return []
    folder = Path(out_dir) / "written"
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for submission in submissions:
        who = identity_columns((identities or {}).get(submission.id, ()))["name"]
        page = folder / f"{submission.id}.html"
        page.write_text(_page_or_notice(submission, questions, who), encoding="utf-8")
        pages.append(page)
    write_index(folder)
    return pages


def _page_or_notice(submission, questions: Mapping[str, dict], who: str) -> str:
    """The submission's page; a page saying why when it cannot be made (one submission's
    notebook never stops the batch's pages)."""
    try:
        notebook = None if submission.problem else notebook_of(submission.path)
        return written_page(submission.id, notebook, questions, who)
    except Exception as error:  # noqa: BLE001 - any failure on student data costs one page
        title = f"Written answers: {submission.id}"
        return _page(title, f"<h1>{html.escape(title)}</h1><p class='missing'>This submission's "
                            f"page could not be made ({html.escape(type(error).__name__)}); "
                            "open its notebook directly.</p>")


def write_index(folder: Path) -> Path:
    """``folder/index.html`` linking every page in ``folder`` (also after pages of several
    shards were merged there)."""
    links = "\n".join(f"<li><a href='{html.escape(p.name)}'>{html.escape(p.stem)}</a></li>"
                      for p in sorted(folder.glob("*.html")) if p.name != "index.html")
    index = folder / "index.html"
    index.write_text(_page("Written answers", f"<ul>{links}</ul>"), encoding="utf-8")
    return index


# ---------------------------------------------------------------------------------------------
# TA scores
# ---------------------------------------------------------------------------------------------

def read_manual_scores(path: Path, questions: Mapping[str, dict], known: Sequence[str],
                       identities: Mapping[str, Sequence] | None = None) -> dict[str, dict]:
    """The TA scores of ``path`` as ``{submission id: {"w1": points, ..., "comment": text}}``.

    Each row is matched on the first of its ``submission`` (an id of ``known``), ``email`` or
    ``sid`` (through ``identities``) cells that is not empty. Raises ManualScoresError for an
    unknown key, a score that is not a number in [0, points], a file without key or question
    columns, a column named like a question the lab does not have (``w4``), and two rows
    giving one submission different scores (e.g. two members of a group)."""
    rows, columns = _read_csv(path)
    keys = [c for c in ("submission", "email", "sid") if c in columns]
    scored = [q for q in questions if q in columns]
    if not keys or not scored:
        raise ManualScoresError(f"{path}: the header needs a 'submission', 'email' or 'sid' "
                                f"column and at least one of {', '.join(questions)}")
    unknown = sorted(c for c in columns if QUESTION_COLUMN.fullmatch(c) and c not in questions)
    if unknown:
        raise ManualScoresError(f"{path}: column(s) {', '.join(unknown)} name no written "
                                f"question of the lab ({', '.join(questions)})")
    lookups = {key: _lookup(key, known, identities or {}) for key in keys}
    merged: dict[str, dict] = {}
    first_line: dict[tuple[str, str], int] = {}  # (submission, question) -> where it was scored
    for line, row in enumerate(rows, start=2):
        submission = _row_submission(row, columns, lookups, f"{path}, line {line}")
        entry = merged.setdefault(submission, {})
        for question in scored:
            points = _score(row.get(columns[question], ""), questions[question]["points"],
                            f"{path}, line {line}, {question}")
            if points is None:
                continue
            if question in entry and entry[question] != points:
                raise ManualScoresError(
                    f"{path}, line {line}: {question} of {submission} is {points:g} here but "
                    f"{entry[question]:g} on line {first_line[submission, question]}; give "
                    f"each submission one score")
            entry[question] = points
            first_line.setdefault((submission, question), line)
        if row.get(columns.get("comment", ""), "").strip():
            entry["comment"] = row[columns["comment"]].strip()[:500]
    return merged


def _row_submission(row: dict, columns: Mapping[str, str], lookups: Mapping[str, dict],
                    where: str) -> str:
    """The submission id a row names (its first non-empty key cell)."""
    for key, lookup in lookups.items():
        value = (row.get(columns[key]) or "").strip()
        if value:
            if value.lower() not in lookup:
                raise ManualScoresError(f"{where}: no graded submission has {key} {value!r}")
            return lookup[value.lower()]
    raise ManualScoresError(f"{where}: no {' / '.join(lookups)} given")


def _read_csv(path: Path) -> tuple[list[dict], dict[str, str]]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ManualScoresError(f"cannot read {path}: {error.strerror or error}") from None
    reader = csv.DictReader(text.splitlines())
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "student_id" in columns:
        columns.setdefault("sid", columns["student_id"])
    return list(reader), columns


def _lookup(key: str, known: Sequence[str], identities: Mapping) -> dict[str, str]:
    """Lower-cased key value -> submission id."""
    if key == "submission":
        return {sid.lower(): sid for sid in known}
    return {getattr(person, key).lower(): sid for sid in known
            for person in identities.get(sid, ()) if getattr(person, key)}


def _score(text: str, points: float, where: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ManualScoresError(f"{where}: {text!r} is not a number") from None
    if not 0 <= value <= points:
        raise ManualScoresError(f"{where}: {value:g} is outside 0..{points:g}")
    return value


def save_manual(scores: Mapping[str, dict], out_dir: Path) -> Path:
    """Merge ``scores`` into ``OUT/manual_scores.json`` (a later file adds to or overrides an
    earlier one, per submission and question); returns its path."""
    path = Path(out_dir) / MANUAL_FILE
    stored = load_manual(out_dir)
    for submission, entry in scores.items():
        stored.setdefault(submission, {}).update(entry)
    path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_manual(out_dir: Path) -> dict[str, dict]:
    path = Path(out_dir) / MANUAL_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def with_manual(result: SubmissionResult, questions: Mapping[str, dict],
                scores: Mapping[str, dict]) -> SubmissionResult:
    """A copy of ``result`` with every written question in ``question_max`` and one check per
    TA score (``ta_score``, passed at full points; the TA's comment as its message). A
    question without a score yet stays at 0 and says so."""
    entry = scores.get(result.submission, {})
    checks = [c for c in result.checks if c.name != MANUAL_CHECK]
    maxima = dict(result.question_max)
    for question, info in questions.items():
        maxima[question] = info["points"]
        if question in entry:
            points = float(entry[question])
            checks.append(CheckResult(question, MANUAL_CHECK, points, info["points"],
                                      points >= info["points"],
                                      entry.get("comment", "") if points < info["points"]
                                      else ""))
    return replace(result, checks=checks, question_max=maxima)

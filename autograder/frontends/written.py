"""The written questions (W1-W4): a page per submission for the TAs, and their scores.

**Pages.** ``grade`` writes ``OUT/written/<id>.html`` for every readable submission: for each
written question its prompt (from the master notebook, not the student's copy), the student's
answer (the markdown cells between the prompt and ``<!-- END QUESTION -->`` in the student's
notebook) and the outputs of the cells the question asks about (:data:`EVIDENCE`: the
sensitivity scan and parameter counts for W1, the channel-pruning accuracies for W2, the
results table and plot for W3, the 2:4 model's numbers and trade-off plot for the bonus W4), as
the student's own run left them. Everything a student wrote
is untrusted: markdown is rendered with raw HTML escaped, outputs are shown as escaped text or
as PNG images (checked to be PNG), never as HTML or script, and the page's Content Security
Policy forbids scripts and any load from outside the page. TeX in answers (``$...$``,
``$$...$$``) is drawn server-side as PNG by matplotlib's mathtext, or shown as escaped text.
``OUT/written/index.html`` lists every page with the submitters' names and each question's TA
score or "not graded yet"; every page links the previous and next one (:func:`write_index`).

**Scores.** ``grade``, ``merge`` and ``merge-manual`` write the TAs' sheet
``OUT/written/ta_scores_template.csv`` (:func:`write_score_sheet`: every submission, a score
and a comment column per question, the scores merged so far). ``merge-manual SCORES.csv --out
OUT`` reads a filled copy, or any CSV with a key column (``submission``, ``email`` or ``sid``),
score columns named after the questions (``w1`` ... or ``W1`` ...), optional ``w1_comment`` ...
and an optional overall ``comment``; checks them against the points of
:func:`written_questions`, stores them in ``OUT/manual_scores.json`` and rewrites the
gradebook, the exports, the class report, the feedback and every ``results.json`` with them
(:func:`with_manual`). An empty cell is "not graded yet": the question counts in neither the
submission's score nor its maximum (``SubmissionResult.pending``). Re-grading never touches
the scores.
"""
from __future__ import annotations

import base64
import io
import json
import re
import secrets
import urllib.parse
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from autograder.frontends.report import FORMULA_STARTS, read_csv
from autograder.results import TA_SCORE_CHECK, CheckResult, SubmissionResult

MANUAL_FILE = "manual_scores.json"
SCORE_SHEET = "ta_scores_template.csv"  # in OUT/written: the TAs' sheet to copy and fill
# What each written question asks about: code cells identified by a piece of their source (the
# template's code, which students run as given); their outputs go on the page, W1 also shows
# the student's sparsity_dict.
EVIDENCE: dict[str, tuple[str, ...]] = {
    "w1": ("prunable_weights(model)", "sensitivity_scan(", "sparsity_dict = {",
           "pruner = FineGrainedPruner(finegrained_model"),
    "w2": ("naive_pruned = channel_prune(", "sorted_model = apply_channel_sorting("),
    "w3": ("results = [", "plot_model_comparison("),
    "w4": ("nm_masks = prune_nm(", "fine_tune(nm_model", "nm_row = {"),
}
MAX_TEXT_CHARS = 4000  # one output's text on the page
MAX_IMAGE_BYTES = 2 * 2**20  # one PNG on the page
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_QUESTION_HEADER = re.compile(r"\*\*Question (W\d+)\*\*", re.IGNORECASE)
# A TA sheet column named like a written question's score or comment: w1, w1_comment.
QUESTION_COLUMN = re.compile(r"(w\d+)(_comment)?")
# TeX math in an answer: $$display$$, or $inline$ as pandoc reads it (no space inside either
# dollar, no digit right after the closing one: "$5 and $10" is not a formula).
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$\w])\$(?![\s$])([^\n$]+?)(?<![\s\\])\$(?!\d)",
                   re.DOTALL)
MAX_FORMULAS = 40  # drawn per answer; the rest are shown as TeX (each takes up to ~0.1 s)
MAX_FORMULA_CHARS = 300
MAX_FORMULA_NESTING = 12  # braces deep
FORMULA_DPI = 110
COMMENT_CHARS = 500  # a TA comment as stored
_PAGER = re.compile(r"<nav class='pager'>[^\n]*?</nav>")  # ours: student text is escaped
# Every piece of HTML the pages are made of. Rendered with autoescaping (:func:`_html`): a value
# is escaped unless it is a fragment rendered here (markupsafe.Markup), so student text can only
# reach a page escaped.
_TEMPLATES = {
    "page": """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp|safe }}">
<title>{{ title }}</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.45; }
section { border-top: 2px solid #888; margin-top: 2em; }
.prompt { color: #444; font-style: italic; }
.answer { background: #f4f8ff; padding: 0.5em 1em; border-left: 4px solid #36c; }
.missing, .pending { color: #a00; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; }
pre.source { color: #555; font-size: 85%; }
img { max-width: 100%; }
img.math { vertical-align: middle; }
img.math.display { display: block; margin: 0.5em auto; }
nav.pager { display: flex; justify-content: space-between; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
</style></head>
<body>
<nav class='pager'></nav>
{{ body }}
</body></html>
""",
    "submission": """<h1>{{ title }}</h1>
{% if sections is none %}<p class='missing'>No readable notebook in this submission.</p>
{% else %}{% for section in sections %}{{ section }}
{% endfor %}{% endif %}""",
    "section": """<section id='{{ question }}'><h2>{{ question|upper }} ({{ heading }})</h2>
<div class='prompt'>{{ prompt }}</div>
<h3>Answer</h3>
{% if answer is none %}<div class='answer missing'>No answer.</div>
{% else %}<div class='answer'>{{ answer }}</div>
{% endif %}{% if cells %}<h3>What the question refers to (the student's run)</h3>
{% for cell in cells %}{{ cell }}
{% endfor %}{% endif %}</section>""",
    "cell": "<div class='cell'><pre class='source'>{{ source }}</pre>"
            "{% for output in outputs %}{{ output }}{% if not loop.last %}\n{% endif %}"
            "{% else %}<p class='missing'>(no output: the cell was not run)</p>{% endfor %}</div>",
    "text": "<pre class='output'>{{ text }}</pre>",
    "plot": "<img alt='plot' src='{{ uri }}'>",
    "formula": "<img class='{{ kind }}' alt='{{ tex }}' src='{{ uri }}'>",
    "formula_text": "<code class='math'>{{ tex }}</code>",
    "markdown_text": "<pre>{{ text }}</pre>",
    "image_not_shown": "<span class='not-shown'>[image not shown: {{ text }}]</span>",
    "notice": "<h1>{{ title }}</h1><p class='missing'>This submission's page could not be made "
              "({{ error }}); open its notebook directly.</p>",
    "index": """<h1>Written answers</h1><p>{{ progress }}</p><table><tr><th>submission</th><th>name</th>\
{% for question, heading in headings %}<th>{{ question|upper }} ({{ heading }})</th>{% endfor %}</tr>
{% for row in rows %}<tr><td><a href='{{ row.href }}'>{{ row.id }}</a></td><td>{{ row.name }}</td>\
{% for cell in row.cells %}{% if cell is none %}<td class='pending'>not graded yet</td>\
{% else %}<td>{{ cell }}</td>{% endif %}{% endfor %}</tr>{% if not loop.last %}
{% endif %}{% endfor %}</table>""",
    "pager": "<nav class='pager'>{% if previous %}<a href='{{ previous.href }}'>&larr; "
             "{{ previous.id }}</a>{% else %}<span></span>{% endif %}<a href='index.html'>index "
             "({{ position }} of {{ count }})</a>{% if following %}<a href='{{ following.href }}'>"
             "{{ following.id }} &rarr;</a>{% else %}<span></span>{% endif %}</nav>",
}
_ENVIRONMENT = None  # the jinja2 environment, made on first use (the grader never needs it)


def _html(template: str, **values):
    """``template`` of :data:`_TEMPLATES` rendered with ``values`` escaped (a markupsafe.Markup
    fragment, rendered here, is kept as it is)."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        import jinja2

        _ENVIRONMENT = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=True,
                                          keep_trailing_newline=True)
    from markupsafe import Markup

    return Markup(_ENVIRONMENT.get_template(template).render(**values))


class ManualScoresError(ValueError):
    """A TA score file that cannot be merged; one line naming the file, the row and why."""


# ---------------------------------------------------------------------------------------------
# The written questions of the master
# ---------------------------------------------------------------------------------------------

def written_questions(table=None) -> dict[str, dict]:
    """``{"w1": {"points": 2.0, "prompt": "...", "bonus": False}, ...}``: the questions graded
    by hand, with their points, prompt and whether they are a bonus (extra credit), from the
    question table (``autograder/questions.json``)."""
    from autograder import questions

    table = table or questions.load()
    return {table[q].id.lower(): {"points": table[q].points, "prompt": table[q].prompt,
                                  "bonus": table[q].bonus}
            for q in table.written}


def points_heading(info: Mapping) -> str:
    """A written question's points as its headings say them: "2 points", "bonus, 1 point"."""
    points = f"{info['points']:g} point{'' if info['points'] == 1 else 's'}"
    return f"bonus, {points}" if info.get("bonus") else points


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
    sections = None
    if notebook is not None:
        given = answers(notebook)
        sections = [_question_section(question, info, given.get(question, ""), notebook)
                    for question, info in questions.items()]
    return _page(title, _html("submission", title=title, sections=sections))


def _question_section(question: str, info: Mapping, answer: str, notebook: dict) -> str:
    placeholder = not answer or answer.startswith("_Type your answer here")
    return _html("section", question=question, heading=points_heading(info),
                 prompt=_markdown(_prompt_text(info["prompt"])),
                 answer=None if placeholder else _markdown(answer),
                 cells=[_cell_html(cell) for cell in evidence_cells(notebook, question)])


def _prompt_text(prompt: str) -> str:
    return re.sub(r"<!--.*?-->", "", prompt, flags=re.DOTALL).strip()


def _cell_html(cell: dict) -> str:
    raw_outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    outputs = [_output_html(output) for output in raw_outputs if isinstance(output, dict)]
    return _html("cell", source=_text(cell.get("source"))[:MAX_TEXT_CHARS],
                 outputs=[output for output in outputs if output])


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
        return _html("plot", uri=image)
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
    return _html("text", text=text)


def _markdown(text: str) -> str:
    """Markdown as HTML with every raw HTML tag escaped (mistune; escaped text without it)
    and its TeX math (``$...$``, ``$$...$$``) drawn as PNG images (:func:`_math_html`).

    The formulas are swapped for tokens before the markdown is parsed (so that ``a_i`` in a
    formula is not read as emphasis) and the tokens for images after; a token holds a fresh
    random nonce, so student text cannot name one."""
    nonce = secrets.token_hex(8)
    formulas: list[str] = []

    def hold(match: re.Match) -> str:
        display = match.group(1) is not None
        formulas.append(_math_html(match.group(1) if display else match.group(2), display,
                                   len(formulas) < MAX_FORMULAS))
        return f"MATH{nonce}N{len(formulas) - 1}X"

    held = _MATH.sub(hold, text)
    try:
        import mistune

        rendered = mistune.create_markdown(renderer=_answer_renderer(mistune))(held)
    except ImportError:
        rendered = _html("markdown_text", text=held)
    from markupsafe import Markup

    # trusted: mistune escaped every raw tag of the student's text, the formulas are fragments
    return Markup(re.sub(f"MATH{nonce}N(\\d+)X", lambda m: formulas[int(m.group(1))], rendered))


def _answer_renderer(mistune):
    """mistune's HTML renderer with raw HTML escaped and a markdown image (``![alt](url)``)
    named, not loaded: the pages show only the PNGs of the student's own outputs, so a link to
    an outside picture never reaches a TA's browser (the CSP would also block it)."""
    class AnswerRenderer(mistune.HTMLRenderer):
        def image(self, text: str, url: str, title=None) -> str:
            return _html("image_not_shown", text=text or url)

    return AnswerRenderer(escape=True)


def _math_html(tex: str, display: bool, draw: bool = True) -> str:
    """One formula as an ``<img>`` of its PNG (matplotlib's mathtext, no TeX install; the TeX
    as its alt text, escaped), or as escaped code when it cannot be drawn (mathtext lacks the
    command, it is too long or too deeply nested, or ``draw`` is False: the page's formula
    quota is spent)."""
    image = _math_png(tex) if draw else ""
    marks = "$$" if display else "$"
    if not image:
        return _html("formula_text", tex=marks + tex + marks)
    return _html("formula", kind="math display" if display else "math", tex=tex, uri=image)


def _math_png(tex: str) -> str:
    """``data:image/png;base64,...`` of ``tex`` drawn by mathtext; "" when it cannot be."""
    tex = " ".join(tex.split())
    if len(tex) > MAX_FORMULA_CHARS or "$" in tex or _nesting(tex) > MAX_FORMULA_NESTING:
        return ""
    from matplotlib import mathtext

    buffer = io.BytesIO()
    try:
        mathtext.math_to_image(f"${tex}$", buffer, dpi=FORMULA_DPI, format="png")
    except Exception:  # noqa: BLE001 - any TeX mathtext cannot draw is shown as text
        return ""
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _nesting(tex: str) -> int:
    """The deepest ``{`` nesting of ``tex`` (mathtext's parser recurses on it)."""
    depth = deepest = 0
    for char in tex:
        depth += (char == "{") - (char == "}")
        deepest = max(deepest, depth)
    return deepest


def _page(title: str, body: str) -> str:
    """A page of the written folder: ``body`` (a rendered fragment) under an empty pager
    (:func:`write_index` fills it), with the CSP that forbids scripts and outside loads."""
    return str(_html("page", csp=CSP, title=title, body=body))  # CSP: our constant, unescaped


def write_pages(submissions: Sequence, out_dir: Path,
                identities: Mapping | None = None) -> list[Path]:
    """Write ``OUT/written/<id>.html`` for each submission (a :class:`batch.Submission`) and
    the index (:func:`write_index`); returns the pages. Nothing when the lab has no written
    question."""
    from autograder.frontends.report import identity_columns

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
    write_index(out_dir)
    return pages


def _page_or_notice(submission, questions: Mapping[str, dict], who: str) -> str:
    """The submission's page; a page saying why when it cannot be made (one submission's
    notebook never stops the batch's pages)."""
    try:
        notebook = None if submission.problem else notebook_of(submission.path)
        return written_page(submission.id, notebook, questions, who)
    except Exception as error:  # noqa: BLE001 - any failure on student data costs one page
        title = f"Written answers: {submission.id}"
        return _page(title, _html("notice", title=title, error=type(error).__name__))


# ---------------------------------------------------------------------------------------------
# The index, the pager and the TAs' score sheet (rebuilt from the output folder)
# ---------------------------------------------------------------------------------------------

def write_ta_files(out_dir: Path, submission_ids: Sequence[str]) -> dict[str, Path]:
    """Write the index of ``OUT/written`` (when the folder has pages) and the TAs' score sheet
    for ``submission_ids``; returns them by name (``written_index``, ``ta_sheet``), nothing
    when the lab has no written question."""
    if not written_questions():
        return {}
    paths = {"ta_sheet": write_score_sheet(out_dir, submission_ids)}
    if (Path(out_dir) / "written").is_dir():
        paths["written_index"] = write_index(out_dir)
    return paths


def write_index(out_dir: Path) -> Path:
    """Write ``OUT/written/index.html``: one row per page in ``OUT/written`` (also after the
    pages of several shards were copied there), in id order, with the submitters' names and
    each written question's TA score or "not graded yet"; and give every page its previous /
    next links (a page is rewritten only when its links changed). Returns the index."""
    from autograder.frontends.report import identity_columns
    from autograder.frontends.roster import load_identities

    folder = Path(out_dir) / "written"
    pages = sorted(p for p in folder.glob("*.html") if p.name != "index.html")
    for position in range(len(pages)):
        _set_pager(pages, position)
    questions = written_questions()
    identities, scores = load_identities(out_dir), load_manual(out_dir)
    rows = [_index_row(page, identity_columns(identities.get(page.stem, ()))["name"],
                       scores.get(page.stem, {}), questions) for page in pages]
    body = _html("index", progress=_progress(pages, scores, questions), rows=rows,
                 headings=[(q, points_heading(info)) for q, info in questions.items()])
    index = folder / "index.html"
    index.write_text(_page("Written answers", body), encoding="utf-8")
    return index


def _link(page: Path) -> dict[str, str]:
    """A page as a link: its quoted file name and its id."""
    return {"href": urllib.parse.quote(page.name), "id": page.stem}


def _index_row(page: Path, name: str, entry: Mapping, questions: Mapping[str, dict]) -> dict:
    """One row of the index: the page's link, the submitters' names and each question's
    score ("4 / 6"), None where no TA scored it yet."""
    return {**_link(page), "name": name,
            "cells": [f"{entry[q]:g} / {info['points']:g}" if q in entry else None
                      for q, info in questions.items()]}


def _progress(pages: Sequence[Path], scores: Mapping, questions: Mapping[str, dict]) -> str:
    """"12 submissions; scored: W1 5, W2 3, W3 0"."""
    scored = ", ".join(f"{q.upper()} {sum(q in scores.get(p.stem, {}) for p in pages)}"
                       for q in questions)
    return f"{len(pages)} submissions; scored: {scored}"


def _set_pager(pages: Sequence[Path], position: int) -> None:
    """Fill the pager of ``pages[position]`` with links to the previous page, the index and
    the next page. Side effect: rewrites the page when its pager differs."""
    previous = _link(pages[position - 1]) if position else None
    following = _link(pages[position + 1]) if position + 1 < len(pages) else None
    pager = str(_html("pager", previous=previous, following=following, position=position + 1,
                      count=len(pages)))
    text = pages[position].read_text(encoding="utf-8")
    updated = _PAGER.sub(lambda _: pager, text, count=1)
    if updated != text:
        pages[position].write_text(updated, encoding="utf-8")


def score_sheet_columns(questions: Mapping[str, dict]) -> list[str]:
    """``submission`` (the key), ``name``, ``sid``, ``email`` (to find the student), then per
    written question its score and comment columns (``w1``, ``w1_comment``, ...)."""
    return ["submission", "name", "sid", "email",
            *(column for q in questions for column in (q, f"{q}_comment"))]


def write_score_sheet(out_dir: Path, submission_ids: Sequence[str]) -> Path:
    """Write the TAs' score sheet ``OUT/written/ta_scores_template.csv``: one row per
    submission, its score cells empty ("not graded yet") or holding the score already merged,
    its comment cells likewise (:func:`score_sheet_columns`). ``grade``, ``merge`` and
    ``merge-manual`` rewrite it: TAs fill a copy and give that to ``merge-manual``. Returns
    the path. Side effect: creates ``OUT/written``."""
    from autograder.frontends.report import write_csv
    from autograder.frontends.report import identity_columns
    from autograder.frontends.roster import load_identities

    questions, identities, stored = written_questions(), load_identities(out_dir), \
        load_manual(out_dir)
    rows = []
    for sid in sorted(submission_ids):
        entry = stored.get(sid, {})
        row = {"submission": sid, **identity_columns(identities.get(sid, ()))}
        for question in questions:
            row[question] = f"{entry[question]:g}" if question in entry else ""
            row[f"{question}_comment"] = entry.get(f"{question}_comment", "")
        rows.append(row)
    return write_csv(Path(out_dir) / "written" / SCORE_SHEET, score_sheet_columns(questions),
                     rows)


# ---------------------------------------------------------------------------------------------
# TA scores
# ---------------------------------------------------------------------------------------------

def read_manual_scores(path: Path, questions: Mapping[str, dict], known: Sequence[str],
                       identities: Mapping[str, Sequence] | None = None) -> dict[str, dict]:
    """The TA scores of ``path`` as ``{submission id: {"w1": points, "w1_comment": text, ...,
    "comment": text}}``, submissions with nothing filled in left out.

    Each row is matched on the first of its ``submission`` (an id of ``known``), ``email`` or
    ``sid`` (through ``identities``) cells that is not empty. An empty score cell is "not
    graded yet". Comments: ``w1_comment`` ... per question, and an optional ``comment`` on the
    written part as a whole (:func:`with_manual` shows it once); each is cut to
    :data:`COMMENT_CHARS`. Raises ManualScoresError for an unknown key, a score that is not a
    number in [0, points], a file without key or question columns, a column named like a
    question the lab does not have (``w4``, ``w4_comment``), and two rows giving one
    submission different scores (e.g. two members of a group)."""
    rows, columns = _read_csv(path)
    keys = [c for c in ("submission", "email", "sid") if c in columns]
    scored = [q for q in questions if q in columns]
    if not keys or not scored:
        raise ManualScoresError(f"{path}: the header needs a 'submission', 'email' or 'sid' "
                                f"column and at least one of {', '.join(questions)}")
    unknown = sorted(c for c in columns
                     if QUESTION_COLUMN.fullmatch(c) and QUESTION_COLUMN.fullmatch(c).group(1)
                     not in questions)
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
            points = _score(_cell(row, columns, question), questions[question]["points"],
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
        entry.update(_comments(row, columns, questions))
    return {submission: entry for submission, entry in merged.items() if entry}


def _comments(row: dict, columns: Mapping[str, str], questions: Mapping[str, dict]) -> dict:
    """The non-empty comment cells of a row: ``{"w1_comment": text, "comment": text}``."""
    names = [f"{q}_comment" for q in questions] + ["comment"]
    found = {name: _cell(row, columns, name)[:COMMENT_CHARS] for name in names}
    return {name: text for name, text in found.items() if text}


def _cell(row: dict, columns: Mapping[str, str], name: str) -> str:
    """The stripped text of column ``name`` in ``row`` ("" when absent), without the quote a
    spreadsheet-safe CSV writer put before text starting like a formula (our sheet's ``'-x``
    reads back as ``-x``)."""
    text = (row.get(columns.get(name, ""), "") or "").strip()
    unquoted = text[1:]
    return unquoted if text.startswith("'") and unquoted.startswith(FORMULA_STARTS) else text


def _row_submission(row: dict, columns: Mapping[str, str], lookups: Mapping[str, dict],
                    where: str) -> str:
    """The submission id a row names (its first non-empty key cell)."""
    for key, lookup in lookups.items():
        value = _cell(row, columns, key)
        if value:
            if value.lower() not in lookup:
                raise ManualScoresError(f"{where}: no graded submission has {key} {value!r}")
            return lookup[value.lower()]
    raise ManualScoresError(f"{where}: no {' / '.join(lookups)} given")


def _read_csv(path: Path) -> tuple[list[dict], dict[str, str]]:
    """The TAs' sheet's rows, and its columns by lower-cased name ("student_id" also as "sid")."""
    try:
        header, rows = read_csv(path)
    except OSError as error:
        raise ManualScoresError(f"cannot read {path}: {error.strerror or error}") from None
    columns = {name.strip().lower(): name for name in header}
    if "student_id" in columns:
        columns.setdefault("sid", columns["student_id"])
    return rows, columns


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
    """The TA scores stored in ``OUT/manual_scores.json`` ({} when there are none)."""
    path = Path(out_dir) / MANUAL_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def with_manual(result: SubmissionResult, questions: Mapping[str, dict],
                scores: Mapping[str, dict]) -> SubmissionResult:
    """A copy of ``result`` with every written question in ``question_max``, one ``ta_score``
    check per TA score (passed at full points) and the questions without a score in
    ``pending`` (in neither the score nor the maximum: "not graded yet", never 0).

    A check's message is the TA's comment on its question; a comment on the written part as
    a whole (``comment``) is added once, under the first question scored."""
    entry = scores.get(result.submission, {})
    scored = [question for question in questions if question in entry]
    checks = [c for c in result.checks if c.name != TA_SCORE_CHECK]
    for question in scored:
        points, possible = float(entry[question]), questions[question]["points"]
        checks.append(CheckResult(question, TA_SCORE_CHECK, points, possible, points >= possible,
                                  _comment_shown(entry, question, question == scored[0])))
    maxima = {**result.question_max, **{q: info["points"] for q, info in questions.items()}}
    pending = [question for question in questions if question not in entry]
    return replace(result, checks=checks, question_max=maxima, pending=pending)


def _comment_shown(entry: Mapping, question: str, with_overall: bool) -> str:
    """The comment under ``question``: its own, then (``with_overall``) the overall one."""
    parts = [entry.get(f"{question}_comment", ""), entry.get("comment", "") if with_overall
             else ""]
    return "\n".join(part for part in parts if part)

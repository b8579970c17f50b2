"""Copies across a class: identical submissions and near-identical code of the graded functions.

Every class grading (``grade``) writes ``OUT/similarity.html`` and ``OUT/similarity.csv``:

- identical submissions: the same file bytes, or the same graded code once formatting and
  comments are dropped (``ast.unparse``);
- pairs of submissions whose graded functions share most of their code, ranked: fingerprints
  by winnowing over the tokenized code (copydetect, a maintained MOSS-style implementation;
  its tokenizer replaces names, so renaming variables does not hide a copy), the student
  template's own code (signatures, docstrings, stubs) discounted as boilerplate; each pair is
  shown side by side with the shared passages marked;
- for every submission, the notebook it was graded from (a zip holding several is graded from
  the one named ``pruning_lab.ipynb``) and whether the grader refused a function as code the
  notebook does not contain (provenance).

Only the graded functions are compared (``Question.functions``): the rest of the notebook is
the lab's own code or experiments. A flag is a reason to look, never a verdict.

The report is of every submission graded in ``OUT`` (one with a record), not only of those a
command was given: each grading stores what the report needs of a submission (its file digest,
its graded functions' source, its graded notebook and refusals) in ``OUT/graded_code/<id>.json``,
so a regrade of one student, or ``merge`` of shards (which copies those files), compares the
whole class again without the original files. Each submission is shown with its submitters'
names from ``OUT/identities.json``.
"""
from __future__ import annotations

import ast
import csv
import hashlib
import html
import importlib.util
import io
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

SHARED_SHARE = 0.8  # a pair is flagged when each side has at least this share of its code in common
NOISE_TOKENS, WINDOW = 25, 4  # copydetect's k-gram length and winnowing window (its defaults: 25, 1)
MIN_TOKENS = 60  # graded code shorter than this (a blank template) is not compared
MAX_DIGEST_BYTES = 256 * 2**20  # of one file: submissions are capped far below when graded
MAX_PAIRS_SHOWN = 100  # side by side in the HTML page, most similar first (the CSV has all)
# probes.student_function's message when it refuses a function (provenance)
PROVENANCE_REFUSAL = re.compile(r"(\w+) runs code that is not in the notebook")
ENTRIES_FOLDER = "graded_code"  # in OUT: one Entry per graded submission, <id>.json


@dataclass
class Entry:
    """One submission as the report sees it."""
    id: str
    file_digest: str
    code: str  # the graded functions' source, normalised
    graded_notebook: str = ""
    provenance_refusals: list[str] = field(default_factory=list)  # names refused


@dataclass
class Pair:
    """Two submissions sharing code: each side's share (0-1) and the shared passages."""
    first: str
    second: str
    shares: tuple[float, float]
    slices: tuple[list[tuple[int, int]], list[tuple[int, int]]]


def graded_names() -> tuple[str, ...]:
    """The functions and classes the lab grades, in question order."""
    from autograder import questions

    return tuple(dict.fromkeys(name for question in questions.load().questions
                               for name in question.functions))


def graded_code(cells: Iterable[str], names: Sequence[str]) -> str:
    """The top-level definitions of ``names`` in ``cells``, in ``names``' order, unparsed (so
    formatting and comments do not count); the last definition of a name wins, as when the
    notebook runs. Cells that do not parse (magics, syntax errors) are read without their
    magic lines, or skipped."""
    found: dict[str, str] = {}
    for cell in cells:
        tree = _parsed(cell)
        for node in getattr(tree, "body", []):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and node.name in names:
                found[node.name] = ast.unparse(node)
    return "\n\n".join(found[name] for name in names if name in found)


def _parsed(cell: str) -> ast.Module | None:
    lines = [line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError):
        return None


def entry_of(submission, result=None, names: Sequence[str] | None = None) -> Entry:
    """The report's view of one submission (a ``batch.Submission``) and its grading result."""
    from autograder.core.submission import code_cells
    from autograder.frontends.written import notebook_of

    names = names or graded_names()
    try:
        notebook = None if submission.problem else notebook_of(submission.path)
    except Exception:  # noqa: BLE001 - an unreadable submission compares as empty
        notebook = None
    code = graded_code(code_cells(notebook), names) if isinstance(notebook, dict) else ""
    notes = list(getattr(result, "notes", []) or [])
    graded = next((note.split(": ", 1)[1] for note in notes
                   if note.startswith("graded notebook: ")), "")
    refused = sorted({match.group(1) for check in getattr(result, "checks", [])
                      for match in PROVENANCE_REFUSAL.finditer(check.message or "")})
    return Entry(submission.id, _digest(submission.path), code, graded, refused)


def _digest(path: Path) -> str:
    """sha256 of a file's bytes (its name aside: a copy is renamed), or of a folder's files
    (their paths inside it and bytes, sorted)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("*"))
    for file in files:
        if file.is_symlink() or not file.is_file():  # a student's link may point anywhere
            continue
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
        try:
            with open(file, "rb") as handle:
                digest.update(handle.read(MAX_DIGEST_BYTES))
        except OSError:
            continue
    return digest.hexdigest()


def identical_groups(entries: Sequence[Entry]) -> list[list[str]]:
    """Groups (of two or more ids) with the same file bytes or the same graded code."""
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        groups.setdefault(("file", entry.file_digest), []).append(entry.id)
        if entry.code:
            code_digest = hashlib.sha256(entry.code.encode()).hexdigest()
            groups.setdefault(("code", code_digest), []).append(entry.id)
    unique = {tuple(ids) for ids in groups.values() if len(ids) > 1}
    return [list(ids) for ids in sorted(unique)]


def similar_pairs(entries: Sequence[Entry], boilerplate: str,
                  threshold: float = SHARED_SHARE) -> list[Pair]:
    """Pairs whose graded code shares at least ``threshold`` of each side's tokens, most
    similar first (copydetect's fingerprints; ``boilerplate``'s discounted)."""
    from copydetect import CodeFingerprint, compare_files

    template = _fingerprint(CodeFingerprint, boilerplate, ())
    ignored = list(template.hashes) if template is not None else []
    prints = {entry.id: _fingerprint(CodeFingerprint, entry.code, ignored) for entry in entries}
    pairs = []
    for first, second in itertools.combinations(sorted(prints), 2):
        a, b = prints[first], prints[second]
        if a is None or b is None:
            continue
        _, shares, slices = compare_files(a, b)
        if min(shares) >= threshold:
            pairs.append(Pair(first, second, (float(shares[0]), float(shares[1])),
                              (_spans(slices[0]), _spans(slices[1]))))
    return sorted(pairs, key=lambda pair: (-min(pair.shares), pair.first, pair.second))


def _fingerprint(fingerprint_class, code: str, boilerplate):
    if not code:
        return None
    made = fingerprint_class("graded.py", NOISE_TOKENS, WINDOW, boilerplate=boilerplate,
                             fp=io.StringIO(code))
    return made if made.token_coverage >= MIN_TOKENS else None


def _spans(slices) -> list[tuple[int, int]]:
    """copydetect's 2xN slice array as (start, end) character spans of the raw code."""
    if len(slices) != 2 or not len(slices[0]):
        return []
    return [(int(start), int(end)) for start, end in zip(slices[0], slices[1])]


# ---------------------------------------------------------------------------------------------
# Writing the report
# ---------------------------------------------------------------------------------------------

def write_report(out_dir: Path, entries: Sequence[Entry], pairs: Sequence[Pair],
                 groups: Sequence[Sequence[str]],
                 names: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write ``similarity.csv`` (one row per flagged pair or identical group) and
    ``similarity.html`` (the same, each pair's code side by side, and every submission's graded
    notebook and provenance refusals; each id with its submitters' ``names``, by id) into
    ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"similarity_csv": out_dir / "similarity.csv",
             "similarity_html": out_dir / "similarity.html"}
    with open(paths["similarity_csv"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "submissions", "share_first", "share_second"])
        for group in groups:
            writer.writerow(["identical", " ".join(group), "1.000", "1.000"])
        for pair in pairs:
            writer.writerow(["similar", f"{pair.first} {pair.second}",
                             f"{pair.shares[0]:.3f}", f"{pair.shares[1]:.3f}"])
    by_id = {entry.id: entry for entry in entries}
    paths["similarity_html"].write_text(_page(entries, pairs, groups, by_id, names or {}),
                                        encoding="utf-8")
    return paths


def _page(entries, pairs, groups, by_id: Mapping[str, Entry], names: Mapping[str, str]) -> str:
    def shown(sub_id: str) -> str:  # the id and its submitters' names, escaped
        name = names.get(sub_id, "")
        return html.escape(f"{sub_id} ({name})" if name else sub_id)

    parts = ["<!doctype html><meta charset='utf-8'><title>Similarity</title><style>"
             "body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:.5em;"
             "white-space:pre-wrap;font-size:12px}mark{background:#fd8}.pair{display:flex;"
             "gap:1em}.pair>div{flex:1;min-width:0}td,th{padding:.2em .6em;text-align:left}"
             "</style><h1>Similarity of the graded functions</h1>",
             f"<p>{len(entries)} submissions; a pair is listed when each side shares at least "
             f"{SHARED_SHARE:.0%} of its graded code with the other (names and formatting "
             "ignored, the template's code discounted). A flag is a reason to look, never a "
             "verdict.</p>", "<h2>Identical</h2>"]
    parts.append("<ul>" + "".join(f"<li>{', '.join(map(shown, group))}</li>" for group in groups)
                 + "</ul>" if groups else "<p>None.</p>")
    parts.append("<h2>Similar pairs</h2>")
    if not pairs:
        parts.append("<p>None.</p>")
    if len(pairs) > MAX_PAIRS_SHOWN:
        parts.append(f"<p>The {MAX_PAIRS_SHOWN} most similar of {len(pairs)} pairs; "
                     "similarity.csv lists them all.</p>")
    for pair in pairs[:MAX_PAIRS_SHOWN]:
        parts.append(f"<h3>{shown(pair.first)}: {pair.shares[0]:.0%} and "
                     f"{shown(pair.second)}: {pair.shares[1]:.0%}</h3><div class='pair'>")
        for sub_id, spans in ((pair.first, pair.slices[0]), (pair.second, pair.slices[1])):
            parts.append(f"<div><b>{shown(sub_id)}</b><pre>"
                         f"{_marked(by_id[sub_id].code, spans)}</pre></div>")
        parts.append("</div>")
    parts.append("<h2>Every submission</h2><table><tr><th>submission</th><th>submitters</th>"
                 "<th>graded notebook</th><th>refused as not the notebook's own code</th></tr>")
    for entry in entries:
        parts.append(f"<tr><td>{html.escape(entry.id)}</td>"
                     f"<td>{html.escape(names.get(entry.id, ''))}</td>"
                     f"<td>{html.escape(entry.graded_notebook)}</td>"
                     f"<td>{html.escape(', '.join(entry.provenance_refusals))}</td></tr>")
    return "".join(parts) + "</table>\n"


def _marked(code: str, spans: Sequence[tuple[int, int]]) -> str:
    """``code`` escaped for HTML with the ``spans`` (character ranges) in <mark>."""
    out, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(code))
        if start >= end:
            continue
        out += [html.escape(code[position:start]), "<mark>", html.escape(code[start:end]),
                "</mark>"]
        position = end
    out.append(html.escape(code[position:]))
    return "".join(out)


def report_class(submissions: Sequence, results: Sequence, out_dir: Path) -> str:
    """Store the report's view of each of ``submissions`` (with their ``results``, by id) in
    ``OUT/graded_code``, then write the report of every submission graded in ``out_dir``
    (:func:`report_folder`); returns its one line for the summary."""
    names = graded_names()
    by_id = {result.submission: result for result in results}
    for submission in submissions:
        save_entry(out_dir, entry_of(submission, by_id.get(submission.id), names))
    return report_folder(out_dir)


def save_entry(out_dir: Path, entry: Entry) -> Path:
    """Write ``entry`` to ``OUT/graded_code/<id>.json``; returns the path."""
    folder = Path(out_dir) / ENTRIES_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry.id}.json"
    path.write_text(json.dumps(asdict(entry), indent=1) + "\n", encoding="utf-8")
    return path


def load_entries(out_dir: Path) -> tuple[list[Entry], list[str]]:
    """The stored entries of every submission graded in ``out_dir`` (one per record), by id,
    and the ids graded without one (before the report kept them, or unreadable)."""
    from autograder.core.batch import RecordStore

    entries, missing = [], []
    for record in sorted(RecordStore(out_dir).folder.glob("*.json")):
        path = Path(out_dir) / ENTRIES_FOLDER / record.name
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            entries.append(Entry(**{**stored, "id": record.stem}))
        except (OSError, ValueError, TypeError):
            missing.append(record.stem)
    return entries, missing


def report_folder(out_dir: Path) -> str:
    """Compare every submission graded in ``out_dir`` (its stored entries), write
    ``similarity.html`` / ``.csv`` there and return one line saying how many were compared."""
    from autograder.frontends.report import identity_columns
    from autograder.frontends.roster import load_identities

    entries, missing = load_entries(out_dir)
    gap = (f"; {len(missing)} graded submission(s) have no stored code and are left out "
           f"(grade them again with --redo): {', '.join(missing[:10])}"
           + (" ..." if len(missing) > 10 else "")) if missing else ""
    if len(entries) < 2:
        return (f"similarity: {len(entries)} submission(s) with stored code, nothing to "
                f"compare{gap}")
    if importlib.util.find_spec("copydetect") is None:
        return ("similarity report skipped: pip install copydetect (requirements-authoring.txt)"
                + gap)
    names = {sid: identity_columns(people)["name"]
             for sid, people in load_identities(out_dir).items()}
    groups = identical_groups(entries)
    pairs = similar_pairs(entries, template_code(graded_names()))
    paths = write_report(out_dir, entries, pairs, groups, names)
    return (f"similarity: compared {len(entries)} submission(s) (every one graded in "
            f"{Path(out_dir)}): {len(groups)} identical group(s), {len(pairs)} similar pair(s): "
            f"{paths['similarity_html']}{gap}")


def template_code(names: Sequence[str]) -> str:
    """The student template's own code of the graded functions (stubs, docstrings): the
    boilerplate every submission shares."""
    from autograder.core.submission import code_cells
    from autograder.frontends.examples import student_template

    try:
        notebook = json.loads(student_template().read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - no template: nothing discounted
        return ""
    return graded_code(code_cells(notebook), names)

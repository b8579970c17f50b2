"""Tests of the written-answer pages (W1-W3 with the outputs they refer to), including that a
page renders in headless Chromium, shows the student's plots and loads nothing from outside."""
from __future__ import annotations

import base64
import copy
import http.server
import io
import json
import shutil
import subprocess
import threading
import zipfile

import numpy as np
import pytest

from autograder.frontends import report, written
from autograder.core.batch import Submission
from tests.autograder.fakes import QUESTION_MAX, fake_result
from tests.conftest import REPO_ROOT

TEMPLATE = REPO_ROOT / "student_template" / "pruning_lab.ipynb"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync")


def _png(color=(255, 0, 0), size=40) -> str:
    """Base64 of a PNG: a square of one colour (to find it again in a screenshot)."""
    from matplotlib.image import imsave

    pixels = np.zeros((size, size, 3), dtype=np.uint8)
    pixels[:, :] = color
    buffer = io.BytesIO()
    imsave(buffer, pixels, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def _cell_with(notebook: dict, marker: str) -> dict:
    return next(c for c in notebook["cells"] if c["cell_type"] == "code"
                and marker in "".join(c["source"]))


def answered_notebook(w1: str = "conv0 is the most sensitive layer; conv7 the least.") -> dict:
    """The student template with W1 and W2 answered (W3 left as given) and outputs where a run
    leaves them: the scan's plot (a red PNG), the channel-pruning accuracies, and an HTML
    output that must never be rendered."""
    notebook = copy.deepcopy(json.loads(TEMPLATE.read_text()))
    placeholders = [c for c in notebook["cells"] if c["cell_type"] == "markdown"
                    and "".join(c["source"]).startswith("_Type your answer here")]
    placeholders[0]["source"] = w1
    placeholders[1]["source"] = "Keeping the first channels drops ones the next layer needs."
    _cell_with(notebook, "sensitivity_scan(")["outputs"] = [
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": _png(), "text/plain": "<Figure>"}}]
    _cell_with(notebook, "naive_pruned = channel_prune(")["outputs"] = [
        {"output_type": "stream", "name": "stdout",
         "text": "channel-pruned at 0.3, first channels kept: 31.25% (dense: 96.05%)\n"}]
    _cell_with(notebook, "plot_model_comparison(")["outputs"] = [
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": "<script>document.title='pwned'</script><b>table</b>",
                  "text/plain": "model comparison"}}]
    return notebook


def test_written_questions_come_from_the_question_table():
    """The lab's manual questions are w1, w2, w3 at 2 points each and the bonus w4 at 1, with
    their prompts (the question table, generated from the master); headings say the bonus."""
    questions = written.written_questions()
    assert {q: info["points"] for q, info in questions.items()} == {"w1": 2, "w2": 2, "w3": 2,
                                                                    "w4": 1}
    assert [q for q, info in questions.items() if info["bonus"]] == ["w4"]
    assert "sensitivity scan" in questions["w1"]["prompt"]
    assert written.points_heading(questions["w4"]) == "bonus, 1 point"
    assert written.points_heading(questions["w1"]) == "2 points"


def test_answers_and_evidence_are_found():
    """Each question's answer is the markdown after its prompt; its evidence are the cells
    EVIDENCE names, in notebook order."""
    notebook = answered_notebook()
    given = written.answers(notebook)
    assert given["w1"].startswith("conv0 is the most sensitive")
    assert given["w3"].startswith("_Type your answer here")
    w1 = written.evidence_cells(notebook, "w1")
    assert len(w1) == len(written.EVIDENCE["w1"])
    assert "sensitivity_scan(" in "".join(w1[1]["source"])
    assert all(written.evidence_cells(notebook, q) for q in ("w2", "w3"))


def test_page_escapes_student_content_and_shows_only_text_and_png():
    """Student markdown cannot inject HTML; an HTML output is shown as its plain text; a PNG
    is embedded as a data URI; a non-PNG claiming to be one is dropped; a markdown image is
    named, not loaded; an unanswered question says so; the page forbids scripts and outside
    loads."""
    notebook = answered_notebook(w1="**bold** <script>alert(1)</script> <img src=x onerror=y> "
                                    "![tracker](http://127.0.0.1:9/t.png)")
    _cell_with(notebook, "prunable_weights(model)")["outputs"] = [
        {"output_type": "display_data", "metadata": {},
         "data": {"image/png": base64.b64encode(b"<svg onload=alert(1)>").decode()}}]
    page = written.written_page("alice", notebook, written.written_questions(), "Alice A")
    assert "<strong>bold</strong>" in page and "&lt;script&gt;alert(1)" in page
    assert "<script" not in page and "onerror=y>" not in page
    assert "[image not shown: tracker]" in page and "127.0.0.1:9" not in page  # named, not loaded
    assert "model comparison" in page and "<b>table</b>" not in page
    assert page.count("<img alt='plot' src='data:image/png;base64,") == 1
    assert "31.25%" in page
    assert "No answer." in page  # W3
    assert "default-src 'none'" in page and "Alice A" in page


def test_pages_for_a_batch(tmp_path):
    """write_pages makes one page per submission (an Otter zip, a notebook, an unreadable one)
    and an index linking them."""
    notebook = json.dumps(answered_notebook())
    with zipfile.ZipFile(tmp_path / "alice.zip", "w") as archive:
        archive.writestr("pruning_lab.ipynb", notebook)
        archive.writestr("finegrained.pt", b"x")
    (tmp_path / "bob.ipynb").write_text(notebook)
    (tmp_path / "carol.ipynb").write_text("{ not json")
    submissions = [Submission("alice", tmp_path / "alice.zip"),
                   Submission("bob", tmp_path / "bob.ipynb"),
                   Submission("carol", tmp_path / "carol.ipynb")]
    pages = written.write_pages(submissions, tmp_path / "out")
    assert [p.name for p in pages] == ["alice.html", "bob.html", "carol.html"]
    assert "conv0 is the most sensitive" in pages[0].read_text()
    assert "No readable notebook" in pages[2].read_text()
    index = (tmp_path / "out" / "written" / "index.html").read_text()
    assert all(f"href='{name}.html'" in index for name in ("alice", "bob", "carol"))


def test_an_ungraded_written_question_is_neither_zero_nor_in_the_maximum():
    """With W1 scored for one submission only, the others keep the automatic maximum and show
    empty W cells; the scored one's maximum grows by W1's points alone; per-question means
    are over the submissions scored; a TA comment on full points is kept."""
    questions = written.written_questions()
    scores = {"alice": {"w1": 2.0, "w1_comment": "clear and complete"}}
    results = [written.with_manual(fake_result(name), questions, scores)
               for name in ("alice", "bob", "carol")]
    rows = {row["id"]: row for row in report.gradebook_rows(results)}
    automatic = sum(QUESTION_MAX.values())
    assert float(rows["bob"]["max"]) == automatic == report.points_possible(results[1], QUESTION_MAX)
    assert (rows["bob"]["w1"], rows["bob"]["w2"]) == ("", "")
    assert float(rows["alice"]["max"]) == automatic + 2 and rows["alice"]["w1"] == "2"
    assert rows["alice"]["w2"] == "" and float(rows["alice"]["percent"]) == 100
    stats = report.class_stats(results)
    assert stats["per_question"]["w1"] == {"max": 2.0, "mean": 2.0, "full_marks": 1, "scored": 1}
    assert stats["pending"] == 3
    assert "clear and complete" in report.feedback_text(results[0])
    assert "not graded yet" in report.class_report_markdown(results)



def test_summary_and_class_report_are_out_of_the_rows_maximum():
    """With no written question graded, every row is out of the autograded points: the
    summary and class report say so, with the written points waiting; when the rows differ
    (one scored), they give the range."""
    questions = written.written_questions()
    waiting = sum(info["points"] for info in questions.values() if not info["bonus"])
    automatic = sum(QUESTION_MAX.values())
    none = [written.with_manual(fake_result(name), questions, {}) for name in ("alice", "bob")]
    rows = report.gradebook_rows(none)
    assert {row["max"] for row in rows} == {report.points_text(automatic)}
    out_of = f"{report._shown(automatic)} (+{report._shown(waiting)} written, not graded yet)"
    assert f"total: mean 6.00 / {out_of}," in report.summary_table(none)
    assert f"of {report._shown(automatic)} points (+{report._shown(waiting)} written, not " \
        "graded yet)" in report.class_report_markdown(none)
    some = [written.with_manual(fake_result("alice"), questions, {"alice": {"w1": 2.0}}),
            none[1]]
    assert (f"/ {report._shown(automatic)} to {report._shown(automatic + 2)} (written "
            "questions not graded yet for 2 submission(s))") in report.summary_table(some)
    graded = {name: {q: 1.0 for q in questions} for name in ("alice", "bob")}
    every = [written.with_manual(fake_result(n), questions, graded) for n in ("alice", "bob")]
    assert f"/ {report._shown(automatic + waiting)}, median" in report.summary_table(every)


def test_ta_partial_credit_is_a_grade_not_a_failed_check():
    """A TA's 1/2 is not in the failed-check statistics (class report, chart) and its
    results.json row has no status (Gradescope's "failed" would read as an autograder
    failure); an autograder check's row keeps passed/failed."""
    questions = written.written_questions()
    result = written.with_manual(fake_result("bob", failed=("q2/mask_exact",)), questions,
                                 {"bob": {"w1": 1.0, "w1_comment": "half right"}})
    stats = report.class_stats([result])
    assert stats["check_failures"] == {"q2/mask_exact": 1}
    markdown = report.class_report_markdown([result])
    assert "ta_score" not in markdown and "| q2/mask_exact | 1 |" in markdown
    rows = {row["name"]: row for row in report.gradescope_results(result)["tests"]}
    assert "status" not in rows["w1"] and (rows["w1"]["score"], rows["w1"]["max_score"]) == (1, 2)
    assert rows["w1"]["output"].startswith("Scored by a TA (1/2)")
    assert rows["q2"]["status"] == "failed" and rows["q1"]["status"] == "passed"

def test_math_in_answers_is_drawn_and_student_text_stays_escaped():
    """Inline and display TeX become PNG images with the TeX as escaped alt text; prices are
    not formulas; TeX mathtext cannot draw, or a forged placeholder, stays escaped text."""
    answer = ("Sparsity $s_i = 1 - n_i / N_i$ per layer:\n\n$$\\frac{\\|W\\|_F}{2}$$\n\n"
              "It cost $5 and $10. $\\notacommand{x}$ and $a<script>alert(1)</script>$ "
              "MATH0123456789abcdefN0X")
    html_text = written._markdown(answer)
    assert html_text.count("<img class='math' alt='s_i = 1 - n_i / N_i' src='data:image/png;"
                           "base64,") == 1
    assert "<img class='math display' alt='\\frac{\\|W\\|_F}{2}'" in html_text
    assert "$5 and $10" in html_text
    assert "<code class='math'>$\\notacommand{x}$</code>" in html_text
    assert "<script" not in html_text and "MATH0123456789abcdefN0X" in html_text
    image = html_text.split("src='data:image/png;base64,")[1].split("'")[0]
    assert base64.b64decode(image).startswith(written.PNG_SIGNATURE)


def test_every_evidence_marker_is_in_the_student_notebook():
    """Each cell EVIDENCE names exists in the notebook students get (a renamed cell would
    silently drop its outputs from the TA's page)."""
    notebook = json.loads(TEMPLATE.read_text())
    sources = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    for question, markers in written.EVIDENCE.items():
        for marker in markers:
            assert any(marker in source for source in sources), (question, marker)


def test_malformed_notebooks_cost_only_their_own_page(tmp_path):
    """Cells that are not dicts, sources of numbers, outputs of the wrong type: the page is
    still made (or says why it could not be), and the next submission's page too."""
    odd = answered_notebook()
    odd["cells"] = [42, {"cell_type": "markdown", "source": [1, 2]}, *odd["cells"]]
    odd["cells"][5]["outputs"] = "not a list"
    (tmp_path / "odd.ipynb").write_text(json.dumps(odd))
    (tmp_path / "cells_42.ipynb").write_text(json.dumps({"cells": [42], "nbformat": 4}))
    (tmp_path / "good.ipynb").write_text(json.dumps(answered_notebook()))
    submissions = [Submission(name, tmp_path / f"{name}.ipynb")
                   for name in ("odd", "cells_42", "good")]
    pages = written.write_pages(submissions, tmp_path / "out")
    assert [p.name for p in pages] == ["odd.html", "cells_42.html", "good.html"]
    assert "conv0 is the most sensitive" in pages[0].read_text()
    assert "conv0 is the most sensitive" in pages[2].read_text()


def test_page_shows_the_graded_notebook_not_a_checkpoint_copy(tmp_path):
    """In a zip holding Jupyter's .ipynb_checkpoints copy too, the page shows the notebook the
    grader chose, not the first member with that name."""
    stale = answered_notebook(w1="STALE checkpoint answer")
    with zipfile.ZipFile(tmp_path / "dora.zip", "w") as archive:
        archive.writestr(".ipynb_checkpoints/pruning_lab.ipynb", json.dumps(stale))
        archive.writestr("pruning_lab.ipynb", json.dumps(answered_notebook(w1="the real one")))
    page = written.write_pages([Submission("dora", tmp_path / "dora.zip")], tmp_path / "out")[0]
    assert "the real one" in page.read_text() and "STALE" not in page.read_text()


def test_progress_bars_show_their_last_frame():
    """A progress bar redrawn with carriage returns (as nbconvert saves it) is one line."""
    output = {"output_type": "stream", "name": "stderr",
              "text": "scan  10%|#\rscan  50%|#####\rscan 100%|##########\ndone\n"}
    shown = written._output_html(output)
    assert "100%" in shown and "50%" not in shown and "done" in shown


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no headless Chromium here (apt-get install chromium; .ci/run installs it)")


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _Counter.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_page_renders_in_headless_chromium(tmp_path):
    """Chromium renders the page: the answer text is in the DOM, the student's plot is drawn
    (its red pixels are in a screenshot), a formula is an image, the student's script is text,
    not an element, and a remote image in an answer is never fetched (a loopback server counts
    requests)."""
    browser = _chromium()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tracker = f"http://127.0.0.1:{server.server_port}/tracker.png"
    try:
        notebook = answered_notebook(w1=f"conv0 is fragile. <script>x()</script> ![t]({tracker})"
                                        " $s = 1 - n/N$")
        page = tmp_path / "alice.html"
        page.write_text(written.written_page("alice", notebook, written.written_questions()))
        common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
        dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True,
                             text=True, timeout=120).stdout
        shot = tmp_path / "shot.png"
        subprocess.run([*common, f"--screenshot={shot}", "--window-size=1000,2600",
                        page.as_uri()], capture_output=True, timeout=120, check=True)
    finally:
        server.shutdown()
    assert "conv0 is fragile." in dom and "<h2>W1 (2 points)</h2>" in dom
    assert "<script>" not in dom and "&lt;script&gt;x()" in dom
    assert '<img class="math" alt="s = 1 - n/N"' in dom
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    red = (pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.1) & (pixels[..., 2] < 0.1)
    assert red.sum() >= 40 * 40 * 0.9, "the student's plot was not drawn"
    assert _Counter.hits == [], "the page fetched something from outside"

"""The Colab variant end to end, as a student on Colab does it, with Colab simulated here:

- the instructor builds it with ``--student-url`` pointing at a web server (a local one on
  loopback, serving the build's ``assignment/dist/colab/`` folder);
- the notebook runs alone in an empty folder (Colab's ``/content``) in a kernel that Otter takes
  for Colab's (``google.colab._kernel.Kernel`` from ``colab_stub/``; Otter tells Colab by the
  shell's class): its first cell fetches the lab's files from the server, ``grader.check`` runs
  the public test files, and the export cell reads the notebook from the "front end" (the stub
  answers with the notebook as executed so far) and downloads the submission zip;
- the kit's grader grades the downloaded zip.

Runs the notebook on the reduced ``PRUNEKIT_BUDGET=smoke`` budget, like the end-to-end test.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from assignment.build import build_colab
from assignment.colab import COLAB_FILES_ZIP
from autograder import questions
from autograder.core.grade import GradingConfig, grade_submission
from prunekit.export import SUBMISSION_ZIP
from prunekit.submission import MODEL_FILES, NOTEBOOK_FILE

from .notebooks import code_cells, error_outputs, fill_answers, read

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

STUB = Path(__file__).resolve().parent / "colab_stub"
COLAB_KERNEL = "--IPKernelApp.kernel_class=google.colab._kernel.Kernel"
PROBE = """\
import json, prunekit
json.dump({"prunekit": prunekit.__file__, "interpreter": str(grader.interpreter)},
          open("probe.json", "w"))
"""


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and records the paths asked for."""
    requested: list[str] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A web server on 127.0.0.1 (a free port) serving an initially empty folder."""
    folder = tmp_path_factory.mktemp("published")
    handler = functools.partial(RecordingHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def colab_run(server, solved_nb, tmp_path_factory):
    """Build the Colab variant for the server, fill in the answers, run it in an empty folder in
    the simulated Colab kernel: ``(content folder, executed notebook, downloads folder)``."""
    published, url = server
    work = tmp_path_factory.mktemp("colab")
    notebook = build_colab(work / "stage", f"{url}/{COLAB_FILES_ZIP}", published)
    filled = fill_answers(read(notebook), solved_nb)
    filled.cells.append(nbformat.v4.new_code_cell(PROBE))
    content, downloads = work / "content", work / "downloads"
    content.mkdir()
    downloads.mkdir()
    browser = work / "browser.ipynb"  # the notebook as Colab's front end holds it
    env = {**os.environ, "PRUNEKIT_BUDGET": "smoke", "COLAB_STUB_NOTEBOOK": str(browser),
           "COLAB_STUB_DOWNLOADS": str(downloads),
           "PYTHONPATH": os.pathsep.join([str(STUB), os.environ.get("PYTHONPATH", "")])}
    for name in ("PRUNEKIT_PROFILE", "PRUNEKIT_DATA", "PRUNEKIT_CHECKPOINTS"):
        env.pop(name, None)
    from .notebooks import execute_saving

    executed = execute_saving(filled, content, browser, lambda cell: True, env=env,
                              kernel_arguments=(COLAB_KERNEL,))
    return content, executed, downloads


def test_the_first_cell_fetches_the_lab_from_the_course_url(colab_run):
    content, executed, _ = colab_run
    assert error_outputs(executed) == []
    assert f"/{COLAB_FILES_ZIP}" in RecordingHandler.requested
    assert {"prunekit", "tests", "checkpoints"} <= {p.name for p in content.iterdir()}
    probe = json.loads((content / "probe.json").read_text())
    assert Path(probe["prunekit"]).is_relative_to(content)  # the fetched package, not the kit's
    assert probe["interpreter"] == "IPythonInterpreter.COLAB"  # Otter believed it was Colab


def test_grader_check_runs_the_public_test_files(colab_run):
    _, executed, _ = colab_run
    checks = [c for c in code_cells(executed) if c.source.startswith('grader.check("')]
    assert len(checks) == len(questions.load().graded)
    for cell in checks:
        shown = "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                        for o in cell.outputs)
        assert "All test cases passed!" in shown, (cell.source, shown)


def test_the_export_cell_downloads_a_zip_the_grader_accepts(colab_run, tmp_path):
    _, _, downloads = colab_run
    submission = downloads / SUBMISSION_ZIP
    with zipfile.ZipFile(submission) as archive:
        assert sorted(archive.namelist()) == sorted([NOTEBOOK_FILE, *MODEL_FILES])
        notebook = json.loads(archive.read(NOTEBOOK_FILE))
    assert any(cell.get("outputs") for cell in notebook["cells"])  # this run's, with outputs
    result = grade_submission(submission, GradingConfig.for_profile("offline"), tmp_path)
    assert result.status == "graded", result.reason
    points = questions.load().points()
    for question in questions.load().graded:
        assert result.question_scores[question] == pytest.approx(points[question]), \
            [(c.name, c.message) for c in result.checks if c.question == question and not c.passed]

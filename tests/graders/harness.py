"""The grader-evidence harness: case files (mutants, valid alternatives, attacks) turned into
submissions, graded in one batch by the real grader, and judged against what each file declares.

A case file is a small Python file in ``mutants/``, ``alternatives/`` or ``attacks/``: a header of
``# key: value`` comment lines (a line ``#   more`` continues the previous value), then the body.

Header keys:

``about``      one line: what the case is (it becomes the report's description);
``replaces``   the definition(s) the body replaces in the solved notebook's code, comma
               separated: a function, a class, a variable (``sparsity_dict``) or a method
               (``FineGrainedPruner.apply``);
``loses``      (mutants) the question(s) where it must lose points, comma separated; everywhere
               else it must keep the solved notebook's full marks;
``feedback``   (mutants) phrases, separated by `` | ``, that the failed checks' messages on those
               questions must contain (case-insensitive): the property that failed;
``base``       (attacks) what the attack is built on: ``blank`` (the student template, no model
               files), ``solved`` (the solved notebook with the reference model files) or
               ``mutant:<name>``; this is the attack's honest part: the attack must score no
               more than it on any question;
``keeps``      (attacks) ``all``: the attack must score exactly what its base scores (a contained
               attack changes nothing);
``status``     (attacks) the grading statuses allowed, comma separated (default ``graded``);
``lacks``      phrases, separated by `` | ``, that its feedback must not contain: (attacks)
               what the attack reports through exception messages when it succeeds;
               (mutants) a wrong diagnosis, or a check that must not fail for this mistake;
``defence``    (attacks) what in the grader should stop it (shown in the report);
``earns``      (attacks) ``question/check`` names it may pass beyond its honest part by a
               grading policy, which ``why`` states (shown in the report).

Body: for mutants and alternatives, the source that replaces the ``replaces`` definition (it may
define helpers before it). Attacks (and cases needing several parts) use sections, each started by
a marker line (mutants only replace definitions; alternatives may also add cells, attacks
anything):

``# --- replace: NAME``            the source replacing definition NAME;
``# --- cell``                     a code cell appended at the end of the notebook;
``# --- file: PATH``               a file shipped in the submission zip at PATH, with this text;
``# --- file: PATH <- GENERATOR``  a file made by a generator (see :data:`GENERATORS`).

``{{MARKER_DIR}}`` in an attack is replaced by a folder outside the grader's output that the
attack tries to write to (the tests check it stays untouched); ``{{NAME}}`` by the case's name;
``{{LOOPBACK_PORT}}`` by the port of a TCP socket on 127.0.0.1 that the evidence run listens on
while it grades (no sandbox may reach it); ``{{SOLVED_CODE_B64}}`` by the solved notebook's
definitions, base64-encoded (what a channel between two sandboxes would carry).
"""
from __future__ import annotations

import ast
import copy
import hashlib
import io
import json
import os
import pickle
import re
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from autograder import manifest
from autograder.master import defined_names
from prunekit.submission import MODEL_FILES

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
MASTER_NOTEBOOK = REPO_ROOT / "assignment" / "pruning_lab.ipynb"
KINDS = {"mutant": HERE / "mutants", "alternative": HERE / "alternatives",
         "attack": HERE / "attacks"}
ID_PREFIX = {"mutant": "mutant", "alternative": "alt", "attack": "attack"}
BASES = ("solved", "blank")
NOTEBOOK_NAME = "pruning_lab.ipynb"
FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TIMEOUT_S = 40.0  # the student process's wall / CPU limit in the evidence batch (core: 90 s): the
#                   slowest honest case needs about 13 s on 2 busy cores; the infinite loop waits it out
WORKERS = 2

_HEADER = re.compile(r"^#\s?([a-z]+):\s*(.*)$")
_CONTINUATION = re.compile(r"^#\s{2,}(\S.*)$")
_SECTION = re.compile(r"^# --- (replace|cell|file)(?::\s*(.*?))?\s*$")


class CaseError(ValueError):
    """A case file is malformed or no longer applies to the solved notebook (says which)."""


@dataclass(frozen=True)
class Section:
    kind: str  # "replace", "cell" or "file"
    target: str  # the definition replaced, the file's zip path, "" for cells
    text: str
    generator: str = ""  # for generated files


@dataclass(frozen=True)
class Case:
    """One case file, parsed."""
    kind: str  # "mutant", "alternative" or "attack"
    name: str  # the file's stem
    path: Path
    about: str
    header: Mapping[str, str]
    sections: tuple[Section, ...]

    @property
    def id(self) -> str:
        """The submission id the case is graded under."""
        return f"{ID_PREFIX[self.kind]}-{self.name}"

    @property
    def loses(self) -> tuple[str, ...]:
        return _split(self.header.get("loses", ""), ",")

    @property
    def feedback(self) -> tuple[str, ...]:
        return _split(self.header.get("feedback", ""), "|")

    @property
    def lacks(self) -> tuple[str, ...]:
        return _split(self.header.get("lacks", ""), "|")

    @property
    def base(self) -> str:
        return self.header.get("base", "solved")

    @property
    def base_id(self) -> str:
        """The submission id of the honest part (``solved``, ``blank`` or a mutant's id)."""
        if self.base.startswith("mutant:"):
            return f"{ID_PREFIX['mutant']}-{self.base.split(':', 1)[1].strip()}"
        return self.base

    @property
    def keeps_all(self) -> bool:
        return self.header.get("keeps", "") == "all"

    @property
    def statuses(self) -> tuple[str, ...]:
        return _split(self.header.get("status", "graded"), ",")

    @property
    def defence(self) -> str:
        return self.header.get("defence", "")

    @property
    def earns(self) -> tuple[str, ...]:
        """(attacks) ``question/check`` names the attack may pass beyond its base, by policy
        (``why:`` says which)."""
        return _split(self.header.get("earns", ""), ",")

    @property
    def replaced(self) -> tuple[str, ...]:
        """Every definition the case replaces (from its sections)."""
        return tuple(s.target for s in self.sections if s.kind == "replace")


def _split(text: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(separator) if part.strip())


# ---------------------------------------------------------------------------------------------
# Reading case files
# ---------------------------------------------------------------------------------------------

def parse_case(path: Path, kind: str) -> Case:
    """Parse one case file (see the module docstring)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header: dict[str, str] = {}
    last = None
    index = 0
    for index, line in enumerate(lines):
        if _SECTION.match(line):
            break
        match, more = _HEADER.match(line), _CONTINUATION.match(line)
        if more and last:
            header[last] += " " + more.group(1).strip()
        elif match:
            last = match.group(1)
            if last in header:
                raise CaseError(f"{path.name}: header key {last!r} given twice")
            header[last] = match.group(2).strip()
        elif line.strip() and not line.startswith("#"):
            break
        elif not line.strip():
            last = None
    else:
        index = len(lines)
    body = lines[index:]
    sections = _sections(body, header, path)
    case = Case(kind, Path(path).stem, Path(path), header.get("about", ""), header,
                tuple(sections))
    _validate(case)
    return case


def _sections(body: list[str], header: Mapping[str, str], path: Path) -> list[Section]:
    """The body's sections; a body without markers replaces the ``replaces`` definition."""
    if not any(_SECTION.match(line) for line in body):
        targets = _split(header.get("replaces", ""), ",")
        if len(targets) != 1:
            raise CaseError(f"{path.name}: a body without '# --- ' sections needs exactly one "
                            f"'replaces:' name, got {targets}")
        return [Section("replace", targets[0], "\n".join(body).strip("\n") + "\n")]
    sections: list[Section] = []
    current: tuple[str, str] | None = None
    chunk: list[str] = []

    def close() -> None:
        if current is None:
            if "\n".join(chunk).strip():
                raise CaseError(f"{path.name}: code before the first '# --- ' section")
            return
        kind, target = current
        generator = ""
        if kind == "file" and "<-" in target:
            target, generator = (part.strip() for part in target.split("<-", 1))
        text = "\n".join(chunk).strip("\n") + "\n"
        sections.append(Section(kind, target, text, generator))

    for line in body:
        match = _SECTION.match(line)
        if match:
            close()
            current, chunk = (match.group(1), (match.group(2) or "").strip()), []
        else:
            chunk.append(line)
    close()
    return sections


def _validate(case: Case) -> None:
    where = case.path.name
    if not case.about:
        raise CaseError(f"{where}: no 'about:' line")
    if case.kind == "mutant" and (not case.loses or not case.feedback):
        raise CaseError(f"{where}: a mutant needs 'loses:' and 'feedback:'")
    if case.kind == "mutant" and any(s.kind != "replace" for s in case.sections):
        raise CaseError(f"{where}: mutants only replace definitions")
    if case.kind == "alternative" and any(s.kind == "file" for s in case.sections):
        raise CaseError(f"{where}: alternatives replace definitions or add cells, no files")
    if case.kind == "attack":
        if not (case.base in BASES or case.base.startswith("mutant:")):
            raise CaseError(f"{where}: base must be solved, blank or mutant:<name>")
        if "base" not in case.header:
            raise CaseError(f"{where}: an attack must name its honest part ('base:')")
    for section in case.sections:
        if section.kind == "file" and section.generator and section.generator != "symlink" \
                and section.generator not in GENERATORS:
            raise CaseError(f"{where}: unknown generator {section.generator!r}")


def load_cases(kind: str | None = None) -> list[Case]:
    """Every case file of ``kind`` (all kinds when None), sorted by kind then name."""
    kinds = [kind] if kind else list(KINDS)
    cases = []
    for each in kinds:
        for path in sorted(KINDS[each].glob("*.py")):
            if path.name != "__init__.py":
                cases.append(parse_case(path, each))
    return cases


# ---------------------------------------------------------------------------------------------
# Applying a case to the solved notebook's code
# ---------------------------------------------------------------------------------------------

def _definition(body: list[ast.stmt], name: str):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return node
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in node.targets):
            return node
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            return node
    return None


def replace_definition(source: str, name: str, replacement: str) -> str:
    """``source`` (one cell) with the top-level definition ``name`` (or the method
    ``Class.method``) replaced by ``replacement``, re-indented to its place; the rest of the cell
    stays as written.

    Raises:
        CaseError: the cell does not define ``name``.
    """
    tree = ast.parse(source)
    owner, _, method = name.partition(".")
    node = _definition(tree.body, owner)
    if node is not None and method:
        node = _definition(node.body, method) if isinstance(node, ast.ClassDef) else None
    if node is None:
        raise CaseError(f"no definition of {name!r} in the cell")
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno] + [d.lineno for d in decorators]) - 1
    lines = source.splitlines()
    new = textwrap.indent(textwrap.dedent(replacement).strip("\n"), " " * node.col_offset)
    return "\n".join(lines[:start] + new.splitlines() + lines[node.end_lineno:]) + "\n"


def cell_defining(notebook, name: str):
    """The code cell of ``notebook`` defining ``name`` (its owner class for ``Class.method``)."""
    owner = name.split(".", 1)[0]
    for cell in notebook.cells:
        if cell.cell_type == "code" and owner in defined_names(cell.source):
            return cell
    raise CaseError(f"no code cell of the solved notebook defines {owner!r}")


def apply_sections(notebook, case: Case, substitutions: Mapping[str, str]) -> None:
    """Apply a case's ``replace`` and ``cell`` sections to ``notebook`` (in place)."""
    import nbformat

    for section in case.sections:
        text = substitute(section.text, substitutions)
        if section.kind == "replace":
            cell = cell_defining(notebook, section.target)
            cell.source = replace_definition(cell.source, section.target, text).rstrip("\n")
        elif section.kind == "cell":
            new = nbformat.v4.new_code_cell(text.rstrip("\n"))
            new["id"] = "case-" + hashlib.sha256(text.encode()).hexdigest()[:8]
            insert_at = len(notebook.cells)
            for index, cell in enumerate(notebook.cells):  # before Otter's check_all / export
                if cell.cell_type == "code" and ("grader.check_all" in cell.source
                                                 or "grader.export" in cell.source):
                    insert_at = index
                    break
            notebook.cells.insert(insert_at, new)


def solved_code_b64(solved) -> str:
    """The solved notebook's code cells that define functions or classes, NUL-separated and
    base64-encoded: what a classmate's sandbox could hand over through a channel between them
    (attacks decode and exec it)."""
    import base64

    cells = [cell.source for cell in solved.cells if cell.cell_type == "code"
             and re.search(r"^(def|class) ", cell.source, re.M)
             and not re.search(r"^\s*[%!]", cell.source, re.M)]
    return base64.b64encode("\0".join(cells).encode()).decode()


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    for key, value in substitutions.items():
        text = text.replace("{{" + key + "}}", value)
    return text


# ---------------------------------------------------------------------------------------------
# Generated files (attacks)
# ---------------------------------------------------------------------------------------------

class _RunsCode:
    """Pickles into "call builtins.exec(code)" when unpickled: what a malicious .pt file holds."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def _marker_code(marker: str) -> str:
    return f"import pathlib; pathlib.Path({marker!r}).write_text('code ran while loading')"


def malicious_pickle(marker: str) -> bytes:
    """A file in torch.save's format whose pickle runs code (writes ``marker``) when loaded
    without ``weights_only``; it looks like a state dict."""
    import torch

    buffer = io.BytesIO()
    torch.save({"backbone.conv0.weight": torch.zeros(8, 3, 3, 3),
                "payload": _RunsCode(_marker_code(marker))}, buffer)
    return buffer.getvalue()


def plain_pickle(marker: str) -> bytes:
    """A bare pickle (not torch's zip format) that runs code when loaded."""
    return pickle.dumps(_RunsCode(_marker_code(marker)))


def dense_model(marker: str) -> bytes:
    """The dense base model as a state dict (an unpruned model submitted as pruned)."""
    return _saved(_dense_state())


def tiny_model(marker: str) -> bytes:
    """An untrained VGG with one channel per conv: tiny and fast, but useless."""
    import torch

    from prunekit.model import VGG

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = VGG(conv_channels=[1] * 8)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def _dense_state() -> dict:
    from autograder.manifest import base_checkpoint_path
    from prunekit.checkpoint import load_checkpoint
    from prunekit.profiles import get_profile

    model, _ = load_checkpoint(base_checkpoint_path("offline"), get_profile("offline"))
    return {k: v.clone() for k, v in model.state_dict().items()}


def _saved(state: dict) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def padded_classifier_model(marker: str) -> bytes:
    """The dense base model with 5,000 all-zero classes added to the classifier: as many
    non-zeros as the dense model, but a parameter count that makes them look like 1%."""
    import torch

    state = _dense_state()
    weight, bias = state["classifier.weight"], state["classifier.bias"]
    state["classifier.weight"] = torch.cat([weight, torch.zeros(5000, weight.shape[1])])
    state["classifier.bias"] = torch.cat([bias, torch.zeros(5000)])
    return _saved(state)


def degenerate_model(marker: str) -> bytes:
    """The dense base model with a 0-d conv weight and a classifier of shape (10**12, 0)
    (stride-0 views: tiny on disk)."""
    import torch

    state = _dense_state()
    state["backbone.conv3.weight"] = torch.tensor(1.0)
    state["classifier.weight"] = torch.zeros(1, 0).expand(10**12, 0)
    return _saved(state)


GENERATORS: dict[str, Callable[[str], bytes]] = {
    "malicious_pickle": malicious_pickle, "plain_pickle": plain_pickle,
    "dense_model": dense_model, "tiny_model": tiny_model,
    "padded_classifier_model": padded_classifier_model, "degenerate_model": degenerate_model,
}


# ---------------------------------------------------------------------------------------------
# Building the submissions
# ---------------------------------------------------------------------------------------------

@dataclass
class Sources:
    """What every submission is made from: the solved and blank notebooks (nbformat) and the
    reference model files."""
    solved: object
    blank: object
    models: dict[str, Path]


def sources() -> Sources:
    """The solved notebook (the student template with the master's solutions, as the kit's
    examples make it), the blank template and the reference model files."""
    import nbformat

    from autograder.core.references import reference_model_files
    from autograder.frontends import examples

    template = examples.student_template()
    models = {name: Path(path) for name, path in reference_model_files("offline").items()}
    return Sources(solved=examples.solved_notebook(template),
                   blank=nbformat.read(template, as_version=4), models=models)


def write_zip(path: Path, notebook, files: Mapping[str, bytes | Path | str]) -> Path:
    """An Otter-style export zip (byte-identical for the same inputs): the notebook and
    ``files`` (zip path -> bytes, text or a file to copy). A value ``("symlink", target)`` makes
    a symbolic-link entry."""
    import nbformat

    entries: dict[str, bytes | tuple] = {NOTEBOOK_NAME: nbformat.writes(notebook).encode() + b"\n"}
    for name, value in files.items():
        if isinstance(value, Path):
            value = value.read_bytes()
        elif isinstance(value, str):
            value = value.encode()
        entries[name] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            data = entries[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            if isinstance(data, tuple):  # ("symlink", target)
                info.external_attr = (0o120777 << 16)
                data = data[1].encode()
            else:
                info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def case_notebook(case: Case, src: Sources, substitutions: Mapping[str, str],
                  cases_by_id: Mapping[str, Case] | None = None):
    """The notebook of a case: its base (the solved notebook for mutants and alternatives) with
    its sections applied."""
    base = case.base if case.kind == "attack" else "solved"
    if base.startswith("mutant:"):
        mutant = (cases_by_id or {}).get(case.base_id)
        if mutant is None:
            raise CaseError(f"{case.path.name}: base {base!r} is not a mutant file")
        notebook = case_notebook(mutant, src, substitutions)
    else:
        notebook = copy.deepcopy(src.solved if base == "solved" else src.blank)
    apply_sections(notebook, case, substitutions)
    return notebook


def case_files(case: Case, src: Sources, substitutions: Mapping[str, str]) -> dict:
    """The files of a case's zip: the reference models unless its base is blank, then its own
    ``file`` sections (which may replace them)."""
    files: dict = {}
    if not (case.kind == "attack" and case.base == "blank"):
        files.update(src.models)
    for section in case.sections:
        if section.kind != "file":
            continue
        target = substitute(section.target, substitutions)
        if section.generator == "symlink":
            files[target] = ("symlink", substitute(section.text, substitutions).strip())
        elif section.generator:
            files[target] = GENERATORS[section.generator](
                substitutions.get("MARKER_DIR", "/nonexistent") + f"/pwned-{case.name}")
        else:
            files[target] = substitute(section.text, substitutions)
    return files


def build_submissions(folder: Path, cases: Sequence[Case], marker_dir: Path,
                      src: Sources | None = None, loopback_port: int = 9) -> dict[str, Path]:
    """Write ``solved.zip``, ``blank.zip`` and one zip per case into ``folder``; returns
    submission id -> zip path. ``loopback_port``: the listening port attacks aim at."""
    src = src or sources()
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"solved": write_zip(folder / "solved.zip", src.solved, src.models),
             "blank": write_zip(folder / "blank.zip", src.blank, {})}
    by_id = {case.id: case for case in cases}
    for case in cases:
        substitutions = {"MARKER_DIR": str(marker_dir), "NAME": case.name,
                         "LOOPBACK_PORT": str(int(loopback_port)),
                         "SOLVED_CODE_B64": solved_code_b64(src.solved)}
        notebook = case_notebook(case, src, substitutions, by_id)
        paths[case.id] = write_zip(folder / f"{case.id}.zip", notebook,
                                   case_files(case, src, substitutions))
    return paths


# ---------------------------------------------------------------------------------------------
# Grading and what came back
# ---------------------------------------------------------------------------------------------

@dataclass
class Graded:
    """One graded submission: the result and the texts the student would see."""
    result: object  # autograder.results.SubmissionResult
    feedback: str
    results_json: str

    @property
    def scores(self) -> dict[str, float]:
        return self.result.question_scores

    def failed(self, question: str | None = None) -> list:
        return [c for c in self.result.checks if not c.passed
                and (question is None or c.question == question)]

    def messages(self, question: str) -> str:
        return "\n".join(c.message for c in self.failed(question))


def grade_all(paths: Mapping[str, Path], out_dir: Path, workers: int = WORKERS,
              timeout_s: float = TIMEOUT_S, progress: bool = False) -> dict[str, Graded]:
    """Grade every submission in one batch with the real grader (``python -m autograder grade``'s
    code path: parallel workers, sandboxes, records, reports); returns id -> Graded."""
    from autograder.core import batch
    from autograder.frontends import course

    grader = batch.CoreGrader("offline", timeout_s=timeout_s)
    submissions = [batch.Submission(sub_id, Path(path)) for sub_id, path in paths.items()]
    run = course.grade_class(submissions, grader, out_dir, workers=workers, redo=True,
                          progress=progress)
    graded = {}
    for result in run.results:
        feedback = (out_dir / "feedback" / f"{result.submission}.txt").read_text()
        results_json = (out_dir / "results" / result.submission / "results.json").read_text()
        graded[result.submission] = Graded(result, feedback, results_json)
    return graded


def student_api() -> tuple[str, ...]:
    """Every function, class part and answer variable the checks grade (each must have
    mutants): the names each question's plan grades (``Plan.functions``), a class as its
    ``__init__`` and the methods its question's prompt asks for ("FineGrainedPruner.apply")."""
    from autograder import questions
    from autograder.checks import GRADED_QUESTIONS, build_plan
    from autograder.checks.base import Context
    from autograder.checks.settings import load_settings

    settings = load_settings("offline")
    api = []
    for question in GRADED_QUESTIONS:
        graded = build_plan(question, Context(seed=0, settings=settings, resources=None)).functions
        asked = questions.load()[question].functions
        for name in graded:
            if name[:1].isupper():  # a class: its constructor and the methods the prompt names
                api += [f"{name}.__init__"] + [f"{name}.{method}" for method in asked
                                               if method not in graded]
            else:
                api.append(name)
    return tuple(api)


def question_max() -> dict[str, float]:
    from autograder.checks.points import question_points

    return question_points()


# ---------------------------------------------------------------------------------------------
# Secrets and snapshots (attacks)
# ---------------------------------------------------------------------------------------------

def _public_text() -> str:
    """Text students may see anyway: the student template, the public probes and support
    package, and the solved notebook's code (the student's own code may be echoed back)."""
    parts = [(REPO_ROOT / "student_template" / NOTEBOOK_NAME).read_text(),
             (REPO_ROOT / manifest.SANDBOX_PROBES).read_text()]
    parts += [p.read_text() for p in sorted((REPO_ROOT / "prunekit").rglob("*.py"))]
    return "\n".join(parts)


def secret_strings(min_length: int = 24, extra_public: str = "") -> list[str]:
    """Lines of the hidden checks and the reference solutions that appear nowhere public (at
    least ``min_length`` characters, stripped), the grading salt, and the hidden split's seed:
    none of them may ever appear in feedback."""
    public = _public_text() + "\n" + extra_public
    secrets: set[str] = set()
    files = [*sorted((REPO_ROOT / "autograder" / "checks").glob("*.py")),
             *sorted((REPO_ROOT / "solutions").glob("*.py"))]
    for file in files:
        for line in file.read_text().splitlines():
            text = line.strip()
            if len(text) >= min_length and text not in public and not text.startswith("#"):
                secrets.add(text)
    for calibration in sorted((REPO_ROOT / "autograder" / "checks" / "calibration")
                              .glob("*.json")):
        record = json.loads(calibration.read_text())
        secrets.add(str(record["salt"]))
        secrets.add(str(record["grading_split"]["seed"]))
    return sorted(secrets)


def leaked(texts: Iterable[str], secrets: Sequence[str]) -> list[str]:
    """The secrets found in any of ``texts``."""
    joined = "\n".join(texts)
    return [secret for secret in secrets if secret in joined]


def tree_snapshot(roots: Iterable[Path], skip: Sequence[str] = ("__pycache__",)) -> dict:
    """Path -> (size, mtime_ns, sha256 of the first MiB) of every file and folder under
    ``roots`` (symlinks not followed), to tell whether anything changed."""
    snapshot = {}
    for root in map(Path, roots):
        if not root.exists():
            snapshot[str(root)] = None
            continue
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d not in skip)
            snapshot[directory] = "dir"
            for name in sorted(files):
                path = Path(directory) / name
                try:
                    info = path.lstat()
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read(2**20)).hexdigest()
                except OSError as error:
                    snapshot[str(path)] = f"unreadable: {error}"
                    continue
                snapshot[str(path)] = (info.st_size, info.st_mtime_ns, digest)
    return snapshot

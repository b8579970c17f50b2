"""Reading one submission: a notebook (.ipynb), an Otter export zip, or a folder holding them.

What comes out is a :class:`Submission`: the code cells to run, exactly as written (cells
tagged ``otter_ignore`` skipped, Otter's own ``grader.check`` / ``export`` cells dropped; magics
and shell lines are left to the sandbox's IPython shell, which runs them as Jupyter does or
neutralises them), the two model files the lab asks for (``finegrained.pt``, ``channel_pruned.pt``;
nothing else a student ships is ever used, so support files or folders in a zip cannot shadow the
kit's), and ``problems``: what went wrong, in words a student understands.

Zips are read defensively: only the notebook and the two model files are extracted, under fixed
names into a fresh temporary folder (no member path is ever used as a path: no traversal),
each with a size cap checked while reading (zip bombs stop at the cap, whatever the header says).
Folders are read without following symlinks.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.checks.settings import MAX_MODEL_FILE_BYTES
from autograder.sandbox.untrusted import clean_text
from prunekit.submission import MODEL_FILES, NOTEBOOK_FILE

ASSIGNMENT_NAME = Path(NOTEBOOK_FILE).stem  # preferred when a zip has several notebooks
OTTER_ASSIGNMENT_NAME = "prunekit-pruning-lab"  # the master's ``name:`` (notebook metadata)
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_MODEL_BYTES = MAX_MODEL_FILE_BYTES  # the checks refuse larger files too
MAX_ZIP_MEMBERS = 10_000
# Notebooks whose metadata is read to find the lab's among several (each up to
# MAX_NOTEBOOK_BYTES): 64 decoys of 20 MiB in a 1.8 MB zip once cost the grader 1 GiB.
MAX_NOTEBOOKS_EXAMINED = 8


@dataclass
class Submission:
    """One submission, ready to grade.

    ``id``: file name without extension (or folder name); ``cells``: code cell sources in order;
    ``model_files``: model file name -> path (only files that were found and readable);
    ``problems``: what went wrong (unreadable notebook, missing files, ...); ``readable``: False
    when there is no notebook to run at all. ``notebook``: the chosen notebook as parsed JSON
    (untrusted: any structure). ``workdir``: temporary folder holding extracted files, removed
    by :meth:`cleanup` (or the context manager).
    """
    id: str
    source: Path
    cells: list[str] = field(default_factory=list)
    model_files: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notebook_name: str = ""  # the graded notebook's path inside the submission
    notebook: dict | None = None
    readable: bool = False
    workdir: Path | None = None
    file_problems: dict[str, str] = field(default_factory=dict)  # model file -> why it is absent

    def cleanup(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> "Submission":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def submission_id(path: Path) -> str:
    """The id of a submission at ``path``: the name without a .ipynb / .zip extension."""
    path = Path(path)
    name = clean_text(path.name)  # a file name of bytes that are not UTF-8 holds surrogates
    for suffix in (".ipynb", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def load_submission(path: str | Path, scratch_dir: str | Path | None = None,
                    assignment_name: str = ASSIGNMENT_NAME,
                    keep_notebook: bool = False) -> Submission:
    """Read the submission at ``path`` (never raises for a bad submission).

    Args:
        path: a ``.ipynb`` file, an Otter export ``.zip`` or a folder.
        scratch_dir: where the temporary folder for extracted files is made (default: the
            system's temporary directory).
        assignment_name: the notebook stem to prefer when several notebooks are present.
        keep_notebook: keep the parsed notebook in ``notebook`` (grading needs only its code
            cells, and a notebook may be tens of MB).

    Returns:
        A Submission; ``readable`` is False and ``problems`` says why when there is nothing to run.
    """
    path = Path(path)
    submission = Submission(id=submission_id(path), source=path)
    try:
        if path.is_symlink():
            submission.problems.append("the submission is a symbolic link; not followed")
        elif not path.exists():
            submission.problems.append("the submission file does not exist")
        elif path.is_dir():
            _read_folder(submission, path, assignment_name, scratch_dir)
        elif path.suffix.lower() == ".zip":
            submission.workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=scratch_dir))
            _read_zip(submission, path, assignment_name)
        elif path.suffix.lower() == ".ipynb":
            _read_notebook_bytes(submission, _read_capped(path, MAX_NOTEBOOK_BYTES), path.name)
        else:
            submission.problems.append(f"{path.name} is neither a notebook (.ipynb), a zip nor a "
                                       f"folder")
    except _Unreadable as problem:
        submission.problems.append(str(problem))
    except OSError as error:
        submission.problems.append(f"the submission could not be read ({error.strerror or error})")
    if not keep_notebook:
        submission.notebook = None
    # Names of files inside the submission reach these messages: no terminal escapes or lone
    # surrogates from them into the summary, the gradebook or the feedback.
    submission.problems = [clean_text(problem) for problem in submission.problems]
    submission.file_problems = {name: clean_text(why)
                                for name, why in submission.file_problems.items()}
    if submission.readable:
        for name in MODEL_FILES:
            if name not in submission.model_files:
                why = submission.file_problems.setdefault(
                    name, f"{name} is missing from the submission (run the cell that saves it "
                          f"before exporting)")
                submission.problems.append(why)
    return submission


class _Unreadable(Exception):
    """The submission (or the part being read) cannot be used; the message says why."""


# --- notebooks ---------------------------------------------------------------------------------

def _read_notebook_bytes(submission: Submission, data: bytes, name: str) -> None:
    """Parse a notebook and fill ``cells``; sets ``readable``."""
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _Unreadable(f"{name} is not a text file (a notebook is JSON)") from None
    except json.JSONDecodeError as error:
        raise _Unreadable(f"{name} is not valid JSON (line {error.lineno}: {error.msg}); "
                          f"the notebook file is corrupt") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        if isinstance(notebook, dict) and "worksheets" in notebook:
            raise _Unreadable(f"{name} is an old (nbformat 3) notebook; open and save it in a "
                              f"current Jupyter")
        raise _Unreadable(f"{name} is JSON but not a Jupyter notebook (no cells)")
    submission.cells = code_cells(notebook)
    submission.notebook = notebook
    submission.notebook_name = name
    submission.readable = True
    if not submission.cells:
        submission.problems.append(f"{name} has no code cells")


def code_cells(notebook: dict) -> list[str]:
    """The code cells to run, in order and unchanged: ``otter_ignore`` cells (tag or metadata)
    skipped, Otter's grader cells dropped."""
    cells = []
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        otter = metadata.get("otter") if isinstance(metadata.get("otter"), dict) else {}
        if "otter_ignore" in tags or otter.get("ignore") is True:
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(line) for line in source)
        if not isinstance(source, str):
            continue
        if not source.strip() or is_otter_cell(source):
            continue
        cells.append(source)
    return cells


def is_otter_cell(source: str) -> bool:
    """Whether a cell only drives Otter (``import otter``, ``grader = otter.Notebook(...)``,
    ``grader.check(...)``, ``grader.export(...)``, ...): useless and slow under grading."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for statement in tree.body:
        if isinstance(statement, ast.Import) and all(a.name == "otter" for a in statement.names):
            continue
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) \
                and _dotted(statement.value.func).startswith("otter."):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) \
                and _dotted(statement.value.func).startswith("grader."):
            continue
        return False
    return True


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _choose_notebook(names: list[str], assignment_name: str, metadata_name) -> str:
    """The one notebook to grade among ``names`` (raise _Unreadable when it is ambiguous)."""
    if len(names) == 1:
        return names[0]
    if not names:
        raise _Unreadable("no notebook (.ipynb) in the submission")
    stems = [n for n in names if PurePosixPath(n).stem == assignment_name]
    if len(stems) == 1:
        return stems[0]
    if len(stems) > 1:  # e.g. a blank one on top and a solved one in backup/: which did it mean?
        listed = ", ".join(sorted(stems)[:5])
        raise _Unreadable(f"{len(stems)} notebooks named {assignment_name}.ipynb in the "
                          f"submission ({listed}); keep only the one to grade")
    if len(names) > MAX_NOTEBOOKS_EXAMINED:
        raise _Unreadable(f"{len(names)} notebooks in the submission and none is "
                          f"{assignment_name}.ipynb; submit exactly one notebook")
    named = [n for n in names if metadata_name(n) in (assignment_name, OTTER_ASSIGNMENT_NAME)]
    if len(named) == 1:
        return named[0]
    listed = ", ".join(sorted(names)[:5])
    raise _Unreadable(f"{len(names)} notebooks in the submission ({listed}) and none is "
                      f"{assignment_name}.ipynb; submit exactly one notebook")


def _metadata_assignment(data: bytes) -> str:
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
        return str(notebook["metadata"]["otter"]["assignment_name"])
    except Exception:  # noqa: BLE001 - any unreadable notebook simply has no name
        return ""


def _is_junk(parts: tuple[str, ...]) -> bool:
    """macOS resource forks, Jupyter checkpoints and hidden files are never the submission."""
    return any(p == "__MACOSX" or p == ".ipynb_checkpoints" or p.startswith(".") for p in parts)


# --- zips --------------------------------------------------------------------------------------

def _read_zip(submission: Submission, path: Path, assignment_name: str) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _Unreadable(f"{path.name} is not a valid zip file ({error}); the zip is corrupt") \
            from None
    with archive:
        try:
            members = archive.infolist()
        except (zipfile.BadZipFile, ValueError) as error:
            raise _Unreadable(f"{path.name}: the zip is corrupt ({error})") from None
        if len(members) > MAX_ZIP_MEMBERS:
            raise _Unreadable(f"{path.name} has {len(members)} entries (at most "
                              f"{MAX_ZIP_MEMBERS}); not graded")
        safe = {}
        for member in members:
            parts = _safe_parts(member.filename)
            if parts is None:
                submission.problems.append(f"ignored an unsafe zip entry: {member.filename[:100]!r}")
                continue
            if not member.is_dir() and not _is_junk(parts):
                safe[member.filename] = (member, parts)
        notebooks = [name for name, (_, parts) in safe.items() if parts[-1].endswith(".ipynb")]

        def notebook_bytes(name: str) -> bytes:
            return _read_member(archive, safe[name][0], MAX_NOTEBOOK_BYTES)

        chosen = _choose_notebook(notebooks, assignment_name,
                                  lambda n: _metadata_assignment(notebook_bytes(n)))
        _read_notebook_bytes(submission, notebook_bytes(chosen), chosen)
        for model_name in MODEL_FILES:
            candidates = [n for n, (_, parts) in safe.items() if parts[-1] == model_name]
            if not candidates:
                continue
            # The one beside the notebook wins; else the shallowest.
            folder = safe[chosen][1][:-1]
            candidates.sort(key=lambda n: (safe[n][1][:-1] != folder, len(safe[n][1])))
            target = submission.workdir / model_name
            try:
                target.write_bytes(_read_member(archive, safe[candidates[0]][0], MAX_MODEL_BYTES))
            except _Unreadable as problem:
                submission.file_problems[model_name] = str(problem)
                continue
            submission.model_files[model_name] = target


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path components of a zip entry name, or None when it is absolute or climbs out."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if not parts or ".." in parts or any("\0" in p for p in parts):
        return None
    return parts


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, cap: int) -> bytes:
    """The decompressed bytes of ``member``, at most ``cap`` (checked while reading)."""
    name = PurePosixPath(member.filename).name
    if member.file_size > cap:
        raise _Unreadable(f"{name} is {member.file_size / 2**20:.1f} MiB, more than the "
                          f"{cap / 2**20:.0f} MiB allowed")
    try:
        with archive.open(member) as handle:
            data = handle.read(cap + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as error:
        raise _Unreadable(f"{name} could not be extracted: the zip is corrupt ({error})") from None
    except NotImplementedError as error:
        raise _Unreadable(f"{name} uses an unsupported zip compression ({error})") from None
    if len(data) > cap:
        raise _Unreadable(f"{name} expands to more than {cap / 2**20:.0f} MiB; not graded")
    return data


# --- folders -----------------------------------------------------------------------------------

MAX_FOLDER_DEPTH = 3  # folders inside folders, each holding only the next, that are opened


def _read_folder(submission: Submission, folder: Path, assignment_name: str,
                 scratch_dir: str | Path | None = None, depth: int = 0) -> None:
    """A folder holding one notebook (or an Otter export zip) and the model files, or only a
    folder that does (up to :data:`MAX_FOLDER_DEPTH` deep); symlinks are never followed."""
    entries = {entry.name: entry for entry in os.scandir(folder)}
    notebooks = [n for n in entries if n.endswith(".ipynb") and not n.startswith(".")
                 and entries[n].is_file(follow_symlinks=False)]
    if not notebooks:
        zips = [n for n in entries if n.lower().endswith(".zip")
                and entries[n].is_file(follow_symlinks=False)]
        if len(zips) == 1:  # e.g. Gradescope: the export zip uploaded as is
            submission.workdir = Path(tempfile.mkdtemp(prefix="submission-", dir=scratch_dir))
            _read_zip(submission, folder / zips[0], assignment_name)
            return
        inner = [n for n in entries if not n.startswith(".") and n != "__MACOSX"
                 and entries[n].is_dir(follow_symlinks=False)]
        if not zips and len(inner) == 1 and depth < MAX_FOLDER_DEPTH:
            # the lab's folder uploaded inside a folder (a student zipped the folder)
            _read_folder(submission, folder / inner[0], assignment_name, scratch_dir, depth + 1)
            return
    chosen = _choose_notebook(notebooks, assignment_name,
                              lambda n: _metadata_assignment(_read_capped(folder / n,
                                                                          MAX_NOTEBOOK_BYTES)))
    _read_notebook_bytes(submission, _read_capped(folder / chosen, MAX_NOTEBOOK_BYTES), chosen)
    for model_name in MODEL_FILES:
        entry = entries.get(model_name)
        if entry is None:
            continue
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            submission.file_problems[model_name] = f"{model_name} is not a regular file (links " \
                                                   f"are not followed)"
            continue
        try:
            size = entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        if size > MAX_MODEL_BYTES:
            submission.file_problems[model_name] = (f"{model_name} is {size / 2**20:.1f} MiB, more "
                                                    f"than the {MAX_MODEL_BYTES / 2**20:.0f} MiB "
                                                    f"allowed")
            continue
        submission.model_files[model_name] = folder / model_name


def _read_capped(path: Path, cap: int) -> bytes:
    """The bytes of a regular file (symlinks refused), at most ``cap``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise _Unreadable(f"{path.name} could not be opened ({error.strerror}; links are not "
                          f"followed)") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unreadable(f"{path.name} is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise _Unreadable(f"{path.name} is larger than {cap / 2**20:.0f} MiB; not graded")
    return data

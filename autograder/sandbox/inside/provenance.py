"""Whether a graded function is code the submitted notebook contains.

Points come only from the notebook's own code: its cells, or a file one of its cells wrote
(``%%writefile helper.py`` then ``import helper``). A function whose code arrived any other way
(``exec`` of a string received or decoded at run time, ``marshal``, code objects built at run
time, a module file the notebook did not write) earns nothing on the checks that call it.

How: every code object the notebook's text compiles to is collected: each cell (as IPython
transforms it), and every string constant in it that is Python source itself (the body of a
``%%writefile`` cell is one; so is a helper written with ``open(...).write(source)`` where
the source is a literal in the cell).
Code objects compare by their bytecode, constants, names and line table, not by file name, so a
forged ``co_filename`` changes nothing. A library function counts as such only if its code is
what the real file at its ``co_filename`` compiles to, under the interpreter's installation or
the sandbox's support package (folders the student cannot write).

From the graded function the check follows what it uses: global names it reads, closure cells,
defaults, ``__wrapped__``, partials, bound methods and the methods of classes; library code is
not followed further (only its closures and ``__wrapped__``, where decorators keep the function
they wrap). Names computed at run time (``globals()[...]``) are not followed.

Standard library only: this file is copied into every sandbox beside the runner.
"""
from __future__ import annotations

import ast
import functools
import os
import sys
import types
from typing import Any, Iterable

MAX_SOURCE_DEPTH = 3  # strings holding code that writes code ... are compiled this deep
MAX_WALK = 20_000  # objects visited from one graded name
CODE_WORDS = ("def ", "lambda", "class ")  # string constants worth compiling as source
# IPython keeps a cell's ``from __future__ import annotations`` for the later cells, which
# changes the flags of their code objects: each source is compiled with and without it.
FUTURE_FLAGS = (0, __import__("__future__").annotations.compiler_flag)


def all_code(code: types.CodeType) -> Iterable[types.CodeType]:
    """``code`` and every code object nested in its constants."""
    stack = [code]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))


def _compiled(source: str, filename: str, flags: int = 0) -> types.CodeType | None:
    try:
        return compile(source, filename, "exec", flags=flags, dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError):
        return None


def _compiled_statements(source: str, flags: int) -> list[types.CodeType]:
    """Each top-level statement of ``source`` compiled on its own, as IPython runs a cell: the
    bytecode of a function depends on its compilation unit (``os.listdir()`` compiles to other
    instructions when ``import os`` is in the same unit)."""
    try:
        tree = ast.parse(source)
        return [compile(ast.Module([node], type_ignores=[]), "<notebook>", "exec", flags=flags,
                        dont_inherit=True) for node in tree.body]
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError, TypeError):
        return []


class Provenance:
    """The notebook's own code, and the check of a graded value against it."""

    def __init__(self, cell_sources: Iterable[str], library_roots: Iterable[str]):
        """``cell_sources``: the cells as IPython runs them (magics transformed);
        ``library_roots``: folders of trusted files, which the sandbox shows read-only (a
        read-only bind under bubblewrap, root-owned files under the restricted backend)."""
        self.notebook: set[types.CodeType] = set()
        self._sources: set[str] = set()
        for source in cell_sources:
            self._add_source(source, depth=0)
        self.roots = tuple(os.path.realpath(root) + os.sep for root in library_roots if root)
        self._library: dict[str, set[types.CodeType]] = {}

    def _add_source(self, source: str, depth: int) -> None:
        """Add what ``source`` compiles to, as a whole (a module, ``exec``) and statement by
        statement (a cell), with and without the annotations future."""
        if source in self._sources:
            return
        self._sources.add(source)
        for flags in FUTURE_FLAGS:
            whole = _compiled(source, "<notebook>", flags)
            for code in ([whole] if whole else []) + _compiled_statements(source, flags):
                self._add_code(code, depth)

    def _add_code(self, code: types.CodeType, depth: int) -> None:
        for nested in all_code(code):
            self.notebook.add(nested)
            if depth < MAX_SOURCE_DEPTH:
                for constant in nested.co_consts:
                    if isinstance(constant, str) and any(word in constant for word in CODE_WORDS):
                        self._add_source(constant, depth + 1)

    def _is_library(self, code: types.CodeType) -> bool:
        """Whether ``code`` is what the real file it names compiles to, in a library folder."""
        path = os.path.realpath(code.co_filename)
        if not path.startswith(self.roots) or not os.path.isfile(path):
            return False
        if path not in self._library:
            try:
                with open(path, "rb") as source:
                    compiled = _compiled(source.read().decode("utf-8", "replace"), path)
            except OSError:
                compiled = None
            self._library[path] = set(all_code(compiled)) if compiled else set()
        return code in self._library[path]

    def foreign(self, value: Any) -> str:
        """"" when ``value`` (a function, class or callable) and what it uses are the notebook's
        own code or library code; else the qualified name of the first function that is not."""
        stack, seen = [value], set()
        while stack and len(seen) < MAX_WALK:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, types.FunctionType):
                if current.__code__ in self.notebook:
                    stack.extend(_used_by(current, follow_globals=True))
                elif self._is_library(current.__code__):
                    stack.extend(_used_by(current, follow_globals=False))
                else:
                    return getattr(current, "__qualname__", "a function")
            else:
                stack.extend(_parts(current))
        return ""


def _used_by(function: types.FunctionType, follow_globals: bool) -> list[Any]:
    """What ``function`` may call: closure cells, defaults, ``__wrapped__`` and (for the
    notebook's own code) the globals its code names."""
    found = [getattr(function, "__wrapped__", None), *(function.__defaults__ or ()),
             *(function.__kwdefaults__ or {}).values()]
    for cell in function.__closure__ or ():
        try:
            found.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    if follow_globals:
        names = {name for code in all_code(function.__code__) for name in code.co_names}
        found.extend(function.__globals__.get(name) for name in names)
    return [item for item in found if _worth_following(item)]


def _parts(value: Any) -> list[Any]:
    """The functions inside a non-function callable: a bound method's function, a partial's,
    a class's methods (and its notebook-defined bases), an instance's class."""
    if isinstance(value, types.MethodType):
        return [value.__func__]
    if isinstance(value, functools.partial):
        return [value.func, *value.args, *value.keywords.values()]
    if isinstance(value, (staticmethod, classmethod)):
        return [value.__func__]
    if isinstance(value, property):
        return [value.fget, value.fset, value.fdel]
    if isinstance(value, type):
        if value.__module__ == "builtins":
            return []
        return [*vars(value).values(), *value.__bases__]
    if isinstance(value, (types.ModuleType, types.BuiltinFunctionType)):
        return []
    if callable(value):
        return [type(value), getattr(value, "__wrapped__", None)]
    return []


def _worth_following(value: Any) -> bool:
    return value is not None and (callable(value) or isinstance(value, (staticmethod,
                                                                          classmethod, property)))


def library_roots(sandbox: str) -> list[str]:
    """Folders whose files the student cannot write: the interpreter's installation (and a
    virtual environment's, wherever it lies, /tmp included) and the sandbox's support
    package."""
    return sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                   os.path.join(sandbox, "lib")})

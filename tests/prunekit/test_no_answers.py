"""What students get answers no question: no public function or class of the shipped support
package, called with a question's inputs, gives the reference answer to it; and no shipped file
names an instructor-only folder or module.

"Shipped" is the manifest's ``STUDENT`` list; the questions are the reference package's
``__all__``. A function counts as answering when anything it returns (or a value inside what it
returns, or an input it changed in place) equals the reference's answer on the same inputs. The
inputs are chosen so that every answer is distinctive (not 0, 1, None, nor one of the inputs),
so that a function returning something trivial does not count.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # some shipped functions draw figures

import contextlib
import functools
import importlib
import inspect
import numbers
import pkgutil
import random
import re
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterator, Mapping

import numpy as np
import pytest
import torch
from torch import nn

import solutions
from autograder.checks.settings import calibration_path
from autograder.manifest import KIT_ROOT, SECRET, SECRET_PACKAGES, STUDENT
from tests.helpers import small_vgg

SHIPPED_PACKAGES = tuple(name for name in STUDENT if (KIT_ROOT / name).is_dir())
SPARSITY_DICT = {"backbone.conv3.weight": 0.6, "backbone.conv6.weight": 0.75,
                 "classifier.weight": 0.3}


# --------------------------------------------------------------------------- the questions

def _tensor_with_zeros() -> torch.Tensor:
    """10 x 10 entries, 37 of them zero: sparsity 0.37."""
    values = torch.rand(100, generator=torch.Generator().manual_seed(1)) + 0.5
    values[torch.randperm(100, generator=torch.Generator().manual_seed(2))[:37]] = 0.0
    return values.reshape(10, 10)


def _tie_free_tensor() -> torch.Tensor:
    """7 x 9 normal entries (no zeros, no ties)."""
    return torch.randn(7, 9, generator=torch.Generator().manual_seed(3))


def _conv_weight() -> torch.Tensor:
    """A conv weight [out 6, in 5, 3, 3]."""
    return torch.randn(6, 5, 3, 3, generator=torch.Generator().manual_seed(4))


def _nm_weight() -> torch.Tensor:
    """A conv weight [out 6, in 4, 3, 3]: rows of 36 entries, groups of 4 for 2:4."""
    return torch.randn(6, 4, 3, 3, generator=torch.Generator().manual_seed(9))


def _sparse_vgg() -> tuple[nn.Module]:
    """A narrow VGG (random BatchNorm) with some weights pruned, so that its sparsity and
    non-zero count are not those of a dense model."""
    model = small_vgg(seed=5, width=1 / 16)
    solutions.FineGrainedPruner(model, SPARSITY_DICT)
    return (model,)


# Reference function -> (its inputs, the keyword variants whose results are answers too).
QUESTIONS: dict[str, tuple[Callable[[], tuple], tuple[dict, ...]]] = {
    "get_sparsity": (lambda: (_tensor_with_zeros(),), ({},)),
    "get_model_sparsity": (_sparse_vgg, ({},)),
    "get_num_parameters": (_sparse_vgg, ({}, {"count_nonzero_only": True})),
    "get_model_size": (_sparse_vgg, ({}, {"count_nonzero_only": True})),
    "fine_grained_prune": (lambda: (_tie_free_tensor(), 0.6), ({},)),
    "FineGrainedPruner": (lambda: (small_vgg(seed=6, width=1 / 16), SPARSITY_DICT), ({},)),
    "get_num_channels_to_keep": (lambda: (70, 0.3), ({},)),
    "channel_prune": (lambda: (small_vgg(seed=7, width=1 / 16), 0.3), ({},)),
    "get_input_channel_importance": (lambda: (_conv_weight(),), ({},)),
    "apply_channel_sorting": (lambda: (small_vgg(seed=8, width=1 / 16),), ({},)),
    "nm_prune": (lambda: (_nm_weight(),), ({}, {"n": 1, "m": 3})),
}


def reference_answers(name: str) -> list:
    """What the reference gives on the question's inputs: its results (for every keyword
    variant), the public attributes of a result object (FineGrainedPruner's masks) and each
    input it changed in place."""
    make_args, variants = QUESTIONS[name]
    answers = []
    for kwargs in variants:
        original, args = make_args(), make_args()
        result = getattr(solutions, name)(*args, **kwargs)
        answers += [result] + _attributes(result)
        answers += [arg for arg, before in zip(args, original) if not _matches(arg, before)]
    return [answer for answer in answers if not _is_plain_object(answer)]


# --------------------------------------------------------------------------- what is shipped

def shipped_modules() -> list[ModuleType]:
    """Every module of the shipped packages, imported."""
    modules = []
    for package_name in SHIPPED_PACKAGES:
        package = importlib.import_module(package_name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            modules.append(importlib.import_module(info.name))
    return modules


def shipped_callables() -> dict[str, Callable]:
    """Public functions and classes defined in the shipped packages (and the static and class
    methods of those classes), by qualified name; each object once."""
    found: dict[int, tuple[str, Callable]] = {}
    for module in shipped_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or not _is_shipped(obj):
                continue
            found.setdefault(id(obj), (f"{obj.__module__}.{obj.__qualname__}", obj))
            if inspect.isclass(obj):
                for method_name, method in _static_and_class_methods(obj):
                    found.setdefault(id(method), (f"{obj.__module__}.{obj.__qualname__}."
                                                  f"{method_name}", method))
    return dict(found.values())


def _is_shipped(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return ((inspect.isfunction(obj) or inspect.isclass(obj))
            and module.split(".")[0] in SHIPPED_PACKAGES)


def _static_and_class_methods(cls: type) -> Iterator[tuple[str, Callable]]:
    for name, raw in vars(cls).items():
        if not name.startswith("_") and isinstance(raw, (staticmethod, classmethod)):
            yield name, getattr(cls, name)


# --------------------------------------------------------------------------- calling and comparing

@functools.lru_cache(maxsize=None)
def observations_on(make_args: Callable[[], tuple]) -> dict[str, list]:
    """Qualified name -> :func:`call_observations` of every shipped callable on the inputs of
    ``make_args`` (computed once for the questions that share inputs)."""
    return {qualified: call_observations(function, make_args)
            for qualified, function in shipped_callables().items()}


def call_observations(function: Callable, make_args: Callable[[], tuple]) -> list:
    """Everything a call of ``function`` on fresh inputs shows: its result, values inside it and
    the inputs afterwards (changed in place or not). A call that raises shows only the inputs."""
    args = make_args()
    try:
        signature = inspect.signature(function)
        signature.bind(*args)
    except TypeError:
        return []  # these inputs do not fit: the call would only raise a TypeError
    except ValueError:
        pass  # no signature to inspect (some builtins): just call it
    with _isolated():
        try:
            result = function(*args)
        except (Exception, SystemExit):  # argparse exits on arguments it cannot parse
            return list(args)
    return _expand(result) + list(args)


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Put back the random generators and cuDNN flags a call may set (e.g. a seeding helper)."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def _expand(value, depth: int = 2) -> list:
    """``value`` and, down to ``depth`` levels, the values inside it: items of a mapping, list or
    tuple, attributes of an object of a shipped class."""
    found = [value]
    if depth == 0:
        return found
    if isinstance(value, Mapping):
        inner = list(value.values())
    elif isinstance(value, (list, tuple)):
        inner = list(value)
    elif _is_shipped(type(value)):
        inner = _attributes(value)
    else:
        inner = []
    for item in inner:
        found += _expand(item, depth - 1)
    return found


def _attributes(value) -> list:
    """Public attribute values of a plain object (not a tensor, module or number)."""
    if not _is_plain_object(value):
        return []
    return [item for name, item in vars(value).items() if not name.startswith("_")]


def _is_plain_object(value) -> bool:
    return (hasattr(value, "__dict__") and not isinstance(value, (nn.Module, torch.Tensor, type))
            and not callable(value))


def _matches(got, expected) -> bool:
    """Whether ``got`` equals ``expected``: numbers (or 0-d tensors) within 1e-6, tensors of the
    same shape elementwise (a 0/1 float mask equals a bool mask), models by their state dicts,
    mappings by keys and values."""
    if isinstance(expected, torch.Tensor):
        return (isinstance(got, torch.Tensor) and got.shape == expected.shape
                and torch.allclose(got.detach().cpu().double(), expected.detach().cpu().double(),
                                   rtol=1e-5, atol=1e-6))
    if isinstance(expected, nn.Module):
        return isinstance(got, nn.Module) and _matches(got.state_dict(), expected.state_dict())
    if isinstance(expected, Mapping):
        return (isinstance(got, Mapping) and set(got) == set(expected)
                and all(_matches(got[key], expected[key]) for key in expected))
    if _is_number(expected):
        number = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
        return _is_number(number) and abs(number - expected) <= 1e-6 * max(1.0, abs(expected))
    return False


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------- the tests

@pytest.fixture(autouse=True)
def scratch_folders(tmp_path, monkeypatch):
    """Shipped functions called with odd inputs may write files (a model saver writes into the
    working folder): keep them in a temporary folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRUNEKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PRUNEKIT_CHECKPOINTS", str(tmp_path / "checkpoints"))


def test_every_question_has_inputs():
    """Every function of the reference has inputs here, so a new question cannot be missed."""
    assert set(QUESTIONS) == set(solutions.__all__)


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_answers_are_distinctive(name):
    """Each reference answer is something a trivial function does not give: not None, not a
    bool, not 0 or 1, not one of the inputs left as they were."""
    make_args, _ = QUESTIONS[name]
    answers = reference_answers(name)
    assert answers, name
    for answer in answers:
        assert answer is not None and not isinstance(answer, bool), (name, answer)
        assert not (_is_number(answer) and answer in (0, 1)), (name, answer)
        assert not any(_matches(arg, answer) for arg in make_args()), (name, answer)


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_no_shipped_function_gives_the_answer(name):
    """No public function, class, static or class method of the shipped package, called with
    this question's inputs, returns (or leaves in its inputs) the reference answer."""
    make_args, _ = QUESTIONS[name]
    answers = reference_answers(name)
    answering = [qualified for qualified, seen in observations_on(make_args).items()
                 if any(_matches(value, answer) for value in seen for answer in answers)]
    assert not answering, (f"shipped to students, {answering} give the answer of {name}: move "
                           f"them to the grader's side")


def test_the_scan_sees_the_whole_package():
    """The scan finds the shipped package's main functions and classes (it is not vacuous)."""
    names = set(shipped_callables())
    assert {"prunekit.measure.count_macs", "prunekit.model.VGG",
            "prunekit.sensitivity.sensitivity_scan", "prunekit.plots.plot_sensitivity"} <= names


# --------------------------------------------------------------------------- instructor-only names

def instructor_only_names() -> set[str]:
    """Folder and module names students must not read about: the top folder of each of the
    manifest's secret paths and packages (``autograder/checks`` is named by ``autograder``) and
    the folder of the grading thresholds."""
    tops = {Path(path).parts[0] for path in SECRET + SECRET_PACKAGES}
    return tops | {calibration_path("offline").parent.name}


def shipped_text_files() -> list[Path]:
    return sorted(path for package in SHIPPED_PACKAGES for path in (KIT_ROOT / package).rglob("*")
                  if path.suffix in {".py", ".md", ".txt", ".json"} and "__pycache__" not in path.parts)


# Secret folders named by an everyday word ("it runs"): only a mention as a path counts.
EVERYDAY_WORDS = {"runs"}


def test_shipped_files_name_no_instructor_only_folder():
    """No shipped file mentions ``solutions``, ``autograder``, ``assignment``, ``.cache``, the
    hidden checks or their calibration, as a word or in a path (``runs/`` as a path)."""
    words = sorted(instructor_only_names() - EVERYDAY_WORDS)
    paths = [f"{name}/" for name in sorted(EVERYDAY_WORDS & instructor_only_names())]
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, words)) + r")(?!\w)|"
                         r"(?<![\w.])(" + "|".join(map(re.escape, paths)) + ")",
                         re.IGNORECASE)
    mentions = [f"{path.relative_to(KIT_ROOT)}:{number}: {line.strip()}"
                for path in shipped_text_files()
                for number, line in enumerate(path.read_text().splitlines(), start=1)
                if pattern.search(line)]
    assert not mentions, "\n".join(mentions)

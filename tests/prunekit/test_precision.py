"""Which precision training runs in (``prunekit.runtime``): bfloat16 autocast on channels-last
weights on CUDA and on CPUs with bfloat16 units, float32 elsewhere, evaluation always float32."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from prunekit import runtime
from prunekit.data.arrays import ImageArrayDataset
from prunekit.model import VGG
from prunekit.profiles import Recipe
from prunekit.runtime import mixed_precision
from prunekit.train import train


def array_dataset(count: int) -> ImageArrayDataset:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    return ImageArrayDataset(images, np.arange(count) % 10)


@pytest.mark.parametrize("flags, dtype, said", [
    ({"avx2", "avx512f"}, torch.float32, "training and evaluation in float32"),
    ({"avx512f", "avx512_bf16"}, torch.bfloat16, "this CPU has bfloat16 units"),
])
def test_cpu_training_precision_follows_the_bfloat16_units(monkeypatch, flags, dtype, said):
    """Without bfloat16 units the CPU trains in float32; with them, in bfloat16 autocast; the
    notebook's line says which."""
    monkeypatch.delenv("PRUNEKIT_CPU_PRECISION", raising=False)
    monkeypatch.setattr(runtime, "cpu_flags", lambda: frozenset(flags))
    layer = torch.nn.Linear(4, 4)
    with mixed_precision(torch.device("cpu")):
        assert layer(torch.rand(2, 4)).dtype == dtype
    assert said in runtime.training_precision(torch.device("cpu"))


@pytest.mark.parametrize("choice, expected", [("float32", False), ("bfloat16", True)])
def test_the_environment_overrides_the_detection(monkeypatch, choice, expected):
    monkeypatch.setenv("PRUNEKIT_CPU_PRECISION", choice)
    monkeypatch.setattr(runtime, "cpu_flags", lambda: frozenset({"amx_bf16"}) if not expected
                        else frozenset())
    assert runtime.cpu_trains_in_bfloat16() is expected


def test_an_unknown_precision_is_refused_with_the_known_ones(monkeypatch):
    monkeypatch.setenv("PRUNEKIT_CPU_PRECISION", "fp8")
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        runtime.cpu_trains_in_bfloat16()


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16 amx_tile\n\n")
    assert {"avx512_bf16", "amx_tile"} <= runtime.cpu_flags(cpuinfo)
    assert runtime.cpu_flags(tmp_path / "absent") == frozenset()


def test_bfloat16_training_gives_the_layout_back(monkeypatch):
    """Fine-tuning in bfloat16 leaves float32 weights in the usual layout, so what a student
    saves or times afterwards is laid out as before."""
    monkeypatch.setenv("PRUNEKIT_CPU_PRECISION", "bfloat16")
    model = VGG(width=0.125)
    dataset = array_dataset(count=64)
    loader = torch.utils.data.DataLoader(dataset, batch_size=32)
    train(model, loader, Recipe(epochs=1, lr=0.01), device="cpu", progress=False)
    for conv in (m for m in model.modules() if isinstance(m, torch.nn.Conv2d)):
        assert conv.weight.dtype == torch.float32
        assert conv.weight.is_contiguous()

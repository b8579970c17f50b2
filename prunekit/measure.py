"""Measurement: MACs, latency and the bits-to-MiB conversion.

Parameter counts and model sizes are not here: students write them (``get_num_parameters``,
``get_model_size``). Units are in the names: ``*_bits`` are bits, ``*_mib`` mebibytes (2**20
bytes), ``*_s`` seconds and ``*_ms`` milliseconds. MACs are plain integers.
"""
from __future__ import annotations

import contextlib
import itertools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

Inputs = Union[torch.Tensor, Sequence[torch.Tensor]]

BITS_PER_MIB = 8 * 2**20  # a MiB is 2**20 bytes of 8 bits


def count_macs(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """Multiply-accumulates of one forward pass on a zero input of ``input_shape``.

    Counted by ``torch.utils.flop_counter``, which counts matrix multiplications and
    convolutions (the conv and linear layers) as 2 FLOPs per MAC; BatchNorm, ReLU, pooling and
    the average are not counted. The model is run in eval mode and restored to its mode.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(input_shape, device=device))
    model.train(was_training)
    return counter.get_total_flops() // 2


# --------------------------------------------------------------------------- units

def bits_to_mib(bits: int | float) -> float:
    """Bits to mebibytes (MiB): 1 MiB = 2**20 bytes = 8 * 2**20 bits."""
    return bits / BITS_PER_MIB


# --------------------------------------------------------------------------- latency

@dataclass(frozen=True)
class LatencyResult:
    """Wall-clock time of one forward pass of a batch, in **seconds**.

    ``median_s`` is the estimate to report; the spread is the interquartile range
    ``iqr_s = q75_s - q25_s`` (middle half of the samples), and ``min_s`` / ``max_s`` are kept too.
    ``samples_s`` holds every timed repeat in run order (warm-up runs excluded).
    """
    median_s: float
    q25_s: float
    q75_s: float
    min_s: float
    max_s: float
    samples_s: tuple[float, ...] = field(repr=False)
    batch_size: int = 1

    @property
    def iqr_s(self) -> float:
        """Interquartile range of the samples, in seconds."""
        return self.q75_s - self.q25_s

    @property
    def median_ms(self) -> float:
        """Median latency in milliseconds."""
        return self.median_s * 1e3

    @property
    def repeats(self) -> int:
        """Number of timed runs."""
        return len(self.samples_s)

    @classmethod
    def from_samples(cls, samples_s: Sequence[float], batch_size: int) -> "LatencyResult":
        """Summarise timed runs (seconds) by median, quartiles and extremes."""
        q25, median, q75 = _quartiles(samples_s)
        return cls(median_s=median, q25_s=q25, q75_s=q75, min_s=min(samples_s),
                   max_s=max(samples_s), samples_s=tuple(samples_s), batch_size=batch_size)


@dataclass(frozen=True)
class PairedLatency:
    """Latency of two models timed in interleaved rounds (see :func:`compare_latency`).

    Times are in **seconds**. ``speedup = median_a_s / median_b_s`` (ratio of the medians):
    above 1 means ``b`` is faster. ``pair_ratios`` holds ``t_a / t_b`` of every round (the two
    runs of a round saw nearly the same machine state); their median and quartiles
    ``ratio_q25`` / ``ratio_q75`` say how stable the comparison is. ``a`` and ``b`` are the
    full per-model summaries.
    """
    median_a_s: float
    median_b_s: float
    speedup: float
    median_pair_ratio: float
    ratio_q25: float
    ratio_q75: float
    a: LatencyResult = field(repr=False)
    b: LatencyResult = field(repr=False)
    pair_ratios: tuple[float, ...] = field(repr=False)


def measure_latency(model: nn.Module, inputs: Inputs, warmup: int = 10,
                    repeats: int = 50) -> LatencyResult:
    """Time ``model(inputs)``: ``warmup`` untimed runs, then ``repeats`` timed runs.

    Runs in eval mode under ``torch.inference_mode``; on CUDA the device is synchronised before
    and after every timed run, so the time covers the kernels and not just their launch.
    ``inputs`` (a tensor, or a sequence of tensors passed as positional arguments) must already
    be on the model's device. Side effect: none that lasts; the train/eval mode of the model and
    of each submodule is restored afterwards.

    Returns:
        A :class:`LatencyResult` in seconds; report ``median_s`` (or ``median_ms``).
    """
    _check_counts(warmup, repeats)
    args = _as_args(inputs)
    sync = _synchronizer(model, args)
    with _eval_mode(model), torch.inference_mode():
        for _ in range(warmup):
            model(*args)
        samples = [_time_once(model, args, sync) for _ in range(repeats)]
    return LatencyResult.from_samples(samples, _batch_size(args))


def compare_latency(model_a: nn.Module, model_b: nn.Module, inputs: Inputs, warmup: int = 10,
                    repeats: int = 50) -> PairedLatency:
    """Time two models on the same inputs in interleaved rounds, to compare them fairly.

    Timing one model and then the other lets slow drifts of the machine (clock boost, thermal
    throttling, another process waking up) favour one of them. Here each of the ``repeats``
    rounds runs both models back to back, and the order alternates: round 0 runs a then b,
    round 1 b then a, and so on, so that noise and "who runs first" effects hit both equally.
    The ``warmup`` rounds (untimed) run a then b. Same conditions as :func:`measure_latency`:
    eval mode, ``torch.inference_mode``, CUDA synchronised, modes restored afterwards.

    Returns:
        A :class:`PairedLatency`; ``speedup`` (median of a / median of b) above 1 means b is
        faster, and the quartiles of the per-round ratios show how reliable that is.
    """
    _check_counts(warmup, repeats)
    args = _as_args(inputs)
    sync = _synchronizer(model_a, args) or _synchronizer(model_b, args)
    times_a: list[float] = []
    times_b: list[float] = []
    with _eval_mode(model_a), _eval_mode(model_b), torch.inference_mode():
        for _ in range(warmup):
            model_a(*args)
            model_b(*args)
        for round_index in range(repeats):
            if round_index % 2 == 0:
                times_a.append(_time_once(model_a, args, sync))
                times_b.append(_time_once(model_b, args, sync))
            else:
                times_b.append(_time_once(model_b, args, sync))
                times_a.append(_time_once(model_a, args, sync))
    ratios = [t_a / t_b for t_a, t_b in zip(times_a, times_b)]
    q25, median, q75 = _quartiles(ratios)
    batch = _batch_size(args)
    result_a = LatencyResult.from_samples(times_a, batch)
    result_b = LatencyResult.from_samples(times_b, batch)
    return PairedLatency(median_a_s=result_a.median_s, median_b_s=result_b.median_s,
                         speedup=result_a.median_s / result_b.median_s,
                         median_pair_ratio=median, ratio_q25=q25, ratio_q75=q75,
                         a=result_a, b=result_b, pair_ratios=tuple(ratios))


RELIABLE_RATIO_SPREAD = 0.20  # per-round speedups whose quartiles differ by more: unreliable


@dataclass(frozen=True)
class ModelTimes:
    """CPU latency of several models timed in the same rounds (see :func:`time_models`).

    Per model name: ``median_ms`` (median CPU milliseconds of one forward pass), ``speedup``
    (median over the rounds of the first model's time over this one's: above 1 is faster than
    the first), ``speedup_quartiles`` (25th and 75th percentiles of those per-round ratios).
    ``reliable`` is False when some model's quartiles spread by more than
    :data:`RELIABLE_RATIO_SPREAD` of its speedup; ``note`` then says so.
    """
    median_ms: dict[str, float]
    speedup: dict[str, float]
    speedup_quartiles: dict[str, tuple[float, float]]
    threads: int
    repeats: int

    @property
    def reliable(self) -> bool:
        return all((q75 - q25) <= RELIABLE_RATIO_SPREAD * self.speedup[name]
                   for name, (q25, q75) in self.speedup_quartiles.items())

    @property
    def note(self) -> str:
        """One line on how far the figures can be trusted."""
        if self.reliable:
            return (f"timed in {self.repeats} interleaved rounds, thread CPU time, "
                    f"{self.threads} torch thread(s): stable")
        return ("the per-round speedups varied by more than "
                f"{RELIABLE_RATIO_SPREAD:.0%}: these timings are not reliable; close other "
                "programs and run the cell again")


def interleaved_cpu_times(models: Sequence[nn.Module], inputs: torch.Tensor, warmup: int,
                          repeats: int) -> list[list[float]]:
    """CPU seconds of the calling thread for one forward pass of each model on ``inputs`` in
    ``repeats`` rounds (after ``warmup`` untimed ones): every round runs each model once, in an
    order that cycles through all permutations, so that load and "who runs first" hit every
    model alike. Eval mode and ``torch.inference_mode`` (the models must already be in eval
    mode, on the CPU). Returns one list of times per model, in round order.

    The thread's CPU time (``time.thread_time``) counts only the time this thread computed, not
    the time it waited while other processes had the core, so a loaded machine does not change
    the result. It is the whole cost of a pass only while torch computes in the calling thread:
    callers pin torch to one thread."""
    orders = list(itertools.permutations(range(len(models))))
    times: list[list[float]] = [[] for _ in models]
    with torch.inference_mode():
        for _ in range(warmup):
            for each in models:
                each(inputs)
        for round_index in range(repeats):
            for index in orders[round_index % len(orders)]:
                start = time.thread_time()
                models[index](inputs)
                times[index].append(time.thread_time() - start)
    return times


def time_models(models: dict[str, nn.Module], inputs: torch.Tensor, warmup: int = 5,
                repeats: int = 30, threads: int = 1) -> ModelTimes:
    """Time several CPU models on the same inputs in the same interleaved rounds, in thread CPU
    time with torch pinned to ``threads`` threads (:func:`interleaved_cpu_times`), the way the
    grader measures speedup. The first model is the one the others are compared with.

    Side effect: none that lasts (torch's thread count and the models' modes are restored).
    """
    _check_counts(warmup, repeats)
    names = list(models)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with contextlib.ExitStack() as stack:
            for model in models.values():
                stack.enter_context(_eval_mode(model))
            times = interleaved_cpu_times(list(models.values()), inputs, warmup, repeats)
    finally:
        torch.set_num_threads(previous_threads)
    first = times[0]
    speedup, quartiles = {}, {}
    for name, model_times in zip(names, times):
        q25, median, q75 = _quartiles([f / t for f, t in zip(first, model_times)])
        speedup[name], quartiles[name] = median, (q25, q75)
    return ModelTimes(median_ms={n: 1e3 * float(np.median(t)) for n, t in zip(names, times)},
                      speedup=speedup, speedup_quartiles=quartiles, threads=threads,
                      repeats=repeats)


def _time_once(model: nn.Module, args: tuple[torch.Tensor, ...],
               sync: Optional[Callable[[], None]]) -> float:
    """Seconds of one forward pass, synchronising the device before and after when needed."""
    if sync:
        sync()
    start = time.perf_counter()
    model(*args)
    if sync:
        sync()
    return time.perf_counter() - start


def _synchronizer(model: nn.Module, args: tuple[torch.Tensor, ...]) -> Optional[Callable[[], None]]:
    """``torch.cuda.synchronize`` when the model or the inputs live on CUDA, else ``None``."""
    tensors = list(args) + list(model.parameters()) + list(model.buffers())
    if any(t.is_cuda for t in tensors):
        return torch.cuda.synchronize
    return None


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for the block, then restore each submodule's own mode."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def _as_args(inputs: Inputs) -> tuple[torch.Tensor, ...]:
    return (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)


def _batch_size(args: tuple[torch.Tensor, ...]) -> int:
    first = args[0] if args else None
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1


def _check_counts(warmup: int, repeats: int) -> None:
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(25th percentile, median, 75th percentile), linear interpolation between samples."""
    q25, median, q75 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(q25), float(median), float(q75)

"""Atomic writes: a finished write replaces the file in one step; a failed one leaves the old
file as it was and no partial file behind."""
import os
import time

import pytest

from prunekit.files import PARTIAL_SUFFIX, atomic_path, write_text_atomic


def test_a_finished_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "grades.csv"
    write_text_atomic(target, "old\n")
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert list(target.parent.iterdir()) == [target]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "model.pt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as partial:
            partial.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.glob("*" + PARTIAL_SUFFIX)) == []


def _write_many(target: str, text: str, times: int) -> None:
    for _ in range(times):
        write_text_atomic(target, text * 10_000)


def test_two_processes_writing_one_file_never_leave_half_of_either(tmp_path):
    """Two processes rewriting the same file at once (two test workers making one cache entry):
    each writes its own partial, so the file is always one whole version and no partial stays."""
    import multiprocessing

    target = tmp_path / "cache.txt"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(target), text, 30))
               for text in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    assert [writer.exitcode for writer in writers] == [0, 0]
    assert target.read_text() in ("a" * 10_000, "b" * 10_000)
    assert list(tmp_path.glob("*" + PARTIAL_SUFFIX)) == []


def _make_once(lock: str, log: str) -> None:
    from pathlib import Path

    from prunekit.files import held_lock

    with held_lock(lock):
        made = Path(log)
        if not made.exists():
            time.sleep(0.5)  # the slow work that the other process must not repeat
            made.write_text(f"made by {os.getpid()}\n")
        with open(f"{log}.visits", "a") as visits:
            visits.write("x")


def test_held_lock_makes_processes_take_turns(tmp_path):
    """Two processes making the same cached thing under ``held_lock``: one makes it, the other
    waits and then finds it made."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    log = tmp_path / "made.txt"
    makers = [context.Process(target=_make_once, args=(str(tmp_path / "x.lock"), str(log)))
              for _ in range(2)]
    for maker in makers:
        maker.start()
    for maker in makers:
        maker.join(60)
    assert [maker.exitcode for maker in makers] == [0, 0]
    assert log.read_text().count("made by") == 1
    assert (tmp_path / "made.txt.visits").read_text() == "xx"

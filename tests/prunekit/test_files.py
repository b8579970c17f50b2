"""Atomic writes: a finished write replaces the file in one step; a failed one leaves the old
file as it was and no partial file behind."""
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
    assert not (tmp_path / ("model.pt" + PARTIAL_SUFFIX)).exists()

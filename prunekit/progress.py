"""Progress bars as plain text, so that a saved notebook still shows them.

``tqdm.auto`` picks the Jupyter widget in a notebook, and a saved notebook keeps only the
widget's placeholder: the bar reads as a frozen "0%" once the file is reopened, exported or
graded. The text bar (``tqdm.std``) writes to stderr, redrawing its line with carriage returns,
so the saved output holds the bar's last state as text, in a terminal and a notebook alike.
"""
from __future__ import annotations

from typing import Iterable

from tqdm import tqdm

# Seconds between redraws at the least: a text bar's every redraw is kept in a notebook's
# output, so redrawing at tqdm's default (every 0.1 s) would store a line per tenth of a second.
MIN_REDRAW_INTERVAL_S = 1.0


def progress_bar(iterable: Iterable | None = None, **options) -> tqdm:
    """A text ``tqdm`` bar over ``iterable`` (or a manual one, with ``total=``), redrawn at most
    every :data:`MIN_REDRAW_INTERVAL_S` seconds; ``options`` go to ``tqdm`` (``desc``,
    ``disable``, ``leave``, ...). Side effect: writes the bar to ``sys.stderr`` as it runs."""
    options.setdefault("mininterval", MIN_REDRAW_INTERVAL_S)
    return tqdm(iterable, **options)

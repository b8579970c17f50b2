"""Where the test suite's time goes: per-module seconds from a JUnit XML report.

    ./kit test --junitxml=runs/junit.xml
    ./kit python -m tests.durations runs/junit.xml

Seconds are each test's setup, call and teardown as pytest measured them, summed per module
(a shared session fixture counts in the first test that asked for it); with two workers they
add up to about twice the wall time. docs/testing.md keeps the measured split.
"""
from __future__ import annotations

import argparse
import collections
import xml.etree.ElementTree as ElementTree
from pathlib import Path


def seconds_per_module(report: Path) -> dict[str, tuple[float, int]]:
    """Module (dotted, as JUnit names it) -> (seconds, tests), most seconds first."""
    seconds: dict[str, float] = collections.Counter()
    counts: dict[str, int] = collections.Counter()
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        module = case.get("classname") or "?"
        seconds[module] += float(case.get("time") or 0.0)
        counts[module] += 1
    return {m: (seconds[m], counts[m]) for m in sorted(seconds, key=seconds.get, reverse=True)}


def table(split: dict[str, tuple[float, int]], rows: int) -> str:
    """A Markdown table of the first ``rows`` modules and the total."""
    total = sum(s for s, _ in split.values())
    lines = ["| module | tests | seconds | share |", "|---|---:|---:|---:|"]
    for module, (seconds, count) in list(split.items())[:rows]:
        lines.append(f"| {module} | {count} | {seconds:.0f} | {100 * seconds / total:.0f}% |")
    lines.append(f"| all {len(split)} modules | {sum(c for _, c in split.values())} | "
                 f"{total:.0f} | 100% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="pytest's --junitxml file")
    parser.add_argument("--rows", type=int, default=15)
    args = parser.parse_args()
    print(table(seconds_per_module(args.report), args.rows))


if __name__ == "__main__":
    main()

"""Late submissions: when each submission was made, the due date, and an optional penalty rule.

Where the submission times come from: a Gradescope "Download submissions" export's
``submission_metadata.yml`` gives each ``submission_<n>`` its ``:created_at:`` (Ruby's YAML
time, ``2026-11-30 23:58:01.123456000 -08:00``, also read as ``-0800`` or ``Z``; a time
without an offset is UTC, as YAML says). Submissions from anywhere else (plain folders,
notebooks named in a roster CSV or a Canvas export) have no time: their lateness columns are
empty and nothing is deducted. On Gradescope itself (``gradescope-run``) lateness is
Gradescope's own late-due-date policy, not this module's.

The due date (``grade --due``) is ISO 8601 with an offset: ``2026-12-01T00:00-08:00`` or
``2026-12-01 08:00Z``. A submission at the due date exactly, or before it, is on time.

The penalty rule (``grade --late-penalty``), case and spaces ignored::

    RATE%/UNIT[, max N UNITs]        UNIT: day or hour (plural or not)

``10%/day``: 10 % of the earned points per started day late (1 s late is one day: 10 %;
24 h 1 s late is two: 20 %), never more than all of them; ``10%/day, max 3 days``: the same
for up to 3 days late, and a submission later than that gets 0 (all its points deducted);
``5%/hour`` per started hour. ``none`` removes a stored rule (as ``--due none`` the due
date).

The settings and the times are kept in ``OUT/lateness.json`` (merged with what is there, so a
regrade or a later batch into the same folder keeps the times it does not bring, and ``merge``
copies them from every shard); every report of the folder applies them
(:func:`load_policy`).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

from autograder.frontends.report import points_text

LATENESS_FILE = "lateness.json"
UNIT_SECONDS = {"day": 86400, "hour": 3600}
CLEAR = "none"  # --due none / --late-penalty none: forget the stored value
RULE = re.compile(r"^(?P<rate>\d+(?:\.\d+)?)%/(?P<unit>day|hour)s?"
                  r"(?:,max(?P<cap>\d+)(?P<cap_unit>day|hour)s?)?$")
# An ISO 8601 date and time with an offset, or the Ruby YAML form Gradescope writes; the
# fraction of a second may have up to 9 digits (only 6 are kept).
TIME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<clock>\d{2}:\d{2}(?::\d{2})?)"
                  r"(?:\.(?P<fraction>\d+))?\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?$",
                  re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """A penalty rule: ``rate`` percent of the earned points per started ``unit`` late; with
    ``cap``, a submission more than ``cap`` ``cap_unit``s late loses everything."""
    rate: float
    unit: str
    cap: int | None = None
    cap_unit: str = "day"
    text: str = ""

    def fraction(self, late_seconds: float) -> float:
        """The fraction (0..1) of the earned points deducted for ``late_seconds`` late."""
        if late_seconds <= 0:
            return 0.0
        if self.cap is not None and late_seconds > self.cap * UNIT_SECONDS[self.cap_unit]:
            return 1.0
        started = math.ceil(late_seconds / UNIT_SECONDS[self.unit])
        return min(1.0, self.rate / 100 * started)


def parse_rule(text: str) -> Rule:
    """A rule as written on the command line (module docstring). ValueError (one line, with
    an example) when it is not one."""
    compact = re.sub(r"\s+", "", str(text)).lower()
    match = RULE.match(compact)
    if not match or float(match["rate"]) <= 0:
        raise ValueError(f"--late-penalty {text!r} is not a rule: write RATE%/UNIT[, max N "
                         "UNITs] with UNIT day or hour, e.g. '10%/day' or '10%/day, max 3 days'")
    cap = int(match["cap"]) if match["cap"] else None
    return Rule(float(match["rate"]), match["unit"], cap, match["cap_unit"] or match["unit"],
                str(text).strip())


def parse_time(text: str, what: str = "--due") -> datetime:
    """An ISO 8601 date and time with an offset (or Gradescope's ``2026-11-30 23:58:01.12 -0800``)
    as an aware datetime. ValueError (one line) without an offset or when unreadable."""
    match = TIME.match(str(text).strip())
    if not match:
        raise ValueError(f"{what} {text!r} is not a date and time: write ISO 8601 with an "
                         "offset, e.g. 2026-12-01T23:59-08:00 or 2026-12-02T07:59Z")
    if not match["offset"]:
        raise ValueError(f"{what} {text!r} has no offset from UTC: add one, e.g. "
                         f"{text.strip()}-08:00 or {text.strip()}Z")
    offset = match["offset"].upper()
    offset = "+00:00" if offset == "Z" else (
        offset if ":" in offset or len(offset) == 3 else f"{offset[:3]}:{offset[3:]}")
    fraction = f".{match['fraction'][:6]}" if match["fraction"] else ""
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['clock']}{fraction}{offset}")
    except ValueError as error:
        raise ValueError(f"{what} {text!r} is not a valid date and time ({error})") from None


def metadata_time(value) -> datetime | None:
    """A ``:created_at:`` as YAML read it (a datetime, naive meaning UTC, or a string) as an
    aware datetime; None when it is missing or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date) or not value:
        return None
    try:
        return parse_time(str(value), ":created_at:")
    except ValueError:
        return None


@dataclass(frozen=True)
class Policy:
    """The lateness settings of an output folder: the ``due`` date, the penalty ``rule`` and
    each submission's time (``submitted``, by submission id). The default applies nothing
    and adds no column."""
    due: datetime | None = None
    rule: Rule | None = None
    submitted: Mapping[str, datetime] = field(default_factory=dict)

    def columns(self) -> list[str]:
        """The gradebook's lateness columns: ``submitted_at`` (when any submission has a time
        or a due date is set), ``late_hours`` (with a due date), ``late_penalty`` (with a
        rule too)."""
        columns = ["submitted_at"] if self.submitted or self.due else []
        if self.due:
            columns.append("late_hours")
            if self.rule:
                columns.append("late_penalty")
        return columns

    def late_seconds(self, submission: str) -> float | None:
        """How late ``submission`` was (0 when on time); None without a due date or a time."""
        made = self.submitted.get(submission)
        if self.due is None or made is None:
            return None
        return max(0.0, (made - self.due).total_seconds())

    def penalty(self, submission: str, earned: float) -> float:
        """The points deducted from ``earned`` (0 without a rule, a due date or a time)."""
        late = self.late_seconds(submission)
        if self.rule is None or late is None:
            return 0.0
        return earned * self.rule.fraction(late)

    def cells(self, submission: str, earned: float) -> dict[str, str]:
        """The lateness cells of one gradebook row (empty for a submission without a time)."""
        late = self.late_seconds(submission)
        made = self.submitted.get(submission)
        cells = {"submitted_at": made.isoformat() if made else "",
                 "late_hours": "" if late is None else points_text(late / 3600),
                 "late_penalty": "" if late is None else points_text(self.penalty(submission,
                                                                              earned))}
        return {column: cells[column] for column in self.columns()}


# ---------------------------------------------------------------------------------------------
# Reading the times, keeping everything in OUT
# ---------------------------------------------------------------------------------------------

def submission_times(paths: Sequence[Path]) -> tuple[dict[str, datetime], list[str]]:
    """The ``:created_at:`` of every submission of the Gradescope exports among ``paths``, by
    submission id, and the ids whose time could not be read (left out: no lateness)."""
    from autograder.core.batch import unwrapped
    from autograder.frontends import roster

    times: dict[str, datetime] = {}
    unreadable: list[str] = []
    for path in map(Path, paths):
        if not path.is_dir():
            continue
        for folder, entry in roster.gradescope_metadata(unwrapped(path)).items():
            value = roster.metadata_field(entry, "created_at")
            made = metadata_time(value)
            if made is not None:
                times[roster.submission_id(str(folder))] = made
            elif value is not None:
                unreadable.append(roster.submission_id(str(folder)))
    return times, unreadable


def save(out_dir: Path, due: str | None = None, penalty: str | None = None,
         submitted: Mapping[str, datetime] | None = None) -> dict:
    """Store the due date and rule (as given, checked first; None keeps the stored one,
    ``none`` removes it) and the times (merged over the stored ones) in
    ``OUT/lateness.json``; returns what it holds. ValueError (one line) for a bad ``due`` or
    ``penalty``. Side effect: creates ``out_dir``."""
    stored = stored_settings(out_dir)
    for key, value, check in (("due", due, parse_time), ("penalty", penalty, parse_rule)):
        if value is None:
            continue
        if str(value).strip().lower() == CLEAR:
            stored.pop(key, None)
        else:
            check(value)
            stored[key] = str(value).strip()
    times = {**stored.get("submitted", {}),
             **{sid: made.isoformat() for sid, made in (submitted or {}).items()}}
    stored["submitted"] = dict(sorted(times.items()))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / LATENESS_FILE).write_text(json.dumps(stored, indent=1) + "\n",
                                               encoding="utf-8")
    return stored


def stored_settings(out_dir: Path) -> dict:
    """What ``OUT/lateness.json`` holds (empty when there is none)."""
    path = Path(out_dir) / LATENESS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_policy(out_dir: Path) -> Policy:
    """The lateness policy every report of ``out_dir`` applies (the default when none is
    stored)."""
    stored = stored_settings(out_dir)
    return Policy(due=parse_time(stored["due"]) if stored.get("due") else None,
                  rule=parse_rule(stored["penalty"]) if stored.get("penalty") else None,
                  submitted={sid: datetime.fromisoformat(made)
                             for sid, made in stored.get("submitted", {}).items()})

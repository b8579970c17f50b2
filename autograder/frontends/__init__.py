"""What people and platforms call: the command line (``cli.py``), the reports (gradebook,
feedback, Gradescope results, class report: ``report.py``), Gradescope and PrairieLearn entry
points, course-scale tools (rosters, written answers, lateness, shards: ``roster.py``,
``written.py``, ``lateness.py``, ``course.py``), the footprint measurement, calibration and the
example submissions. They use the grading core; nothing below them imports them."""

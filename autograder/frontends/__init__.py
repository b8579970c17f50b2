"""What people and platforms call: the command line (``cli.py``), the reports (gradebook,
feedback, Gradescope results, class report: ``report.py``), the grade-import exports
(``exports.py``), Gradescope and PrairieLearn entry points, course-scale tools (a class graded
into OUT, shards: ``course.py``; rosters, written answers, lateness: ``roster.py``,
``written.py``, ``lateness.py``), the similarity report, the footprint measurement, calibration
and the example submissions. They use the grading core; nothing below them imports them."""

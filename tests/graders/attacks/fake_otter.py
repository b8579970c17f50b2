# about: replaces Otter in sys.modules with a checker that passes everything, makes
#   grader.check pass, and writes a results.json claiming full marks where it can
# base: blank
# defence: Otter's cells are dropped; scores come only from the grader's own process
# --- cell
import json
import os
import sys
import types

fake = types.ModuleType("otter")


class Notebook:
    def __init__(self, *args, **kwargs):
        pass

    def check(self, question, *args, **kwargs):
        print(f"{question} results: All test cases passed!")
        return True

    def check_all(self):
        return True

    def export(self, *args, **kwargs):
        return None


fake.Notebook = Notebook
sys.modules["otter"] = fake
sys.modules["otter.check"] = fake
grader = Notebook()
claim = {"score": 26.0, "tests": [{"name": f"q{i}", "score": 100.0, "max_score": 1.0}
                                  for i in range(1, 10)]}
for folder in (".", os.path.expanduser("~"), "/autograder/results", "/tmp", "../out", "../.."):
    try:
        with open(os.path.join(folder, "results.json"), "w") as handle:
            json.dump(claim, handle)
    except OSError:
        pass
for question in ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9"):
    grader.check(question)

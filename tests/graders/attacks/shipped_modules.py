# about: ships a prunekit/ and an autograder/ package, a sitecustomize.py, a usercustomize.py, a
#   .pth file and a conftest.py in the zip (each would pass everything if imported), and a cell
#   that tries to import them
# base: blank
# defence: only the notebook and the two model files are taken from a zip
# lacks: shadowed import worked
# --- cell
import importlib
import sys

sys.path[:0] = [".", "..", "submission"]
for name in ("sitecustomize", "usercustomize", "autograder", "conftest"):
    try:
        module = importlib.import_module(name)
    except Exception:
        continue
    if getattr(module, "PWNED", False):
        raise RuntimeError(f"shadowed import worked: {name}")
# --- file: prunekit/__init__.py
PWNED = True
# --- file: prunekit/measure.py
PWNED = True
def count_macs(*args, **kwargs):
    return 1
# --- file: autograder/__init__.py
PWNED = True
# --- file: autograder/core/grade.py
PWNED = True
def grade_submission(*args, **kwargs):
    raise SystemExit("full marks")
# --- file: autograder/checks/__init__.py
PWNED = True
def judge_plan(*args, **kwargs):
    return [], []
# --- file: sitecustomize.py
PWNED = True
import builtins
builtins.PWNED = True
# --- file: usercustomize.py
PWNED = True
# --- file: zz_pwned.pth
import builtins; builtins.PWNED = True
# --- file: conftest.py
PWNED = True

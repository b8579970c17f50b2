# about: walks the file system for what the kit's own commands leave beside it: the example
#   submissions (runs/examples/solved.zip: the solved notebook) and the Gradescope zip
#   (runs/gradescope/prunekit-autograder.zip: reference solutions, calibration); runs the
#   function definitions of any solved notebook it can read (full marks on the code questions)
#   and reports what it read
# base: blank
# defence: the allow-list filesystem (bwrap, Landlock); without Landlock the kit's output folder
#   runs/ is secret (manifest.SECRET) and made root-only with the rest before grading
# lacks: STOLEN | LEAKED
# --- cell
import ast
import json
import os
import zipfile

wanted = {"solved.zip", "prunekit-autograder.zip", "autograder.zip"}
hits, leaks, stolen = [], [], []
for directory, subdirs, files in os.walk("/"):
    subdirs[:] = [d for d in subdirs if d not in ("proc", "sys", "dev")]
    hits += [os.path.join(directory, name) for name in files if name in wanted]
    if len(hits) > 20:
        break
for path in hits:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "pruning_lab.ipynb" in names:
                notebook = json.loads(archive.read("pruning_lab.ipynb"))
                for cell in notebook["cells"]:
                    if cell["cell_type"] != "code":
                        continue
                    source = "".join(cell["source"])
                    try:
                        tree = ast.parse(source)
                    except SyntaxError:
                        continue
                    keep = [n for n in tree.body if isinstance(
                        n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))]
                    if any("NotImplementedError" in ast.unparse(n) for n in keep):
                        continue
                    try:
                        exec(compile(ast.Module(keep, []), "<stolen>", "exec"))
                        stolen.append(path)
                    except Exception:
                        pass
            secret = [n for n in names if n.startswith("solutions/") or "calibration" in n]
            if secret:
                leaks.append(f"LEAKED {path}: {secret[:3]}")
    except (OSError, zipfile.BadZipFile, ValueError, KeyError) as error:
        leaks.append(f"{path}: {type(error).__name__}")
summary = f"found {hits} | " + " | ".join(leaks) + (f" | STOLEN from {sorted(set(stolen))}"
                                                      if stolen else " | nothing taken")
print(summary)


if not stolen:
    def get_num_parameters(model, count_nonzero_only=False):
        raise RuntimeError(summary[:550])
else:
    def get_model_size(model, data_width=32, count_nonzero_only=False):  # leaks what it read
        raise RuntimeError(summary[:550])

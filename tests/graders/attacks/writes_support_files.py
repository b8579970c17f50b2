# about: writes a sitecustomize.py, a .pth file and a fake prunekit into every writable place
#   it can find (site-packages, home, /tmp, the sandbox folder) and tries to overwrite the
#   sandbox's runner.py and probes.py
# base: blank
# defence: an unprivileged uid, a read-only sandbox, private tmpfs; the runner runs with -I
# lacks: overwrote
# --- cell
import os
import site
import sys
import sysconfig

payload = "import builtins; builtins.PWNED = True\n"
places = set(site.getsitepackages() + [site.getusersitepackages(), os.path.expanduser("~"),
                                      "/tmp", os.getcwd(), os.path.dirname(os.getcwd()),
                                      sysconfig.get_path("purelib")] + sys.path)
written = []
for place in sorted(p for p in places if p):
    for name, text in (("sitecustomize.py", payload), ("zz_pwned.pth", payload),
                       ("prunekit/__init__.py", payload)):
        try:
            os.makedirs(os.path.join(place, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(place, name), "w") as handle:
                handle.write(text)
            written.append(os.path.join(place, name))
        except OSError:
            pass
overwrote = []
for name in ("runner.py", "probes.py", "job.pt", "lib/prunekit/measure.py"):
    path = os.path.join(os.path.dirname(os.getcwd()), name)
    try:
        with open(path, "a") as handle:
            handle.write("\n# pwned\n")
        overwrote.append(path)
    except OSError:
        pass


def get_sparsity(tensor):
    import builtins
    raise RuntimeError(f"overwrote {overwrote}" if overwrote else "nothing overwritten")

"""Run student code in a separate, isolated, limited OS process and bring back only plain data.

The grader's process draws inputs, writes them with the student's code and a list of probe
requests into a fresh sandbox folder, and starts the sandbox; the student's cells and the probes
run in there (``inside/runner.py``, with the probe module the manifest names). After every
process of the sandbox is gone, the grader loads the results as untrusted data and compares them
with its reference in its own process (``autograder/checks``, not here).

The package's files are its layers:

=====================  ==========================================================================
``api.py``             the public types: ``ProbeRequest``, ``Limits``, ``Isolation``,
                       ``SandboxResult``, ``IsolationReport``, the errors
``run.py``             ``run_in_sandbox``: one run from start to finish
``backend.py``         which isolation this machine allows (bwrap, restricted, none), probed once
``plan.py``            the allow-list filesystem and the bubblewrap command
``mirror.py``          hard-link mirrors of the interpreter, so that no mount names a host folder
``folder.py``          the sandbox folder the grader prepares (the inside code, and the probe
                       module and packages ``manifest.SANDBOX_PROBES`` / ``SANDBOX_PACKAGES``)
``inprocess.py``       one probe request run in this process, as the runner would (the Otter
                       path, which has no sandbox)
``supervise.py``       starting, watching (time, memory, disk), killing, classifying the end
``cgroups.py``         a memory and pids cgroup per run, where the grader may make one
``untrusted.py``       loading what came back: size-bounded, plain data only
``archive.py``         torch's archive format parsed into plain data, never unpickled
``permissions.py``     permission checks for secrets where no allow-list hides them
``inside/``            what runs in the sandbox: ``launcher.py`` (limits, uid, confinement),
                       ``confine.py`` (seccomp, Landlock), ``runner.py`` (cells, probes),
                       ``provenance.py`` (whether a graded function is the notebook's own code)
=====================  ==========================================================================

Layers of isolation, and what each stops:

============================  =====================================================  ============
layer                          what it stops                                          backends
============================  =====================================================  ============
separate process, new session  patching the grader, killing it; timeouts              all
rlimits (CPU, AS, FSIZE,       busy loops, memory bombs, huge files, fork bombs       all
NPROC, CORE)
output to files, tails kept    gigabytes of printing filling memory                   all
disk watch (grader polls)      filling the disk with many files                       all
unprivileged uid               reading root-only secrets, signalling the grader       bwrap,
                                                                                      restricted
allow-list filesystem          reading anything of the host but the interpreter,      bwrap
                               libraries and its own folder (secrets, other           (Landlock:
                               submissions, other copies of the kit, wherever         restricted)
                               they lie)
network namespace / seccomp    network access (even 127.0.0.1), abstract sockets      bwrap /
                                                                                      restricted
IPC namespace / seccomp        System V and POSIX shared memory, queues, semaphores   bwrap /
                               shared between submissions                             restricted
neutral paths (``mirror.py``)  learning where the kit, its venv, its Python and the    bwrap
                               grader's folders lie (sys.path, tracebacks, mountinfo)
pid namespace                  background processes outliving the run; seeing the     bwrap
                               grader's processes
user namespace (no nesting)    capabilities; a student-made namespace                 bwrap
seccomp (shared inodes)        data carried through the read-only files every         bwrap,
                               sandbox shares (locks, leases, inotify, dnotify),      restricted
                               memfd memory no limit counts
provenance (``inside/``)       points for code the notebook does not contain          all
                               (exec of a received or decoded solution)
memory and pids cgroup         memory no rlimit counts (shared memory, tmpfs files,   where the
(``cgroups.py``)               files kept open after unlinking), tasks of any uid     grader may
                                                                                      make one
canary (``verify_backend``)    a backend that cannot start Python as the sandbox uid  bwrap,
                               (every submission an error) accepted for a batch       restricted
============================  =====================================================  ============

``python -m autograder`` refuses to grade when only the "none" backend works, unless told
``--allow-unisolated``; every result carries an ``IsolationReport``.
"""
from autograder.sandbox.api import (BACKENDS, LEVELS, NOBODY, REPO_ROOT, Failure, Isolation,
                                    IsolationReport, IsolationUnavailable, Limits, Outcome,
                                    ProbeRequest, SandboxError, SandboxResult)
from autograder.sandbox.backend import Backend, choose_backend, describe, find_bwrap
from autograder.sandbox.inprocess import call_probe_here
from autograder.sandbox.permissions import exposed_secrets, harden_permissions, readable_by
from autograder.sandbox.run import run_in_sandbox, verify_backend
from autograder.sandbox.untrusted import BadResult, load_untrusted

__all__ = ["BACKENDS", "LEVELS", "NOBODY", "REPO_ROOT", "Backend", "BadResult", "Failure",
           "Isolation", "IsolationReport", "IsolationUnavailable", "Limits", "Outcome",
           "ProbeRequest", "SandboxError", "SandboxResult", "call_probe_here", "choose_backend",
           "describe", "exposed_secrets", "find_bwrap", "harden_permissions", "load_untrusted",
           "readable_by", "run_in_sandbox", "verify_backend"]

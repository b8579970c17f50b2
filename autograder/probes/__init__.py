"""The lab's probes (public: they run inside the student's process, which can read them).

``lab.py`` holds the probe scenarios the checks (``autograder/checks/``) ask for: call a student
function on drawn inputs, call one on a VGG, run ``FineGrainedPruner`` for a few SGD steps. The
sandbox copies it into every sandbox folder as ``probes.py`` (``manifest.SANDBOX_PROBES``); the
stock Otter path calls the same module in the student's own kernel. Nothing here knows a
reference answer, a threshold or a hidden check.
"""

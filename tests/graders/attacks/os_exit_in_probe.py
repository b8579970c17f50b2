# about: the solved notebook whose get_model_size calls os._exit(0) when the grader calls it:
#   the student process vanishes mid-way with a "success" exit code
# base: solved
# defence: probes whose results never came back score 0; the rest is judged
# status: crashed, exit
# --- cell
import os

_real_get_model_size = get_model_size


def get_model_size(model, data_width=32, count_nonzero_only=False):
    os._exit(0)

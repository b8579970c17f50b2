# about: the blank template plus one cell that decodes a classmate's solution (the solved
#   notebook's definitions, as a channel between two sandboxes would deliver them: base64 text)
#   and execs it, so every graded name is bound to working code the notebook does not contain
# base: blank
# keeps: all
# defence: provenance: a graded function earns points only if its code is what the notebook's
#   cells (or files they wrote) compile to; the probes refuse the rest with a one-line reason
# --- cell
import base64

for received in base64.b64decode("{{SOLVED_CODE_B64}}").decode().split("\0"):
    try:
        exec(received, globals())
    except Exception as error:
        print("skipped a received cell:", type(error).__name__)

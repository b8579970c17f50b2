# about: the solved notebook with a forgotten experiment at the end: a cell that waits forever
#   (while True); the grader stops that cell at its share of the time limit and names it, the
#   probes still run, so it keeps full marks
# --- cell
import time

while True:  # waiting for a result that never comes
    time.sleep(0.1)

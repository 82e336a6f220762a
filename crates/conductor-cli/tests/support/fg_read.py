"""A child for the terminal tests: waits (at most 20 s) until its process
group is the terminal's foreground, says "ready", then reads one line from
the terminal and echoes it as "got:LINE"."""
import os
import sys
import time

start = time.monotonic()
while os.tcgetpgrp(0) != os.getpgrp():
    if time.monotonic() - start > 20:
        sys.exit(9)
    time.sleep(0.01)
print("ready", flush=True)
line = sys.stdin.readline()
print("got:" + line.strip(), flush=True)

"""Runs a command on a fresh pseudo-terminal, as its session leader (so its
process group is the terminal's foreground), and plays a script against it.

usage: pty_run.py STEP... -- PROGRAM ARG...

Steps, in order:
  expect:TEXT  wait (at most 20 s) until TEXT has appeared in the output
  send:TEXT    write TEXT to the terminal (\\x03 is Ctrl-C, \\r is Enter)
  kill:SIG     send signal SIG (a name such as USR1) to the program with kill(2)
  stopped:     wait (at most 20 s) until the program is stopped

Then reads the output to its end (at most 20 s), reaps the program and
prints its output followed by a last line "EXIT <code>" (or "SIGNAL <n>").
Exits 3 (printing what it saw) if a wait runs out.
"""
import os
import pty
import select
import signal
import sys
import time

i = sys.argv.index("--")
steps, argv = sys.argv[1:i], sys.argv[i + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

out = b""


def read_some(deadline):
    global out
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    r, _, _ = select.select([fd], [], [], left)
    if not r:
        return False
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: every slave end is closed
        data = b""
    if not data:
        return None
    out += data
    return True


def fail(why):
    sys.stdout.write(out.decode(errors="replace"))
    sys.stdout.write("\nFAILED: %s\n" % why)
    os.kill(pid, signal.SIGKILL)
    sys.exit(3)


for step in steps:
    kind, _, arg = step.partition(":")
    if kind == "expect":
        deadline = time.monotonic() + 20
        while arg.encode() not in out:
            if not read_some(deadline):
                fail("no %r in the output" % arg)
    elif kind == "send":
        os.write(fd, arg.encode().decode("unicode_escape").encode())
    elif kind == "stopped":
        deadline = time.monotonic() + 20
        while True:
            got, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
            if got and os.WIFSTOPPED(status):
                break
            if got or time.monotonic() > deadline:
                fail("the program did not stop")
            read_some(time.monotonic() + 0.01)
    elif kind == "kill":
        os.kill(pid, getattr(signal, "SIG" + arg))
    else:
        fail("unknown step %r" % step)

deadline = time.monotonic() + 20
while True:
    r = read_some(deadline)
    if r is None:
        break
    if r is False:
        fail("the program did not finish")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
if os.WIFEXITED(status):
    print("\nEXIT %d" % os.WEXITSTATUS(status))
else:
    print("\nSIGNAL %d" % os.WTERMSIG(status))

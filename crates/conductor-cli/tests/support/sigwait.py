"""A child for the terminal tests: reports every SIGINT it gets, with its
origin, one line each, and exits 0 on SIGTERM (printing how many it got).
Signals are blocked and taken with sigwaitinfo, so none is lost to a
handler that has not run yet."""
import signal
import sys

signal.alarm(60)  # never outlive a failed test by long
sigs = {signal.SIGINT, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
print("ready", flush=True)
n = 0
while True:
    info = signal.sigwaitinfo(sigs)
    if info.si_signo == signal.SIGINT:
        n += 1
        print("got-int code=%d pid=%d" % (info.si_code, info.si_pid), flush=True)
    else:
        print("ints=%d" % n, flush=True)
        sys.exit(0)

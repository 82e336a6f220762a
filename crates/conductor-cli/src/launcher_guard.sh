# conductor's launcher guard (POSIX sh). Arguments: LAUNCHER... PROGRAM ARGS...
# Runs the launcher (e.g. srun) in a session of its own, so that stopping the
# task's process group with SIGKILL does not kill it outright: a SIGKILLed
# srun leaves its job step running. A watcher, also outside the group,
# holds the read end of a FIFO whose only writer is this shell; when this
# shell dies (the task was stopped) or exits, the FIFO reaches EOF and the
# watcher sends the launcher SIGTERM, which srun turns into cancelling the step.
d=$(mktemp -d "${TMPDIR:-/tmp}/conductor-launch.XXXXXX") || exit 125
mkfifo "$d/alive" || { rm -rf "$d"; exit 125; }
exec 3<&0
setsid "$@" <&3 3<&- &
p=$!
exec 3<&-
setsid sh -c 'cat <"$1/alive" >/dev/null; rm -rf "$1"; kill -TERM "$2"' sh "$d" "$p" </dev/null >/dev/null 2>&1 &
exec 4>"$d/alive"
wait "$p"

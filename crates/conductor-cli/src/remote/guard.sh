# conductor's remote guard (POSIX sh). Arguments: MODE GRACE PROGRAM ARGS...
# Runs PROGRAM in its own process group (setsid, or job control where setsid
# is missing) and watches the ssh channel's stdin: when it reaches EOF (the
# channel closed, conductor stopped the task, or conductor died) the group
# gets SIGTERM, and SIGKILL GRACE seconds later. MODE i: stdin is passed
# through to PROGRAM, which gets GRACE seconds to exit on its own after EOF;
# MODE n: PROGRAM's stdin is /dev/null. Exits with PROGRAM's status.
m=$1 g=$2; shift 2
d=$(mktemp -d "${TMPDIR:-/tmp}/conductor.XXXXXX") || exit 125
mkfifo "$d/i" || { rm -rf "$d"; exit 125; }
exec 3<&0
if [ "$m" = i ]; then r="$d/i" o="$d/i" z="$g"; else r=/dev/null o=/dev/null z=0; fi
if command -v setsid >/dev/null 2>&1; then setsid "$@" <"$r" 3<&- & else set -m; "$@" <"$r" 3<&- & set +m; fi
p=$!
{ sh -c 'echo $$ >"$1/c"; exec cat >"$2"' sh "$d" "$o" <&3
  sleep "$z"; kill -TERM -"$p" && { sleep "$g"; kill -KILL -"$p"; }; } >/dev/null 2>&1 &
w=$!
exec 3<&-
wait "$p" 2>/dev/null; s=$?
kill "$w" 2>/dev/null; [ -s "$d/c" ] && kill "$(cat "$d/c")" 2>/dev/null
kill -TERM -"$p" 2>/dev/null
rm -rf "$d"
exit "$s"

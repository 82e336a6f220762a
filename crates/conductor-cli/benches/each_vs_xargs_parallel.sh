#!/usr/bin/env bash
# conductor each vs xargs -P2 vs GNU parallel -j2: N runs (default 2,000) of
# /bin/true and of a tiny static program (no libc: _start makes the exit
# syscall), each tool timed REPS times (default 5) in turn, in the same run;
# prints the median wall time and the median CPU time (user + system, the
# tool and every task it ran: steadier than wall time on a shared machine)
# of each, and the ratios. A fourth column, "floor", is a 20-line C program
# that only posix_spawns the program and waits, 2 at a time: what any
# launcher pays for the tasks themselves, so parallel/floor is the best ratio
# a tool could reach against GNU parallel on this machine.
#
# Usage: crates/conductor-cli/benches/each_vs_xargs_parallel.sh [N] [REPS]
# Installs GNU parallel (apt-get) when missing; builds conductor --release.
set -euo pipefail
N=${1:-2000}
REPS=${2:-5}
root=$(cd "$(dirname "$0")/../../.." && pwd)

if ! command -v parallel >/dev/null || [ ! -x /usr/bin/time ]; then
    echo "installing GNU parallel and time..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq parallel time >/dev/null
fi
(cd "$root" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release -q -p conductor-cli)
conductor=$root/target/release/conductor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/exit0.c" <<'C'
void _start(void) {
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
C
gcc -O2 -static -nostdlib -o "$work/exit0" "$work/exit0.c"
cat >"$work/floor.c" <<'C'
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
extern char **environ;
/* floor N J PROG: runs PROG N times, J at a time, and nothing else. */
int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int n = atoi(argv[1]), j = atoi(argv[2]), running = 0, started = 0;
    char *args[] = {argv[3], NULL};
    while (started < n || running > 0) {
        for (; running < j && started < n; running++, started++) {
            pid_t pid;
            if (posix_spawn(&pid, argv[3], NULL, NULL, args, environ) != 0) return 1;
        }
        int status;
        if (wait(&status) < 0) return 1;
        running--;
    }
    return 0;
}
C
gcc -O2 -o "$work/floor" "$work/floor.c"
seq "$N" >"$work/in"
# GNU parallel's first run writes its citation notice; silence it once.
mkdir -p ~/.parallel && touch ~/.parallel/will-cite

# Prints "WALL CPU" in seconds for "$@" (stdin from the inputs, output discarded).
timed() {
    /usr/bin/time -f '%e %U %S' -o "$work/t" "$@" <"$work/in" >/dev/null 2>&1
    awk '{ printf "%.3f %.3f", $1, $2 + $3 }' "$work/t"
}

median() { grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '%s runs at -j 2, median of %s repetitions (%s CPUs)\n' "$N" "$REPS" "$(nproc)"
printf '%-24s %-6s %10s %10s %10s %10s %11s %14s %15s\n' program '' conductor 'xargs -P2' parallel floor 'xargs/cond' 'parallel/cond' 'parallel/floor'
for prog in /bin/true "$work/exit0"; do
    : >"$work/c"; : >"$work/x"; : >"$work/p"; : >"$work/f"
    for _ in $(seq "$REPS"); do
        timed "$conductor" each -j 2 -- "$prog" >>"$work/c"; echo >>"$work/c"
        timed xargs -P 2 -n 1 "$prog" >>"$work/x"; echo >>"$work/x"
        timed parallel -j 2 "$prog" >>"$work/p"; echo >>"$work/p"
        timed "$work/floor" "$N" 2 "$prog" >>"$work/f"; echo >>"$work/f"
    done
    name=$prog
    [ "$prog" = "$work/exit0" ] && name="static exit0 (no libc)"
    for col in 1 2; do
        what=wall; [ $col = 2 ] && what=cpu
        mc=$(cut -d' ' -f$col "$work/c" | median)
        mx=$(cut -d' ' -f$col "$work/x" | median)
        mp=$(cut -d' ' -f$col "$work/p" | median)
        mf=$(cut -d' ' -f$col "$work/f" | median)
        awk -v n="$name" -v w="$what" -v c="$mc" -v x="$mx" -v p="$mp" -v f="$mf" \
            'BEGIN { printf "%-24s %-6s %9.3fs %9.3fs %9.3fs %9.3fs %10.2fx %13.1fx %14.1fx\n", n, w, c, x, p, f, x / c, p / c, p / f }'
        name=""
    done
done

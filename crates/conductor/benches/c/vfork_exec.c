/* Raw C baseline: sequential vfork+execve+waitpid of a program, N times.
   Prints the rate in spawns per second. Usage: vfork_exec PROGRAM N */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    char *prog = argv[1];
    long n = atol(argv[2]);
    char *args[] = {prog, NULL};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        pid_t pid = vfork();
        if (pid == 0) {
            execve(prog, args, environ);
            _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0) return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.1f\n", n / secs);
    return 0;
}

/*
 * Test helper for crates/conductor/tests/winargs_wine.rs: like the Rust
 * example print_argv, but split by the platform's own parsers. It prints
 * the C runtime's argv (msvcrt's __wgetmainargs, via mingw's wmain startup)
 * as lines "crt <json>", then CommandLineToArgvW(GetCommandLineW()) as lines
 * "cl2a <json>". JSON strings are pure ASCII: '"' and '\' escaped, every
 * other code unit outside printable ASCII written as \uXXXX.
 *
 * Build: x86_64-w64-mingw32-gcc -municode -O2 -o print_argv_c.exe print_argv_c.c -lshell32
 */
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>

static void print_json(const char *tag, const wchar_t *s)
{
    fputs(tag, stdout);
    fputs(" \"", stdout);
    for (; *s; s++) {
        unsigned int u = (unsigned int)*s;
        if (u == '"')
            fputs("\\\"", stdout);
        else if (u == '\\')
            fputs("\\\\", stdout);
        else if (u >= 0x20 && u <= 0x7e)
            fputc((int)u, stdout);
        else
            printf("\\u%04x", u);
    }
    fputs("\"\n", stdout);
}

int wmain(int argc, wchar_t **argv)
{
    int i, n = 0;
    LPWSTR *v;

    for (i = 0; i < argc; i++)
        print_json("crt", argv[i]);
    v = CommandLineToArgvW(GetCommandLineW(), &n);
    if (v == NULL) {
        fputs("CommandLineToArgvW failed\n", stderr);
        return 2;
    }
    for (i = 0; i < n; i++)
        print_json("cl2a", v[i]);
    LocalFree(v);
    fflush(stdout);
    return 0;
}

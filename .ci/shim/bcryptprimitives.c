/*
 * Minimal bcryptprimitives.dll for running Rust test binaries under Wine 8.
 *
 * Rust's std (1.78+) gets random bytes from ProcessPrng in
 * bcryptprimitives.dll, which Wine only gained after 8.0. This shim exports
 * ProcessPrng on top of RtlGenRandom (advapi32's SystemFunction036), which
 * Wine 8 has. It is copied next to the test executables; Windows' DLL search
 * order finds it there first. Not for use on real Windows.
 */
#include <windows.h>

/* RtlGenRandom's real export name; declared here to avoid ntsecapi.h. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}

/*
 * bcryptprimitives.dll for wine 8, which lacks it: Rust's standard library (1.78+) imports
 * ProcessPrng from it for HashMap keys and std's random numbers. Only the test script builds
 * and uses this, in its private WINEPREFIX; Windows itself has the real DLL.
 *
 * ProcessPrng fills the buffer from the system generator (advapi32's RtlGenRandom, exported as
 * SystemFunction036, which wine implements); like the real function it never fails for a valid
 * buffer.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed it in chunks for (absurdly) large requests. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

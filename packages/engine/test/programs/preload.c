/* ESCAPES 5, for every invoker: preloaded (LD_PRELOAD) into one of the host's setuid-root
 * binaries in /usr, reports the identity the binary got, then exits before its main runs. If
 * the kernel had honoured the setuid bit, the loader would run in secure mode and ignore
 * LD_PRELOAD: no line at all, and the test fails. */
#include "common.h"

__attribute__((constructor)) static void who(void)
{
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    reportf("preload", "%d %d %d", (int)r, (int)e, (int)s);
    _exit(0);
}

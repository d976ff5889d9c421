/* ESCAPES 5: a setuid-root copy of this program (prepared by the test on a read-only grant)
 * reports the identity it runs with. */
#include "common.h"

int main(void)
{
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    reportf("whoami", "%d %d %d", (int)r, (int)e, (int)s);
    return 0;
}

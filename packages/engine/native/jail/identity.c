/*
 * Identity. The order matters: securebits and the bounding set need CAP_SETPCAP, setresuid needs
 * CAP_SETUID, so capabilities are cleared last; securebits are locked first so nothing later (an
 * execve of a file with capabilities, a uid change) can bring a capability back.
 */
#include "identity.h"
#include "report.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

void identity_drop(const struct plan *p)
{
    /* 1. Lock securebits: no "root gets all capabilities" on exec, no capability fixups on uid
     *    change, no keep-caps, no raising ambient capabilities, and none of it can be undone. */
    unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                         SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
        die_step("identity", errno, "cannot lock securebits");

    /* 2. Empty the bounding set, so no execve can ever gain a capability. The last capability
     *    number depends on the kernel and /proc/sys is hidden here: drop until EINVAL. */
    for (int cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break;
            die_step("identity", errno, "cannot drop capability %d from the bounding set", cap);
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        die_step("identity", errno, "cannot clear ambient capabilities");

    /* 3. The jail's ids. gid first: once the uid changes we could no longer change it. There are
     *    no supplementary groups to drop: setgroups is denied in this namespace, and the
     *    supervisor dropped root's own groups before creating it. */
    if (setresgid(p->jail_gid, p->jail_gid, p->jail_gid) < 0)
        die_step("identity", errno, "setresgid(%u)", p->jail_gid);
    if (setresuid(p->jail_uid, p->jail_uid, p->jail_uid) < 0)
        die_step("identity", errno, "setresuid(%u)", p->jail_uid);

    /* 4. Clear the remaining capability sets (NO_SETUID_FIXUP kept them across the uid change). */
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    if (syscall(SYS_capset, &hdr, data) < 0)
        die_step("identity", errno, "cannot clear capabilities");
}

void identity_assume(const struct plan *p)
{
    /* KEEPCAPS keeps the permitted set across the uid change; the effective set is restored
     * from it below. Both are dropped for good later by identity_drop(). */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        die_step("identity", errno, "PR_SET_KEEPCAPS");
    if (setresgid(p->jail_gid, p->jail_gid, p->jail_gid) < 0)
        die_step("identity", errno, "setresgid(%u)", p->jail_gid);
    if (setresuid(p->jail_uid, p->jail_uid, p->jail_uid) < 0)
        die_step("identity", errno, "setresuid(%u)", p->jail_uid);
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        die_step("identity", errno, "capget");
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (syscall(SYS_capset, &hdr, data) < 0)
        die_step("identity", errno, "cannot keep capabilities across the uid change");
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        die_step("identity", errno, "PR_SET_KEEPCAPS");
}

/* ESCAPES 26: no controlling terminal, and no terminal to inject input into. */
#include "common.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
    /* The tty_nr field (7th) of /proc/self/stat: 0 without a controlling terminal. */
    char buf[1024] = "";
    FILE *f = fopen("/proc/self/stat", "re");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) == NULL)
            buf[0] = 0;
        fclose(f);
    }
    char *p = strrchr(buf, ')');
    int tty_nr = -1;
    if (p != NULL) {
        char state;
        int ppid, pgrp, session;
        if (sscanf(p + 2, "%c %d %d %d %d", &state, &ppid, &pgrp, &session, &tty_nr) != 5)
            tty_nr = -1;
    }
    reportf("tty_nr", "%d", tty_nr);
    reportf("session_leader", "%s", getsid(0) == getpid() ? "yes" : "no");
    CHECK_FD("open_dev_tty", open("/dev/tty", O_RDWR | O_CLOEXEC));
    for (int fd = 0; fd <= 2; fd++) {
        char key[32];
        snprintf(key, sizeof key, "isatty%d", fd);
        report(key, isatty(fd) ? "yes" : "no");
        char c = 'x';
        snprintf(key, sizeof key, "tiocsti%d", fd);
        CHECK(key, ioctl(fd, TIOCSTI, &c));
        char sub[2] = { 2 /* TIOCL_SETSEL */, 0 };
        snprintf(key, sizeof key, "tioclinux%d", fd);
        CHECK(key, ioctl(fd, TIOCLINUX, sub));
        snprintf(key, sizeof key, "tiocsctty%d", fd);
        CHECK(key, ioctl(fd, TIOCSCTTY, 1));
    }
    return 0;
}

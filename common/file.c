/* file.c - tb_open_read / tb_fopen_read (see file.h). libc only. */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"

static const char *kind_name(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a plain file";
}

int tb_open_read(const char *path, int flags, long long *size, char *err, size_t err_len) {
    if (!path || !*path) {
        tb_set_err(err, err_len, "(empty path): cannot open");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        tb_set_err(err, err_len, "%s: cannot open: %s", path, strerror(e));
        errno = e; /* callers tell a missing file from an unreadable one */
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        tb_set_err(err, err_len, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode) && (S_ISDIR(sb.st_mode) || (flags & TB_OPEN_REGULAR))) {
        tb_set_err(err, err_len, "%s: not a regular file (%s)", path, kind_name(sb.st_mode));
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        tb_set_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (size) *size = (long long)sb.st_size;
    return fd;
}

FILE *tb_fopen_read(const char *path, int flags, char *err, size_t err_len) {
    int fd = tb_open_read(path, flags, NULL, err, err_len);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        tb_set_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

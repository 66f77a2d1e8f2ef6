/* file.h - opening untrusted input files without blocking.
 *
 * A path from a config, an index or the command line may name a FIFO, a device or a directory.
 * open(2) on a FIFO without a writer blocks forever, so every reader of untrusted files opens
 * through tb_open_read: O_NONBLOCK for the open itself (cleared afterwards), then fstat. With
 * TB_OPEN_REGULAR anything but a regular file is refused (checkpoints, which are mmap'd, and
 * model files); without it only directories are refused, and a FIFO with no writer reads as
 * empty instead of hanging (run configs and manifests may come from a pipe: --config <(...)).
 *
 *     char err[512];
 *     FILE *f = tb_fopen_read(path, TB_OPEN_REGULAR, err, sizeof err);
 *     if (!f) { ... err is "PATH: cannot open: REASON" or "PATH: not a regular file (a FIFO)" }
 */
#ifndef TB_FILE_H
#define TB_FILE_H

#include <stddef.h>
#include <stdio.h>

#define TB_OPEN_REGULAR 1 /* refuse FIFOs, sockets and devices as well as directories */

/* A read-only descriptor (O_CLOEXEC, blocking again once open), or -1 with one line in err.
 * *size (may be NULL) gets st_size. Caller closes. */
int tb_open_read(const char *path, int flags, long long *size, char *err, size_t err_len);

/* The same as a stdio stream ("rb"). Caller fcloses. */
FILE *tb_fopen_read(const char *path, int flags, char *err, size_t err_len);

#endif

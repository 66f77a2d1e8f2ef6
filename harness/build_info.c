/* build_info.c - what this binary was built with, for --version and run records. */
#include <cblas.h>
#include <stdio.h>

#include "harness/commands.h"

const char *tb_build_features(void) {
    static char buf[256];
#ifdef TB_CUDA
    const char *cuda = "on";
#else
    const char *cuda = "off";
#endif
    snprintf(buf, sizeof buf, "cuda=%s openblas=\"%s\" openmp=on", cuda, openblas_get_config());
    return buf;
}

int cmd_reserved(const char *name) {
    fprintf(stderr, "tango-bench %s: this command is reserved and not implemented in this build yet\n", name);
    return 2;
}

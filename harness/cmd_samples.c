/* cmd_samples.c - tango-bench samples (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_samples(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("samples");
}

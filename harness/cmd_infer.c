/* cmd_infer.c - tango-bench infer (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_infer(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("infer");
}

/* cmd_forward.c - tango-bench forward (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_forward(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("forward");
}

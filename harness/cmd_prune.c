/* cmd_prune.c - tango-bench prune (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_prune(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("prune");
}

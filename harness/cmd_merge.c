/* cmd_merge.c - tango-bench merge (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_merge(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("merge");
}

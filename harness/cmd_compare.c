/* cmd_compare.c - tango-bench compare (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_compare(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("compare");
}

/* cmd_run.c - tango-bench run (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_run(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("run");
}

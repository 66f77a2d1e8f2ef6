/* cmd_fetch.c - tango-bench fetch (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_fetch(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("fetch");
}

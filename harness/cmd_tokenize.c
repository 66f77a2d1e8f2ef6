/* cmd_tokenize.c - tango-bench tokenize (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_tokenize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("tokenize");
}

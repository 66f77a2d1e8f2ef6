/* cmd_make_tiny_model.c - tango-bench make-tiny-model (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_make_tiny_model(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("make-tiny-model");
}

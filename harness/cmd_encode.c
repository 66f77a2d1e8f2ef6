/* cmd_encode.c - tango-bench encode (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_encode(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("encode");
}

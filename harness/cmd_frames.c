/* cmd_frames.c - tango-bench frames (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_frames(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("frames");
}

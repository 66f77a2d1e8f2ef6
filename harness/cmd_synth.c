/* cmd_synth.c - tango-bench synth (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_synth(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("synth");
}

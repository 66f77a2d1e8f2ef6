/* cmd_report.c - tango-bench report (reserved; implemented by its own issue). */
#include "harness/commands.h"

int cmd_report(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cmd_reserved("report");
}

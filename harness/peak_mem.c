/* peak_mem.c - per-sample peak RSS through Linux's resettable VmHWM, else the process's
 * ru_maxrss (see peak_mem.h). */
#include "harness/peak_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int peak_mem_reset(void) {
    /* "5" resets only the peak RSS (1-4 would clear the pages' referenced/soft-dirty bits) */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* VmHWM of /proc/self/status in bytes, or 0. */
static int64_t vm_hwm_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    int64_t bytes = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6)) continue;
        char *end;
        long long kb = strtoll(line + 6, &end, 10);
        if (end != line + 6 && kb > 0 && strstr(end, "kB")) bytes = (int64_t)kb * 1024;
        break;
    }
    fclose(f);
    return bytes;
}

peak_mem_kind peak_mem_probe(void) {
    static int probed = -1;
    if (probed < 0) probed = peak_mem_reset() == 0 && vm_hwm_bytes() > 0 ? PEAK_MEM_SAMPLE : PEAK_MEM_PROCESS;
    return (peak_mem_kind)probed;
}

const char *peak_mem_kind_name(peak_mem_kind k) { return k == PEAK_MEM_SAMPLE ? "sample" : "process"; }

int64_t peak_mem_read(peak_mem_kind k) {
    if (k == PEAK_MEM_SAMPLE) return vm_hwm_bytes();
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
#ifdef __APPLE__
    return (int64_t)ru.ru_maxrss; /* bytes on macOS */
#else
    return (int64_t)ru.ru_maxrss * 1024; /* kilobytes on Linux and the BSDs */
#endif
}

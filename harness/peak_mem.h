/* peak_mem.h - the peak resident memory (RSS) of one sample, for the results store's peak_bytes.
 *
 * Two kinds, and a run records which one it stored (runner.c: "peak_bytes=KIND" in the run's
 * code_version):
 *   PEAK_MEM_SAMPLE   Linux: writing "5" to /proc/self/clear_refs resets the process's resident
 *                     high-water mark (VmHWM in /proc/self/status) to the current RSS, so VmHWM
 *                     read after the sample is that sample's own peak: what was already resident
 *                     when it started (weights, KV cache, cached features) plus the most it added.
 *   PEAK_MEM_PROCESS  elsewhere (no /proc, or clear_refs not writable): the process lifetime
 *                     high-water mark (getrusage ru_maxrss), monotone over a run and an upper
 *                     bound for every sample, not the sample's own figure.
 *
 * Usage:
 *     peak_mem_kind kind = peak_mem_probe();
 *     int ok = kind == PEAK_MEM_PROCESS || peak_mem_reset() == 0;
 *     ... the sample ...
 *     int64_t peak = ok ? peak_mem_read(kind) : 0;   // 0 = not measured
 */
#ifndef TB_PEAK_MEM_H
#define TB_PEAK_MEM_H

#include <stdint.h>

typedef enum { PEAK_MEM_SAMPLE = 0, PEAK_MEM_PROCESS = 1 } peak_mem_kind;

/* What this process can measure. Probes once (the probe resets the high-water mark) and caches
 * the answer. */
peak_mem_kind peak_mem_probe(void);

/* "sample" or "process". */
const char *peak_mem_kind_name(peak_mem_kind k);

/* Resets the resident high-water mark to the current RSS (PEAK_MEM_SAMPLE only). Returns 0, or
 * -1 when the platform does not allow it. */
int peak_mem_reset(void);

/* Bytes: VmHWM (PEAK_MEM_SAMPLE: the peak since the last reset) or ru_maxrss (PEAK_MEM_PROCESS);
 * 0 when it cannot be read. */
int64_t peak_mem_read(peak_mem_kind k);

#endif

/* test_peak_mem.c - harness/peak_mem.h: two samples in one process get their own peaks. The first
 * sample maps and touches 192 MiB and unmaps it before its peak is read (a transient, as a
 * sample's activations are); the second touches nothing and must not inherit the first one's
 * peak; a third touches 48 MiB and lands in between. Pages come from mmap/munmap directly so
 * that no allocator (or AddressSanitizer's quarantine) keeps them resident between samples. */
#include "tests/tb_test.h"

#include <sys/mman.h>

#include "harness/peak_mem.h"

#define MIB ((int64_t)1 << 20)

/* Maps, touches and unmaps n bytes. */
static void touch_transient(size_t n) {
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    for (size_t i = 0; i < n; i += 4096) p[i] = (char)i;
    assert_int_equal(munmap(p, n), 0);
}

static int64_t sample(size_t touch) {
    assert_int_equal(peak_mem_reset(), 0);
    if (touch) touch_transient(touch);
    int64_t peak = peak_mem_read(PEAK_MEM_SAMPLE);
    assert_true(peak > 0);
    return peak;
}

static void test_samples_get_their_own_peaks(void **state) {
    (void)state;
    if (peak_mem_probe() != PEAK_MEM_SAMPLE)
        TB_SKIP("this platform cannot reset the RSS high-water mark (/proc/self/clear_refs): peak_bytes is the "
                "process's");
    int64_t big = sample((size_t)(192 * MIB));
    int64_t none = sample(0);
    int64_t mid = sample((size_t)(48 * MIB));
    print_message("peaks: 192 MiB sample %lld MiB, empty sample %lld MiB, 48 MiB sample %lld MiB\n",
                  (long long)(big / MIB), (long long)(none / MIB), (long long)(mid / MIB));
    assert_true(big - none >= 160 * MIB); /* the empty sample does not inherit the big one's peak */
    assert_true(mid - none >= 32 * MIB);
    assert_true(big - mid >= 112 * MIB);
}

static void test_process_kind_is_monotone(void **state) {
    (void)state;
    int64_t before = peak_mem_read(PEAK_MEM_PROCESS);
    assert_true(before > 0);
    touch_transient((size_t)(64 * MIB));
    int64_t after = peak_mem_read(PEAK_MEM_PROCESS);
    assert_true(after >= before);
    assert_string_equal(peak_mem_kind_name(PEAK_MEM_SAMPLE), "sample");
    assert_string_equal(peak_mem_kind_name(PEAK_MEM_PROCESS), "process");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_get_their_own_peaks),
        cmocka_unit_test(test_process_kind_is_monotone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

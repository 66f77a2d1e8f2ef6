/* test_npy.c - the .npy reader/writer: round trips, numpy as the oracle in both directions, and
 * hostile files. */
#include "tests/tb_test.h"

#include "harness/npy.h"

static char dir[1024];

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_round_trip(void **state) {
    (void)state;
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/a.npy", dir);
    float data[2 * 3 * 4];
    for (int i = 0; i < 24; i++) data[i] = (float)i * 0.5f - 3;
    int64_t shape[3] = {2, 3, 4};
    assert_int_equal(npy_write(path, NPY_F32, data, 3, shape, err, sizeof err), 0);
    npy_array a;
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), 0);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[2], 4);
    assert_int_equal(a.numel, 24);
    assert_memory_equal(a.data, data, sizeof data);
    npy_free(&a);
    /* float32 -> float64 on read */
    assert_int_equal(npy_read(path, NPY_F64, &a, err, sizeof err), 0);
    assert_true(((double *)a.data)[23] == 8.5);
    npy_free(&a);
    /* floats are never silently read as integers */
    assert_int_equal(npy_read(path, NPY_I64, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected an integer array"));
    /* 0-d and empty arrays */
    int64_t idx[1] = {0};
    int64_t empty_shape[1] = {0};
    assert_int_equal(npy_write(path, NPY_I64, idx, 1, empty_shape, err, sizeof err), 0);
    assert_int_equal(npy_read(path, NPY_I64, &a, err, sizeof err), 0);
    assert_int_equal(a.numel, 0);
    npy_free(&a);
}

static void test_numpy_oracle(void **state) {
    (void)state;
    TB_NEED_PYTHON("numpy");
    const char *py = tb_test_python();
    char cmd[4096], out[4096], path[1200], err[512];
    /* numpy writes float64 and int32; we read them converted. */
    snprintf(cmd, sizeof cmd,
             "%s -c \"import numpy as np; np.save('%s/np_f8.npy', np.arange(12, dtype=np.float64).reshape(3,4)/4);"
             " np.save('%s/np_i4.npy', np.array([[-1, 2], [3, 2**31-1]], dtype=np.int32))\"",
             py, dir, dir);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    npy_array a;
    snprintf(path, sizeof path, "%s/np_f8.npy", dir);
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), 0);
    assert_int_equal(a.shape[0], 3);
    assert_true(((float *)a.data)[11] == 2.75f);
    npy_free(&a);
    snprintf(path, sizeof path, "%s/np_i4.npy", dir);
    assert_int_equal(npy_read(path, NPY_I64, &a, err, sizeof err), 0);
    assert_int_equal(((int64_t *)a.data)[0], -1);
    assert_int_equal(((int64_t *)a.data)[3], 2147483647);
    npy_free(&a);
    /* numpy reads what we write. */
    snprintf(path, sizeof path, "%s/ours.npy", dir);
    int64_t v[6] = {5, -4, 3, 2, 1, 0}, shape[2] = {2, 3};
    assert_int_equal(npy_write(path, NPY_I64, v, 2, shape, err, sizeof err), 0);
    snprintf(cmd, sizeof cmd,
             "%s -c \"import numpy as np; a=np.load('%s'); print(a.dtype, a.shape, a.sum(), a[1,0])\"", py, path);
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "int64 (2, 3) 7 2\n");
}

static void test_hostile_files(void **state) {
    (void)state;
    char path[1200], err[512];
    npy_array a;
    snprintf(path, sizeof path, "%s/missing.npy", dir);
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));

    snprintf(path, sizeof path, "%s/bad.npy", dir);
    write_bytes(path, "PK\x03\x04zipfile", 12);
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad magic"));
    assert_non_null(strstr(err, path));

    /* header length far beyond the file */
    write_bytes(path, "\x93NUMPY\x01\x00\xff\xff{'descr'", 19);
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));

    /* data shorter than the shape says */
    static const char hdr[] = "\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }"
                              "                  \n";
    char buf[256];
    memcpy(buf, hdr, sizeof hdr - 1);
    memset(buf + sizeof hdr - 1, 0, 16);
    write_bytes(path, buf, sizeof hdr - 1 + 16);
    assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "shape and dtype need 64"));

    /* unsupported dtype, fortran order, huge shape */
    static const char *bad[] = {
        "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999, 99999999999999), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }",
    };
    static const char *want[] = {"unsupported dtype", "C-order", "malformed shape", "malformed shape"};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(bad[i]);
        buf[0] = (char)0x93;
        memcpy(buf + 1, "NUMPY\x01\x00", 7);
        buf[8] = (char)(n + 1);
        buf[9] = 0;
        memcpy(buf + 10, bad[i], n);
        buf[10 + n] = '\n';
        write_bytes(path, buf, 11 + n);
        assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), -1);
        if (!strstr(err, want[i])) fail_msg("case %d: '%s' lacks '%s'", i, err, want[i]);
    }
}

/* Regression (issue 14): a header that ends right after "'descr':" made parse_descr search for
 * the closing quote past the header's NUL (a heap over-read ASan reports; the message showed
 * whatever followed in memory). Now: one line naming the file, nothing read past the header. */
static void test_descr_at_header_end(void **state) {
    (void)state;
    char path[1200], err[512], buf[64];
    npy_array a;
    snprintf(path, sizeof path, "%s/descr_end.npy", dir);
    static const char *heads[] = {"{'descr':", "{'descr': ", "{'descr': '", "{'descr': '<f4"};
    static const char *want[] = {"not a quoted dtype string", "not a quoted dtype string", "unsupported dtype ''",
                                 "unsupported dtype '<f4'"};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(heads[i]);
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (char)n;
        buf[9] = 0;
        memcpy(buf + 10, heads[i], n);
        write_bytes(path, buf, 10 + n);
        memset(err, 0, sizeof err);
        assert_int_equal(npy_read(path, NPY_F32, &a, err, sizeof err), -1);
        if (!strstr(err, want[i])) fail_msg("case %d: '%s' lacks '%s'", i, err, want[i]);
        assert_non_null(strstr(err, path));
    }
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("npy"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_numpy_oracle),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_descr_at_header_end),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

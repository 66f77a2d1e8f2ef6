/* test_safetensors.c - the safetensors reader/writer: round trips, F16/BF16 conversion against hand
 * values, sharded checkpoints through model.safetensors.index.json, and hostile files (each must
 * give one clear error naming the file and, where there is one, the tensor). */
#include "tests/tb_test.h"

#include <math.h>

#include "engine/safetensors.h"

static char dir[1024];

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* A file with the given header text (length field = strlen(header) unless hlen_override >= 0)
 * followed by data_len bytes 0x11. */
static void write_st(const char *path, const char *header, size_t data_len, long long hlen_override) {
    size_t hl = strlen(header);
    size_t n = 8 + hl + data_len;
    unsigned char *b = malloc(n);
    assert_non_null(b);
    uint64_t v = hlen_override >= 0 ? (uint64_t)hlen_override : hl;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, 0x11, data_len);
    write_bytes(path, b, n);
    free(b);
}

static void path_of(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

/* Opens path and expects failure whose message contains every non-NULL needle. */
static void expect_open_error(const char *path, const char *n1, const char *n2) {
    char err[1024] = "";
    st_file *st = st_open(path, err, sizeof err);
    if (st) fail_msg("%s opened but should have failed", path);
    if (!strstr(err, path)) fail_msg("error does not name the file %s: %s", path, err);
    if (n1 && !strstr(err, n1)) fail_msg("error lacks '%s': %s", n1, err);
    if (n2 && !strstr(err, n2)) fail_msg("error lacks '%s': %s", n2, err);
}

/* ---- round trip ---------------------------------------------------------------------------- */

static void test_round_trip(void **state) {
    (void)state;
    char path[1200], err[512];
    path_of(path, sizeof path, "rt.safetensors");
    float a[6] = {1, -2, 3.5f, 0.25f, -0.125f, 1e-3f};
    float b[3] = {7, 8, 9};
    float c[1] = {42};
    st_write_tensor t[4] = {
        {.name = "z.weight", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "a.bias", .ndim = 1, .shape = {3}, .data = b},
        {.name = "m.scalar", .ndim = 0, .data = c},
        {.name = "e.empty", .ndim = 2, .shape = {0, 4}, .data = NULL},
    };
    assert_int_equal(st_write(path, t, 4, err, sizeof err), 0);

    /* data section starts 8-byte aligned, keys sorted by name */
    FILE *f = fopen(path, "rb");
    unsigned char hb[8];
    assert_int_equal(fread(hb, 1, 8, f), 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | hb[i];
    fclose(f);
    assert_int_equal((8 + hl) % 8, 0);

    st_file *st = st_open(path, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(st_count(st), 4);
    assert_string_equal(st_at(st, 0)->name, "a.bias");
    assert_string_equal(st_at(st, 1)->name, "e.empty");
    assert_string_equal(st_at(st, 3)->name, "z.weight");
    assert_null(st_at(st, 4));
    const st_tensor *z = st_find(st, "z.weight");
    assert_non_null(z);
    assert_int_equal(z->dtype, ST_F32);
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->shape[0], 2);
    assert_int_equal(z->shape[1], 3);
    assert_int_equal(z->numel, 6);
    assert_string_equal(z->file, path);
    assert_string_equal(st_path(st), path);
    assert_null(st_find(st, "z.weigh"));

    int64_t shp[2] = {2, 3};
    float *w = st_load_f32(st, "z.weight", 2, shp, err, sizeof err);
    assert_non_null(w);
    assert_memory_equal(w, a, sizeof a);
    free(w);
    float *s = st_load_f32(st, "m.scalar", 0, NULL, err, sizeof err);
    assert_non_null(s);
    assert_true(s[0] == 42.0f);
    free(s);
    int64_t eshp[2] = {0, 4};
    float *e = st_load_f32(st, "e.empty", 2, eshp, err, sizeof err);
    assert_non_null(e);
    free(e);
    assert_int_equal(st_find(st, "e.empty")->numel, 0);

    /* wrong shape: names file, tensor, both shapes */
    int64_t bad[2] = {3, 2};
    assert_null(st_load_f32(st, "z.weight", 2, bad, err, sizeof err));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "z.weight"));
    assert_non_null(strstr(err, "[2, 3]"));
    assert_non_null(strstr(err, "[3, 2]"));
    assert_null(st_load_f32(st, "z.weight", 1, bad, err, sizeof err));
    assert_non_null(strstr(err, "z.weight"));
    /* missing tensor */
    assert_null(st_load_f32(st, "no.such", 1, bad, err, sizeof err));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "no.such"));
    assert_non_null(strstr(err, "not found"));
    st_close(st);
    st_close(NULL);

    /* writer rejects duplicates and bad names, leaves no file */
    char p2[1200];
    path_of(p2, sizeof p2, "dup.safetensors");
    st_write_tensor d[2] = {{.name = "x", .ndim = 1, .shape = {3}, .data = b},
                            {.name = "x", .ndim = 1, .shape = {3}, .data = b}};
    assert_int_equal(st_write(p2, d, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "x"));
    assert_int_equal(access(p2, F_OK), -1);
    d[1].name = "__metadata__";
    assert_int_equal(st_write(p2, d, 2, err, sizeof err), -1);
}

/* ---- F16 / BF16 ---------------------------------------------------------------------------- */

static void test_half_conversion(void **state) {
    (void)state;
    char path[1200], err[512];
    path_of(path, sizeof path, "half.safetensors");
    /* hand values: bits -> expected float */
    const uint16_t f16[8] = {0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0001, 0x0400, 0x8000, 0x7C00};
    const float f16v[8] = {1.0f,  -2.0f,   0.333251953125f, 65504.0f, 5.9604644775390625e-08f, 6.103515625e-05f,
                           -0.0f, INFINITY};
    const uint16_t bf[6] = {0x3F80, 0xC000, 0x4049, 0x0001, 0xFF80, 0x3E20};
    const float bfv[6] = {1.0f, -2.0f, 3.140625f, 9.183549615799121e-41f, -INFINITY, 0.15625f};
    unsigned char f16b[16], bfb[12];
    for (int i = 0; i < 8; i++) {
        f16b[2 * i] = (unsigned char)(f16[i] & 0xff);
        f16b[2 * i + 1] = (unsigned char)(f16[i] >> 8);
    }
    for (int i = 0; i < 6; i++) {
        bfb[2 * i] = (unsigned char)(bf[i] & 0xff);
        bfb[2 * i + 1] = (unsigned char)(bf[i] >> 8);
    }
    st_write_raw_tensor t[2] = {{.name = "h", .dtype = ST_F16, .ndim = 2, .shape = {2, 4}, .data = f16b},
                                {.name = "b", .dtype = ST_BF16, .ndim = 1, .shape = {6}, .data = bfb}};
    assert_int_equal(st_write_raw(path, t, 2, err, sizeof err), 0);
    st_file *st = st_open(path, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(st_find(st, "h")->dtype, ST_F16);
    assert_int_equal(st_find(st, "b")->dtype, ST_BF16);
    int64_t hs[2] = {2, 4}, bs[1] = {6};
    float *h = st_load_f32(st, "h", 2, hs, err, sizeof err);
    float *bv = st_load_f32(st, "b", 1, bs, err, sizeof err);
    assert_non_null(h);
    assert_non_null(bv);
    for (int i = 0; i < 8; i++) {
        if (memcmp(&h[i], &f16v[i], 4) != 0) fail_msg("f16 %04x -> %g, expected %g", f16[i], h[i], f16v[i]);
    }
    for (int i = 0; i < 6; i++) {
        if (memcmp(&bv[i], &bfv[i], 4) != 0) fail_msg("bf16 %04x -> %g, expected %g", bf[i], bv[i], bfv[i]);
    }
    free(h);
    free(bv);
    st_close(st);

    /* NaN stays NaN */
    assert_true(isnan(st_f16_to_f32(0x7E00)));
    assert_true(isnan(st_bf16_to_f32(0x7FC0)));
    /* float -> half rounding (round to nearest even, overflow, subnormals) */
    assert_int_equal(st_f32_to_f16(1.0f), 0x3C00);
    assert_int_equal(st_f32_to_f16(65504.0f), 0x7BFF);
    assert_int_equal(st_f32_to_f16(65519.0f), 0x7BFF);
    assert_int_equal(st_f32_to_f16(65520.0f), 0x7C00);
    assert_int_equal(st_f32_to_f16(-1e30f), 0xFC00);
    assert_int_equal(st_f32_to_f16(0x1p-24f), 0x0001);
    assert_int_equal(st_f32_to_f16(0x1p-25f), 0x0000);   /* tie to even (0) */
    assert_int_equal(st_f32_to_f16(0x1.8p-24f), 0x0002); /* tie to even (2) */
    assert_int_equal(st_f32_to_f16(0x1.0p-14f), 0x0400);
    assert_int_equal(st_f32_to_f16(0x1.ff8p-15f), 0x03FF);    /* largest subnormal */
    assert_int_equal(st_f32_to_f16(1.0f + 0x1p-11f), 0x3C00); /* tie to even */
    assert_int_equal(st_f32_to_f16(1.0f + 0x3p-11f), 0x3C02); /* tie to even, up */
    assert_int_equal(st_f32_to_f16(1.0f / 3.0f), 0x3555);
    assert_true((st_f32_to_f16(NAN) & 0x7C00) == 0x7C00 && (st_f32_to_f16(NAN) & 0x3FF) != 0);
    assert_int_equal(st_f32_to_bf16(1.0f), 0x3F80);
    assert_int_equal(st_f32_to_bf16(3.14159265f), 0x4049);
    assert_int_equal(st_f32_to_bf16(1.00390625f), 0x3F80); /* tie, even stays */
    assert_int_equal(st_f32_to_bf16(1.01171875f), 0x3F82); /* tie, odd rounds up */
    assert_true(isnan(st_bf16_to_f32(st_f32_to_bf16(NAN))));
    /* every finite half survives half -> float -> half */
    for (uint32_t x = 0; x < 65536; x++) {
        if ((x & 0x7C00) == 0x7C00 && (x & 0x3FF)) continue; /* NaN */
        uint16_t back = st_f32_to_f16(st_f16_to_f32((uint16_t)x));
        if (back != x) fail_msg("f16 %04x round trip gave %04x", x, back);
    }
}

/* ---- hostile files ------------------------------------------------------------------------- */

static void test_bad_files(void **state) {
    (void)state;
    char p[1200], err[512];

    path_of(p, sizeof p, "short.safetensors");
    write_bytes(p, "abc", 3);
    expect_open_error(p, "too short", NULL);

    path_of(p, sizeof p, "hlen.safetensors");
    write_st(p, "{}", 16, 1000);
    expect_open_error(p, "header length 1000 exceeds the file", NULL);
    write_st(p, "{}", 0, (long long)0x7fffffffffffffffLL);
    expect_open_error(p, "exceeds the file", NULL);

    path_of(p, sizeof p, "nojson.safetensors");
    write_st(p, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], ", 16, -1);
    expect_open_error(p, "not a JSON object", NULL);
    write_st(p, "[1, 2, 3]", 16, -1);
    expect_open_error(p, "not a JSON object", NULL);
    write_st(p, "{\"a\": 1} xyz", 16, -1);
    expect_open_error(p, "trailing", NULL);

    path_of(p, sizeof p, "overlap.safetensors");
    write_st(p,
             "{\"a.w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
             "\"b.w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
             16, -1);
    expect_open_error(p, "b.w", "overlap");

    path_of(p, sizeof p, "range.safetensors");
    write_st(p, "{\"far.w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", 16, -1);
    expect_open_error(p, "far.w", "outside the data section");

    path_of(p, sizeof p, "endlt.safetensors");
    write_st(p, "{\"back.w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16, -1);
    expect_open_error(p, "back.w", "end 4 < begin 8");

    path_of(p, sizeof p, "nbytes.safetensors");
    write_st(p, "{\"size.w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "size.w", "needs 8");

    path_of(p, sizeof p, "dtype.safetensors");
    write_st(p, "{\"q.w\":{\"dtype\":\"Q7\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "q.w", "unknown dtype");
    write_st(p, "{\"i.w\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "i.w", "unsupported dtype I64");
    write_st(p, "{\"n.w\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "n.w", "dtype");

    path_of(p, sizeof p, "dims.safetensors");
    write_st(p, "{\"deep.w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,4],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "deep.w", "9 dimensions");

    path_of(p, sizeof p, "shape.safetensors");
    write_st(p, "{\"neg.w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "neg.w", "shape[0]");
    write_st(p, "{\"frac.w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,16]}}", 16, -1);
    expect_open_error(p, "frac.w", "shape[0]");
    write_st(p,
             "{\"huge.w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
             "\"data_offsets\":[0,16]}}",
             16, -1);
    expect_open_error(p, "huge.w", "overflows");
    write_st(p, "{\"off.w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", 16, -1);
    expect_open_error(p, "off.w", "data_offsets");
    write_st(p, "{\"obj.w\":[1,2]}", 16, -1);
    expect_open_error(p, "obj.w", "not an object");

    path_of(p, sizeof p, "dupkey.safetensors");
    write_st(p,
             "{\"twice\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"twice\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
             16, -1);
    expect_open_error(p, "twice", "twice");

    /* overlong name */
    path_of(p, sizeof p, "name.safetensors");
    size_t nl = 2000;
    char *hdr = malloc(nl + 200);
    assert_non_null(hdr);
    hdr[0] = '{';
    hdr[1] = '"';
    memset(hdr + 2, 'n', nl);
    snprintf(hdr + 2 + nl, 200, "\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}");
    write_st(p, hdr, 16, -1);
    free(hdr);
    expect_open_error(p, "too long", NULL);

    /* truncated: a valid file cut short -> the tensor at the end is outside the data section */
    path_of(p, sizeof p, "trunc.safetensors");
    float v[8] = {0};
    st_write_tensor t[2] = {{.name = "first", .ndim = 1, .shape = {4}, .data = v},
                            {.name = "second", .ndim = 1, .shape = {4}, .data = v}};
    assert_int_equal(st_write(p, t, 2, err, sizeof err), 0);
    char hb[8];
    FILE *f = fopen(p, "rb");
    assert_int_equal(fread(hb, 1, 8, f), 8);
    fclose(f);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | (unsigned char)hb[i];
    assert_int_equal(truncate(p, (off_t)(8 + hl + 20)), 0); /* "first" is 16 bytes, "second" cut */
    expect_open_error(p, "second", "outside the data section");
    assert_int_equal(truncate(p, (off_t)(8 + hl / 2)), 0);
    expect_open_error(p, "exceeds the file", NULL);

    /* __metadata__ is allowed (and must be an object) */
    path_of(p, sizeof p, "meta.safetensors");
    write_st(p,
             "{\"__metadata__\":{\"format\":\"pt\"},\"ok.w\":{\"dtype\":\"BF16\",\"shape\":[2,4],"
             "\"data_offsets\":[0,16]}}  ",
             16, -1);
    st_file *st = st_open(p, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(st_count(st), 1);
    assert_null(st_find(st, "__metadata__"));
    st_close(st);
    write_st(p, "{\"__metadata__\":[1]}", 0, -1);
    expect_open_error(p, "__metadata__", NULL);

    /* not there at all */
    path_of(p, sizeof p, "absent.safetensors");
    expect_open_error(p, "cannot open", NULL);
}

/* ---- sharded checkpoints ------------------------------------------------------------------- */

static void make_sharded(const char *d) {
    char p[2048], err[512];
    mkdir(d, 0755);
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, c[3] = {7, 8, 9};
    st_write_tensor s1[2] = {{.name = "layer.0.w", .ndim = 2, .shape = {2, 2}, .data = a},
                             {.name = "layer.0.b", .ndim = 1, .shape = {2}, .data = b}};
    st_write_tensor s2[1] = {{.name = "head.w", .ndim = 1, .shape = {3}, .data = c}};
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", d);
    assert_int_equal(st_write(p, s1, 2, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", d);
    assert_int_equal(st_write(p, s2, 1, err, sizeof err), 0);
}

static void write_index(const char *d, const char *weight_map) {
    char p[2048], text[2048];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    snprintf(text, sizeof text, "{\"metadata\": {\"total_size\": 36}, \"weight_map\": %s}", weight_map);
    write_bytes(p, text, strlen(text));
}

static void test_sharded(void **state) {
    (void)state;
    char d[1200], err[512];
    snprintf(d, sizeof d, "%s/sharded", dir);
    make_sharded(d);
    write_index(d, "{\"layer.0.w\": \"model-00001-of-00002.safetensors\", \"head.w\": "
                   "\"model-00002-of-00002.safetensors\", \"layer.0.b\": \"model-00001-of-00002.safetensors\"}");
    st_file *st = st_open(d, err, sizeof err);
    if (!st) fail_msg("%s", err);
    assert_int_equal(st_count(st), 3);
    const st_tensor *h = st_find(st, "head.w");
    assert_non_null(h);
    assert_non_null(strstr(h->file, "model-00002-of-00002.safetensors"));
    assert_non_null(strstr(st_find(st, "layer.0.b")->file, "model-00001-of-00002.safetensors"));
    int64_t s3[1] = {3};
    float *c = st_load_f32(st, "head.w", 1, s3, err, sizeof err);
    assert_non_null(c);
    assert_true(c[2] == 9.0f);
    free(c);
    /* a mis-shaped tensor in shard 2 names that shard's file */
    int64_t s4[1] = {4};
    assert_null(st_load_f32(st, "head.w", 1, s4, err, sizeof err));
    assert_non_null(strstr(err, "model-00002-of-00002.safetensors"));
    assert_non_null(strstr(err, "head.w"));
    st_close(st);

    char idx[1300];
    snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", d);
    /* listed but missing */
    write_index(d, "{\"layer.0.w\": \"model-00001-of-00002.safetensors\", \"head.w\": "
                   "\"model-00002-of-00002.safetensors\", \"layer.0.b\": \"model-00001-of-00002.safetensors\", "
                   "\"ghost.w\": \"model-00002-of-00002.safetensors\"}");
    expect_open_error(idx, NULL, NULL); /* the index path itself is not a safetensors file */
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "ghost.w"));
    assert_non_null(strstr(err, "index.json"));
    /* present in a shard but not listed */
    write_index(d, "{\"layer.0.w\": \"model-00001-of-00002.safetensors\", \"head.w\": "
                   "\"model-00002-of-00002.safetensors\"}");
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "layer.0.b"));
    assert_non_null(strstr(err, "not listed"));
    /* wrong shard */
    write_index(d, "{\"layer.0.w\": \"model-00001-of-00002.safetensors\", \"head.w\": "
                   "\"model-00001-of-00002.safetensors\", \"layer.0.b\": \"model-00002-of-00002.safetensors\"}");
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "index says shard"));
    /* path tricks in shard names */
    write_index(d, "{\"layer.0.w\": \"../x.safetensors\"}");
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "plain file name"));
    /* missing shard file */
    write_index(d, "{\"layer.0.w\": \"model-00003-of-00003.safetensors\"}");
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "model-00003-of-00003.safetensors"));
    /* not JSON */
    write_index(d, "{oops");
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "index.json"));
    /* no index, two files: ambiguous */
    assert_int_equal(unlink(idx), 0);
    assert_null(st_open(d, err, sizeof err));
    assert_non_null(strstr(err, "no model.safetensors.index.json"));

    /* a directory with a single file opens it */
    char d2[1200], p[1300];
    snprintf(d2, sizeof d2, "%s/single", dir);
    mkdir(d2, 0755);
    snprintf(p, sizeof p, "%s/model.safetensors", d2);
    float v[2] = {1, 2};
    st_write_tensor t = {.name = "only", .ndim = 1, .shape = {2}, .data = v};
    assert_int_equal(st_write(p, &t, 1, err, sizeof err), 0);
    st = st_open(d2, err, sizeof err);
    assert_non_null(st);
    assert_non_null(st_find(st, "only"));
    st_close(st);
    /* empty directory */
    snprintf(d2, sizeof d2, "%s/empty", dir);
    mkdir(d2, 0755);
    assert_null(st_open(d2, err, sizeof err));
    assert_non_null(strstr(err, d2));
}

/* ---- mutation smoke test ------------------------------------------------------------------- */

/* Random byte edits in the length field and the header of a valid file: st_open must either fail
 * with a message naming the file or return tensors whose bytes all lie inside the file (touched
 * here, so ASan would see an overrun). */
static void test_mutations(void **state) {
    (void)state;
    char path[1200], mpath[1200], err[512];
    path_of(path, sizeof path, "mut_src.safetensors");
    path_of(mpath, sizeof mpath, "mut.safetensors");
    float a[12], b[5];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (int i = 0; i < 5; i++)
        b[i] = (float)-i;
    st_write_tensor t[3] = {{.name = "w.a", .ndim = 2, .shape = {3, 4}, .data = a},
                            {.name = "w.b", .ndim = 1, .shape = {5}, .data = b},
                            {.name = "w.c", .ndim = 3, .shape = {1, 2, 2}, .data = a}};
    assert_int_equal(st_write(path, t, 3, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 100 && n < sizeof buf);
    size_t hl = buf[0] | (size_t)buf[1] << 8;
    uint64_t rng = 0x1234567;
    int opened = 0, failed = 0;
    static const char alphabet[] = "0123456789[]{},:\" -eE.FBI";
    for (int it = 0; it < 1500; it++) {
        unsigned char m[1024];
        memcpy(m, buf, n);
        int edits = 1 + (int)(rng % 3);
        for (int e = 0; e < edits; e++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            size_t pos = (size_t)(rng % (8 + hl));
            m[pos] = (rng >> 20) % 2 ? (unsigned char)alphabet[(rng >> 24) % (sizeof alphabet - 1)]
                                     : (unsigned char)(rng >> 32);
        }
        size_t len = n;
        if (it % 10 == 0) len = (size_t)(rng >> 40) % (n + 1); /* truncations too */
        write_bytes(mpath, m, len);
        st_file *st = st_open(mpath, err, sizeof err);
        if (!st) {
            if (!strstr(err, mpath)) fail_msg("iteration %d: error does not name the file: %s", it, err);
            failed++;
            continue;
        }
        opened++;
        double sum = 0;
        for (size_t i = 0; i < st_count(st); i++) {
            const st_tensor *x = st_at(st, i);
            float *tmp = malloc(x->numel * sizeof(float) + 4);
            st_convert_f32(x, tmp);
            for (size_t j = 0; j < x->numel; j++)
                sum += tmp[j] == tmp[j] ? 0 : 1;
            free(tmp);
        }
        (void)sum;
        st_close(st);
    }
    print_message("mutations: %d opened, %d rejected\n", opened, failed);
    assert_true(failed > 0 && opened > 0);
    assert_true(opened + failed == 1500);
}

/* The streaming writer (full-size checkpoints): data in chunks of any size, in the given order,
 * reads back exactly; missing or surplus bytes are errors that leave no file behind. */
static void test_stream_writer(void **state) {
    (void)state;
    char path[1200], err[512];
    path_of(path, sizeof path, "stream.safetensors");
    float a[37];
    uint16_t b[2 * 129];
    for (int i = 0; i < 37; i++) a[i] = (float)i * 0.5f - 3.0f;
    for (int i = 0; i < 2 * 129; i++) b[i] = st_f32_to_bf16((float)i / 7.0f);
    st_write_raw_tensor t[3] = {{"z.bf16", ST_BF16, 2, {2, 129}, NULL}, {"a.f32", ST_F32, 1, {37}, NULL},
                                {"empty", ST_F32, 1, {0}, NULL}};
    st_stream *w = st_stream_open(path, t, 3, err, sizeof err);
    assert_non_null(w);
    /* the bytes of z then a, in odd-sized pieces crossing the tensor boundary */
    uint8_t all[sizeof b + sizeof a];
    memcpy(all, b, sizeof b);
    memcpy(all + sizeof b, a, sizeof a);
    for (size_t o = 0; o < sizeof all; o += 13) {
        size_t n = sizeof all - o < 13 ? sizeof all - o : 13;
        assert_int_equal(st_stream_write(w, all + o, n, err, sizeof err), 0);
    }
    assert_int_equal(st_stream_close(w, err, sizeof err), 0);
    st_file *st = st_open(path, err, sizeof err);
    if (!st) fail_msg("%s", err);
    const st_tensor *ta = st_find(st, "a.f32"), *tz = st_find(st, "z.bf16");
    assert_non_null(ta);
    assert_non_null(tz);
    assert_memory_equal(ta->data, a, sizeof a);
    assert_memory_equal(tz->data, b, sizeof b);
    assert_true((const uint8_t *)ta->data > (const uint8_t *)tz->data); /* data in the given order */
    assert_string_equal(st_at(st, 0)->name, "a.f32");                   /* header sorted by name */
    st_close(st);
    /* too few bytes: close fails and removes its temporary file; too many: write fails */
    char short_path[1200];
    path_of(short_path, sizeof short_path, "stream_short.safetensors");
    w = st_stream_open(short_path, t, 2, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(st_stream_write(w, all, 100, err, sizeof err), 0);
    assert_int_equal(st_stream_close(w, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing"));
    FILE *f = fopen(short_path, "rb");
    assert_null(f);
    w = st_stream_open(short_path, t + 1, 1, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(st_stream_write(w, all, sizeof a + 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "past the last tensor"));
    assert_int_equal(st_stream_close(w, NULL, 0), -1);
    char ls[1400];
    snprintf(ls, sizeof ls, "ls '%s' | grep -c stream_short", dir);
    char out[64];
    assert_int_not_equal(tb_test_run(ls, out, sizeof out), 0); /* grep found nothing */
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s", tb_test_dir("safetensors"));
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_half_conversion), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_sharded),    cmocka_unit_test(test_mutations), cmocka_unit_test(test_stream_writer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

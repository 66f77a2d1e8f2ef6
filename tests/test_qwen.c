/* test_qwen.c - Qwen2.5-VL pieces checked by hand against the spec's worked examples
 * (shared/specs/qwen25vl.md), without the Python oracle (tests/qwen_oracle.sh has that):
 * frame count and indices, the pixel budget and smart_resize table (§2.2), the resize on a
 * constant frame, the patchify layout (§2.5), the window order (§3.3), get_rope_index (§4.3),
 * the config parser and tensor names (§1), the tiny model end to end (load, encode, prefill). */
#include "tb_test.h"

#include <math.h>

#include "datasets/video.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/tiny_model.h"

static void test_frames_and_budget(void **state) {
    (void)state;
    /* §2.2: 16 frames, n = 8 -> 0, 2, 4, 6, 9, 11, 13, 15 */
    int64_t idx[8];
    ds_qwen_frame_indices(0, 15, 8, idx);
    const int64_t want[8] = {0, 2, 4, 6, 9, 11, 13, 15};
    assert_memory_equal(idx, want, sizeof want);
    char err[256];
    ds_qwen_video_params p = ds_qwen_video_default_params();
    int n = 0;
    p.nframes = 33; /* round(16.5) * 2 = 32 (half to even) */
    assert_int_equal(ds_qwen_nframes(&p, 100, 25.0, &n, err, sizeof err), 0);
    assert_int_equal(n, 32);
    p.nframes = 0; /* fps mode: 10 s at 25 fps, 2 fps -> 20 */
    assert_int_equal(ds_qwen_nframes(&p, 250, 25.0, &n, err, sizeof err), 0);
    assert_int_equal(n, 20);
    p.nframes = 64;
    assert_int_equal(ds_qwen_nframes(&p, 40, 25.0, &n, err, sizeof err), -1); /* more than the video has */
    /* paper setting: min 100352 (default), max 200704 */
    p = ds_qwen_video_default_params();
    p.max_pixels = 200704;
    double mn, mx;
    ds_qwen_frame_budget(&p, 32, &mn, &mx);
    assert_true(mn == 100352.0 && mx == 200704.0);
    static const int table[][4] = {{720, 1280, 336, 588}, {480, 854, 308, 588}, {480, 640, 364, 504},
                                   {576, 720, 392, 476},  {480, 480, 448, 448}, {240, 320, 280, 392}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int h, w;
        assert_int_equal(ds_qwen_smart_resize(table[i][0], table[i][1], 28, mn, mx, &h, &w, err, sizeof err), 0);
        if (h != table[i][2] || w != table[i][3])
            fail_msg("%dx%d -> %dx%d, spec %dx%d", table[i][0], table[i][1], h, w, table[i][2], table[i][3]);
    }
    int h, w;
    assert_int_equal(ds_qwen_smart_resize(10, 2100, 28, mn, mx, &h, &w, err, sizeof err), -1); /* ratio > 200 */
}

static void test_resize_and_patchify(void **state) {
    (void)state;
    /* a constant frame stays constant through the antialiased resize (weights sum to 1) */
    enum { SH = 37, SW = 53, DH = 28, DW = 56 };
    uint8_t *src = malloc(SH * SW * 3), *dst = malloc(DH * DW * 3);
    memset(src, 77, SH * SW * 3);
    assert_int_equal(ds_qwen_resize_u8(src, SH, SW, dst, DH, DW), 0);
    for (int i = 0; i < DH * DW * 3; i++) assert_int_equal(dst[i], 77);
    /* same size: an identity */
    for (int i = 0; i < SH * SW * 3; i++) src[i] = (uint8_t)(i * 31);
    uint8_t *same = malloc(SH * SW * 3);
    assert_int_equal(ds_qwen_resize_u8(src, SH, SW, same, SH, SW), 0);
    assert_memory_equal(src, same, SH * SW * 3);
    /* patchify: 3 frames (odd: the last repeats) of 28x56; row/column of §2.5 */
    uint8_t fr[3][28][56][3];
    for (int t = 0; t < 3; t++)
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 56; x++)
                for (int c = 0; c < 3; c++) fr[t][y][x][c] = (uint8_t)((t * 50 + y * 3 + x + c * 7) & 255);
    int gt = 2, gh = 2, gw = 4, K = 3 * 2 * 14 * 14;
    float *rows = malloc((size_t)gt * gh * gw * K * sizeof *rows);
    assert_int_equal(ds_qwen_patchify(&fr[0][0][0][0], 3, 28, 56, 2, 14, 2, rows), 0);
    /* row ((t (gh/2) + bh)(gw/2) + bw) 4 + mh 2 + mw; column ((c 2 + f) 14 + y) 14 + x */
    int t = 1, bh = 0, bw = 1, mh = 1, mw = 0, c = 2, f = 1, y = 5, x = 9;
    int row = ((t * (gh / 2) + bh) * (gw / 2) + bw) * 4 + mh * 2 + mw, col = ((c * 2 + f) * 14 + y) * 14 + x;
    int fi = t * 2 + f > 2 ? 2 : t * 2 + f; /* frame 3 does not exist: frame 2 again */
    uint8_t v = fr[fi][(bh * 2 + mh) * 14 + y][(bw * 2 + mw) * 14 + x][c];
    float want = ((float)((double)v * (1.0 / 255.0)) - 0.40821073f) / 0.27577711f;
    assert_true(rows[(size_t)row * K + col] == want);
    free(src), free(dst), free(same), free(rows);
}

static void test_window_order(void **state) {
    (void)state;
    /* §3.3: 4 x 6 units, windows of 4: a window of 16 units and one of 8 per slice (the padding
     * makes a second window row that is empty) */
    int64_t order[24], win[24], n_win = 0;
    eng_qwen_window_order(4, 6, 4, order, win, &n_win);
    assert_int_equal(n_win, 2);
    assert_int_equal(win[0], 16);
    assert_int_equal(win[1], 8);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[3], 3);
    assert_int_equal(order[4], 6); /* second unit row of the first window */
    assert_int_equal(order[16], 4); /* first unit of the second window */
    /* 16 x 16 units (448 px): a full extra window row/column of padding, 16 windows of 16 */
    int64_t o2[256], w2[256], n2 = 0;
    eng_qwen_window_order(16, 16, 4, o2, w2, &n2);
    assert_int_equal(n2, 16);
    for (int i = 0; i < 16; i++) assert_int_equal(w2[i], 16);
}

static void test_rope_index(void **state) {
    (void)state;
    /* §4.3: a 4 x 4 x 6 block (4 slices of 2 x 3 units) starting at index 15 -> t in {15, 17, 19,
     * 21}, h 15..16, w 15..17; <|vision_end|> gets 22 */
    enum { VS = 9, VE = 10, PAD = 11, IMG = 12 };
    int64_t ids[15 + 24 + 3];
    for (int i = 0; i < 14; i++) ids[i] = 1 + i % 5;
    ids[14] = VS;
    for (int i = 0; i < 24; i++) ids[15 + i] = PAD;
    ids[39] = VE;
    ids[40] = 3;
    ids[41] = 4;
    int64_t grid[1][3] = {{4, 4, 6}}, pos[3 * 42], mx = 0;
    char err[256];
    assert_int_equal(eng_qwen_rope_index(ids, 42, (const int64_t(*)[3])grid, 1, 1.0, 2, 2, VS, PAD, IMG, pos, &mx,
                                         err, sizeof err),
                     ENG_OK);
    assert_int_equal(pos[14], 14);
    assert_int_equal(pos[15], 15);                 /* t of slice 0 */
    assert_int_equal(pos[15 + 6], 17);             /* t of slice 1 */
    assert_int_equal(pos[15 + 18], 21);            /* t of slice 3 */
    assert_int_equal(pos[42 + 15 + 5], 16);        /* h of unit (1, 2) */
    assert_int_equal(pos[2 * 42 + 15 + 5], 17);    /* w of unit (1, 2) */
    assert_int_equal(pos[39], 22);                 /* <|vision_end|> */
    assert_int_equal(pos[42 + 39], 22);
    assert_int_equal(mx, 24);
    /* a wrong pad count is an error naming it */
    ids[38] = 3;
    assert_int_equal(eng_qwen_rope_index(ids, 42, (const int64_t(*)[3])grid, 1, 1.0, 2, 2, VS, PAD, IMG, pos, &mx,
                                         err, sizeof err),
                     ENG_ERR_ARG);
    assert_non_null(strstr(err, "pad ids"));
}

static void test_config_and_names(void **state) {
    (void)state;
    eng_tiny_params tp = eng_tiny_default_params();
    tp.layout = ENG_LAYOUT_QWEN25VL;
    eng_config c;
    char err[512], name[256];
    assert_int_equal(eng_tiny_config(&tp, &c, err, sizeof err), 0);
    assert_int_equal(c.layout, ENG_LAYOUT_QWEN25VL);
    assert_int_equal(c.qv.depth, 4);
    assert_int_equal(c.qv.n_fullatt, 2);
    assert_int_equal(c.mrope_section[0] + c.mrope_section[1] + c.mrope_section[2], c.llm.head_dim / 2);
    assert_int_equal(eng_tensor_name(&c, ENG_T_QV_QKV_W, 3, name, sizeof name, err, sizeof err), 0);
    assert_string_equal(name, "visual.blocks.3.attn.qkv.weight");
    assert_int_equal(eng_tensor_name(&c, ENG_T_L_Q_W, 0, name, sizeof name, err, sizeof err), 0);
    assert_string_equal(name, "model.layers.0.self_attn.q_proj.weight");
    int64_t shape[ST_MAX_DIMS];
    assert_int_equal(eng_tensor_shape(&c, ENG_T_QV_PATCH_W, shape), 5);
    /* the 7B counts of §1.4: 729 tensors */
    eng_config big = c;
    big.qv.depth = 32;
    big.llm.n_layers = 28;
    assert_int_equal(eng_checkpoint_tensor_count(&big), 729);
    /* a bad mrope_section is refused with the field named */
    const char *bad = "{\"model_type\":\"qwen2_5_vl\",\"hidden_size\":64,\"num_hidden_layers\":2,"
                      "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":400,"
                      "\"rope_scaling\":{\"type\":\"mrope\",\"mrope_section\":[2,3,4]},"
                      "\"vision_config\":{\"depth\":2,\"hidden_size\":48,\"num_heads\":4,\"out_hidden_size\":64}}";
    assert_int_equal(eng_config_parse(bad, strlen(bad), "q/config.json", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "mrope_section"));
}

static void test_tiny_end_to_end(void **state) {
    (void)state;
    const char *dir = tb_test_dir("qwen-tiny");
    char err[512];
    eng_tiny_params tp = eng_tiny_default_params();
    tp.layout = ENG_LAYOUT_QWEN25VL;
    tp.shards = 2;
    assert_int_equal(eng_tiny_model_write(dir, &tp, err, sizeof err), 0);
    eng_model_params mp = eng_model_default_params();
    eng_model *m = eng_model_load(dir, &mp, err, sizeof err);
    if (!m) fail_msg("%s", err);
    eng_vision_info vi;
    eng_model_vision_info(m, &vi);
    assert_int_equal(vi.qwen, 1);
    /* 2 frames of 56 x 84 -> grid 1 x 4 x 6 -> 6 merged units */
    uint8_t fr[2][56][84][3];
    for (int i = 0; i < (int)sizeof fr; i++) ((uint8_t *)fr)[i] = (uint8_t)(i * 13);
    float *rows = malloc(24 * 1176 * sizeof *rows);
    assert_int_equal(ds_qwen_patchify(&fr[0][0][0][0], 2, 56, 84, 2, 14, 2, rows), 0);
    eng_qwen_vision_out o;
    assert_int_equal(eng_qwen_vision_encode(m, rows, 1, 4, 6, 0, &o, err, sizeof err), ENG_OK);
    assert_int_equal(o.n_units, 6);
    double sum = 0;
    for (int j = 0; j < 6; j++) sum += o.gq_attn[j];
    assert_true(fabs(sum - 1.0) < 1e-5); /* a softmax over the slice's units */
    /* an odd grid is refused */
    eng_qwen_vision_out bad;
    assert_int_equal(eng_qwen_vision_encode(m, rows, 1, 3, 6, 0, &bad, err, sizeof err), ENG_ERR_ARG);
    /* prefill: the merged rows replace the 6 pads */
    eng_llm_params lp = eng_llm_default_params();
    eng_llm *llm = eng_llm_load(dir, &lp, err, sizeof err);
    if (!llm) fail_msg("%s", err);
    eng_llm_state *st = eng_llm_state_init(llm, 64, err, sizeof err);
    int64_t ids[12] = {ENG_TINY_ID_IM_START, 40, ENG_TINY_ID_VISION_START};
    for (int i = 0; i < 6; i++) ids[3 + i] = ENG_TINY_ID_VIDEO_PAD;
    ids[9] = ENG_TINY_ID_VISION_END, ids[10] = 50, ids[11] = 51;
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = ids;
    pp.n_ids = 12;
    pp.visual = o.merged;
    pp.n_visual = 6;
    eng_llm_prefill_out po;
    assert_int_equal(eng_llm_prefill(st, &pp, &po, err, sizeof err), ENG_OK);
    assert_int_equal(po.n_tokens, 12);
    assert_int_equal(po.visual_start, 3);
    pp.n_visual = 5; /* pad count and rows disagree */
    assert_int_equal(eng_llm_prefill(st, &pp, &po, err, sizeof err), ENG_ERR_ARG);
    assert_non_null(strstr(err, "pad"));
    eng_llm_state_free(st);
    eng_llm_free(llm);
    eng_qwen_vision_out_free(&o);
    free(rows);
    eng_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_and_budget), cmocka_unit_test(test_resize_and_patchify),
        cmocka_unit_test(test_window_order),      cmocka_unit_test(test_rope_index),
        cmocka_unit_test(test_config_and_names),  cmocka_unit_test(test_tiny_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

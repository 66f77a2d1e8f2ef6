/* test_pruners_alone.c - tango/ and baselines/ are a library of their own: this program links only
 * common/, tango/ and baselines/ objects (see the Makefile rule), not harness/ or the engine, and
 * runs every method through its descriptor on the typed model layout. On a 4-layer LLM the
 * in-LLM stages move with the depth and the realised retention of the data-independent methods is
 * still the target. */
#include "tests/tb_test.h"

#include <math.h>

#include "baselines/baselines.h"
#include "common/rng.h"
#include "tango/tango.h"

static const tg_method *const methods[] = {
    &tg_tango_method,  &bl_fastv_method,   &bl_visionzip_method,      &bl_holitom_method, &bl_fastvid_method,
    &bl_full_method,   &bl_uniform_method, &bl_uniform_frames_method, &bl_random_method,  &bl_topk_method,
};

enum { T = 8, H = 6, L = H * H, D = 32 };

static float F[T * L * D], A[T * L], AR[T * L], G[T * D], TS[T];

static void make_video(void) {
    tb_rng r;
    tb_rng_seed(&r, 11);
    for (int i = 0; i < T * L * D; i++) F[i] = (float)(tb_rng_unit(&r) - 0.5) + (float)((i / (L * D)) / 4);
    for (int i = 0; i < T * L; i++) A[i] = (float)tb_rng_unit(&r), AR[i] = (float)tb_rng_unit(&r);
    for (int i = 0; i < T * D; i++) G[i] = (float)tb_rng_unit(&r);
    for (int t = 0; t < T; t++) TS[t] = 0.5f * (float)t;
}

static tg_prune_input input(tb_family fam, int layers, double r, const char *const *kv, int n) {
    tg_prune_input in = tg_prune_input_default();
    in.features = F;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = in.grid_w = H;
    in.model = tg_model_layout_default(fam, layers, D);
    in.saliency = A;
    in.saliency_recv = AR;
    in.frame_global = G;
    in.global_dim = D;
    in.timestamps = TS;
    in.ratio = r;
    in.params = kv;
    in.n_params = n;
    in.n_threads = 1;
    return in;
}

static void test_every_method_on_its_layout(void **state) {
    (void)state;
    const char *sinks[] = {"sinks=", "compat=paper"}; /* Tango's OV sink indices are off this 6x6 grid */
    for (int fam = 0; fam < TB_N_FAMILIES; fam++)
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
            const tg_method *m = methods[i];
            int qwen = fam == TB_FAMILY_QWEN25_VL;
            /* FastVID's official LLaVA-Video code hard-codes 64 frames of 13x13 */
            if (m == &bl_fastv_method || (m == &bl_fastvid_method && fam == TB_FAMILY_LLAVA_VIDEO)) continue;
            int tango = m == &tg_tango_method;
            /* Qwen: VisionZip exists only as compat=paper */
            int paper = qwen && m == &bl_visionzip_method;
            tg_prune_input in = input((tb_family)fam, 4, 0.5, paper ? sinks + 1 : sinks, tango || paper ? 1 : 0);
            tg_prune_output out;
            char err[256] = "";
            int rc = m->run(&in, &out, err, sizeof err);
            if (rc) fprintf(stderr, "%s (%s): %s\n", m->name, tb_family_name((tb_family)fam), err);
            assert_int_equal(rc, TG_OK);
            assert_int_equal(out.n_layers, 4);
            assert_true(out.n_kept > 0 && out.n_seq >= out.n_kept);
            /* the layout: OV one newline; Video a newline per row that kept a token */
            /* Qwen: no newline rows */
            if (fam == TB_FAMILY_LLAVA_OV) assert_int_equal(out.n_newlines, 1);
            else if (qwen) assert_int_equal(out.n_newlines, 0);
            else assert_true(out.n_newlines >= 1 && out.n_newlines <= T * H);
            assert_int_equal(out.n_visual_full, fam == TB_FAMILY_LLAVA_OV ? T * L + 1 : qwen ? T * L : T * H * (H + 1));
            /* an in-LLM stage sits inside the model's depth */
            if (out.plan.layer > 0) {
                assert_true(m->caps & TG_CAP_IN_LLM);
                assert_true(out.plan.layer >= 1 && out.plan.layer <= 3);
            }
            double mean = 0;
            for (int l = 0; l < 4; l++) mean += (double)out.visual_per_layer[l];
            assert_true(fabs(mean / 4 / (double)out.n_visual_full - out.equiv_retention) < 1e-12);
            tg_prune_output_free(&out);
        }
}

static void test_depth_moves_the_stages(void **state) {
    (void)state;
    /* FastV: K = 2 of 4 layers; keep M solved so that (2 V + 2 M) / 4 V = r */
    tg_prune_input in = input(TB_FAMILY_LLAVA_OV, 4, 0.75, NULL, 0);
    tg_prune_output out;
    char err[256];
    assert_int_equal(bl_fastv_method.run(&in, &out, err, sizeof err), TG_OK);
    assert_int_equal(out.plan.layer, 2);
    assert_true(fabs(out.equiv_retention - 0.75) <= BL_TOL);
    tg_prune_output_free(&out);
    /* Tango on LLaVA-Video: the stage at round(18 * 4 / 28) = 3, pre-LLM ratio 4r / 3.5 */
    const char *kv[] = {"sinks=", "compat=paper"};
    in = input(TB_FAMILY_LLAVA_VIDEO, 4, 0.2, kv, 2);
    assert_int_equal(tg_tango_method.run(&in, &out, err, sizeof err), TG_OK);
    assert_int_equal(out.plan.layer, 3);
    assert_true(out.ratio_used == 4.0 * 0.2 / 3.5);
    assert_int_equal(out.visual_per_layer[2], out.n_seq);
    assert_int_equal(out.visual_per_layer[3], out.plan.keep_count);
    tg_prune_output_free(&out);
    /* the same on 28 layers: layer 18 and 28r / 23 */
    in = input(TB_FAMILY_LLAVA_VIDEO, 28, 0.2, kv, 2);
    assert_int_equal(tg_tango_method.run(&in, &out, err, sizeof err), TG_OK);
    assert_int_equal(out.plan.layer, 18);
    assert_true(out.ratio_used == 28.0 * 0.2 / 23.0);
    tg_prune_output_free(&out);
    /* a model layout the input does not describe is refused */
    in = input(TB_FAMILY_LLAVA_OV, 0, 0.2, NULL, 0);
    assert_int_equal(bl_uniform_method.run(&in, &out, err, sizeof err), TG_ERR_INPUT);
    assert_non_null(strstr(err, "depth"));
}

int main(void) {
    make_video();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_on_its_layout),
        cmocka_unit_test(test_depth_moves_the_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

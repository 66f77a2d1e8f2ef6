/* test_flops.c - FLOPs formulas against hand-computed values (specs/llava-ov-engine.md §8),
 * equivalent retention, and the FastV and two-stage solvers. */
#include "tests/tb_test.h"

#include <math.h>

#include "harness/flops.h"
#include "tango/retention.h"

static void assert_close(double got, double want, double rel) {
    if (fabs(got - want) > rel * fabs(want)) fail_msg("got %.9g, want %.9g (rel %.1g)", got, want, rel);
}

static void test_layer_flops_by_hand(void **state) {
    (void)state;
    /* d=2, m=3, H=4, G=2, N=5: 5*(4*4*(1+0.5) + 6*2*3) + 4*25*2 = 5*(24+36) + 200 = 500 */
    fl_model m = {.n_layers = 1, .d = 2, .m = 3, .n_heads = 4, .n_kv_heads = 2};
    assert_close(fl_layer_flops(&m, 5), 500.0, 1e-15);
    fl_model q;
    assert_int_equal(fl_model_preset("qwen2-7b", &q), 0);
    assert_int_equal(q.n_layers, 28);
    /* The spec's table: OV 32 frames, 6272 visual + 100 text = 6372 tokens: 3.552 TFLOPs/layer,
     * 99.46 TFLOPs for 28 layers; 10 % kept (727 tokens) -> 9.70 TFLOPs. */
    assert_close(fl_layer_flops(&q, 6372), 3.552e12, 5e-4);
    int64_t full[28], kept[28];
    for (int l = 0; l < 28; l++) full[l] = 6272, kept[l] = 627;
    assert_close(fl_prefill_flops(&q, 100, full), 99.46e12, 5e-4);
    assert_close(fl_prefill_flops(&q, 100, kept), 9.70e12, 1e-3);
    assert_int_equal(fl_model_preset("gpt-17", &q), -1);
}

static void test_vision_flops(void **state) {
    (void)state;
    fl_vision v;
    fl_vision_siglip_so400m(&v);
    /* §8.2: about 666.5 GFLOPs per frame with the projector. */
    assert_close(fl_vision_frame_flops(&v), 666.5e9, 2e-3);
}

static void test_equiv_retention(void **state) {
    (void)state;
    int64_t plan[4] = {100, 100, 50, 50};
    assert_close(tg_equiv_retention(plan, 4, 100), 0.75, 1e-15);
    assert_true(tg_equiv_retention(plan, 0, 100) == 0.0);
    /* Tango on LLaVA-Video: 10 % pre-LLM, then 50 % from layer 18 of 28. */
    int64_t tv[28];
    for (int l = 0; l < 28; l++) tv[l] = l < 18 ? 1000 : 500;
    assert_close(tg_equiv_retention(tv, 28, 10000), (18 * 0.1 + 10 * 0.05) / 28, 1e-12);
}

static void test_fastv_solver(void **state) {
    (void)state;
    double got;
    /* L=28, K=2, N=6272, r=0.10: R = (2.8 - 2) * 6272 / 26 = 192.98 -> 193. */
    int64_t r = tg_fastv_keep(28, 2, 6272, 0.10, 0.005, &got);
    assert_int_equal(r, 193);
    assert_close(got, (2 * 6272 + 26 * 193) / (28.0 * 6272), 1e-12);
    assert_true(fabs(got - 0.10) < 0.005);
    /* K=3 cannot go below 3/28 = 0.107 > 0.10 + 0.005. */
    assert_int_equal(tg_fastv_keep(28, 3, 6272, 0.10, 0.005, &got), -1);
    assert_close(got, 3.0 / 28, 1e-12);
    assert_int_equal(tg_fastv_keep(28, 28, 6272, 0.10, 0.005, &got), -1);
}

static void test_two_stage_solver(void **state) {
    (void)state;
    /* L=28, K=18, p=0.5, r=0.10: r_pre = 2.8 / (18 + 5) = 0.121739... */
    double pre = tg_two_stage_pre_ratio(28, 18, 0.5, 0.10);
    assert_close(pre, 2.8 / 23.0, 1e-15);
    int64_t plan[28];
    for (int l = 0; l < 28; l++) plan[l] = l < 18 ? 10000 * pre : 10000 * pre * 0.5;
    assert_close(tg_equiv_retention(plan, 28, 10000), 0.10, 2e-3);
}

static void test_config_json(void **state) {
    (void)state;
    const char *dir = tb_test_dir("flops");
    char path[1100], err[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"architectures\":[\"LlavaOnevisionForConditionalGeneration\"],\"text_config\":{\"hidden_size\":896,"
          "\"intermediate_size\":4864,\"num_attention_heads\":14,\"num_key_value_heads\":2,"
          "\"num_hidden_layers\":24}}", f);
    fclose(f);
    fl_model m;
    assert_int_equal(fl_model_from_config(path, &m, err, sizeof err), 0);
    assert_int_equal(m.d, 896);
    assert_int_equal(m.n_kv_heads, 2);
    assert_int_equal(m.n_layers, 24);
    f = fopen(path, "w");
    fputs("{\"hidden_size\":3584,\"intermediate_size\":\"big\"}", f);
    fclose(f);
    assert_int_equal(fl_model_from_config(path, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "intermediate_size"));
    assert_non_null(strstr(err, path));
    f = fopen(path, "w");
    fputs("{\"hidden_size\":", f);
    fclose(f);
    assert_int_equal(fl_model_from_config(path, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a JSON object"));
}

static void test_flops_command(void **state) {
    (void)state;
    char cmd[1200], out[16384];
    snprintf(cmd, sizeof cmd, "%s flops --json --visual 6272 --text 100 --layer-tokens 6272@0,3136@2", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"tokens_per_layer\":[6272,6272,3136,3136"));
    /* (2 + 26*0.5) / 28 = 0.535714 */
    assert_non_null(strstr(out, "\"equivalent_retention\":0.535714"));
    snprintf(cmd, sizeof cmd, "%s flops --solve fastv --ratio 0.1 --k 3", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "cannot reach retention"));
    snprintf(cmd, sizeof cmd, "%s flops --layer-tokens 1,2,3", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "3 counts, the model has 28 layers"));
    snprintf(cmd, sizeof cmd, "%s flops --model qwen9", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown model 'qwen9'"));
}

static void test_flops_method_plans(void **state) {
    (void)state;
    char cmd[1200], out[16384];
    /* FastV at r = 0.10, K = 2 on the OV block of 6273 tokens keeps 193 (spec table) */
    snprintf(cmd, sizeof cmd, "%s flops --json --method fastv --ratio 0.10", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"visual\":6273"));
    assert_non_null(strstr(out, "\"tokens_per_layer\":[6273,6273,193,193"));
    assert_non_null(strstr(out, "\"equivalent_retention\":0.0999"));
    /* r = 0.15: 531 */
    snprintf(cmd, sizeof cmd, "%s flops --json --method fastv --ratio 0.15", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "6273,6273,531,531"));
    /* K = 3 cannot reach 0.10 */
    snprintf(cmd, sizeof cmd, "%s flops --method fastv --ratio 0.10 --k 3", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "infeasible"));
    /* a pre-LLM method keeps the same count in every layer */
    snprintf(cmd, sizeof cmd, "%s flops --json --method visionzip --ratio 0.2 --family llava-video", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"visual\":11648"));
    /* DART: 4 + 8 T with T = int(6273 R / 8) from layer 2 (spec table: 196 at 10 %, 868 at 20 %) */
    snprintf(cmd, sizeof cmd, "%s flops --json --method dart --ratio 0.10", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"tokens_per_layer\":[6273,6273,196,196"));
    snprintf(cmd, sizeof cmd, "%s flops --json --method dart --ratio 0.20", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "6273,6273,868,868"));
    snprintf(cmd, sizeof cmd, "%s flops --method dart --ratio 0.10 --k 3", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "infeasible"));
    /* VidCom2 on LLaVA-Video keeps all 832 newline rows: 0.10 * 11648 = 1165 in every layer */
    snprintf(cmd, sizeof cmd, "%s flops --json --method vidcom2 --ratio 0.10 --family llava-video", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"tokens_per_layer\":[1165,1165,"));
    snprintf(cmd, sizeof cmd, "%s flops --method frobnicate --ratio 0.2", tb_test_bin());
    assert_int_not_equal(tb_test_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s flops --method fastv", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_flops_by_hand), cmocka_unit_test(test_vision_flops),
        cmocka_unit_test(test_equiv_retention),     cmocka_unit_test(test_fastv_solver),
        cmocka_unit_test(test_two_stage_solver),    cmocka_unit_test(test_config_json),
        cmocka_unit_test(test_flops_command),      cmocka_unit_test(test_flops_method_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cli.c - the declarative option parser and the top-level command dispatch. */
#include "tests/tb_test.h"

#include "harness/cli.h"

static const char *s_db;
static int64_t s_limit;
static double s_ratio;
static int s_json;
static cli_list s_set;
static cli_opt s_opts[] = {
    {"db", CLI_STR, &s_db, "FILE", "results database", .env = "TB_TEST_DB"},
    {"limit", CLI_INT, &s_limit, "N", "stop after N", 0, 1000},
    {"ratio", CLI_DOUBLE, &s_ratio, "R", "retention", 0, 1},
    {"json", CLI_FLAG, &s_json, NULL, "json output"},
    {"set", CLI_LIST, &s_set, "K=V", "method parameter"},
    {0},
};
static const cli_spec s_spec = {"demo", "BENCH", 1, 1, "a test command", s_opts};

static int parse(int argc, char **argv, char **pos, int *n_pos) {
    s_db = "default.db";
    s_limit = 5;
    s_ratio = 0.5;
    s_json = 0;
    s_set.n = 0;
    /* silence the error output of failing cases */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int st = cli_parse(&s_spec, argc, argv, pos, n_pos);
    fclose(stderr);
    stderr = saved;
    return st;
}

static void test_parse_ok(void **state) {
    (void)state;
    char *argv[] = {"demo", "--limit", "12", "mvbench", "--ratio=0.15", "--json", "--set", "a=1", "--set", "b=2", NULL};
    char *pos[1];
    int n_pos;
    assert_int_equal(parse(10, argv, pos, &n_pos), CLI_OK);
    assert_int_equal(n_pos, 1);
    assert_string_equal(pos[0], "mvbench");
    assert_int_equal(s_limit, 12);
    assert_true(s_ratio == 0.15);
    assert_int_equal(s_json, 1);
    assert_int_equal(s_set.n, 2);
    assert_string_equal(s_set.items[1], "b=2");
    assert_string_equal(s_db, "default.db");
}

static void test_env_default_and_override(void **state) {
    (void)state;
    char *pos[1];
    int n_pos;
    setenv("TB_TEST_DB", "from-env.db", 1);
    char *a1[] = {"demo", "x", NULL};
    assert_int_equal(parse(2, a1, pos, &n_pos), CLI_OK);
    assert_string_equal(s_db, "from-env.db");
    char *a2[] = {"demo", "x", "--db", "cli.db", NULL};
    assert_int_equal(parse(4, a2, pos, &n_pos), CLI_OK);
    assert_string_equal(s_db, "cli.db");
    unsetenv("TB_TEST_DB");
}

static void test_parse_errors(void **state) {
    (void)state;
    char *pos[1];
    int n_pos;
    char *unknown[] = {"demo", "x", "--nope", NULL};
    assert_int_equal(parse(3, unknown, pos, &n_pos), CLI_ERROR);
    char *short_unknown[] = {"demo", "x", "-q", NULL};
    assert_int_equal(parse(3, short_unknown, pos, &n_pos), CLI_ERROR);
    char *missing[] = {"demo", "x", "--limit", NULL};
    assert_int_equal(parse(3, missing, pos, &n_pos), CLI_ERROR);
    char *not_int[] = {"demo", "x", "--limit", "12abc", NULL};
    assert_int_equal(parse(4, not_int, pos, &n_pos), CLI_ERROR);
    char *range[] = {"demo", "x", "--limit", "1001", NULL};
    assert_int_equal(parse(4, range, pos, &n_pos), CLI_ERROR);
    char *neg[] = {"demo", "x", "--ratio", "-0.1", NULL};
    assert_int_equal(parse(4, neg, pos, &n_pos), CLI_ERROR);
    char *nan[] = {"demo", "x", "--ratio", "nan", NULL};
    assert_int_equal(parse(4, nan, pos, &n_pos), CLI_ERROR);
    char *flag_val[] = {"demo", "x", "--json=1", NULL};
    assert_int_equal(parse(3, flag_val, pos, &n_pos), CLI_ERROR);
    char *no_pos[] = {"demo", NULL};
    assert_int_equal(parse(1, no_pos, pos, &n_pos), CLI_ERROR);
    char *two_pos[] = {"demo", "a", "b", NULL};
    assert_int_equal(parse(3, two_pos, pos, &n_pos), CLI_ERROR);
    char *dashdash[] = {"demo", "--", "--weird-name", NULL};
    assert_int_equal(parse(3, dashdash, pos, &n_pos), CLI_OK);
    assert_string_equal(pos[0], "--weird-name");
}

static void test_help_lists_every_option(void **state) {
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/help.txt", tb_test_dir("cli"));
    FILE *f = fopen(path, "w+");
    s_limit = 5;
    cli_print_help(&s_spec, f);
    rewind(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    for (const cli_opt *o = s_opts; o->name; o++) {
        char want[64];
        snprintf(want, sizeof want, "--%s", o->name);
        assert_non_null(strstr(buf, want));
        assert_non_null(strstr(buf, o->help));
    }
    assert_non_null(strstr(buf, "(default: 5)"));
    assert_non_null(strstr(buf, "[env TB_TEST_DB]"));
    assert_non_null(strstr(buf, "usage: tango-bench demo [options] BENCH"));
}

static void test_split_lists(void **state) {
    (void)state;
    double d[4];
    int64_t i[4];
    assert_int_equal(cli_split_doubles("0.1,0.15,0.2", d, 4), 3);
    assert_true(d[1] == 0.15);
    assert_int_equal(cli_split_doubles("0.1,,0.2", d, 4), -1);
    assert_int_equal(cli_split_doubles("0.1,", d, 4), -1);
    assert_int_equal(cli_split_doubles("1,2,3,4,5", d, 4), -1);
    assert_int_equal(cli_split_ints("4,-2", i, 4), 2);
    assert_int_equal(i[1], -2);
    assert_int_equal(cli_split_ints("4,x", i, 4), -1);
}

static void test_binary_dispatch(void **state) {
    (void)state;
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "%s --version", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "tango-bench "));
    assert_non_null(strstr(out, "cuda="));
    assert_non_null(strstr(out, "openblas="));
    snprintf(cmd, sizeof cmd, "%s frobnicate", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown command 'frobnicate'"));
    snprintf(cmd, sizeof cmd, "%s", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s --help", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 0);
    static const char *reserved[] = {"fetch", "samples", "encode", "forward", "infer", "prune", "run", "report",
                                     "compare", "merge", "synth", "make-tiny-model", "runs", "export", "flops"};
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++) {
        char want[64];
        snprintf(want, sizeof want, "  %s ", reserved[k]);
        assert_non_null(strstr(out, want));
    }
    snprintf(cmd, sizeof cmd, "%s flops --visual 12x", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--visual expects an integer, got '12x'"));
    assert_non_null(strstr(out, "usage: tango-bench flops"));
    snprintf(cmd, sizeof cmd, "%s runs", tb_test_bin());
    assert_int_equal(tb_test_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "--db is required"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_env_default_and_override),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_help_lists_every_option),
        cmocka_unit_test(test_split_lists),
        cmocka_unit_test(test_binary_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* report_csv.c - table.csv (the main table with both Perf. definitions, one row per table row)
 * and details.csv (every run, selected or not, in creation order). Numbers carry 4 decimals, a
 * missing value is an empty field, text is quoted as RFC 4180 does. */
#include <math.h>
#include <string.h>

#include "reports/rep_internal.h"

static void csv_num(FILE *f, double v) {
    if (isnan(v)) fputs(",", f);
    else fprintf(f, ",%.4f", v);
}

static void csv_str(FILE *f, const char *s, int first) {
    if (!first) fputc(',', f);
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_table(rep_ctx *c) {
    char path[1200];
    FILE *f = rep_open(c, c->p->out_dir, "table.csv", path, sizeof path);
    if (!f) return -1;
    fputs("model,method,target_ratio", f);
    for (int k = 0; k < c->n_cols; k++)
        fprintf(f, ",%s%s%s", c->cols[k].bench, c->cols[k].dur >= 0 ? "_" : "",
                c->cols[k].dur >= 0 ? rep_durations[c->cols[k].dur] : "");
    fputs(",avg,perf_mean_rel,perf_rel_avg\n", f);
    for (int i = 0; i < c->n_rows; i++) {
        const rep_row *row = &c->rows[i];
        csv_str(f, row->model, 1);
        csv_str(f, row->method, 0);
        csv_num(f, row->ratio);
        for (int k = 0; k < c->n_cols; k++) csv_num(f, row->v[k]);
        csv_num(f, row->avg);
        csv_num(f, row->perf_mean_rel);
        csv_num(f, row->perf_rel_avg);
        fputc('\n', f);
    }
    return rep_close(c, f, path);
}

static int write_details(rep_ctx *c) {
    char path[1200];
    FILE *f = rep_open(c, c->p->out_dir, "details.csv", path, sizeof path);
    if (!f) return -1;
    fputs("run_key,model,benchmark,method,target_ratio,realised_retention,n_total,n_scored,n_failed,"
          "n_parse_failed,n_correct,acc_pct,ci_lo_pct,ci_hi_pct,tflops,ms_decode,ms_vision,ms_prune,ms_prefill,"
          "ms_generate,ms_total,created,convention\n", f);
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        const db_run_summary *s = r->s;
        csv_str(f, s->key, 1);
        csv_str(f, s->model, 0);
        csv_str(f, s->benchmark, 0);
        csv_str(f, s->method, 0);
        csv_num(f, r->ratio);
        csv_num(f, s->mean_retention);
        fprintf(f, ",%lld,%lld,%lld,%lld,%lld", (long long)s->n_samples, (long long)s->n_ok, (long long)s->n_failed,
                (long long)s->n_parse_failed, (long long)s->n_correct);
        csv_num(f, r->acc);
        csv_num(f, r->ci_lo);
        csv_num(f, r->ci_hi);
        csv_num(f, r->tflops);
        for (int k = 0; k < DB_N_STAGES; k++) csv_num(f, s->ms[k]);
        csv_str(f, s->created, 0);
        csv_str(f, s->convention, 0);
        fputc('\n', f);
    }
    return rep_close(c, f, path);
}

int rep_write_csv(rep_ctx *c) { return write_table(c) || write_details(c) ? -1 : 0; }

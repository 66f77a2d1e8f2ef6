/* report_md.c - table.md: the main table per model, then the per-run table (counts, failures,
 * accuracy with its CI, realised retention, TFLOPs, per-stage times). A value with nothing
 * behind it (no scored sample, a stage never timed) prints as "-". */
#include <string.h>

#include "reports/rep_internal.h"

int rep_write_markdown(rep_ctx *c) {
    char path[1200], cell[64], rl[32];
    FILE *f = rep_open(c, c->p->out_dir, "table.md", path, sizeof path);
    if (!f) return -1;
    fprintf(f, "# Accuracy (%%) at matched equivalent retention\n\n");
    fprintf(f, "Best per retention block in **bold**, second <u>underlined</u>. Perf. = %s x 100.\n",
            rep_perf_name(c->p->perf));
    fprintf(f, "Scoring convention: %s (runs of other conventions are listed under Runs).\n",
            c->convention[0] ? c->convention : "(none recorded)");
    const char *model = NULL;
    for (int i = 0; i < c->n_rows; i++) {
        const rep_row *row = &c->rows[i];
        if (!model || strcmp(model, row->model)) {
            model = row->model;
            fprintf(f, "\n## %s\n\n| Retention | Method |", model);
            for (int k = 0; k < c->n_cols; k++) fprintf(f, " %s |", c->cols[k].label);
            fprintf(f, " Avg. | Perf. |\n|---|---|");
            for (int k = 0; k < c->n_cols + 2; k++) fprintf(f, "---:|");
            fputc('\n', f);
        }
        rep_ratio_label(rl, sizeof rl, row);
        fprintf(f, "| %s | %s |", rl, row->method);
        for (int k = 0; k < c->n_cols; k++) {
            rep_fmt_cell(cell, sizeof cell, row->v[k], row->mark[k], REP_STYLE_MD);
            fprintf(f, " %s |", cell);
        }
        rep_fmt_cell(cell, sizeof cell, row->avg, row->mark[c->n_cols], REP_STYLE_MD);
        fprintf(f, " %s |", cell);
        rep_fmt_cell(cell, sizeof cell, rep_row_perf(c, row), row->mark[c->n_cols + 1], REP_STYLE_MD);
        fprintf(f, " %s |\n", cell);
    }
    fprintf(f, "\n## Runs\n\n| Model | Benchmark | Method | Convention | Target r | Realised r | Scored/Total | Failed | "
               "Parse failures | Acc. (95%% CI, by video) | TFLOPs | ms vision | ms prune | ms prefill | "
               "ms generate | ms total |\n|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
    static const db_stage stages[] = {DB_STAGE_VISION, DB_STAGE_PRUNE, DB_STAGE_PREFILL, DB_STAGE_GENERATE,
                                      DB_STAGE_TOTAL};
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = c->sorted[i];
        const db_run_summary *s = r->s;
        if (!r->latest) continue;
        char target[32], realised[32], acc[64], tflops[32];
        rep_fmt_num(target, sizeof target, "%.3f", r->ratio);
        rep_fmt_num(realised, sizeof realised, "%.4f", s->mean_retention);
        rep_fmt_acc_ci(acc, sizeof acc, r);
        rep_fmt_num(tflops, sizeof tflops, "%.4g", r->tflops);
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %lld/%lld | %lld | %lld | %s | %s |", s->model, s->benchmark,
                s->method, s->convention[0] ? s->convention : "-", target, realised, (long long)s->n_ok, (long long)s->n_samples, (long long)s->n_failed,
                (long long)s->n_parse_failed, acc, tflops);
        for (size_t k = 0; k < sizeof stages / sizeof stages[0]; k++) {
            rep_fmt_num(cell, sizeof cell, "%.1f", s->ms[stages[k]]);
            fprintf(f, " %s |", cell);
        }
        fputc('\n', f);
    }
    rep_sections_md(c, f);
    return rep_close(c, f, path);
}

/* report_html.c - index.html: the main tables, the per-run table and every plot (the SVG shown,
 * the PNG linked), one page without scripts. A value with nothing behind it prints as "-". */
#include <string.h>

#include "reports/rep_internal.h"

static void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static void write_main_tables(rep_ctx *c, FILE *f) {
    char cell[64], rl[32];
    const char *model = NULL;
    int prev_block = -1;
    for (int i = 0; i < c->n_rows; i++) {
        const rep_row *row = &c->rows[i];
        if (!model || strcmp(model, row->model)) {
            if (model) fputs("</tbody></table>\n", f);
            model = row->model;
            fputs("<h2>", f);
            html_escape(f, model);
            fputs("</h2>\n<table><thead><tr><th>Retention</th><th>Method</th>", f);
            for (int k = 0; k < c->n_cols; k++) {
                fputs("<th>", f);
                html_escape(f, c->cols[k].label);
                fputs("</th>", f);
            }
            fputs("<th>Avg.</th><th>Perf.</th></tr></thead><tbody>\n", f);
            prev_block = row->block;
        }
        rep_ratio_label(rl, sizeof rl, row);
        fprintf(f, "<tr%s><td>%s</td><td>", row->block != prev_block ? " class=\"block\"" : "", rl);
        prev_block = row->block;
        html_escape(f, row->method);
        fputs("</td>", f);
        for (int k = 0; k < c->n_cols; k++) {
            rep_fmt_cell(cell, sizeof cell, row->v[k], row->mark[k], REP_STYLE_HTML);
            fprintf(f, "<td>%s</td>", cell);
        }
        rep_fmt_cell(cell, sizeof cell, row->avg, row->mark[c->n_cols], REP_STYLE_HTML);
        fprintf(f, "<td>%s</td>", cell);
        rep_fmt_cell(cell, sizeof cell, rep_row_perf(c, row), row->mark[c->n_cols + 1], REP_STYLE_HTML);
        fprintf(f, "<td>%s</td></tr>\n", cell);
    }
    if (model) fputs("</tbody></table>\n", f);
}

static void write_runs_table(rep_ctx *c, FILE *f) {
    fputs("<h2>Runs</h2>\n<table><thead><tr><th>Model</th><th>Benchmark</th><th>Method</th><th>Convention</th>"
          "<th>Target r</th><th>Realised r</th><th>Scored/Total</th><th>Failed</th><th>Parse failures</th>"
          "<th>Acc. [95% CI]</th><th>TFLOPs</th><th>ms total</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = c->sorted[i];
        const db_run_summary *s = r->s;
        if (!r->latest) continue;
        char target[32], realised[32], acc[64], tflops[32], total[32];
        rep_fmt_num(target, sizeof target, "%.3f", r->ratio);
        rep_fmt_num(realised, sizeof realised, "%.4f", s->mean_retention);
        rep_fmt_acc_ci(acc, sizeof acc, r);
        rep_fmt_num(tflops, sizeof tflops, "%.4g", r->tflops);
        rep_fmt_num(total, sizeof total, "%.1f", s->ms[DB_STAGE_TOTAL]);
        fputs("<tr><td>", f);
        html_escape(f, s->model);
        fputs("</td><td>", f);
        html_escape(f, s->benchmark);
        fputs("</td><td>", f);
        html_escape(f, s->method);
        fputs("</td><td>", f);
        html_escape(f, s->convention[0] ? s->convention : "-");
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%lld/%lld</td><td>%lld</td><td>%lld</td><td>%s</td><td>%s</td>"
                   "<td>%s</td></tr>\n",
                target, realised, (long long)s->n_ok, (long long)s->n_samples, (long long)s->n_failed,
                (long long)s->n_parse_failed, acc, tflops, total);
    }
    fputs("</tbody></table>\n", f);
}

static void write_figures(rep_ctx *c, FILE *f) {
    const rep_plot_list *pl = &c->plots;
    if (pl->n) fputs("<h2>Plots</h2>\n", f);
    for (int i = 0; i < pl->n; i++) {
        fputs("<figure><img src=\"plots/", f);
        html_escape(f, pl->names[i]);
        fputs(".svg\" alt=\"", f);
        html_escape(f, pl->titles[i]);
        fputs("\"><figcaption>", f);
        html_escape(f, pl->titles[i]);
        fputs(" (<a href=\"plots/", f);
        html_escape(f, pl->names[i]);
        fputs(".png\">PNG</a>)</figcaption></figure>\n", f);
    }
}

int rep_write_html(rep_ctx *c) {
    char path[1200];
    FILE *f = rep_open(c, c->p->out_dir, "index.html", path, sizeof path);
    if (!f) return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>tango-bench report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;max-width:1400px}\n"
          "table{border-collapse:collapse;margin:1em 0}\n"
          "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
          "th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}\n"
          "tr.block td{border-top:2px solid #444}\n"
          "figure{display:inline-block;margin:1em}\nimg{max-width:640px}\n"
          "</style>\n</head>\n<body>\n<h1>tango-bench report</h1>\n", f);
    fprintf(f, "<p>Accuracy in %%; best per retention block in <b>bold</b>, second <u>underlined</u>. "
               "Perf. = %s &times; 100.</p>\n", rep_perf_name(c->p->perf));
    fputs("<p>Scoring convention: ", f);
    html_escape(f, c->convention[0] ? c->convention : "(none recorded)");
    fputs(" (runs of other conventions are listed under Runs).</p>\n", f);
    write_main_tables(c, f);
    write_runs_table(c, f);
    rep_sections_html(c, f);
    write_figures(c, f);
    fputs("</body>\n</html>\n", f);
    return rep_close(c, f, path);
}

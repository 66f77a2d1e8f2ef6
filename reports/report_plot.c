/* report_plot.c - gnuplot plots of a report, in OUT/plots:
 *
 *   acc_MODEL_BENCH      accuracy versus realised equivalent retention, a curve per method with
 *                        its 95 % CI as a translucent band, the reference (full-token) accuracy
 *                        as a dashed line over its grey CI band
 *   latency_MODEL        mean latency per sample by stage, stacked per (method, ratio), with the
 *                        speed-up over the reference run printed above each bar
 *   layers_MODEL_rPCT    visual tokens per LLM layer at one target ratio, a curve per method
 *   sweep_MODEL_KEY_N    accuracy (Avg. and per benchmark) against a parameter swept by labelled
 *                        variants (report_paper.c finds them; the paper's Figure 8 layout)
 *   frames_BENCH         accuracy against the frames per video, a curve per method, when runs
 *                        differ in frame count (the paper's Figure 6 layout)
 *
 * Each plot is a whitespace-separated NAME.dat (one gnuplot data block per curve, "# method"
 * first) and a NAME.gp script that renders NAME.png and NAME.svg, so a user can restyle and
 * re-run it. Everything about the look (terminal, size, fonts) is in plot_style and gp_begin;
 * a new plot kind is a function that writes its .dat, then its script between gp_begin and
 * plot_finish. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "reports/rep_internal.h"

/* The look shared by every plot: large enough to read at a glance on a laptop screen and in a
 * slide (the PNG is shown at its natural size in index.html). */
static const struct {
    int width, height;    /* pixels (PNG) and points (SVG) */
    const char *font;     /* gnuplot font spec: family, size in points */
    double lw;            /* terminal line-width multiplier */
} plot_style = {1280, 800, "Sans,18", 1.5};

static int isalnum_ascii(int ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* A file-name-safe copy of s. */
static void safe_name(char *dst, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 1 < n; s++) dst[j++] = (isalnum_ascii((unsigned char)*s) || *s == '-' || *s == '.') ? *s : '_';
    dst[j] = '\0';
}

/* gnuplot string literal content: drop quotes and backslashes, which titles never need. */
static void gp_str(FILE *f, const char *s) {
    for (; *s; s++)
        if (*s != '"' && *s != '\\') fputc(*s == '_' ? ' ' : *s, f);
}

/* Writes the script head for one plot rendered twice (PNG, then SVG via replot). */
static void gp_begin(FILE *f, const char *name, const char *title, const char *xlabel, const char *ylabel) {
    fprintf(f, "set terminal pngcairo size %d,%d noenhanced font '%s' linewidth %g\nset output '%s.png'\n",
            plot_style.width, plot_style.height, plot_style.font, plot_style.lw, name);
    fputs("set title \"", f);
    gp_str(f, title);
    fprintf(f, "\"\nset xlabel \"%s\"\nset ylabel \"%s\"\nset grid\nset key outside right top\n"
               "set border lw 1.5\nset pointsize 1.6\n", xlabel, ylabel);
}

static void gp_end(FILE *f, const char *name) {
    fprintf(f, "set terminal svg size %d,%d noenhanced font '%s' linewidth %g\nset output '%s.svg'\nreplot\n"
               "unset output\n", plot_style.width, plot_style.height, plot_style.font, plot_style.lw, name);
}

static int run_gnuplot(rep_ctx *c, const char *plot_dir, const char *script) {
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s' > '%s.log' 2>&1", plot_dir, script, script);
    if (strchr(plot_dir, '\'') || strchr(script, '\''))
        return rep_fail(c, "%s: unsafe characters in the path", plot_dir);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return rep_fail(c, "%s/%s: gnuplot failed (is gnuplot installed? see %s.log)", plot_dir, script, script);
    return 0;
}

static FILE *open_plot_file(rep_ctx *c, const char *dir, const char *name, const char *ext, char *path, size_t n) {
    char file[200];
    snprintf(file, sizeof file, "%s.%s", name, ext);
    return rep_open(c, dir, file, path, n);
}

/* Ends the script gp (written to path), renders it and lists the plot for the HTML page. */
static int plot_finish(rep_ctx *c, const char *dir, FILE *gp, const char *path, const char *name,
                       const char *title) {
    gp_end(gp, name);
    if (rep_close(c, gp, path)) return -1;
    char script[200];
    snprintf(script, sizeof script, "%s.gp", name);
    if (run_gnuplot(c, dir, script)) return -1;
    rep_plot_list *pl = &c->plots;
    if (pl->n < REP_MAX_PLOTS) {
        snprintf(pl->names[pl->n], sizeof pl->names[0], "%s", name);
        snprintf(pl->titles[pl->n], sizeof pl->titles[0], "%s", title);
        pl->n++;
    }
    return 0;
}

/* ---- accuracy versus retention -------------------------------------------------------------- */

static int cmp_run_retention(const void *a, const void *b) {
    const rep_run *x = *(const rep_run *const *)a, *y = *(const rep_run *const *)b;
    return (x->s->mean_retention > y->s->mean_retention) - (x->s->mean_retention < y->s->mean_retention);
}

/* The points of one curve: selected non-reference runs of (model, bench, method) with an accuracy
 * and a realised retention. */
static int accuracy_point(const rep_run *r, const char *model, const char *bench) {
    return r->selected && !r->reference && !strcmp(r->s->model, model) && !strcmp(r->s->benchmark, bench) &&
           !isnan(r->acc) && !isnan(r->s->mean_retention);
}

/* One plot per (model, benchmark). */
static int plot_accuracy(rep_ctx *c, const char *dir, const char *model, const char *bench) {
    char base[200], name[160], path[1400], title[512];
    safe_name(base, sizeof base, model);
    snprintf(name, sizeof name, "acc_%.60s_%.40s", base, bench);
    const rep_run **sel = malloc((c->n_runs + 1) * sizeof *sel);
    const char **methods = malloc((c->n_runs + 1) * sizeof *methods);
    if (!sel || !methods) {
        free(sel), free(methods);
        return rep_fail(c, "out of memory");
    }
    int n_methods = 0;
    const rep_run *ref = NULL; /* the reference run drawn as a line: first in method order */
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (!r->selected || strcmp(r->s->model, model) || strcmp(r->s->benchmark, bench) || isnan(r->acc)) continue;
        if (r->reference) {
            if (!ref || rep_cmp_method(c, r->s->method, ref->s->method) < 0) ref = r;
            continue;
        }
        if (!accuracy_point(r, model, bench)) continue;
        int seen = 0;
        for (int k = 0; k < n_methods; k++) seen |= !strcmp(methods[k], r->s->method);
        if (!seen) methods[n_methods++] = r->s->method;
    }
    int rc = 0;
    double x_max = 0.0;
    if (n_methods == 0) goto done;
    /* method order as in the tables */
    for (int i = 1; i < n_methods; i++) {
        const char *x = methods[i];
        int j = i;
        for (; j > 0 && rep_cmp_method(c, methods[j - 1], x) > 0; j--) methods[j] = methods[j - 1];
        methods[j] = x;
    }
    rc = -1;
    FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
    if (!dat) goto done;
    for (int k = 0; k < n_methods; k++) {
        size_t n = 0;
        for (size_t i = 0; i < c->n_runs; i++)
            if (accuracy_point(&c->runs[i], model, bench) && !strcmp(c->runs[i].s->method, methods[k]))
                sel[n++] = &c->runs[i];
        qsort(sel, n, sizeof *sel, cmp_run_retention);
        fprintf(dat, "# %s: retention accuracy ci_lo ci_hi (95 %% bootstrap, clustered by video)\n", methods[k]);
        for (size_t j = 0; j < n; j++) {
            const rep_run *r = sel[j];
            fprintf(dat, "%.6f %.4f %.4f %.4f\n", r->s->mean_retention, r->acc, isnan(r->ci_lo) ? r->acc : r->ci_lo,
                    isnan(r->ci_hi) ? r->acc : r->ci_hi);
            if (r->s->mean_retention > x_max) x_max = r->s->mean_retention;
        }
        fputs("\n\n", dat);
    }
    if (rep_close(c, dat, path)) goto done;
    FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
    if (!gp) goto done;
    snprintf(title, sizeof title, "%s on %s: accuracy vs equivalent retention", model, bench);
    gp_begin(gp, name, title, "equivalent retention (realised, mean over layers)", "accuracy (%)");
    /* Accuracy runs from 0 to 100 so that curves of different reports compare by eye; each
     * method's 95 % CI is a translucent band in its own colour, the full-token accuracy a
     * dashed black line with its CI as a grey band across the plot. */
    fprintf(gp, "set xrange [0:%.4f]\nset yrange [0:100]\nset style fill transparent solid 0.15 noborder\n",
            x_max > 0 ? x_max * 1.08 : 1.0);
    fputs("plot ", gp);
    if (ref) {
        double lo = isnan(ref->ci_lo) ? ref->acc : ref->ci_lo, hi = isnan(ref->ci_hi) ? ref->acc : ref->ci_hi;
        fprintf(gp, "'+' using 1:(%.4f):(%.4f) with filledcurves lc rgb 'gray40' notitle, ", lo, hi);
    }
    for (int k = 0; k < n_methods; k++)
        fprintf(gp, "'%s.dat' index %d using 1:3:4 with filledcurves lc %d notitle, ", name, k, k + 1);
    for (int k = 0; k < n_methods; k++)
        fprintf(gp, "%s'%s.dat' index %d using 1:2 with linespoints lc %d lw 2 pt 7 title \"%s\"", k ? ", " : "", name,
                k, k + 1, methods[k]);
    if (ref) fprintf(gp, ", %.4f with lines dt 2 lw 2 lc rgb 'black' title \"full tokens (%.1f %%)\"", ref->acc, ref->acc);
    fputc('\n', gp);
    rc = plot_finish(c, dir, gp, path, name, title);
done:
    free(sel), free(methods);
    return rc;
}

/* ---- latency breakdown ---------------------------------------------------------------------- */

/* One bar per (method, ratio) row of a model, averaged over its benchmarks weighted by scored
 * samples. */
static int plot_latency(rep_ctx *c, const char *dir, const char *model) {
    char base[200], name[160], path[1400], title[512];
    safe_name(base, sizeof base, model);
    snprintf(name, sizeof name, "latency_%.80s", base);
    double ref_total = NAN;
    int n_bars = 0;
    FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
    if (!dat) return -1;
    fputs("# label vision prune prefill generate other total speedup\n", dat);
    for (int i = 0; i < c->n_rows; i++) {
        const rep_row *row = &c->rows[i];
        if (strcmp(row->model, model)) continue;
        double ms[DB_N_STAGES] = {0}, w = 0;
        for (size_t j = 0; j < c->n_runs; j++) {
            const rep_run *r = &c->runs[j];
            const db_run_summary *s = r->s;
            if (!r->selected || strcmp(s->model, model) || strcmp(s->method, row->method) ||
                r->reference != row->reference || r->ratio != row->ratio || isnan(s->ms[DB_STAGE_TOTAL]) ||
                s->n_ok == 0)
                continue;
            for (int k = 0; k < DB_N_STAGES; k++) ms[k] += (isnan(s->ms[k]) ? 0 : s->ms[k]) * (double)s->n_ok;
            w += (double)s->n_ok;
        }
        if (w == 0) continue;
        for (int k = 0; k < DB_N_STAGES; k++) ms[k] /= w;
        double other = ms[DB_STAGE_TOTAL] - ms[DB_STAGE_VISION] - ms[DB_STAGE_PRUNE] - ms[DB_STAGE_PREFILL] -
                       ms[DB_STAGE_GENERATE];
        if (other < 0) other = 0;
        if (row->reference && isnan(ref_total)) ref_total = ms[DB_STAGE_TOTAL];
        double speedup = !isnan(ref_total) && ms[DB_STAGE_TOTAL] > 0 ? ref_total / ms[DB_STAGE_TOTAL] : NAN;
        char label[96];
        if (row->reference) snprintf(label, sizeof label, "%s", row->method);
        else snprintf(label, sizeof label, "%s@%g%%", row->method, 100 * row->ratio);
        fprintf(dat, "\"%s\" %.4f %.4f %.4f %.4f %.4f %.4f %.4f\n", label, ms[DB_STAGE_VISION], ms[DB_STAGE_PRUNE],
                ms[DB_STAGE_PREFILL], ms[DB_STAGE_GENERATE], other, ms[DB_STAGE_TOTAL], isnan(speedup) ? 0 : speedup);
        n_bars++;
    }
    if (rep_close(c, dat, path)) return -1;
    if (n_bars == 0) return 0;
    FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
    if (!gp) return -1;
    snprintf(title, sizeof title, "%s: latency per sample (ms) and speed-up over full tokens", model);
    gp_begin(gp, name, title, "method @ equivalent retention", "mean latency per sample (ms)");
    fputs("set style data histograms\nset style histogram rowstacked\nset style fill solid 0.8 border -1\n"
          "set boxwidth 0.7\nset xtics rotate by -40\nset yrange [0:*]\nset offsets 0,0,graph 0.08,0\n", gp);
    fprintf(gp, "plot '%s.dat' using 2:xtic(1) title 'vision', '' using 3 title 'prune', '' using 4 title 'prefill',"
                " '' using 5 title 'generate', '' using 6 title 'other',"
                " '' using 0:7:($8 > 0 ? gprintf('%%.2fx', $8) : '') with labels offset 0,0.8 notitle\n",
            name);
    return plot_finish(c, dir, gp, path, name, title);
}

/* ---- visual tokens per layer ---------------------------------------------------------------- */

/* One plot per (model, ratio block), a curve per method from its first run with counts. */
static int plot_layers(rep_ctx *c, const char *dir, const char *model) {
    const rep_row *rows = c->rows;
    for (int i = 0; i < c->n_rows; i++) {
        if (strcmp(rows[i].model, model) || rows[i].reference) continue;
        if (i > 0 && rows[i - 1].block == rows[i].block && !rows[i - 1].reference) continue;
        /* rows[i] opens a ratio block */
        char base[200], name[160], path[1400], title[512];
        safe_name(base, sizeof base, model);
        snprintf(name, sizeof name, "layers_%.70s_r%g", base, 100 * rows[i].ratio);
        FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
        if (!dat) return -1;
        const char *titles[64];
        int n_curves = 0;
        for (int j = i; j < c->n_rows && rows[j].block == rows[i].block && n_curves < 64; j++) {
            const rep_run *first = NULL;
            for (size_t k = 0; k < c->n_runs && !first; k++) {
                const rep_run *r = &c->runs[k];
                if (r->selected && !r->reference && !strcmp(r->s->model, model) &&
                    !strcmp(r->s->method, rows[j].method) && r->ratio == rows[j].ratio && r->s->n_layers > 0)
                    first = r;
            }
            if (!first) continue;
            fprintf(dat, "# %s\n", rows[j].method);
            for (int l = 0; l < first->s->n_layers; l++) fprintf(dat, "%d %.3f\n", l, first->s->visual_per_layer[l]);
            fputs("\n\n", dat);
            titles[n_curves++] = rows[j].method;
        }
        if (rep_close(c, dat, path)) return -1;
        if (n_curves == 0) continue;
        FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
        if (!gp) return -1;
        snprintf(title, sizeof title, "%s at %g%% equivalent retention: visual tokens per LLM layer", model,
                 100 * rows[i].ratio);
        gp_begin(gp, name, title, "LLM layer", "visual tokens (mean over samples)");
        fputs("set yrange [0:*]\nplot ", gp);
        for (int k = 0; k < n_curves; k++)
            fprintf(gp, "%s'%s.dat' index %d using 1:2 with steps lw 2 title \"%s\"", k ? ", " : "", name, k,
                    titles[k]);
        fputc('\n', gp);
        if (plot_finish(c, dir, gp, path, name, title)) return -1;
    }
    return 0;
}

/* ---- a swept parameter (the paper's Figure 8 layout) ----------------------------------------- */

/* One plot per sweep (rep_sweep, report_paper.c): Avg. and each benchmark's accuracy against the
 * parameter's value. */
static int plot_sweep(rep_ctx *c, const char *dir, const rep_sweep *w, int idx) {
    char base[200], name[160], path[1400], title[512];
    safe_name(base, sizeof base, w->model);
    snprintf(name, sizeof name, "sweep_%.60s_%.30s_%d", base, w->key, idx);
    FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
    if (!dat) return -1;
    fputs("# Avg.\n", dat);
    for (int i = 0; i < w->n; i++)
        if (!isnan(w->avg[i])) fprintf(dat, "%.10g %.4f\n", w->x[i], w->avg[i]);
    fputs("\n\n", dat);
    int n_curves = 1;
    const char *titles[REP_MAX_COLS + 1] = {"Avg."};
    for (int k = 0; k < c->n_cols; k++) {
        fprintf(dat, "# %s\n", c->cols[k].label);
        for (int i = 0; i < w->n; i++)
            if (!isnan(w->v[i][k])) fprintf(dat, "%.10g %.4f\n", w->x[i], w->v[i][k]);
        fputs("\n\n", dat);
        titles[n_curves++] = c->cols[k].label;
    }
    if (rep_close(c, dat, path)) return -1;
    FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
    if (!gp) return -1;
    snprintf(title, sizeof title, "%s at %g%% equivalent retention: accuracy vs %s", w->model, 100 * w->ratio, w->key);
    gp_begin(gp, name, title, w->key, "accuracy (%)");
    fputs("plot ", gp);
    for (int k = 0; k < n_curves; k++)
        fprintf(gp, "%s'%s.dat' index %d using 1:2 with linespoints lw %d pt 7 title \"%s\"", k ? ", " : "", name, k,
                k ? 1 : 3, titles[k]);
    fputc('\n', gp);
    return plot_finish(c, dir, gp, path, name, title);
}

/* ---- accuracy against the frame count (the paper's Figure 6 layout) ------------------------- */

/* Per benchmark, when some method (or label) ran at two or more frame counts (models that differ
 * in frames): accuracy against frames, a curve per method, the full-token runs included. */
static int plot_frames(rep_ctx *c, const char *dir, const char *bench) {
    const char *methods[64];
    int n_methods = 0, multi = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        const rep_run *r = &c->runs[i];
        if (!r->selected || strcmp(r->s->benchmark, bench) || isnan(r->acc) || !rep_run_frames(r)) continue;
        int seen = 0;
        for (int k = 0; k < n_methods; k++) seen |= !strcmp(methods[k], r->s->method);
        if (!seen && n_methods < 64) methods[n_methods++] = r->s->method;
        for (size_t j = 0; j < c->n_runs; j++)
            multi |= c->runs[j].selected && !strcmp(c->runs[j].s->benchmark, bench) &&
                     !strcmp(c->runs[j].s->method, r->s->method) && rep_run_frames(&c->runs[j]) != rep_run_frames(r);
    }
    if (!multi) return 0;
    char name[160], path[1400], title[512];
    snprintf(name, sizeof name, "frames_%.60s", bench);
    FILE *dat = open_plot_file(c, dir, name, "dat", path, sizeof path);
    if (!dat) return -1;
    for (int k = 0; k < n_methods; k++) {
        fprintf(dat, "# %s\n", methods[k]);
        /* ascending frames; one point per frame count (the first selected run) */
        int last = 0;
        for (;;) {
            int best = 0;
            const rep_run *pick = NULL;
            for (size_t i = 0; i < c->n_runs; i++) {
                const rep_run *r = &c->runs[i];
                int fr = rep_run_frames(r);
                if (!r->selected || strcmp(r->s->benchmark, bench) || strcmp(r->s->method, methods[k]) ||
                    isnan(r->acc) || fr <= last || (best && fr >= best))
                    continue;
                best = fr;
                pick = r;
            }
            if (!pick) break;
            fprintf(dat, "%d %.4f %.4f\n", best, pick->acc, pick->s->mean_retention);
            last = best;
        }
        fputs("\n\n", dat);
    }
    if (rep_close(c, dat, path)) return -1;
    FILE *gp = open_plot_file(c, dir, name, "gp", path, sizeof path);
    if (!gp) return -1;
    snprintf(title, sizeof title, "%s: accuracy vs frames per video", bench);
    gp_begin(gp, name, title, "frames sampled per video", "accuracy (%)");
    fputs("plot ", gp);
    for (int k = 0; k < n_methods; k++)
        fprintf(gp, "%s'%s.dat' index %d using 1:2 with linespoints lw 2 pt 7 title \"%s\"", k ? ", " : "", name, k,
                methods[k]);
    fputc('\n', gp);
    return plot_finish(c, dir, gp, path, name, title);
}

/* ---- entry ---------------------------------------------------------------------------------- */

int rep_write_plots(rep_ctx *c) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plots", c->p->out_dir);
    if (mkdir(dir, 0755) && errno != EEXIST) return rep_fail(c, "%s: cannot create: %s", dir, strerror(errno));
    for (int i = 0; i < c->n_rows; i++) {
        if (i > 0 && !strcmp(c->rows[i - 1].model, c->rows[i].model)) continue;
        const char *model = c->rows[i].model;
        for (int k = 0; k < c->n_cols; k++)
            if (c->cols[k].dur < 0 && plot_accuracy(c, dir, model, c->cols[k].bench)) return -1;
        if (plot_latency(c, dir, model) || plot_layers(c, dir, model)) return -1;
    }
    for (int i = 0; i < c->n_sweeps; i++)
        if (plot_sweep(c, dir, &c->sweeps[i], i)) return -1;
    for (int k = 0; k < c->n_cols; k++)
        if (c->cols[k].dur < 0 && plot_frames(c, dir, c->cols[k].bench)) return -1;
    return 0;
}

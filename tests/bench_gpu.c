/* bench_gpu.c - the GPU bench driver (make bench; the lean build's driver that scripts/gpu-check
 * runs): one video sample of a LLaVA-OneVision checkpoint through the engine, at full tokens and
 * with a pruning method at each ratio, the way the harness's session runs it (harness/pipeline.h):
 * vision tower + taps -> prune -> visual block -> prefill -> first token. Per-stage times (mean and
 * sd over the timed repeats, after warm-up runs that are not counted; vision and prefill from the
 * backend's clock: CUDA events on the GPU), achieved TFLOP/s of the vision tower and of the
 * prefill against the backend's own measured matrix-product rate (--gemm-rate: the engine's linear
 * op on 8192^3 in the compute dtype, cuBLASLt on the GPU), the end-to-end speed-up of every ratio
 * over full tokens, and the full-token last-position logits (--logits-out) for the comparison
 * with transformers.
 *
 * Usage: bench_gpu --model DIR --pixels P.npy --ids IDS.npy [--backend cuda|cpu|ref]
 *                  [--dtype auto|fp16|bf16|fp32] [--method tango] [--ratios 0.1,0.15,0.2]
 *                  [--reps 3] [--warmup 1] [--gemm-rate] [--gemm-n 8192] [--logits-out F.npy]
 *                  [--json F.json]
 *        bench_gpu --gemm-rate-only [--gemm-n N] [--backend ..] [--dtype ..]
 *   P.npy: [T, 3, S, S] float32 normalised frames; IDS.npy: int64 prompt ids with one -200.
 * Without --model (make bench) it prints a TB-SKIP line naming what it needs and exits 0; with
 * --backend cuda and no device, the same. Exit 1 on an engine error, 2 on bad arguments.
 *
 * FLOPs (multiply-add = 2): vision per frame: patch embed 2 P 3p^2 Dv, per layer
 * 2 P (4 Dv^2 + 2 Dv Mv) + 4 P^2 Dv, projector 2 P (Dv D + D^2), SigLIP head k/v 2 P 2 Dv^2;
 * prefill: eng_llm_layer_flops per layer at the tokens it ran, plus 2 D V for the last row's
 * logits. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "engine/engine.h"
#include "engine/kernels.h"
#include "engine/llm.h"
#include "harness/npy.h"
#include "harness/pipeline.h"
#include "harness/registry.h"
#include "tango/pruner.h"

#define MAX_RATIOS 8
#define MAX_REPS 32

typedef struct {
    const char *model, *pixels, *ids, *method, *logits_out, *json;
    eng_backend_kind backend;
    eng_compute_dtype dtype;
    double ratios[MAX_RATIOS];
    int n_ratios, reps, warmup, gemm_rate, gemm_only;
    int64_t gemm_n; /* side of the square product of --gemm-rate (8192) */
} bench_args;

typedef struct {
    double vision[MAX_REPS], prune[MAX_REPS], prefill[MAX_REPS], total[MAX_REPS];
    int n;
    int64_t n_tokens, n_visual, first_token;
    double prefill_flops, retention;
} bench_row;

static void mean_sd(const double *v, int n, double *mean, double *sd) {
    double s = 0.0, q = 0.0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = n ? s / n : 0.0;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0.0;
}

static int usage(const char *msg) {
    fprintf(stderr, "bench_gpu: %s\nusage: bench_gpu --model DIR --pixels P.npy --ids IDS.npy [--backend cuda|cpu|ref] "
                    "[--dtype auto|fp16|bf16|fp32] [--method M] [--ratios R,R,..] [--reps N] [--warmup N] "
                    "[--gemm-rate] [--gemm-n N] [--logits-out F.npy] [--json F.json] | --gemm-rate-only\n", msg);
    return 2;
}

static int parse_args(int argc, char **argv, bench_args *a) {
    memset(a, 0, sizeof *a);
    a->backend = ENG_BACKEND_CUDA;
    a->dtype = ENG_COMPUTE_AUTO;
    a->method = "tango";
    a->ratios[0] = 0.10, a->ratios[1] = 0.15, a->ratios[2] = 0.20;
    a->n_ratios = 3;
    a->reps = 3;
    a->warmup = 1;
    a->gemm_n = 8192;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!strcmp(o, "--gemm-rate")) a->gemm_rate = 1;
        else if (!strcmp(o, "--gemm-rate-only")) a->gemm_rate = a->gemm_only = 1;
        else if (!v) return usage("an option lacks its value");
        else if (i++, !strcmp(o, "--model")) a->model = v;
        else if (!strcmp(o, "--pixels")) a->pixels = v;
        else if (!strcmp(o, "--ids")) a->ids = v;
        else if (!strcmp(o, "--method")) a->method = v;
        else if (!strcmp(o, "--logits-out")) a->logits_out = v;
        else if (!strcmp(o, "--json")) a->json = v;
        else if (!strcmp(o, "--backend")) {
            if (eng_backend_parse(v, &a->backend)) return usage("--backend must be cuda, cpu or ref");
        } else if (!strcmp(o, "--dtype")) {
            if (eng_compute_dtype_parse(v, &a->dtype)) return usage("--dtype must be auto, fp16, bf16 or fp32");
        } else if (!strcmp(o, "--gemm-n")) {
            long n = strtol(v, &end, 10);
            if (*end || n < 16 || n > 65536) return usage("--gemm-n 16..65536");
            a->gemm_n = n;
        } else if (!strcmp(o, "--reps") || !strcmp(o, "--warmup")) {
            long n = strtol(v, &end, 10);
            if (*end || n < (o[2] == 'r' ? 1 : 0) || n > MAX_REPS) return usage("--reps 1..32, --warmup 0..32");
            if (o[2] == 'r') a->reps = (int)n;
            else a->warmup = (int)n;
        } else if (!strcmp(o, "--ratios")) {
            a->n_ratios = 0;
            if (strcmp(v, "none") != 0)
                for (const char *p = v; *p;) {
                    double r = strtod(p, &end);
                    if (end == p || !(r > 0.0 && r <= 1.0) || a->n_ratios == MAX_RATIOS)
                        return usage("--ratios: up to 8 comma-separated values in (0, 1], or none");
                    a->ratios[a->n_ratios++] = r;
                    p = *end == ',' ? end + 1 : end;
                    if (*end && *end != ',') return usage("--ratios: comma-separated numbers");
                }
        } else {
            return usage("unknown option");
        }
    }
    return 0;
}

/* The engine's matrix-product rate in its compute dtype: linear on x [n, k] and W [m, k]. */
static int gemm_rate(const bench_args *a, int64_t n, int64_t k, int64_t m, double *tflops, char *err, size_t err_len) {
    eng_backend be;
    if (eng_backend_init_dtype(&be, a->backend, a->dtype, err, err_len)) return -1;
    int rc = -1;
    float *hw = malloc((size_t)(m * k) * sizeof *hw), *hx = malloc((size_t)(n * k) * sizeof *hx);
    eng_act *x = NULL, *y = NULL;
    eng_weight w;
    memset(&w, 0, sizeof w);
    if (!hw || !hx) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < m * k; i++) hw[i] = (float)((i * 7919) % 1000) * 1e-5f - 5e-3f;
    for (int64_t i = 0; i < n * k; i++) hx[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    eng_wdesc d = {.dtype = ENG_DT_F32, .rows = m, .cols = k, .host = hw, .owned = NULL};
    x = be.k->act_alloc(&be, (size_t)(n * k));
    y = be.k->act_alloc(&be, (size_t)(n * m));
    if (!x || !y || be.k->weight_init(&be, &w, &d) || be.k->act_upload(&be, x, hx, (size_t)(n * k))) goto fail;
    for (int i = 0; i < 2; i++)
        if (be.k->linear(&be, y, x, &w, NULL, n)) goto fail; /* warm-up: heuristics, clocks */
    eng_tick t0, t1;
    const int reps = 10;
    if (be.k->tick(&be, &t0)) goto fail;
    for (int i = 0; i < reps; i++)
        if (be.k->linear(&be, y, x, &w, NULL, n)) goto fail;
    if (be.k->tick(&be, &t1)) goto fail;
    double s;
    if (be.k->tick_elapsed(&be, &t0, &t1, &s)) goto fail;
    *tflops = 2.0 * (double)n * (double)k * (double)m * reps / s * 1e-12;
    rc = 0;
    goto out;
fail:
    snprintf(err, err_len, "gemm rate: %s", be.err);
out:
    be.k->weight_free(&be, &w);
    be.k->act_free(&be, x);
    be.k->act_free(&be, y);
    free(hw);
    free(hx);
    eng_backend_fini(&be);
    return rc;
}

static double vision_flops(const eng_vision_info *vi, int64_t T) {
    double P = vi->n_patches, Dv = vi->d_vision, D = vi->d_model, p = vi->patch_size, Mv = 0;
    Mv = vi->intermediate;
    double per_frame = 2 * P * 3 * p * p * Dv + vi->n_layers * (2 * P * (4 * Dv * Dv + 2 * Dv * Mv) + 4 * P * P * Dv) +
                       2 * P * (Dv * D + D * D) + (vi->has_head ? 2 * P * 2 * Dv * Dv : 0.0);
    return per_frame * (double)T;
}

int main(int argc, char **argv) {
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    char err[1024];
    if (!a.gemm_only && (!a.model || !a.pixels || !a.ids)) {
        printf("TB-SKIP: bench_gpu: needs --model DIR --pixels P.npy --ids IDS.npy (scripts/gpu-check writes them)\n");
        return 0;
    }
    {
        eng_backend probe;
        if (eng_backend_init_dtype(&probe, a.backend, a.dtype, err, sizeof err)) {
            if (a.backend == ENG_BACKEND_CUDA) {
                printf("TB-SKIP: bench_gpu: %s\n", err);
                return 0;
            }
            fprintf(stderr, "bench_gpu: %s\n", err);
            return 1;
        }
        printf("bench_gpu: backend %s, dtype %s (%s)\n", probe.k->name, eng_compute_dtype_name(probe.dtype),
               probe.k->describe ? probe.k->describe(&probe) : "host");
        eng_backend_fini(&probe);
    }
    double rate = 0.0;
    if (a.gemm_rate) {
        if (gemm_rate(&a, a.gemm_n, a.gemm_n, a.gemm_n, &rate, err, sizeof err)) {
            fprintf(stderr, "bench_gpu: %s\n", err);
            return 1;
        }
        printf("gemm-rate: %.3f TFLOP/s (linear %lldx%lldx%lld in %s)\n", rate, (long long)a.gemm_n,
               (long long)a.gemm_n, (long long)a.gemm_n,
               a.dtype == ENG_COMPUTE_AUTO ? "the default dtype" : eng_compute_dtype_name(a.dtype));
        if (a.gemm_only) return 0;
    }

    npy_array pix = {0}, ids = {0};
    eng_model *vm = NULL;
    eng_llm *lm = NULL;
    eng_llm_state *st = NULL;
    float *logits_full = NULL;
    bench_row rows[1 + MAX_RATIOS];
    memset(rows, 0, sizeof rows);
    rc = 1;
    if (npy_read(a.pixels, NPY_F32, &pix, err, sizeof err) || npy_read(a.ids, NPY_I64, &ids, err, sizeof err)) goto fail;
    if (pix.ndim != 4 || pix.shape[1] != 3 || ids.ndim != 1) {
        snprintf(err, sizeof err, "%s must be [T, 3, S, S] and %s 1-D", a.pixels, a.ids);
        goto fail;
    }
    const int64_t T = pix.shape[0], *id = ids.data;
    int64_t ph = -1;
    for (int64_t i = 0; i < (int64_t)ids.numel; i++)
        if (id[i] == ENG_LLM_IMAGE_PLACEHOLDER) ph = i;
    if (ph < 0) {
        snprintf(err, sizeof err, "%s has no -200 placeholder", a.ids);
        goto fail;
    }
    const tg_method *method = reg_method_find(a.method), *full = reg_method_find("full");
    if (!method || !full) {
        snprintf(err, sizeof err, "unknown method %s", a.method);
        goto fail;
    }
    double t_load = tb_now_s();
    eng_model_params mp = eng_model_default_params();
    mp.backend = a.backend;
    mp.dtype = a.dtype;
    if (!(vm = eng_model_load(a.model, &mp, err, sizeof err))) goto fail;
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = a.backend;
    lp.dtype = a.dtype;
    if (!(lm = eng_llm_load(a.model, &lp, err, sizeof err))) goto fail;
    t_load = tb_now_s() - t_load;
    eng_vision_info vi;
    eng_llm_info li;
    eng_model_vision_info(vm, &vi);
    eng_llm_get_info(lm, &li);
    tg_model_layout lay;
    if (run_model_layout(&li, TB_FAMILY_LLAVA_OV, &lay, err, sizeof err)) goto fail;
    int64_t n_ctx = (int64_t)ids.numel + T * vi.grid * vi.grid + 64;
    if (!(st = eng_llm_state_init(lm, n_ctx, err, sizeof err))) goto fail;
    printf("model: %s: vision %d layers d %d, LLM %d layers d %d, %s %s, loaded in %.1f s\n", a.model, vi.n_layers,
           vi.d_vision, li.n_layers, li.hidden, li.backend, li.dtype, t_load);
    float *ts = malloc((size_t)T * sizeof *ts);
    if (!ts) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (int64_t t = 0; t < T; t++) ts[t] = (float)t; /* one frame per second */
    const double vflops = vision_flops(&vi, T);

    for (int cfg = 0; cfg <= a.n_ratios; cfg++) {
        const tg_method *m = cfg == 0 ? full : method;
        double ratio = cfg == 0 ? 1.0 : a.ratios[cfg - 1];
        bench_row *r = &rows[cfg];
        for (int it = 0; it < a.warmup + a.reps; it++) {
            eng_encode_params ep = eng_encode_default_params();
            ep.keep_hidden = ep.keep_projected = 0;
            ep.frames_per_batch = (int)T; /* one pass: the device holds every frame */
            eng_vision_out vo;
            if (eng_vision_encode(vm, pix.data, T, &ep, &vo, err, sizeof err)) goto fail_ts;
            tg_prune_input in = run_prune_input(&vo, &lay, m, ts, ratio, 0);
            tg_prune_output po = {0};
            double tp = tb_now_s();
            if (m->run(&in, &po, err, sizeof err) != TG_OK) {
                eng_vision_out_free(&vo);
                goto fail_ts;
            }
            tp = tb_now_s() - tp;
            float *block = NULL;
            int64_t *pos = NULL;
            int vb = run_visual_block(&po, eng_llm_image_newline(lm), &block, err, sizeof err);
            if (!vb && run_visual_positions(&po, ph, (int64_t)ids.numel, &pos)) {
                snprintf(err, sizeof err, "out of memory for the positions");
                vb = -1;
            }
            if (vb) {
                free(block);
                free(pos);
                tg_prune_output_free(&po);
                eng_vision_out_free(&vo);
                goto fail_ts;
            }
            eng_llm_prefill_params fp = eng_llm_prefill_default_params();
            fp.ids = id;
            fp.n_ids = (int64_t)ids.numel;
            fp.visual = block;
            fp.n_visual = po.n_seq;
            fp.pos = pos;
            fp.plan = po.plan.layer > 0 ? &po.plan : NULL;
            eng_llm_prefill_out pf;
            int prc = eng_llm_prefill(st, &fp, &pf, err, sizeof err);
            free(block);
            free(pos);
            if (prc == ENG_OK && it >= a.warmup) {
                int k = it - a.warmup;
                r->vision[k] = 1e3 * vo.seconds;
                r->prune[k] = cfg == 0 ? 0.0 : 1e3 * tp; /* full tokens: the control row does nothing */
                r->prefill[k] = 1e3 * pf.seconds;
                r->total[k] = r->vision[k] + r->prune[k] + r->prefill[k];
                r->n = k + 1;
                r->n_tokens = pf.n_tokens;
                r->n_visual = po.n_seq;
                int64_t best = 0;
                for (int64_t v = 1; v < pf.vocab_out; v++)
                    if (pf.logits[v] > pf.logits[best]) best = v;
                r->first_token = best;
                double fl = 2.0 * li.hidden * (double)pf.vocab_out, vis = 0.0;
                for (int l = 0; l < pf.n_layers; l++) {
                    fl += eng_llm_layer_flops(&li, pf.n_tokens_layer[l]);
                    vis += (double)pf.n_visual_layer[l];
                }
                r->prefill_flops = fl;
                r->retention = po.n_visual_full > 0 ? vis / ((double)pf.n_layers * (double)po.n_visual_full) : 1.0;
                if (cfg == 0 && a.logits_out && !logits_full) {
                    logits_full = malloc((size_t)pf.vocab_out * sizeof *logits_full);
                    if (logits_full) {
                        memcpy(logits_full, pf.logits, (size_t)pf.vocab_out * sizeof *logits_full);
                        int64_t shape[1] = {pf.vocab_out};
                        if (npy_write(a.logits_out, NPY_F32, logits_full, 1, shape, err, sizeof err)) prc = -1;
                    }
                }
            }
            tg_prune_output_free(&po);
            eng_vision_out_free(&vo);
            if (prc != ENG_OK) goto fail_ts;
        }
    }
    free(ts);

    /* report */
    printf("%-12s %7s %7s %17s %15s %17s %17s %10s %9s\n", "config", "tokens", "retain", "vision ms", "prune ms",
           "prefill ms", "total ms", "speedup", "1st tok");
    double full_total, sd;
    mean_sd(rows[0].total, rows[0].n, &full_total, &sd);
    FILE *js = a.json ? fopen(a.json, "w") : NULL;
    if (a.json && !js) {
        snprintf(err, sizeof err, "cannot write %s: %s", a.json, strerror(errno));
        goto fail;
    }
    if (js)
        fprintf(js, "{\n  \"backend\": \"%s\", \"dtype\": \"%s\", \"frames\": %lld, \"reps\": %d, \"warmup\": %d,\n"
                    "  \"load_s\": %.3f, \"gemm_rate_tflops\": %.3f, \"vision_flops\": %.6e,\n  \"runs\": [\n",
                li.backend, li.dtype, (long long)T, a.reps, a.warmup, t_load, rate, vflops);
    for (int cfg = 0; cfg <= a.n_ratios; cfg++) {
        bench_row *r = &rows[cfg];
        double mv, sv, mp_, sp, mf, sf, mt, stt;
        mean_sd(r->vision, r->n, &mv, &sv);
        mean_sd(r->prune, r->n, &mp_, &sp);
        mean_sd(r->prefill, r->n, &mf, &sf);
        mean_sd(r->total, r->n, &mt, &stt);
        char name[32];
        if (cfg == 0) snprintf(name, sizeof name, "full");
        else snprintf(name, sizeof name, "%s@%.2f", a.method, a.ratios[cfg - 1]);
        printf("%-12s %7lld %7.4f %9.2f +- %5.2f %7.2f +- %5.2f %9.2f +- %5.2f %9.2f +- %5.2f %9.2fx %9lld\n", name,
               (long long)r->n_tokens, r->retention, mv, sv, mp_, sp, mf, sf, mt, stt, full_total / mt,
               (long long)r->first_token);
        double vt = vflops / (mv * 1e-3) * 1e-12, pt = r->prefill_flops / (mf * 1e-3) * 1e-12;
        if (cfg == 0)
            printf("  vision %.2f TFLOP/s%s, prefill %.2f TFLOP/s%s (%.3g TFLOP over %lld tokens)\n", vt,
                   rate > 0 ? "" : "", pt, "", r->prefill_flops * 1e-12, (long long)r->n_tokens);
        if (cfg == 0 && rate > 0)
            printf("  of the measured matrix rate %.1f TFLOP/s: vision %.1f %%, prefill %.1f %%\n", rate,
                   100.0 * vt / rate, 100.0 * pt / rate);
        if (js)
            fprintf(js, "    {\"config\": \"%s\", \"ratio\": %.4f, \"n_tokens\": %lld, \"n_visual\": %lld, "
                        "\"retention\": %.5f,\n     \"vision_ms\": %.4f, \"vision_ms_sd\": %.4f, \"prune_ms\": %.4f, "
                        "\"prune_ms_sd\": %.4f, \"prefill_ms\": %.4f, \"prefill_ms_sd\": %.4f,\n     \"total_ms\": %.4f, "
                        "\"total_ms_sd\": %.4f, \"prefill_flops\": %.6e, \"vision_tflops\": %.4f, "
                        "\"prefill_tflops\": %.4f, \"speedup\": %.4f, \"first_token\": %lld}%s\n",
                    name, cfg == 0 ? 1.0 : a.ratios[cfg - 1], (long long)r->n_tokens, (long long)r->n_visual,
                    r->retention, mv, sv, mp_, sp, mf, sf, mt, stt, r->prefill_flops, vt, pt, full_total / mt,
                    (long long)r->first_token, cfg < a.n_ratios ? "," : "");
    }
    if (js) {
        fprintf(js, "  ]\n}\n");
        fclose(js);
    }
    rc = 0;
    goto out;
fail_ts:
    free(ts);
fail:
    fprintf(stderr, "bench_gpu: %s\n", err);
out:
    free(logits_full);
    eng_llm_state_free(st);
    eng_llm_free(lm);
    eng_model_free(vm);
    npy_free(&pix);
    npy_free(&ids);
    return rc;
}

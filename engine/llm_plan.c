/* llm_plan.c - the in-LLM plan executor (common/llm_plan.h): between layers K-1 and K of a
 * prefill it selects the visual rows to keep, merges the dropped ones into them and gathers the
 * shortened sequence. The bookkeeping runs on the host on a downloaded copy of the residual
 * stream; the merge similarities are one backend matmul per chunk, so the executor works
 * unchanged on every backend. eng_llm_plan_apply runs the same selection and merge code on one
 * span outside a forward pass (the fold cross-check tests it against an independent reference).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/llm_internal.h"

#define fail eng_llm_fail

/* ---- selection ------------------------------------------------------------------------------ */

typedef struct {
    float score;
    int64_t idx;
} scored;

/* descending score, ties to the lower index */
static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The rules of a plan that do not depend on the sequence. */
static int plan_rules_check(const tb_llm_plan *p, int64_t span_len, char *err, size_t err_len) {
    if (p->select != TB_PLAN_SELECT_LAST_QUERY && p->select != TB_PLAN_SELECT_INDICES &&
        p->select != TB_PLAN_SELECT_ALL_QUERIES)
        return fail(err, err_len, ENG_ERR_ARG, "plan: unknown selection rule %d", (int)p->select);
    if (p->merge != TB_PLAN_MERGE_NONE && p->merge != TB_PLAN_MERGE_PAIRWISE && p->merge != TB_PLAN_MERGE_WEIGHTED)
        return fail(err, err_len, ENG_ERR_ARG, "plan: unknown merge rule %d", (int)p->merge);
    if (p->pos != TB_PLAN_POS_KEEP && p->pos != TB_PLAN_POS_RENUMBER)
        return fail(err, err_len, ENG_ERR_ARG, "plan: unknown position policy %d", (int)p->pos);
    if (p->keep_round != TB_ROUND_HALF_EVEN && p->keep_round != TB_ROUND_FLOOR && p->keep_round != TB_ROUND_CEIL)
        return fail(err, err_len, ENG_ERR_ARG, "plan: unknown rounding %d", (int)p->keep_round);
    if (!(p->merge_weight >= 0.0 && p->merge_weight <= 1.0))
        return fail(err, err_len, ENG_ERR_ARG, "plan: merge weight %g outside [0, 1]", p->merge_weight);
    if (!(p->merge_pool_weight < 0.0 || p->merge_pool_weight <= 1.0))
        return fail(err, err_len, ENG_ERR_ARG, "plan: pool weight %g above 1", p->merge_pool_weight);
    if (p->keep_count < 0 || !(p->keep_ratio >= 0.0 && p->keep_ratio <= 1.0))
        return fail(err, err_len, ENG_ERR_ARG, "plan: keep count %lld / ratio %g invalid", (long long)p->keep_count,
                    p->keep_ratio);
    if (p->select == TB_PLAN_SELECT_INDICES) {
        if (p->n_keep_idx < 0 || (p->n_keep_idx > 0 && !p->keep_idx))
            return fail(err, err_len, ENG_ERR_ARG, "plan: keep indices missing");
        if (p->n_keep_idx > span_len)
            return fail(err, err_len, ENG_ERR_ARG, "plan: %lld keep indices for a span of %lld",
                        (long long)p->n_keep_idx, (long long)span_len);
        for (int64_t i = 0; i < p->n_keep_idx; i++)
            if (p->keep_idx[i] < 0 || p->keep_idx[i] >= span_len)
                return fail(err, err_len, ENG_ERR_ARG, "plan: keep index %lld outside the span 0..%lld",
                            (long long)p->keep_idx[i], (long long)span_len - 1);
    }
    return ENG_OK;
}

int eng_llm_plan_check(const eng_llm *m, const tb_llm_plan *p, int64_t N, int64_t span_start, int64_t span_len,
                       char *err, size_t err_len) {
    if (p->layer < 1 || p->layer >= m->L)
        return fail(err, err_len, ENG_ERR_ARG, "plan: layer %d outside 1..%d", p->layer, m->L - 1);
    if (span_start < 0 || span_len < 0 || span_start + span_len > N)
        return fail(err, err_len, ENG_ERR_ARG, "plan: span [%lld, +%lld) outside the sequence of %lld",
                    (long long)span_start, (long long)span_len, (long long)N);
    return plan_rules_check(p, span_len, err, err_len);
}

/* Scratch of one selection + merge over a span of vl rows (host arrays of vl entries, backend
 * buffers pn [vl, D] and sim [SIM_CHUNK, vl], host hsim [SIM_CHUNK, vl]). */
typedef struct {
    eng_backend *be;
    uint8_t *mark;   /* 0 dropped candidate, 1 selected, 2 protected */
    int64_t *sel;    /* keep order */
    int64_t *drop;   /* dropped rows, ascending */
    int64_t *assign; /* target (position in sel) of each dropped row */
    float *pn, *sim, *hsim;
} plan_scratch;

/* Assigns every dropped span row to its most cosine-similar kept row (first maximum in keep
 * order), on unit-normalised rows: sim[nd, nk] = pd[nd, D] . pk[nk, D]^T through the backend. */
static int merge_assign(plan_scratch *w, const float *hs, int64_t D, int64_t nk, int64_t nd, char *err,
                        size_t err_len) {
    eng_backend *be = w->be;
    /* pn[0, nk) = normalised kept rows (keep order), pn[nk, nk + nd) = normalised dropped rows */
    float *buf = malloc((size_t)(nk > nd ? nk : nd) * (size_t)D * sizeof(float));
    if (!buf) return fail(err, err_len, ENG_ERR_NOMEM, "plan: out of memory");
    for (int pass = 0; pass < 2; pass++) {
        int64_t cnt = pass == 0 ? nk : nd;
        const int64_t *ix = pass == 0 ? w->sel : w->drop;
        for (int64_t i = 0; i < cnt; i++) {
            const float *h = hs + ix[i] * D;
            double ss = 0.0;
            for (int64_t j = 0; j < D; j++) ss += (double)h[j] * h[j];
            double nrm = sqrt(ss);
            float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
            for (int64_t j = 0; j < D; j++) buf[i * D + j] = h[j] * inv;
        }
        if (be->k->upload(be, w->pn + (pass == 0 ? 0 : nk * D), buf, (size_t)(cnt * D)) != 0) {
            free(buf);
            return fail(err, err_len, ENG_ERR_BACKEND, "plan: upload: %s", be->err);
        }
    }
    free(buf);
    for (int64_t r0 = 0; r0 < nd; r0 += SIM_CHUNK) {
        int64_t nr = nd - r0 < SIM_CHUNK ? nd - r0 : SIM_CHUNK;
        if (be->k->matmul(be, w->sim, w->pn + (nk + r0) * D, w->pn, NULL, nr, D, nk) != 0 ||
            be->k->download(be, w->hsim, w->sim, (size_t)(nr * nk)) != 0)
            return fail(err, err_len, ENG_ERR_BACKEND, "plan: similarity: %s", be->err);
        for (int64_t r = 0; r < nr; r++) {
            const float *row = w->hsim + r * nk;
            int64_t best = 0;
            for (int64_t t = 1; t < nk; t++)
                if (row[t] > row[best]) best = t;
            w->assign[r0 + r] = best;
        }
    }
    return ENG_OK;
}

/* Selection and merge on one span: score[vl] (span-relative), hs[vl, D] host rows (merged in
 * place). Fills kept[0..*n_kept) with the selected and protected rows, ascending. */
static int select_merge(plan_scratch *w, const tb_llm_plan *p, const float *score, float *hs, int64_t vl,
                        int64_t D, int64_t *kept, int64_t *n_kept, char *err, size_t err_len) {
    int64_t nk, n_prot = 0;
    memset(w->mark, 0, (size_t)vl);
    if (p->protect)
        for (int64_t i = 0; i < vl; i++)
            if (p->protect[i]) {
                w->mark[i] = 2;
                n_prot++;
            }
    if (p->select == TB_PLAN_SELECT_INDICES) {
        nk = p->n_keep_idx;
        for (int64_t i = 0; i < nk; i++) {
            if (w->mark[p->keep_idx[i]])
                return fail(err, err_len, ENG_ERR_ARG, "plan: keep index %lld repeated or protected",
                            (long long)p->keep_idx[i]);
            w->mark[p->keep_idx[i]] = 1;
            w->sel[i] = p->keep_idx[i];
        }
    } else {
        int64_t nc = vl - n_prot;
        nk = tb_plan_keep_count(p, nc);
        scored *sc = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *sc);
        if (!sc) return fail(err, err_len, ENG_ERR_NOMEM, "plan: out of memory");
        int64_t c = 0;
        for (int64_t i = 0; i < vl; i++) {
            if (w->mark[i]) continue;
            sc[c].score = score[i];
            sc[c].idx = i;
            c++;
        }
        qsort(sc, (size_t)nc, sizeof *sc, cmp_scored);
        for (int64_t i = 0; i < nk; i++) {
            w->sel[i] = sc[i].idx;
            w->mark[w->sel[i]] = 1;
        }
        free(sc);
    }
    int64_t nd = vl - nk - n_prot;
    if (p->merge != TB_PLAN_MERGE_NONE && nk > 0 && nd > 0) {
        int64_t j = 0;
        for (int64_t i = 0; i < vl; i++)
            if (!w->mark[i]) w->drop[j++] = i;
        int rc = merge_assign(w, hs, D, nk, nd, err, err_len);
        if (rc != ENG_OK) return rc;
        if (p->merge == TB_PLAN_MERGE_PAIRWISE) {
            /* sequential running average, in ascending dropped order */
            for (int64_t i = 0; i < nd; i++) {
                float *ht = hs + w->sel[w->assign[i]] * D;
                const float *hj = hs + w->drop[i] * D;
                for (int64_t c = 0; c < D; c++) ht[c] = (ht[c] + hj[c]) * 0.5f;
            }
        } else {
            /* simultaneous: pooled_t = (h_t + sum h_j) / (1 + cnt); h_t = w h_t + (1 - w) pooled_t */
            double *acc = calloc((size_t)nk * (size_t)D, sizeof *acc);
            int64_t *cnt = calloc((size_t)nk, sizeof *cnt);
            if (!acc || !cnt) {
                free(acc);
                free(cnt);
                return fail(err, err_len, ENG_ERR_NOMEM, "plan: out of memory");
            }
            for (int64_t i = 0; i < nd; i++) {
                const float *hj = hs + w->drop[i] * D;
                double *a = acc + w->assign[i] * D;
                for (int64_t c = 0; c < D; c++) a[c] += hj[c];
                cnt[w->assign[i]]++;
            }
            /* float32 weights, as the reference models apply them */
            float wk = (float)p->merge_weight;
            float wp = p->merge_pool_weight < 0.0 ? 1.0f - wk : (float)p->merge_pool_weight;
            for (int64_t t = 0; t < nk; t++) {
                /* every kept token, assigned or not (pooled = h_t then), as the reference does */
                float *ht = hs + w->sel[t] * D;
                const double *a = acc + t * D;
                for (int64_t c = 0; c < D; c++) {
                    float pooled = (float)(((double)ht[c] + a[c]) / (double)(1 + cnt[t]));
                    ht[c] = wk * ht[c] + wp * pooled;
                }
            }
            free(acc);
            free(cnt);
        }
    }
    int64_t j = 0;
    for (int64_t i = 0; i < vl; i++)
        if (w->mark[i]) kept[j++] = i;
    *n_kept = j;
    return ENG_OK;
}

/* ---- inside a prefill ----------------------------------------------------------------------- */

int eng_llm_plan_execute(eng_llm_state *s, const tb_llm_plan *p, const float *tap, int64_t *n_io, int64_t *vs_io,
                         int64_t *vl_io, char *err, size_t err_len) {
    eng_llm *m = s->m;
    eng_backend *be = &m->be;
    int64_t n = *n_io, vs = *vs_io, vl = *vl_io, D = m->D;
    int rc = plan_rules_check(p, vl, err, err_len);
    if (rc != ENG_OK) return rc;
    /* host copy of the stream */
    if (be->k->download(be, s->hx, s->x, (size_t)(n * D)) != 0)
        return fail(err, err_len, ENG_ERR_BACKEND, "plan: download: %s", be->err);
    float *hs = s->hx + vs * D; /* span rows */
    /* s->kept doubles as the dropped-row scratch until the kept list is written at the end */
    plan_scratch w = {be, s->mark, s->sel, s->kept, s->assign, s->pn, s->sim, s->hsim};
    const float *score = (p->select == TB_PLAN_SELECT_ALL_QUERIES ? s->hmean : tap) + vs;
    int64_t *kept = malloc((size_t)(vl > 0 ? vl : 1) * sizeof *kept);
    if (!kept) return fail(err, err_len, ENG_ERR_NOMEM, "plan: out of memory");
    int64_t n_keep_all = 0;
    rc = select_merge(&w, p, score, hs, vl, D, kept, &n_keep_all, err, err_len);
    if (rc != ENG_OK) {
        free(kept);
        return rc;
    }
    memcpy(s->kept, kept, (size_t)n_keep_all * sizeof *kept);
    free(kept);
    /* gather text before, kept span rows, text after (in place, forward) */
    int64_t o = vs;
    for (int64_t i = 0; i < n_keep_all; i++, o++) {
        int64_t src = vs + s->kept[i];
        if (src != o) {
            memmove(s->hx + o * D, s->hx + src * D, (size_t)D * sizeof(float));
            for (int r = 0; r < (s->m->mrope ? 3 : 1); r++) s->pos[r * s->C + o] = s->pos[r * s->C + src];
            s->orig[o] = s->orig[src];
        }
    }
    for (int64_t src = vs + vl; src < n; src++, o++) {
        memmove(s->hx + o * D, s->hx + src * D, (size_t)D * sizeof(float));
        for (int r = 0; r < (s->m->mrope ? 3 : 1); r++) s->pos[r * s->C + o] = s->pos[r * s->C + src];
        s->orig[o] = s->orig[src];
    }
    int64_t n_new = o;
    if (p->pos == TB_PLAN_POS_RENUMBER)
        for (int r = 0; r < (s->m->mrope ? 3 : 1); r++)
            for (int64_t i = 0; i < n_new; i++) s->pos[r * s->C + i] = i;
    if (be->k->upload(be, s->x, s->hx, (size_t)(n_new * D)) != 0)
        return fail(err, err_len, ENG_ERR_BACKEND, "plan: upload: %s", be->err);
    s->n_kept = n_keep_all;
    s->have_plan_kept = 1;
    *n_io = n_new;
    *vl_io = n_keep_all;
    return ENG_OK;
}

/* ---- on one span ---------------------------------------------------------------------------- */

int eng_llm_plan_apply(eng_backend_kind backend, const tb_llm_plan *p, const float *score, float *hidden, int64_t V,
                       int64_t D, int64_t *kept, int64_t *n_kept, char *err, size_t err_len) {
    if (!p || !score || !hidden || !kept || !n_kept || V < 1 || D < 1)
        return fail(err, err_len, ENG_ERR_ARG, "eng_llm_plan_apply: bad arguments");
    int rc = plan_rules_check(p, V, err, err_len);
    if (rc != ENG_OK) return rc;
    eng_backend be;
    if (eng_backend_init(&be, backend, err, err_len) != 0) return ENG_ERR_BACKEND;
    plan_scratch w = {&be, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    w.mark = malloc((size_t)V);
    w.sel = malloc((size_t)V * sizeof *w.sel);
    w.drop = malloc((size_t)V * sizeof *w.drop);
    w.assign = malloc((size_t)V * sizeof *w.assign);
    w.hsim = malloc((size_t)SIM_CHUNK * (size_t)V * sizeof *w.hsim);
    w.pn = be.k->alloc(&be, (size_t)V * (size_t)D);
    w.sim = be.k->alloc(&be, (size_t)SIM_CHUNK * (size_t)V);
    if (!w.mark || !w.sel || !w.drop || !w.assign || !w.hsim || !w.pn || !w.sim)
        rc = fail(err, err_len, ENG_ERR_NOMEM, "eng_llm_plan_apply: out of memory (V=%lld)", (long long)V);
    else
        rc = select_merge(&w, p, score, hidden, V, D, kept, n_kept, err, err_len);
    free(w.mark);
    free(w.sel);
    free(w.drop);
    free(w.assign);
    free(w.hsim);
    be.k->free(&be, w.pn);
    be.k->free(&be, w.sim);
    eng_backend_fini(&be);
    return rc;
}

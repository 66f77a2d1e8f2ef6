/* llm_plan.c - the in-LLM plan executor (common/llm_plan.h): between layers K-1 and K of a
 * prefill it selects the visual rows to keep, merges the dropped ones into them and gathers the
 * shortened sequence. The bookkeeping runs on the host on a downloaded copy of the residual
 * stream; the merge similarities are one backend matmul per chunk, so the executor works
 * unchanged on every backend. DART's selection also reads layer K-1's post-RoPE keys (the KV
 * cache rows) and the stream through the final norm (one backend rmsnorm), both downloaded for
 * the span and the rows after it. eng_llm_plan_apply / eng_llm_plan_apply_pivots run the same
 * selection and merge code on one span outside a forward pass (tests/test_plan.c checks them
 * against an independent reference).
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
        p->select != TB_PLAN_SELECT_ALL_QUERIES && p->select != TB_PLAN_SELECT_DART)
        return fail(err, err_len, ENG_ERR_ARG, "plan: unknown selection rule %d", (int)p->select);
    if (p->select == TB_PLAN_SELECT_DART &&
        (p->pivot_image < 0 || p->pivot_text < 0 || p->per_pivot < 0 ||
         (p->pivot_order != TB_PLAN_ORDER_PYSET && p->pivot_order != TB_PLAN_ORDER_LIST)))
        return fail(err, err_len, ENG_ERR_ARG, "plan: DART pivots %d + %d, per pivot %lld, order %d invalid",
                    p->pivot_image, p->pivot_text, (long long)p->per_pivot, (int)p->pivot_order);
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

/* DART's signals for one span: the L1 norms of layer K-1's post-RoPE keys and the layer K-1
 * outputs through the final norm, for the span rows [0, vl) and the na rows after it [vl, vl+na);
 * span_abs = the sequence index of span row 0 (CPython's set order hashes sequence indices). */
typedef struct {
    const double *key_l1; /* [vl + na] */
    const float *normed;  /* [vl + na][D] */
    int64_t na;
    int64_t span_abs;
} dart_in;

typedef struct {
    double v;
    int64_t idx;
} vi;

/* descending v, ties to the lower index */
static int cmp_vi_desc(const void *a, const void *b) {
    const vi *x = a, *y = b;
    if (x->v > y->v) return -1;
    if (x->v < y->v) return 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* ascending v, ties to the lower index */
static int cmp_vi_asc(const void *a, const void *b) {
    const vi *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* DART's selection (common/llm_plan.h) into w->mark / w->sel; returns the count kept (or < 0 on
 * an allocation failure). Cosines as torch.nn.functional.cosine_similarity (eps 1e-8):
 * x.y / sqrt(max(|x|^2 |y|^2, 1e-16)), in double. */
static int64_t select_dart(plan_scratch *w, const tb_llm_plan *p, const dart_in *di, int64_t vl, int64_t D) {
    int64_t na = di->na, nk = 0;
    int n_piv = 0;
    vi *c = malloc((size_t)(vl + na + 1) * sizeof *c);
    double *nrm = malloc((size_t)(vl + na + 1) * sizeof *nrm);
    int64_t *piv = malloc((size_t)(p->pivot_image + p->pivot_text + 1) * sizeof *piv);
    int64_t *ord = malloc((size_t)(p->pivot_image + p->pivot_text + 1) * sizeof *ord);
    if (!c || !nrm || !piv || !ord) {
        nk = -1;
        goto out;
    }
    /* image pivots: the candidates with the largest key norm */
    int64_t n = 0;
    for (int64_t i = 0; i < vl; i++)
        if (!w->mark[i]) c[n++] = (vi){di->key_l1[i], i};
    qsort(c, (size_t)n, sizeof *c, cmp_vi_desc);
    int64_t pv = p->pivot_image < n ? p->pivot_image : n;
    for (int64_t i = 0; i < pv; i++) {
        w->mark[c[i].idx] = 1;
        w->sel[nk++] = c[i].idx;
        piv[n_piv++] = c[i].idx;
    }
    /* text pivots: the rows after the span with the largest key norm */
    for (int64_t j = 0; j < na; j++) c[j] = (vi){di->key_l1[vl + j], vl + j};
    qsort(c, (size_t)na, sizeof *c, cmp_vi_desc);
    int64_t pt = p->pivot_text < na ? p->pivot_text : na;
    for (int64_t j = 0; j < pt; j++) piv[n_piv++] = c[j].idx;
    /* the order in which the pivots pick */
    if (p->pivot_order == TB_PLAN_ORDER_PYSET) {
        for (int i = 0; i < n_piv; i++) ord[i] = di->span_abs + piv[i];
        if (tb_plan_pyset_order(ord, n_piv, ord)) {
            nk = -1;
            goto out;
        }
        for (int i = 0; i < n_piv; i++) ord[i] -= di->span_abs;
    } else {
        memcpy(ord, piv, (size_t)n_piv * sizeof *ord);
    }
    for (int64_t i = 0; i < vl + na; i++) {
        const float *h = di->normed + i * D;
        double ss = 0;
        for (int64_t d = 0; d < D; d++) ss += (double)h[d] * h[d];
        nrm[i] = ss;
    }
    for (int q = 0; q < n_piv; q++) {
        const float *hp = di->normed + ord[q] * D;
        n = 0;
        for (int64_t i = 0; i < vl; i++) {
            if (w->mark[i]) continue;
            const float *h = di->normed + i * D;
            double dot = 0;
            for (int64_t d = 0; d < D; d++) dot += (double)hp[d] * h[d];
            double den = nrm[ord[q]] * nrm[i];
            c[n++] = (vi){dot / sqrt(den > 1e-16 ? den : 1e-16), i};
        }
        int64_t t = p->per_pivot < n ? p->per_pivot : n;
        qsort(c, (size_t)n, sizeof *c, cmp_vi_asc);
        for (int64_t i = 0; i < t; i++) {
            w->mark[c[i].idx] = 1;
            w->sel[nk++] = c[i].idx;
        }
    }
out:
    free(c);
    free(nrm);
    free(piv);
    free(ord);
    return nk;
}

/* Selection and merge on one span: score[vl] (span-relative; unused by DART), dart (DART's
 * signals; NULL otherwise), hs[vl, D] host rows (merged in place). Fills kept[0..*n_kept) with the
 * selected and protected rows, ascending. */
static int select_merge(plan_scratch *w, const tb_llm_plan *p, const float *score, const dart_in *dart, float *hs,
                        int64_t vl, int64_t D, int64_t *kept, int64_t *n_kept, char *err, size_t err_len) {
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
    } else if (p->select == TB_PLAN_SELECT_DART) {
        if (!dart) return fail(err, err_len, ENG_ERR_ARG, "plan: DART needs its key norms and normed states");
        nk = select_dart(w, p, dart, vl, D);
        if (nk < 0) return fail(err, err_len, ENG_ERR_NOMEM, "plan: out of memory");
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
    dart_in di = {NULL, NULL, n - vs - vl, vs};
    float *keys = NULL, *normed = NULL;
    double *l1 = NULL;
    if (p->select == TB_PLAN_SELECT_DART) {
        /* layer K-1's post-RoPE keys (its cache rows) and the stream through the final norm, for
         * the span and every row after it */
        int64_t KVD = (int64_t)m->G * m->Dh, nr = n - vs, lk = p->layer - 1;
        keys = malloc((size_t)(nr ? nr : 1) * (size_t)KVD * sizeof *keys);
        normed = malloc((size_t)(nr ? nr : 1) * (size_t)D * sizeof *normed);
        l1 = malloc((size_t)(nr ? nr : 1) * sizeof *l1);
        if (!keys || !normed || !l1) {
            rc = fail(err, err_len, ENG_ERR_NOMEM, "plan: out of memory for DART's %lld rows", (long long)nr);
            goto dart_out;
        }
        if (s->kv_len[lk] != n) {
            rc = fail(err, err_len, ENG_ERR_ARG, "plan: layer %d cached %lld rows, not %lld", (int)lk,
                      (long long)s->kv_len[lk], (long long)n);
            goto dart_out;
        }
        if (be->k->download(be, keys, s->kc[lk] + vs * KVD, (size_t)(nr * KVD)) != 0 ||
            be->k->rmsnorm(be, s->xn, s->x, m->norm, n, D, m->cfg.llm.rms_norm_eps) != 0 ||
            be->k->download(be, normed, s->xn + vs * D, (size_t)(nr * D)) != 0) {
            rc = fail(err, err_len, ENG_ERR_BACKEND, "plan: DART signals: %s", be->err);
            goto dart_out;
        }
        for (int64_t i = 0; i < nr; i++) {
            double a = 0;
            for (int64_t j = 0; j < KVD; j++) a += fabs((double)keys[i * KVD + j]);
            l1[i] = a;
        }
        di.key_l1 = l1;
        di.normed = normed;
    }
    rc = select_merge(&w, p, score, p->select == TB_PLAN_SELECT_DART ? &di : NULL, hs, vl, D, kept, &n_keep_all,
                      err, err_len);
dart_out:
    free(keys);
    free(normed);
    free(l1);
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

static int apply_span(eng_backend_kind backend, const tb_llm_plan *p, const float *score, const dart_in *dart,
                      float *hidden, int64_t V, int64_t D, int64_t *kept, int64_t *n_kept, char *err, size_t err_len) {
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
        rc = select_merge(&w, p, score, dart, hidden, V, D, kept, n_kept, err, err_len);
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

int eng_llm_plan_apply(eng_backend_kind backend, const tb_llm_plan *p, const float *score, float *hidden, int64_t V,
                       int64_t D, int64_t *kept, int64_t *n_kept, char *err, size_t err_len) {
    if (!p || !score || !hidden || !kept || !n_kept || V < 1 || D < 1)
        return fail(err, err_len, ENG_ERR_ARG, "eng_llm_plan_apply: bad arguments");
    if (p->select == TB_PLAN_SELECT_DART)
        return fail(err, err_len, ENG_ERR_ARG, "eng_llm_plan_apply: DART plans need eng_llm_plan_apply_pivots");
    return apply_span(backend, p, score, NULL, hidden, V, D, kept, n_kept, err, err_len);
}

int eng_llm_plan_apply_pivots(eng_backend_kind backend, const tb_llm_plan *p, const eng_plan_pivots *pv,
                              float *hidden, int64_t V, int64_t D, int64_t *kept, int64_t *n_kept, char *err,
                              size_t err_len) {
    if (!p || !pv || !pv->key_l1 || !pv->normed || pv->n_after < 0 || pv->span_start < 0 || !hidden || !kept ||
        !n_kept || V < 1 || D < 1)
        return fail(err, err_len, ENG_ERR_ARG, "eng_llm_plan_apply_pivots: bad arguments");
    if (p->select != TB_PLAN_SELECT_DART)
        return fail(err, err_len, ENG_ERR_ARG, "eng_llm_plan_apply_pivots: the plan is not a DART plan");
    dart_in di = {pv->key_l1, pv->normed, pv->n_after, pv->span_start};
    return apply_span(backend, p, NULL, &di, hidden, V, D, kept, n_kept, err, err_len);
}

/* llm.c - the Qwen2 decoder of the LLaVA checkpoints (spec llava-ov-engine.md §1.5, §7): weights
 * loading, a per-layer KV cache, prefill over a spliced text + visual sequence with the
 * last-query-row attention tap, the in-LLM plan executed between two layers (engine/llm_plan.c),
 * decode steps and greedy generation. Every computation goes through the backend op table
 * (engine/kernels.h).
 *
 * Qwen2.5-VL checkpoints run the same decoder with M-RoPE (three position rows t, h, w; spec
 * qwen25vl.md §4.4) and a one-for-one splice of the visual rows into the <|video_pad|> ids.
 *
 * Deliberately absent: sampling (the reference decodes greedily), batching, fp16/bf16 activations. Dimension letters: D hidden, H query heads, G KV heads, Dh head dim, M MLP
 * width, V vocabulary rows, Vo logits width, L layers, n rows of the current call, C = n_ctx.
 */
#include "engine/llm.h"

#include <math.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "engine/config.h"
#include "engine/kernels.h"
#include "engine/llm_internal.h"
#include "engine/safetensors.h"

#define fail eng_llm_fail

/* successful eng_llm_load calls in this process (eng_llm_load_count) */
static _Atomic size_t n_loads;

size_t eng_llm_load_count(void) { return atomic_load(&n_loads); }

/* a * b for non-negative sizes; 0 with *ok = 0 on overflow. */
static size_t mul2(size_t a, size_t b, int *ok) {
    if (a != 0 && b > SIZE_MAX / a) {
        *ok = 0;
        return 0;
    }
    return a * b;
}

int eng_llm_fail(char *err, size_t err_len, int status, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- parameters ----------------------------------------------------------------------------- */

eng_llm_params eng_llm_default_params(void) {
    eng_llm_params p;
    memset(&p, 0, sizeof p);
    p.backend = ENG_BACKEND_CPU;
    p.vocab_limit = 0;
    return p;
}

eng_llm_prefill_params eng_llm_prefill_default_params(void) {
    eng_llm_prefill_params p;
    memset(&p, 0, sizeof p);
    p.attn_layer = -1;
    return p;
}

eng_llm_gen_params eng_llm_gen_default_params(void) {
    eng_llm_gen_params p;
    memset(&p, 0, sizeof p);
    p.max_new_tokens = 16;
    p.repetition_penalty = -1.0;
    p.use_stop_ids = 1;
    return p;
}

double eng_llm_layer_flops(const eng_llm_info *info, int64_t n) {
    double d = info->hidden, nn = (double)n, gh = (double)info->n_kv_heads / (double)info->n_heads;
    return 4.0 * nn * d * d * (1.0 + gh) + 4.0 * nn * nn * d + 6.0 * nn * d * (double)info->intermediate;
}

/* ---- loading -------------------------------------------------------------------------------- */

/* Frees one weight buffer placed by put(). */
static void wfree(eng_llm *m, float *p) {
    if (!p) return;
    if (m->be.k && m->be.k->on_device) m->be.k->free(&m->be, p);
    else free(p);
}

float *eng_llm_put(eng_llm *m, float *host, size_t n, char *err, size_t err_len) {
    if (host) m->bytes += n * sizeof(float);
    if (!host || !m->be.k->on_device) return host;
    float *d = m->be.k->alloc(&m->be, n);
    if (!d || m->be.k->upload(&m->be, d, host, n) != 0) {
        fail(err, err_len, ENG_ERR_BACKEND, "backend %s: %s", m->be.k->name, m->be.err);
        if (d) m->be.k->free(&m->be, d);
        free(host);
        return NULL;
    }
    free(host);
    return d;
}

int eng_llm_put_weight(eng_llm *m, eng_weight *w, const eng_wdesc *d, char *err, size_t err_len) {
    if (m->be.k->weight_init(&m->be, w, d) != 0)
        return fail(err, err_len, ENG_ERR_BACKEND, "backend %s: %s", m->be.k->name, m->be.err);
    m->bytes += (size_t)(d->rows * d->cols) * eng_dtype_size(d->dtype);
    return ENG_OK;
}

/* A 1-D tensor as a float32 backend buffer. */
static float *load_w(eng_llm *m, const st_file *st, eng_tensor_id id, int layer, char *err, size_t err_len) {
    int64_t shape[ST_MAX_DIMS];
    int nd = eng_tensor_shape(&m->cfg, id, shape);
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)shape[i];
    float *h = eng_tensor_load_f32(st, &m->cfg, id, layer, err, err_len);
    if (!h) return NULL;
    return eng_llm_put(m, h, n, err, err_len);
}

/* A matrix (id, layer) as a view of its stored bytes: rows (<= the stored rows) x the rest. */
static int tensor_desc(const eng_config *cfg, const st_file *st, eng_tensor_id id, int layer, int64_t rows,
                       eng_wdesc *d, char *err, size_t err_len) {
    const st_tensor *t = eng_tensor_find(st, cfg, id, layer, err, err_len);
    if (!t) return ENG_ERR_FORMAT;
    eng_wdesc_of_tensor(t, d);
    if (rows >= 0 && rows < d->rows) d->rows = rows;
    return ENG_OK;
}

static int load_mat(eng_llm *m, eng_weight *w, eng_tensor_id id, int layer, int64_t rows, char *err, size_t err_len) {
    eng_wdesc d;
    int rc = tensor_desc(&m->cfg, m->st, id, layer, rows, &d, err, err_len);
    return rc != ENG_OK ? rc : eng_llm_put_weight(m, w, &d, err, err_len);
}

void eng_llm_free(eng_llm *m) {
    if (!m) return;
    eng_backend *be = &m->be;
    if (m->layers) {
        for (int l = 0; l < m->L; l++) {
            llm_layer *w = &m->layers[l];
            float *ps[] = {w->in_norm, w->q_b, w->k_b, w->v_b, w->post_norm};
            for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) wfree(m, ps[i]);
            eng_weight *ws[] = {&w->q_w, &w->k_w, &w->v_w, &w->o_w, &w->gate_w, &w->up_w, &w->down_w};
            for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) be->k->weight_free(be, ws[i]);
        }
        free(m->layers);
    }
    if (be->k) be->k->weight_free(be, &m->lm_head);
    wfree(m, m->norm);
    free(m->embed.owned);
    free(m->newline);
    eng_backend_fini(&m->be);
    st_close(m->st); /* after every view of it is gone */
    free(m);
}

eng_llm *eng_llm_load(const char *dir, const eng_llm_params *p, char *err, size_t err_len) {
    eng_llm_params defp = eng_llm_default_params();
    if (!p) p = &defp;
    if (!dir) {
        fail(err, err_len, ENG_ERR_ARG, "eng_llm_load: no model directory");
        return NULL;
    }
    eng_llm *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, err_len, ENG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (eng_config_load(dir, &m->cfg, err, err_len) != 0) goto bad;
    const eng_llm_config *c = &m->cfg.llm;
    m->D = c->hidden;
    m->H = c->n_heads;
    m->G = c->n_kv_heads;
    m->Dh = c->head_dim;
    m->M = c->intermediate;
    m->L = c->n_layers;
    m->V = c->vocab;
    if (m->D <= 0 || m->H <= 0 || m->G <= 0 || m->H % m->G != 0 || m->Dh <= 0 || m->Dh % 2 || m->M <= 0 ||
        m->L <= 0 || m->V <= 0) {
        fail(err, err_len, ENG_ERR_FORMAT, "%s/config.json: bad LLM dimensions (hidden %d, heads %d, kv heads %d, "
             "head_dim %d, layers %d, vocab %lld)", dir, m->D, m->H, m->G, m->Dh, m->L, (long long)m->V);
        goto bad;
    }
    if (p->vocab_limit < 0 || p->vocab_limit > m->V) {
        fail(err, err_len, ENG_ERR_ARG, "vocab_limit %lld outside 0..%lld", (long long)p->vocab_limit,
             (long long)m->V);
        goto bad;
    }
    m->Vo = p->vocab_limit ? p->vocab_limit : m->V;
    /* stop ids: generation_config's eos list, else the config's eos id */
    if (m->cfg.gen.present && m->cfg.gen.n_eos > 0) {
        m->n_stop = m->cfg.gen.n_eos < 8 ? m->cfg.gen.n_eos : 8;
        for (int i = 0; i < m->n_stop; i++) m->stop_ids[i] = m->cfg.gen.eos_ids[i];
    } else if (c->eos_id >= 0) {
        m->n_stop = 1;
        m->stop_ids[0] = c->eos_id;
    }
    m->rep_pen = m->cfg.gen.present ? m->cfg.gen.repetition_penalty : 1.0;
    m->pad_id = -1;
    if (m->cfg.layout == ENG_LAYOUT_QWEN25VL) {
        m->mrope = 1;
        m->rsec = (eng_rope_sec){3, {m->cfg.mrope_section[0], m->cfg.mrope_section[1], m->cfg.mrope_section[2], 0}, 0,
                                 m->Dh, (float)c->rope_theta};
        m->pad_id = m->cfg.video_token_id;
    }

    if (eng_backend_init_dtype(&m->be, p->backend, p->dtype, err, err_len) != 0) goto bad;
    m->st = st_open(dir, err, err_len);
    if (!m->st || eng_checkpoint_bind(&m->cfg, m->st, err, err_len) != 0) goto bad;

    /* Matrices stay in the file (views); the embedding is gathered on the host from its view. */
    if (tensor_desc(&m->cfg, m->st, ENG_T_EMBED, 0, -1, &m->embed, err, err_len) != ENG_OK) goto bad;
    m->bytes += (size_t)(m->embed.rows * m->embed.cols) * eng_dtype_size(m->embed.dtype);
    if (m->cfg.llm.tie_embeddings) {
        eng_wdesc d = m->embed;
        d.rows = m->Vo;
        if (eng_llm_put_weight(m, &m->lm_head, &d, err, err_len) != ENG_OK) goto bad;
        if (!m->be.k->on_device) m->bytes -= (size_t)(d.rows * d.cols) * eng_dtype_size(d.dtype); /* shared */
    } else if (load_mat(m, &m->lm_head, ENG_T_LM_HEAD, 0, m->Vo, err, err_len) != ENG_OK) {
        goto bad;
    }
    if (!(m->norm = load_w(m, m->st, ENG_T_NORM, 0, err, err_len))) goto bad;
    if (m->cfg.has_image_newline &&
        !(m->newline = eng_tensor_load_f32(m->st, &m->cfg, ENG_T_NEWLINE, 0, err, err_len)))
        goto bad;
    if (m->newline) m->bytes += (size_t)m->D * sizeof(float);
    m->layers = calloc((size_t)m->L, sizeof *m->layers);
    if (!m->layers) {
        fail(err, err_len, ENG_ERR_NOMEM, "out of memory");
        goto bad;
    }
    for (int l = 0; l < m->L; l++) {
        llm_layer *w = &m->layers[l];
        struct { float **dst; eng_tensor_id id; } v[] = {
            {&w->in_norm, ENG_T_L_IN_NORM}, {&w->q_b, ENG_T_L_Q_B}, {&w->k_b, ENG_T_L_K_B},
            {&w->v_b, ENG_T_L_V_B},         {&w->post_norm, ENG_T_L_POST_NORM},
        };
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            if (!(*v[i].dst = load_w(m, m->st, v[i].id, l, err, err_len))) goto bad;
        struct { eng_weight *dst; eng_tensor_id id; } t[] = {
            {&w->q_w, ENG_T_L_Q_W}, {&w->k_w, ENG_T_L_K_W},       {&w->v_w, ENG_T_L_V_W},  {&w->o_w, ENG_T_L_O_W},
            {&w->gate_w, ENG_T_L_GATE_W}, {&w->up_w, ENG_T_L_UP_W}, {&w->down_w, ENG_T_L_DOWN_W},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (load_mat(m, t[i].dst, t[i].id, l, -1, err, err_len) != ENG_OK) goto bad;
    }
    /* start-up, not a sample's cost: fault the LLM's mapped weights in now (stage timers exclude
     * it); only its own tensors: the vision tower's pages belong to the vision model's mapping
     * of the same files, and touching them here would hold them twice */
    if (!m->be.k->on_device)
        for (int id = ENG_T_EMBED; id <= ENG_T_LM_HEAD; id++) {
            if (!eng_tensor_in_layout(&m->cfg, (eng_tensor_id)id)) continue;
            int nl = eng_tensor_is_layered((eng_tensor_id)id) == 2 ? m->cfg.llm.n_layers : 1;
            for (int l = 0; l < nl; l++)
                st_prefault_tensor(eng_tensor_find(m->st, &m->cfg, (eng_tensor_id)id, l, err, err_len));
        }
    atomic_fetch_add(&n_loads, 1);
    return m;
bad:
    eng_llm_free(m);
    return NULL;
}

void eng_llm_get_info(const eng_llm *m, eng_llm_info *out) {
    memset(out, 0, sizeof *out);
    out->hidden = m->D;
    out->n_layers = m->L;
    out->n_heads = m->H;
    out->n_kv_heads = m->G;
    out->head_dim = m->Dh;
    out->intermediate = m->M;
    out->vocab = m->V;
    out->vocab_out = m->Vo;
    out->rope_theta = m->cfg.llm.rope_theta;
    out->rms_norm_eps = m->cfg.llm.rms_norm_eps;
    out->newline_mode = (int)m->cfg.newline;
    out->has_newline = m->newline != NULL;
    out->image_token_id = m->cfg.image_token_id;
    out->mrope = m->mrope;
    if (m->mrope) {
        for (int i = 0; i < 3; i++) out->mrope_section[i] = m->cfg.mrope_section[i];
        out->video_token_id = m->cfg.video_token_id;
        out->vision_start_id = m->cfg.vision_start_id;
        out->vision_end_id = m->cfg.vision_end_id;
        out->tokens_per_second = m->cfg.qv.tokens_per_second;
        out->spatial_merge = m->cfg.qv.merge;
    }
    out->n_stop = m->n_stop;
    memcpy(out->stop_ids, m->stop_ids, sizeof out->stop_ids);
    out->repetition_penalty = m->rep_pen;
    out->weight_bytes = m->bytes;
    out->backend = m->be.k ? m->be.k->name : "?";
    out->dtype = eng_compute_dtype_name(m->be.dtype);
}

const float *eng_llm_image_newline(const eng_llm *m) { return m ? m->newline : NULL; }

/* ---- state ---------------------------------------------------------------------------------- */

/* Zero-fills n floats of backend buffer b through uploads of a zero block: touches every page
 * at init, so no page fault lands inside a timed prefill. */
static int zero_fill(eng_backend *be, float *b, size_t n, const float *zeros, size_t nz) {
    for (size_t o = 0; o < n; o += nz)
        if (be->k->upload(be, b + o, zeros, n - o < nz ? n - o : nz) != 0) return -1;
    return 0;
}

/* The same for n elements of an activation buffer. */
static int zero_fill_act(eng_backend *be, eng_act *b, size_t n, const float *zeros, size_t nz) {
    for (size_t o = 0; o < n; o += nz)
        if (be->k->act_upload(be, eng_act_at(be, b, (int64_t)o), zeros, n - o < nz ? n - o : nz) != 0) return -1;
    return 0;
}

static void state_release_rows(eng_llm_state *s);

void eng_llm_state_free(eng_llm_state *s) {
    if (!s) return;
    eng_backend *be = &s->m->be;
    if (s->kc && s->vc) state_release_rows(s);
    free(s->kc);
    free(s->vc);
    eng_act *bufs[] = {s->g, s->u, s->row_out, s->logits_dev};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) be->k->act_free(be, bufs[i]);
    free(s->logits);
    free(s->all_logits);
    free(s->kv_len);
    free(s->tokens_layer);
    free(s->visual_layer);
    free(s);
}

/* Frees the buffers whose size follows the sequence (capacity s->cap rows). */
static void state_release_rows(eng_llm_state *s) {
    eng_backend *be = &s->m->be;
    for (int l = 0; l < s->m->L; l++) {
        be->k->act_free(be, s->kc[l]);
        be->k->act_free(be, s->vc[l]);
        s->kc[l] = s->vc[l] = NULL;
    }
    eng_act **act[] = {&s->x, &s->xn, &s->q, &s->att};
    for (size_t i = 0; i < sizeof act / sizeof act[0]; i++) {
        be->k->act_free(be, *act[i]);
        *act[i] = NULL;
    }
    float **dev[] = {&s->row, &s->pn, &s->sim};
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) {
        be->k->free(be, *dev[i]);
        *dev[i] = NULL;
    }
    void **host[] = {(void **)&s->hx, (void **)&s->hsim, (void **)&s->hrow, (void **)&s->htap, (void **)&s->hmean,
                     (void **)&s->pos, (void **)&s->orig, (void **)&s->kept, (void **)&s->sel, (void **)&s->assign,
                     (void **)&s->mark};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) {
        free(*host[i]);
        *host[i] = NULL;
    }
    s->cap = 0;
    s->bytes = s->bytes_fixed;
}

/* Sizes the sequence buffers for cap rows (KV cache, residual stream, projections, attention
 * rows, plan scratch), committing every page now so that the layers never fault. Keeps the
 * current ones when they are large enough; the KV contents are not kept (called before a prefill
 * only). ENG_OK, ENG_ERR_ARG (cap > n_ctx) or ENG_ERR_NOMEM. */
static int state_reserve(eng_llm_state *s, int64_t cap, char *err, size_t err_len) {
    if (cap <= s->cap) return ENG_OK;
    if (cap > s->C)
        return fail(err, err_len, ENG_ERR_ARG, "sequence of %lld rows exceeds the state's n_ctx %lld", (long long)cap,
                    (long long)s->C);
    eng_llm *m = s->m;
    eng_backend *be = &m->be;
    state_release_rows(s);
    int ok = 1;
    size_t C = (size_t)cap, D = (size_t)m->D, HD = (size_t)m->H * (size_t)m->Dh, KVD = (size_t)m->G * (size_t)m->Dh;
    size_t nCD = mul2(C, D, &ok), nCHD = mul2(C, HD, &ok), nCKV = mul2(C, KVD, &ok), nSim = mul2(SIM_CHUNK, C, &ok);
    if (!ok || nCD > SIZE_MAX / 8) return fail(err, err_len, ENG_ERR_ARG, "sequence of %lld rows too large", (long long)cap);
    for (int l = 0; l < m->L; l++)
        if (!(s->kc[l] = be->k->act_alloc(be, nCKV)) || !(s->vc[l] = be->k->act_alloc(be, nCKV))) goto nomem;
    if (!(s->x = be->k->act_alloc(be, nCD)) || !(s->xn = be->k->act_alloc(be, nCD)) ||
        !(s->q = be->k->act_alloc(be, nCHD)) || !(s->att = be->k->act_alloc(be, nCHD)) ||
        !(s->row = be->k->alloc(be, C)) || !(s->pn = be->k->alloc(be, nCD)) || !(s->sim = be->k->alloc(be, nSim)))
        goto nomem;
    s->hx = malloc(nCD * sizeof(float));
    s->hsim = malloc(nSim * sizeof(float));
    s->hrow = malloc(C * sizeof(float));
    s->htap = malloc(C * sizeof(float));
    s->hmean = malloc(C * sizeof(float));
    s->pos = malloc((m->mrope ? 3 : 1) * C * sizeof(int64_t)); /* M-RoPE: t, h, w rows */
    s->orig = malloc(C * sizeof(int64_t));
    s->kept = malloc(C * sizeof(int64_t));
    s->sel = malloc(C * sizeof(int64_t));
    s->assign = malloc(C * sizeof(int64_t));
    s->mark = malloc(C);
    if (!s->hx || !s->hsim || !s->hrow || !s->htap || !s->hmean || !s->pos || !s->orig || !s->kept || !s->sel ||
        !s->assign || !s->mark)
        goto nomem;
    /* activations: K/V caches, x, xn, q, att; floats: pn, hx, row, hrow, htap, hmean, sim, hsim. Then
     * pos, orig, kept, sel, assign (int64) and mark. */
    s->bytes = s->bytes_fixed + be->act_size * (2 * (size_t)m->L * nCKV + 2 * nCD + 2 * nCHD) +
               sizeof(float) * (2 * nCD + 4 * C + 2 * nSim) + (5 + (m->mrope ? 2 : 0)) * C * sizeof(int64_t) + C;
    /* commit every page now (the layers must not fault) */
    size_t nz = (size_t)1 << 18;
    float *zeros = calloc(nz, sizeof *zeros);
    if (!zeros) goto nomem;
    int bad = 0;
    for (int l = 0; l < m->L && !bad; l++)
        bad = zero_fill_act(be, s->kc[l], nCKV, zeros, nz) || zero_fill_act(be, s->vc[l], nCKV, zeros, nz);
    struct { eng_act *b; size_t n; } acts[] = {{s->x, nCD}, {s->xn, nCD}, {s->q, nCHD}, {s->att, nCHD}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0] && !bad; i++)
        bad = zero_fill_act(be, acts[i].b, acts[i].n, zeros, nz);
    struct { float *b; size_t n; } bufs[] = {{s->row, C}, {s->pn, nCD}, {s->sim, nSim}};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0] && !bad; i++) bad = zero_fill(be, bufs[i].b, bufs[i].n, zeros, nz);
    free(zeros);
    if (bad) {
        state_release_rows(s);
        return fail(err, err_len, ENG_ERR_BACKEND, "state: %s", be->err);
    }
    memset(s->hx, 0, nCD * sizeof(float));
    s->cap = cap;
    return ENG_OK;
nomem:
    fail(err, err_len, ENG_ERR_NOMEM, "out of memory for a sequence of %lld rows (%s)", (long long)cap,
         be->err[0] ? be->err : "host");
    state_release_rows(s);
    return ENG_ERR_NOMEM;
}

eng_llm_state *eng_llm_state_init(eng_llm *m, int64_t n_ctx, char *err, size_t err_len) {
    if (!m) {
        fail(err, err_len, ENG_ERR_ARG, "eng_llm_state_init: no model");
        return NULL;
    }
    if (n_ctx < 1 || n_ctx > ((int64_t)1 << 31)) {
        fail(err, err_len, ENG_ERR_ARG, "eng_llm_state_init: n_ctx %lld outside 1..2^31", (long long)n_ctx);
        return NULL;
    }
    eng_llm_state *s = calloc(1, sizeof *s);
    if (!s) {
        fail(err, err_len, ENG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->m = m;
    s->C = n_ctx;
    eng_backend *be = &m->be;
    int ok = 1;
    size_t HD = (size_t)m->H * (size_t)m->Dh;
    size_t nMLP = mul2(MLP_CHUNK, (size_t)m->M, &ok), nLog = mul2(LOGIT_CHUNK, (size_t)m->Vo, &ok);
    if (!ok) {
        fail(err, err_len, ENG_ERR_ARG, "eng_llm_state_init: model too large");
        eng_llm_state_free(s);
        return NULL;
    }
    s->kc = calloc((size_t)m->L, sizeof *s->kc);
    s->vc = calloc((size_t)m->L, sizeof *s->vc);
    s->kv_len = calloc((size_t)m->L, sizeof *s->kv_len);
    s->tokens_layer = calloc((size_t)m->L, sizeof(int64_t));
    s->visual_layer = calloc((size_t)m->L, sizeof(int64_t));
    if (!s->kc || !s->vc || !s->kv_len || !s->tokens_layer || !s->visual_layer) goto nomem;
    /* fixed-size scratch: MLP chunk, the tap's discarded output row, logits */
    if (!(s->g = be->k->act_alloc(be, nMLP)) || !(s->u = be->k->act_alloc(be, nMLP)) ||
        !(s->row_out = be->k->act_alloc(be, HD)) || !(s->logits_dev = be->k->act_alloc(be, nLog)))
        goto nomem;
    s->logits = malloc((size_t)m->Vo * sizeof(float));
    if (!s->logits) goto nomem;
    size_t nz = (size_t)1 << 18;
    float *zeros = calloc(nz, sizeof *zeros);
    if (!zeros) goto nomem;
    int bad = zero_fill_act(be, s->g, nMLP, zeros, nz) || zero_fill_act(be, s->u, nMLP, zeros, nz) ||
              zero_fill_act(be, s->logits_dev, nLog, zeros, nz);
    free(zeros);
    if (bad) {
        fail(err, err_len, ENG_ERR_BACKEND, "eng_llm_state_init: %s", be->err);
        eng_llm_state_free(s);
        return NULL;
    }
    memset(s->logits, 0, (size_t)m->Vo * sizeof(float));
    s->bytes_fixed = s->bytes = be->act_size * (2 * nMLP + HD + nLog) + sizeof(float) * (size_t)m->Vo;
    return s;
nomem:
    fail(err, err_len, ENG_ERR_NOMEM, "eng_llm_state_init: out of memory (%s)", be->err[0] ? be->err : "host");
    eng_llm_state_free(s);
    return NULL;
}

static void state_reset(eng_llm_state *s) {
    for (int l = 0; l < s->m->L; l++) {
        s->kv_len[l] = 0;
        s->tokens_layer[l] = 0;
        s->visual_layer[l] = 0;
    }
    s->prefilled = 0;
    s->generated = 0;
    s->n_kept = 0;
    s->have_plan_kept = 0;
    s->next_pos = 0;
    memset(&s->tm, 0, sizeof s->tm);
}

void eng_llm_get_timings(const eng_llm_state *s, eng_llm_timings *out) { *out = s->tm; }

size_t eng_llm_state_bytes(const eng_llm_state *s) {
    return s ? s->bytes + s->cap_all * sizeof(float) : 0;
}

/* ---- one decoder layer ---------------------------------------------------------------------- */

/* Kernel-call wrapper: on failure, formats "layer L: op: backend message" and jumps to fail. */
#define KCALL(expr)                                                                                           \
    do {                                                                                                      \
        if ((expr) != 0) {                                                                                    \
            fail(err, err_len, ENG_ERR_BACKEND, "llm layer %d: %s: %s", l, #expr, be->err);                  \
            return ENG_ERR_BACKEND;                                                                           \
        }                                                                                                     \
    } while (0)

/* Runs decoder layer l on the n rows of s->x (residual stream, updated in place), whose position
 * ids are pos[0..n) (host). The layer's cache already holds kv_len[l] rows (n_past); the new keys /
 * values are appended. causal = 0 drops the mask (only valid with n_past == 0). tap: when not
 * NULL, receives [n_past + n] the head-averaged attention of the last row over every key. recv:
 * when not NULL, receives [n_past + n] the attention each key receives, averaged over heads and
 * all n query rows. One attention call over all n rows: the backends skip the masked keys of a
 * causal call themselves. The residual adds ride on the products (linear_add). pos_ld: M-RoPE
 * (m->mrope) reads three position rows pos[r * pos_ld + i]. */
static int layer_forward(eng_llm_state *s, int l, int64_t n, const int64_t *pos, int64_t pos_ld, int causal,
                         float *tap, float *recv, char *err, size_t err_len) {
    eng_llm *m = s->m;
    eng_backend *be = &m->be;
    const llm_layer *w = &m->layers[l];
    int64_t D = m->D, HD = (int64_t)m->H * m->Dh, KVD = (int64_t)m->G * m->Dh, M = m->M;
    int64_t n_past = s->kv_len[l], n_kv = n_past + n;
    eng_act *kc = eng_act_at(be, s->kc[l], n_past * KVD), *vc = eng_act_at(be, s->vc[l], n_past * KVD);
    float theta = (float)m->cfg.llm.rope_theta;

    /* attention block: xn = rmsnorm(x); q = xn Wq^T + bq; k, v appended to the cache */
    KCALL(be->k->rmsnorm(be, s->xn, s->x, w->in_norm, n, D, m->cfg.llm.rms_norm_eps));
    KCALL(be->k->linear(be, s->q, s->xn, &w->q_w, w->q_b, n));
    KCALL(be->k->linear(be, kc, s->xn, &w->k_w, w->k_b, n));
    KCALL(be->k->linear(be, vc, s->xn, &w->v_w, w->v_b, n));
    if (m->mrope) { /* three position rows, pos_ld apart */
        KCALL(be->k->rope_sec(be, s->q, HD, n, m->H, m->Dh, pos, pos_ld, &m->rsec));
        KCALL(be->k->rope_sec(be, kc, KVD, n, m->G, m->Dh, pos, pos_ld, &m->rsec));
    } else {
        KCALL(be->k->rope(be, s->q, HD, n, m->H, m->Dh, pos, theta));
        KCALL(be->k->rope(be, kc, KVD, n, m->G, m->Dh, pos, theta));
    }
    eng_attn_desc ad;
    memset(&ad, 0, sizeof ad);
    ad.n_batch = 1;
    ad.n_q = n;
    ad.n_kv = n_kv;
    ad.n_head = m->H;
    ad.n_head_kv = m->G;
    ad.head_dim = m->Dh;
    ad.causal = causal;
    KCALL(be->k->attention(be, s->att, s->q, s->kc[l], s->vc[l], &ad, NULL, recv ? s->row : NULL));
    if (recv) KCALL(be->k->download(be, recv, s->row, (size_t)n_kv));
    if (tap) {
        /* One extra attention call for the last query row only: with n_q = 1 the op's recv tap is
         * exactly the head-averaged probability row (the last row sees every key, mask or not). */
        eng_attn_desc ar = ad;
        ar.n_q = 1;
        ar.causal = 1;
        KCALL(be->k->attention(be, s->row_out, eng_act_at(be, s->q, (n - 1) * HD), s->kc[l], s->vc[l], &ar, NULL,
                               s->row));
        KCALL(be->k->download(be, tap, s->row, (size_t)n_kv));
    }
    /* x += att Wo^T */
    KCALL(be->k->linear_add(be, s->x, s->att, &w->o_w, NULL, n));
    /* MLP block in row chunks: x += down(silu(gate(xn)) * up(xn)), xn = rmsnorm(x) */
    KCALL(be->k->rmsnorm(be, s->xn, s->x, w->post_norm, n, D, m->cfg.llm.rms_norm_eps));
    for (int64_t r0 = 0; r0 < n; r0 += MLP_CHUNK) {
        int64_t nr = n - r0 < MLP_CHUNK ? n - r0 : MLP_CHUNK;
        const eng_act *xr = eng_act_at(be, s->xn, r0 * D);
        KCALL(be->k->linear(be, s->g, xr, &w->gate_w, NULL, nr));
        KCALL(be->k->linear(be, s->u, xr, &w->up_w, NULL, nr));
        KCALL(be->k->swiglu(be, s->g, s->g, s->u, (size_t)(nr * M)));
        KCALL(be->k->linear_add(be, eng_act_at(be, s->x, r0 * D), s->g, &w->down_w, NULL, nr));
    }
    s->kv_len[l] = n_kv;
    return ENG_OK;
}

/* Final norm + lm_head for rows [r0, r0 + nr) of s->x into s->logits_dev ([nr, Vo], nr <=
 * LOGIT_CHUNK), downloaded to dst. */
static int head_rows(eng_llm_state *s, int64_t r0, int64_t nr, float *dst, char *err, size_t err_len) {
    eng_llm *m = s->m;
    eng_backend *be = &m->be;
    int l = m->L; /* for KCALL's message: "layer L" = the head */
    KCALL(be->k->rmsnorm(be, s->xn, eng_act_at(be, s->x, r0 * m->D), m->norm, nr, m->D, m->cfg.llm.rms_norm_eps));
    KCALL(be->k->linear(be, s->logits_dev, s->xn, &m->lm_head, NULL, nr));
    KCALL(be->k->act_download(be, dst, s->logits_dev, (size_t)(nr * m->Vo)));
    return ENG_OK;
}

/* ---- prefill -------------------------------------------------------------------------------- */

static int is_placeholder(const eng_llm *m, int64_t id) {
    if (m->mrope) return 0; /* Qwen: the pad ids are replaced one for one (splice_pads) */
    return id == ENG_LLM_IMAGE_PLACEHOLDER || id == (int64_t)m->cfg.image_token_id;
}

/* Qwen2.5-VL splice (masked_scatter of the reference): the n_visual rows replace the ids equal to
 * the video pad id, in order. They must be exactly n_visual and consecutive (one video block).
 * *start = index of the first (-1 when none). ENG_OK or ENG_ERR_ARG. */
static int splice_pads(const eng_llm *m, const eng_llm_prefill_params *p, int64_t *start, char *err, size_t err_len) {
    int64_t first = -1, count = 0;
    for (int64_t i = 0; i < p->n_ids; i++) {
        int64_t id = p->ids[i];
        if (id == m->pad_id) {
            if (first < 0) first = i;
            else if (p->ids[i - 1] != m->pad_id)
                return fail(err, err_len, ENG_ERR_ARG, "prefill: video pad ids at %lld and %lld are not one block",
                            (long long)first, (long long)i);
            count++;
        } else if (id < 0 || id >= m->V) {
            return fail(err, err_len, ENG_ERR_ARG, "prefill: token id %lld at %lld outside 0..%lld", (long long)id,
                        (long long)i, (long long)m->V - 1);
        }
    }
    if (count != p->n_visual)
        return fail(err, err_len, ENG_ERR_ARG, "prefill: %lld video pad ids (id %lld) but %lld visual rows",
                    (long long)count, (long long)m->pad_id, (long long)p->n_visual);
    *start = first;
    return ENG_OK;
}

static int prefill_run(eng_llm_state *s, const eng_llm_prefill_params *p, eng_llm_prefill_out *out, char *err,
                       size_t err_len) {
    eng_llm *m = s->m;
    eng_backend *be = &m->be;
    int64_t D = m->D;
    if (!p->ids && p->n_ids > 0) return fail(err, err_len, ENG_ERR_ARG, "prefill: no token ids");
    if (p->n_ids < 0 || p->n_visual < 0) return fail(err, err_len, ENG_ERR_ARG, "prefill: negative count");
    if (p->n_visual > 0 && !p->visual) return fail(err, err_len, ENG_ERR_ARG, "prefill: no visual rows");
    int64_t ph = -1, pad0 = -1;
    if (m->mrope) {
        int rc = splice_pads(m, p, &pad0, err, err_len);
        if (rc != ENG_OK) return rc;
    }
    for (int64_t i = 0; i < p->n_ids && !m->mrope; i++) {
        int64_t id = p->ids[i];
        if (is_placeholder(m, id)) {
            if (ph >= 0)
                return fail(err, err_len, ENG_ERR_ARG, "prefill: more than one image placeholder (ids %lld and %lld)",
                            (long long)ph, (long long)i);
            ph = i;
        } else if (id < 0 || id >= m->V) {
            return fail(err, err_len, ENG_ERR_ARG, "prefill: token id %lld at %lld outside 0..%lld", (long long)id,
                        (long long)i, (long long)m->V - 1);
        }
    }
    if (ph < 0 && p->n_visual > 0 && !m->mrope)
        return fail(err, err_len, ENG_ERR_ARG, "prefill: %lld visual rows but no image placeholder in the ids",
                    (long long)p->n_visual);
    /* a NaN visual token makes every logit NaN, and greedy decoding then "answers" token 0 */
    for (int64_t i = 0; i < p->n_visual * D; i++)
        if (!isfinite(p->visual[i]))
            return fail(err, err_len, ENG_ERR_ARG, "prefill: visual token %lld, dimension %lld is %s", (long long)(i / D),
                        (long long)(i % D), isnan(p->visual[i]) ? "NaN" : "infinite");
    int64_t N = m->mrope ? p->n_ids : p->n_ids - (ph >= 0 ? 1 : 0) + p->n_visual;
    if (N < 1) return fail(err, err_len, ENG_ERR_ARG, "prefill: empty sequence");
    if (N > s->C)
        return fail(err, err_len, ENG_ERR_ARG, "prefill: sequence of %lld tokens exceeds the state's n_ctx %lld",
                    (long long)N, (long long)s->C);
    /* the sequence buffers follow the longest sequence so far: N plus the generation reserve */
    int64_t reserve = p->n_reserve > 0 ? p->n_reserve : ENG_LLM_GEN_RESERVE;
    int64_t cap = N + reserve < s->C ? N + reserve : s->C;
    int rr = state_reserve(s, cap, err, err_len);
    if (rr != ENG_OK) return rr;
    /* allocation is not prefill work: the stage starts here, on the backend's clock */
    eng_tick tk0, tk1;
    if (be->k->tick(be, &tk0) != 0) return fail(err, err_len, ENG_ERR_BACKEND, "prefill: %s", be->err);
    if (p->attn_layer < -1 || p->attn_layer >= m->L)
        return fail(err, err_len, ENG_ERR_ARG, "prefill: attention layer %d outside 0..%d", p->attn_layer, m->L - 1);
    if (m->mrope) ph = pad0;
    int64_t vs = ph >= 0 ? ph : -1, vl = ph >= 0 ? p->n_visual : 0;
    const tb_llm_plan *plan = p->plan && p->plan->layer != 0 ? p->plan : NULL;
    if (plan) {
        int64_t ss = plan->span_start >= 0 ? plan->span_start : (vs >= 0 ? vs : 0);
        int64_t sl = plan->span_start >= 0 ? plan->span_len : vl;
        int rc = eng_llm_plan_check(m, plan, N, ss, sl, err, err_len);
        if (rc != ENG_OK) return rc;
        vs = ss;
        vl = sl;
    }
    if (vs < 0) vs = 0;

    /* splice: the text embeddings gathered into hx; the visual block goes up straight from the
     * caller's rows (no host copy of the largest part; M-RoPE sequences interleave them, and go up
     * from hx whole) */
    int64_t o = 0, vis_at = -1;
    for (int64_t i = 0; i < p->n_ids && m->mrope; i++, o++) {
        if (i >= pad0 && pad0 >= 0 && i < pad0 + p->n_visual)
            memcpy(s->hx + o * D, p->visual + (i - pad0) * D, (size_t)D * sizeof(float));
        else
            eng_wdesc_row_f32(&m->embed, p->ids[i], s->hx + o * D);
    }
    for (int64_t i = 0; i < p->n_ids && !m->mrope; i++) {
        if (i == ph) {
            vis_at = o;
            o += p->n_visual;
        } else {
            eng_wdesc_row_f32(&m->embed, p->ids[i], s->hx + o * D);
            o++;
        }
    }
    for (int64_t i = 0; i < N; i++) {
        s->pos[i] = p->pos ? p->pos[i] : i;
        s->orig[i] = i;
    }
    s->next_pos = s->pos[N - 1] + 1;
    if (m->mrope) {
        /* three rows (t, h, w); decode continues at max id + 1 in all three (HF rope_deltas) */
        int64_t mx = -1;
        for (int r = 0; r < 3; r++)
            for (int64_t i = 0; i < N; i++) {
                int64_t v = p->pos3 ? p->pos3[r * N + i] : p->pos ? p->pos[i] : i;
                s->pos[r * s->cap + i] = v;
                if (v > mx) mx = v;
            }
        s->next_pos = mx + 1;
    }
    if (s->next_pos > m->cfg.llm.max_position)
        return fail(err, err_len, ENG_ERR_ARG, "prefill: position %lld is past max_position_embeddings %d of the config",
                    (long long)s->next_pos - 1, m->cfg.llm.max_position);
    if (m->mrope) {
        if (be->k->act_upload(be, s->x, s->hx, (size_t)(N * D)) != 0)
            return fail(err, err_len, ENG_ERR_BACKEND, "prefill: upload: %s", be->err);
    } else {
        {
            int64_t nv = vis_at >= 0 ? p->n_visual : 0, before = vis_at >= 0 ? vis_at : N, after = N - before - nv;
            int up = be->k->act_upload(be, s->x, s->hx, (size_t)(before * D));
            if (!up && nv > 0)
                up = be->k->act_upload(be, eng_act_at(be, s->x, before * D), p->visual, (size_t)(nv * D));
            if (!up && after > 0)
                up = be->k->act_upload(be, eng_act_at(be, s->x, (before + nv) * D), s->hx + (before + nv) * D,
                                       (size_t)(after * D));
            if (up) return fail(err, err_len, ENG_ERR_BACKEND, "prefill: upload: %s", be->err);
        }
    }

    memset(out, 0, sizeof *out);
    out->n_tokens = N;
    out->visual_start = ph >= 0 ? ph : -1;
    out->n_visual = ph >= 0 ? p->n_visual : 0;
    int64_t n = N;
    double plan_s = 0.0;
    for (int l = 0; l < m->L; l++) {
        if (plan && l == plan->layer) {
            double tp = tb_now_s();
            int rc = eng_llm_plan_execute(s, plan, s->hrow, &n, &vs, &vl, err, err_len);
            if (rc != ENG_OK) return rc;
            plan_s += tb_now_s() - tp;
        }
        /* DART reads layer K-1's cached keys and outputs instead of an attention row */
        int want_plan_row = plan && l == plan->layer - 1 && plan->select != TB_PLAN_SELECT_DART;
        int want_tap = l == p->attn_layer;
        int causal = !(plan && plan->bidirectional_prev && l == plan->layer - 1);
        float *tap = (want_plan_row || want_tap) ? s->hrow : NULL;
        float *recv = want_plan_row && plan->select == TB_PLAN_SELECT_ALL_QUERIES ? s->hmean : NULL;
        int rc = layer_forward(s, l, n, s->pos, s->cap, causal, tap, recv, err, err_len);
        if (rc != ENG_OK) return rc;
        s->tokens_layer[l] = n;
        s->visual_layer[l] = vl;
        if (want_tap) {
            memcpy(s->htap, s->hrow, (size_t)n * sizeof(float));
            out->attn_len = n;
        }
    }
    /* logits */
    if (p->all_logits) {
        int ok = 1;
        size_t need = mul2((size_t)n, (size_t)m->Vo, &ok);
        if (!ok) return fail(err, err_len, ENG_ERR_ARG, "prefill: all-logits size overflows");
        if (need > s->cap_all) {
            float *nb = realloc(s->all_logits, need * sizeof(float));
            if (!nb) return fail(err, err_len, ENG_ERR_NOMEM, "prefill: out of memory for %lld x %lld logits",
                                 (long long)n, (long long)m->Vo);
            s->all_logits = nb;
            s->cap_all = need;
        }
        for (int64_t r0 = 0; r0 < n; r0 += LOGIT_CHUNK) {
            int64_t nr = n - r0 < LOGIT_CHUNK ? n - r0 : LOGIT_CHUNK;
            int rc = head_rows(s, r0, nr, s->all_logits + r0 * m->Vo, err, err_len);
            if (rc != ENG_OK) return rc;
        }
        memcpy(s->logits, s->all_logits + (n - 1) * m->Vo, (size_t)m->Vo * sizeof(float));
        out->logits = s->all_logits;
        out->n_logit_rows = n;
    } else {
        int rc = head_rows(s, n - 1, 1, s->logits, err, err_len);
        if (rc != ENG_OK) return rc;
        out->logits = s->logits;
        out->n_logit_rows = 1;
    }
    double secs = 0.0;
    if (be->k->tick(be, &tk1) != 0 || be->k->tick_elapsed(be, &tk0, &tk1, &secs) != 0 || be->k->sync(be) != 0)
        return fail(err, err_len, ENG_ERR_BACKEND, "prefill: %s", be->err);
    out->vocab_out = m->Vo;
    out->row_pos = s->orig;
    out->n_final = n;
    out->attn_row = p->attn_layer >= 0 ? s->htap : NULL;
    out->n_tokens_layer = s->tokens_layer;
    out->n_visual_layer = s->visual_layer;
    out->n_layers = m->L;
    out->kept = s->have_plan_kept ? s->kept : NULL;
    out->n_kept = s->have_plan_kept ? s->n_kept : 0;
    out->seconds = secs;
    out->plan_seconds = plan_s;
    s->tm.prefill_s = out->seconds;
    s->tm.plan_s = plan_s;
    s->tm.n_prefill = N;
    s->prefilled = 1;
    return ENG_OK;
}

int eng_llm_prefill(eng_llm_state *s, const eng_llm_prefill_params *p, eng_llm_prefill_out *out, char *err,
                    size_t err_len) {
    if (!s || !p || !out) return fail(err, err_len, ENG_ERR_ARG, "eng_llm_prefill: NULL argument");
    state_reset(s);
    int rc = prefill_run(s, p, out, err, err_len);
    if (rc != ENG_OK) {
        state_reset(s);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---- decode and generation ------------------------------------------------------------------ */

int eng_llm_decode(eng_llm_state *s, int64_t token, const float **logits, char *err, size_t err_len) {
    if (!s) return fail(err, err_len, ENG_ERR_ARG, "eng_llm_decode: no state");
    eng_llm *m = s->m;
    eng_backend *be = &m->be;
    if (!s->prefilled) return fail(err, err_len, ENG_ERR_ARG, "decode: no prefill on this state");
    if (token < 0 || token >= m->V)
        return fail(err, err_len, ENG_ERR_ARG, "decode: token id %lld outside 0..%lld", (long long)token,
                    (long long)m->V - 1);
    if (s->kv_len[0] + 1 > s->cap)
        return fail(err, err_len, ENG_ERR_ARG, "decode: KV cache full (%lld rows: prefill length + n_reserve)",
                    (long long)s->cap);
    if (s->next_pos >= m->cfg.llm.max_position)
        return fail(err, err_len, ENG_ERR_ARG, "decode: position %lld is past max_position_embeddings %d of the config",
                    (long long)s->next_pos, m->cfg.llm.max_position);
    eng_tick tk0, tk1;
    if (be->k->tick(be, &tk0) != 0) return fail(err, err_len, ENG_ERR_BACKEND, "decode: %s", be->err);
    eng_wdesc_row_f32(&m->embed, token, s->hx);
    if (be->k->act_upload(be, s->x, s->hx, (size_t)m->D) != 0)
        return fail(err, err_len, ENG_ERR_BACKEND, "decode: upload: %s", be->err);
    int64_t pos[3] = {s->next_pos, s->next_pos, s->next_pos}; /* M-RoPE: the same id in t, h, w */
    for (int l = 0; l < m->L; l++) {
        int rc = layer_forward(s, l, 1, pos, 1, 1, NULL, NULL, err, err_len);
        if (rc != ENG_OK) return rc;
    }
    int rc = head_rows(s, 0, 1, s->logits, err, err_len);
    if (rc != ENG_OK) return rc;
    double secs = 0.0;
    if (be->k->tick(be, &tk1) != 0 || be->k->tick_elapsed(be, &tk0, &tk1, &secs) != 0 || be->k->sync(be) != 0)
        return fail(err, err_len, ENG_ERR_BACKEND, "decode: %s", be->err);
    s->next_pos++;
    s->tm.decode_s += secs;
    s->tm.n_decode++;
    if (logits) *logits = s->logits;
    return ENG_OK;
}

int eng_llm_generate(eng_llm_state *s, const eng_llm_gen_params *gp, int64_t *tokens, int64_t max_tokens,
                     int64_t *n_out, char *err, size_t err_len) {
    eng_llm_gen_params defg = eng_llm_gen_default_params();
    if (!gp) gp = &defg;
    if (n_out) *n_out = 0;
    if (!s || !tokens || max_tokens < 0) return fail(err, err_len, ENG_ERR_ARG, "eng_llm_generate: bad arguments");
    if (!s->prefilled) return fail(err, err_len, ENG_ERR_ARG, "generate: no prefill on this state");
    if (s->generated) return fail(err, err_len, ENG_ERR_ARG, "generate: already called after this prefill");
    eng_llm *m = s->m;
    double pen = gp->repetition_penalty < 0 ? m->rep_pen : gp->repetition_penalty;
    if (!(pen > 0.0)) return fail(err, err_len, ENG_ERR_ARG, "generate: repetition penalty %g must be > 0", pen);
    int64_t limit = gp->max_new_tokens < max_tokens ? gp->max_new_tokens : max_tokens;
    s->generated = 1;
    int64_t n = 0;
    while (n < limit) {
        float *lg = s->logits;
        if (pen != 1.0) {
            /* HF RepetitionPenaltyLogitsProcessor over the distinct generated ids (gather, then
             * scatter: a repeated id is penalised once) */
            for (int64_t i = 0; i < n; i++) {
                int64_t id = tokens[i];
                int seen = 0;
                for (int64_t j = 0; j < i; j++)
                    if (tokens[j] == id) seen = 1;
                if (seen || id >= m->Vo) continue;
                float v = lg[id];
                lg[id] = v > 0 ? (float)(v / pen) : (float)(v * pen);
            }
        }
        int64_t best = 0;
        int finite = isfinite(lg[0]);
        for (int64_t v = 1; v < m->Vo; v++) {
            finite &= isfinite(lg[v]) != 0;
            if (lg[v] > lg[best]) best = v;
        }
        /* a NaN row has no argmax: "best" would be token 0, an answer nobody computed */
        if (!finite) return fail(err, err_len, ENG_ERR_FORMAT, "generate: the logits of step %lld are not finite",
                                 (long long)n);
        tokens[n++] = best;
        if (n_out) *n_out = n;
        int stop = 0;
        if (gp->use_stop_ids)
            for (int i = 0; i < m->n_stop; i++)
                if (best == m->stop_ids[i]) stop = 1;
        if (stop || n >= limit) break;
        int rc = eng_llm_decode(s, best, NULL, err, err_len);
        if (rc != ENG_OK) return rc;
    }
    return ENG_OK;
}


/* llm_random.c - a Qwen2 model built in memory with deterministic random weights (see
 * llm_internal.h): benchmarks and tests get a real-sized LLM without a checkpoint on disk. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "engine/llm_internal.h"


/* Fills n floats uniformly in [-a, a] from a SplitMix64 stream keyed by (seed, tag). */
static float *rand_buf(size_t n, float a, uint64_t seed, uint64_t tag) {
    float *b = malloc((n ? n : 1) * sizeof *b);
    if (!b) return NULL;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        uint64_t z = tb_mix64(seed * 0x9E3779B97F4A7C15ull + tag * 0xBF58476D1CE4E5B9ull + i * 0x94D049BB133111EBull);
        b[i] = a * (float)((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
    }
    return b;
}

/* A random matrix [rows, cols] in dtype dt, owned by the descriptor (16-bit: rounded to nearest). */
static int rand_mat(eng_llm *m, eng_weight *w, eng_dtype dt, int64_t rows, int64_t cols, float a, uint64_t seed,
                    uint64_t tag, eng_wdesc *keep, char *err, size_t err_len) {
    size_t n = (size_t)(rows * cols);
    float *f = rand_buf(n, a, seed, tag);
    if (!f) return eng_llm_fail(err, err_len, ENG_ERR_NOMEM, "eng_llm_new_random: out of memory");
    void *data = f;
    if (dt != ENG_DT_F32) {
        uint16_t *h = malloc((n ? n : 1) * sizeof *h);
        if (!h) {
            free(f);
            return eng_llm_fail(err, err_len, ENG_ERR_NOMEM, "eng_llm_new_random: out of memory");
        }
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) h[i] = dt == ENG_DT_BF16 ? st_f32_to_bf16(f[i]) : st_f32_to_f16(f[i]);
        free(f);
        data = h;
    }
    eng_wdesc d = {dt, rows, cols, data, data};
    if (keep) { /* the embedding: kept as a host descriptor, not placed on the backend */
        *keep = d;
        m->bytes += n * eng_dtype_size(dt);
        return ENG_OK;
    }
    return eng_llm_put_weight(m, w, &d, err, err_len);
}

static float *const_buf(size_t n, float v) {
    float *b = malloc((n ? n : 1) * sizeof *b);
    if (b)
        for (size_t i = 0; i < n; i++) b[i] = v;
    return b;
}

eng_llm *eng_llm_new_random(const eng_llm_config *c, const eng_llm_params *p, eng_dtype dt, uint64_t seed,
                            char *err, size_t err_len) {
    eng_llm_params defp = eng_llm_default_params();
    if (!p) p = &defp;
    if (!c || c->hidden <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads ||
        c->head_dim <= 0 || c->head_dim % 2 || c->intermediate <= 0 || c->n_layers <= 0 || c->vocab <= 0 ||
        p->vocab_limit < 0 || p->vocab_limit > c->vocab) {
        eng_llm_fail(err, err_len, ENG_ERR_ARG, "eng_llm_new_random: bad configuration");
        return NULL;
    }
    if (err && err_len) err[0] = '\0';
    eng_llm *m = calloc(1, sizeof *m);
    if (!m) {
        eng_llm_fail(err, err_len, ENG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->cfg.llm = *c;
    m->cfg.newline = ENG_NEWLINE_NONE;
    m->cfg.image_token_id = ENG_LLM_IMAGE_PLACEHOLDER;
    eng_generation_config_default(&m->cfg.gen);
    m->D = c->hidden;
    m->H = c->n_heads;
    m->G = c->n_kv_heads;
    m->Dh = c->head_dim;
    m->M = c->intermediate;
    m->L = c->n_layers;
    m->V = c->vocab;
    m->Vo = p->vocab_limit ? p->vocab_limit : m->V;
    m->rep_pen = 1.0;
    if (eng_backend_init_dtype(&m->be, p->backend, p->dtype, err, err_len) != 0) goto bad;
    size_t D = (size_t)m->D, HD = (size_t)m->H * (size_t)m->Dh, KVD = (size_t)m->G * (size_t)m->Dh, M = (size_t)m->M;
    float sD = sqrtf(3.0f / (float)D), sHD = sqrtf(3.0f / (float)HD), sM = sqrtf(3.0f / (float)M);
    uint64_t tag = 1;
    if (rand_mat(m, NULL, dt, m->V, (int64_t)D, 0.5f, seed, tag++, &m->embed, err, err_len) != ENG_OK) goto bad;
    if (c->tie_embeddings) {
        eng_wdesc d = m->embed;
        d.rows = m->Vo;
        d.owned = NULL; /* the embedding keeps its buffer */
        if (eng_llm_put_weight(m, &m->lm_head, &d, err, err_len) != ENG_OK) goto bad;
    } else if (rand_mat(m, &m->lm_head, dt, m->Vo, (int64_t)D, sD, seed, tag++, NULL, err, err_len) != ENG_OK) {
        goto bad;
    }
    if (!(m->norm = eng_llm_put(m, const_buf(D, 1.0f), D, err, err_len))) goto bad;
    m->layers = calloc((size_t)m->L, sizeof *m->layers);
    if (!m->layers) goto nomem;
    for (int l = 0; l < m->L; l++) {
        llm_layer *w = &m->layers[l];
        if (!(w->in_norm = eng_llm_put(m, const_buf(D, 1.0f), D, err, err_len)) ||
            !(w->post_norm = eng_llm_put(m, const_buf(D, 1.0f), D, err, err_len)) ||
            rand_mat(m, &w->q_w, dt, (int64_t)HD, (int64_t)D, sD, seed, tag++, NULL, err, err_len) ||
            !(w->q_b = eng_llm_put(m, rand_buf(HD, 0.02f, seed, tag++), HD, err, err_len)) ||
            rand_mat(m, &w->k_w, dt, (int64_t)KVD, (int64_t)D, sD, seed, tag++, NULL, err, err_len) ||
            !(w->k_b = eng_llm_put(m, rand_buf(KVD, 0.02f, seed, tag++), KVD, err, err_len)) ||
            rand_mat(m, &w->v_w, dt, (int64_t)KVD, (int64_t)D, sD, seed, tag++, NULL, err, err_len) ||
            !(w->v_b = eng_llm_put(m, rand_buf(KVD, 0.02f, seed, tag++), KVD, err, err_len)) ||
            rand_mat(m, &w->o_w, dt, (int64_t)D, (int64_t)HD, sHD, seed, tag++, NULL, err, err_len) ||
            rand_mat(m, &w->gate_w, dt, (int64_t)M, (int64_t)D, sD, seed, tag++, NULL, err, err_len) ||
            rand_mat(m, &w->up_w, dt, (int64_t)M, (int64_t)D, sD, seed, tag++, NULL, err, err_len) ||
            rand_mat(m, &w->down_w, dt, (int64_t)D, (int64_t)M, sM, seed, tag++, NULL, err, err_len)) {
            if (!err || !err[0]) eng_llm_fail(err, err_len, ENG_ERR_NOMEM, "out of memory");
            goto bad;
        }
    }
    return m;
nomem:
    eng_llm_fail(err, err_len, ENG_ERR_NOMEM, "eng_llm_new_random: out of memory");
bad:
    eng_llm_free(m);
    return NULL;
}

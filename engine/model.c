/* model.c - eng_model load/free and the helpers every model part shares: status strings, the
 * weights digest (SHA-256 through OpenSSL EVP, over every tensor loaded), moving weights onto the
 * backend. The vision side is loaded by vision.c; the LLM issue adds its loader next to it. */
#include "engine/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *eng_status_str(int status) {
    switch (status) {
    case ENG_OK: return "ok";
    case ENG_ERR_ARG: return "bad argument";
    case ENG_ERR_IO: return "i/o error";
    case ENG_ERR_FORMAT: return "bad checkpoint or config";
    case ENG_ERR_NOMEM: return "out of memory";
    case ENG_ERR_BACKEND: return "backend error";
    }
    return "unknown status";
}

eng_model_params eng_model_default_params(void) {
    eng_model_params p;
    memset(&p, 0, sizeof p);
    p.backend = ENG_BACKEND_CPU;
    p.siglip_path = NULL;
    p.load_vision = 1;
    return p;
}

static const char *st_dtype_name(st_dtype d) {
    return d == ST_F32 ? "F32" : d == ST_F16 ? "F16" : "BF16";
}

float *eng_model_load_tensor(eng_model *m, const st_file *st, eng_tensor_id id, int layer, char *err,
                             size_t err_len) {
    const st_tensor *t = eng_tensor_find(st, &m->cfg, id, layer, err, err_len);
    if (!t) return NULL;
    if (m->digest_ctx) {
        char hdr[512];
        int n = snprintf(hdr, sizeof hdr, "%s|%s|%d", t->name, st_dtype_name(t->dtype), t->ndim);
        for (int i = 0; i < t->ndim && n > 0 && (size_t)n < sizeof hdr; i++)
            n += snprintf(hdr + n, sizeof hdr - (size_t)n, "|%lld", (long long)t->shape[i]);
        size_t esz = t->dtype == ST_F32 ? 4 : 2;
        if (n < 0 || (size_t)n >= sizeof hdr || !EVP_DigestUpdate(m->digest_ctx, hdr, (size_t)n + 1) ||
            !EVP_DigestUpdate(m->digest_ctx, t->data, t->numel * esz)) {
            snprintf(err, err_len, "%s: tensor %s: digest update failed", t->file, t->name);
            return NULL;
        }
    }
    return eng_tensor_load_f32(st, &m->cfg, id, layer, err, err_len);
}

float *eng_model_to_backend(eng_model *m, float *host, size_t n, char *err, size_t err_len) {
    if (!host) return NULL;
    if (!m->be.k->on_device) return host;
    float *d = m->be.k->alloc(&m->be, n);
    if (!d || m->be.k->upload(&m->be, d, host, n) != 0) {
        snprintf(err, err_len, "backend %s: %s", m->be.k->name, m->be.err);
        if (d) m->be.k->free(&m->be, d);
        free(host);
        return NULL;
    }
    free(host);
    return d;
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Adds every tensor of the LLaVA checkpoint (loaded or not: the LLM too) to the digest by name,
 * dtype, shape and three 4 KiB samples of its bytes (start, middle, end), so that the digest tells
 * checkpoints apart without reading 16 GB. The tensors the model loaded are hashed in full by
 * eng_model_load_tensor. */
static int digest_checkpoint_sample(eng_model *m, char *err, size_t err_len) {
    for (size_t i = 0; i < st_count(m->st); i++) {
        const st_tensor *t = st_at(m->st, i);
        char hdr[512];
        int n = snprintf(hdr, sizeof hdr, "ckpt|%s|%s|%d", t->name, st_dtype_name(t->dtype), t->ndim);
        for (int d = 0; d < t->ndim && n > 0 && (size_t)n < sizeof hdr; d++)
            n += snprintf(hdr + n, sizeof hdr - (size_t)n, "|%lld", (long long)t->shape[d]);
        if (n < 0 || (size_t)n >= sizeof hdr) n = (int)sizeof hdr - 1;
        size_t bytes = t->numel * (t->dtype == ST_F32 ? 4 : 2), chunk = 4096;
        const unsigned char *data = t->data;
        int ok = EVP_DigestUpdate(m->digest_ctx, hdr, (size_t)n + 1);
        if (bytes <= 3 * chunk) {
            ok = ok && EVP_DigestUpdate(m->digest_ctx, data, bytes);
        } else {
            ok = ok && EVP_DigestUpdate(m->digest_ctx, data, chunk) &&
                 EVP_DigestUpdate(m->digest_ctx, data + bytes / 2, chunk) &&
                 EVP_DigestUpdate(m->digest_ctx, data + bytes - chunk, chunk);
        }
        if (!ok) {
            snprintf(err, err_len, "OpenSSL: SHA-256 update failed");
            return -1;
        }
    }
    return 0;
}

eng_model *eng_model_load(const char *dir, const eng_model_params *p, char *err, size_t err_len) {
    eng_model_params def = eng_model_default_params();
    if (!p) p = &def;
    if (!dir || !*dir) {
        snprintf(err, err_len, "eng_model_load: no model directory given");
        return NULL;
    }
    eng_model *m = calloc(1, sizeof *m);
    char siglip_buf[4096];
    const char *siglip = NULL;
    if (!m) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (eng_config_load(dir, &m->cfg, err, err_len) != 0) goto fail;
    m->st = st_open(dir, err, err_len);
    if (!m->st) goto fail;
    if (eng_checkpoint_bind(&m->cfg, m->st, err, err_len) != 0) goto fail;
    if (eng_backend_init(&m->be, p->backend, err, err_len) != 0) goto fail;
    m->digest_ctx = EVP_MD_CTX_new();
    if (!m->digest_ctx || !EVP_DigestInit_ex(m->digest_ctx, EVP_sha256(), NULL)) {
        snprintf(err, err_len, "OpenSSL: SHA-256 init failed");
        goto fail;
    }
    if (p->siglip_path && *p->siglip_path) {
        siglip = p->siglip_path;
    } else if (!p->siglip_path) {
        int n = snprintf(siglip_buf, sizeof siglip_buf, "%s/siglip", dir);
        if (n > 0 && (size_t)n < sizeof siglip_buf && is_dir(siglip_buf)) siglip = siglip_buf;
    }
    if (p->load_vision && m->cfg.layout == ENG_LAYOUT_QWEN25VL) {
        if (eng_qwen_vision_load(m, err, err_len) != ENG_OK) goto fail;
    } else if (p->load_vision) {
        if (eng_vision_load(m, siglip, err, err_len) != ENG_OK) goto fail;
    }
    if (digest_checkpoint_sample(m, err, err_len) != 0) goto fail;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_DigestFinal_ex(m->digest_ctx, md, &md_len) || md_len != 32) {
        snprintf(err, err_len, "OpenSSL: SHA-256 final failed");
        goto fail;
    }
    for (unsigned i = 0; i < md_len; i++) snprintf(m->digest + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(m->digest_ctx);
    m->digest_ctx = NULL;
    return m;
fail:
    eng_model_free(m);
    return NULL;
}

void eng_model_free(eng_model *m) {
    if (!m) return;
    if (m->be.k && m->cfg.layout == ENG_LAYOUT_QWEN25VL) eng_qwen_vision_unload(m);
    else if (m->be.k) eng_vision_unload(m);
    eng_backend_fini(&m->be);
    free(m->newline);
    st_close(m->st);
    if (m->digest_ctx) EVP_MD_CTX_free(m->digest_ctx);
    free(m);
}

const char *eng_model_digest(const eng_model *m) {
    return m ? m->digest : "";
}

const float *eng_model_image_newline(const eng_model *m) {
    return m ? m->newline : NULL;
}

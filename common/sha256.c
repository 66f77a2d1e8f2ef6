/* sha256.c - the incremental digest of common/sha256.h through OpenSSL's EVP interface (every
 * build except the lean one, which uses the plain C common/sha256_lean.c). The one-shot and file
 * helpers on top of it are in common.c. */
#include "common/sha256.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct tb_sha256 {
    EVP_MD_CTX *ctx;
};

static void hex32(const unsigned char *md, char out[65]) {
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = '\0';
}

tb_sha256 *tb_sha256_new(void) {
    tb_sha256 *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
        tb_sha256_free(h);
        return NULL;
    }
    return h;
}

int tb_sha256_update(tb_sha256 *h, const void *data, size_t len) {
    return h && h->ctx && EVP_DigestUpdate(h->ctx, data, len) ? 0 : -1;
}

int tb_sha256_final(tb_sha256 *h, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!h || !h->ctx || !EVP_DigestFinal_ex(h->ctx, md, &mdlen) || mdlen != 32) return -1;
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    hex32(md, out);
    return 0;
}

void tb_sha256_free(tb_sha256 *h) {
    if (!h) return;
    if (h->ctx) EVP_MD_CTX_free(h->ctx);
    free(h);
}

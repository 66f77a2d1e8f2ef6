/* sha256.h - SHA-256 as lower-case hex: run keys, feature-cache keys, manifest content hashes,
 * download checksums, the engine's weights digest. Two implementations of this one API, chosen at
 * build time: common/sha256.c (OpenSSL EVP, every build but the lean one) and common/sha256_lean.c
 * (plain C, FIPS 180-4, for the lean GPU build that has no OpenSSL); tests/test_lean.c checks that
 * they agree.
 *
 * Usage (incremental):
 *     tb_sha256 *h = tb_sha256_new();
 *     tb_sha256_update(h, buf, n);  ...
 *     char hex[65];
 *     tb_sha256_final(h, hex);      // h can be freed only afterwards
 *     tb_sha256_free(h);
 */
#ifndef TB_SHA256_H
#define TB_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* out: 64 hex characters and a NUL. Returns 0, or -1 when the digest fails. */
int tb_sha256_hex(const void *data, size_t len, char out[65]);

/* Hashes a whole file in 64 KiB chunks; *size (optional) gets its length. Returns 0, or -1 with
 * one line in err naming the file. */
int tb_sha256_file(const char *path, char out[65], int64_t *size, char *err, size_t err_len);

/* An incremental digest (opaque). tb_sha256_new returns NULL when out of memory; update and final
 * return 0, or -1 on failure (after final, only free is allowed); tb_sha256_free(NULL) is a no-op. */
typedef struct tb_sha256 tb_sha256;
tb_sha256 *tb_sha256_new(void);
int tb_sha256_update(tb_sha256 *h, const void *data, size_t len);
int tb_sha256_final(tb_sha256 *h, char out[65]);
void tb_sha256_free(tb_sha256 *h);

#endif

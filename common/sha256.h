/* sha256.h - SHA-256 (OpenSSL EVP) as lower-case hex: run keys, feature-cache keys, manifest
 * content hashes, download checksums. */
#ifndef TB_SHA256_H
#define TB_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* out: 64 hex characters and a NUL. Returns 0, or -1 when the digest fails. */
int tb_sha256_hex(const void *data, size_t len, char out[65]);

/* Hashes a whole file in 64 KiB chunks; *size (optional) gets its length. Returns 0, or -1 with
 * one line in err naming the file. */
int tb_sha256_file(const char *path, char out[65], int64_t *size, char *err, size_t err_len);

#endif

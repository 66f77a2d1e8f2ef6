/* feature_cache.h - an on-disk cache of encoded vision outputs (engine eng_vision_out), so that a
 * sweep over pruning methods and ratios runs the vision tower once per (weights, video, frame
 * policy).
 *
 * Layout: CACHE_DIR/<h>/ where h = lower-case hex SHA-256 (tb_sha256_hex) of the caller's key
 * string. The entry holds key.txt (the key itself, compared on lookup), info.npy (int64 dims),
 * one .npy per non-NULL output array (the names of `tango-bench encode`) and, when given,
 * timestamps.npy. An entry is written into a temporary directory and renamed into place, so a
 * reader sees a complete entry or none; two writers of the same key race harmlessly.
 *
 * The key must name everything that can change the outputs; fcache_key_encode builds the
 * standard one. Example:
 *     char key[1024];
 *     fcache_key_encode(key, sizeof key, eng_model_digest(m), "fp32", "video:<sha256 of file>", 32,
 *                       "linspace", 384, "bilinear", 1, 1);
 *     eng_vision_out o; double *ts = NULL; int64_t n_ts = 0;
 *     int hit = fcache_lookup("cache", key, &o, &ts, &n_ts, err, sizeof err);   // 1 hit, 0 miss, -1 error
 *     if (hit == 0) { ...encode...; fcache_store("cache", key, &o, ts, n_ts, err, sizeof err); }
 *     eng_vision_out_free(&o); free(ts);
 */
#ifndef TB_FEATURE_CACHE_H
#define TB_FEATURE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Writes the standard encode key into buf:
 *   "tango-bench/encode v1\nweights=DIGEST\nsource=SOURCE\nframes=N\nrule=RULE\nsize=S\npool=POOL\n
 *    hidden=0|1\nprojected=0|1\n"
 * Returns 0, or -1 when buf is too small. */
int fcache_key_encode(char *buf, size_t len, const char *weights_digest, const char *dtype, const char *source,
                      int64_t n_frames, const char *rule, int64_t size, const char *pool, int keep_hidden,
                      int keep_projected);

/* Looks key up under cache_dir. On a hit fills *out (caller frees with eng_vision_out_free) and,
 * when ts is not NULL, *ts / *n_ts with the stored timestamps (malloc'd, NULL/0 when none) and
 * returns 1. An entry is only served when it is what the request would compute: its dimensions
 * must equal expect's (the loaded model's; NULL: not checked), its frame count n_frames (> 0;
 * 0: not checked), every array must be finite and the timestamps one per frame; anything else
 * (a damaged or tampered entry, even a self-consistent one) is -1 naming the file. Returns 0 on
 * a miss (out zeroed), -1 on a bad entry or I/O error (err set). */
int fcache_lookup(const char *cache_dir, const char *key, const eng_vision_info *expect, int64_t n_frames,
                  eng_vision_out *out, double **ts, int64_t *n_ts, char *err, size_t err_len);

/* Stores out (and timestamps ts[n_ts], may be NULL) under key, creating cache_dir if needed.
 * Returns 0, or -1 with err set. An existing entry for the key is left as it is. */
int fcache_store(const char *cache_dir, const char *key, const eng_vision_out *out, const double *ts, int64_t n_ts,
                 char *err, size_t err_len);

#endif

/* cmd_encode.c - tango-bench encode: run the vision side of a LLaVA-OneVision / LLaVA-Video
 * checkpoint (SigLIP tower -> projector -> 2-D pooling, with the saliency taps) on a video or on
 * preprocessed pixels, and write the outputs as .npy files into a directory:
 *
 *   vision_hidden (T,P,Dv)  projected (T,P,D)  pooled (T,L,D)  map_attn (T,P)  pooled_attn (T,L)
 *   layer_attn_mean (T,P)  pooled_layer_attn (T,L)  frame_global (T,Dv)  pooled_keys (T,L,Dh)
 *   timestamps (T,) float64 seconds (with --video)
 *
 * map_attn, pooled_attn and frame_global need the SigLIP head checkpoint (--siglip, default
 * MODEL/siglip when it exists) and are absent without it. With --cache DIR, the outputs of a
 * (weights digest, input file hash, frame policy, pool mode) are reused from DIR.
 *
 * Qwen2.5-VL checkpoints (spec qwen25vl.md §4.6): --frames-npy F.npy takes already sampled uint8
 * frames [T,H,W,3] (resized with --min-pixels / --max-pixels, default 3136 / 200704), --video
 * samples --frames N frames as qwen-vl-utils does (its pixel budget, capped by --max-pixels when
 * given); outputs merged (U,D) in raster order, grid_thw (1,3) int64, vit_attn (Gt,L) (the
 * global-query saliency), unit_keys (Gt,L,hd), and with --video timestamps (T,) and
 * frame_indices (T,) int64. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sha256.h"
#include "datasets/video.h"
#include "engine/engine.h"
#include "datasets/datasets.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/feature_cache.h"
#include "harness/npy.h"
#include "harness/qwen_prep.h"

static int mkdirs(const char *dir) {
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof tmp) return -1;
    for (char *s = tmp + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(tmp, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes one output array; skips NULL ones. Returns 0 or -1 (message printed). */
static int write_arr(const char *dir, const char *name, const float *data, int ndim, int64_t a, int64_t b, int64_t c,
                     int *n_written) {
    if (!data) return 0;
    char path[4200], err[512];
    int64_t shape[3] = {a, b, c};
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (npy_write(path, NPY_F32, data, ndim, shape, err, sizeof err)) {
        fprintf(stderr, "tango-bench encode: %s\n", err);
        return -1;
    }
    (*n_written)++;
    return 0;
}

/* The Qwen2.5-VL branch: frames (given or sampled) -> rows -> ViT + merger -> .npy files. */
static int encode_qwen(eng_model *m, const eng_vision_info *vi, const char *video, const char *frames_npy,
                       int64_t n_frames, int64_t min_px, int64_t max_px, int slices, const char *out_dir, int quiet,
                       int write_rows) {
    char err[1024];
    int rc = 1;
    npy_array fa;
    memset(&fa, 0, sizeof fa);
    ds_frames fr;
    memset(&fr, 0, sizeof fr);
    qp_rows rows;
    memset(&rows, 0, sizeof rows);
    eng_qwen_vision_out o;
    memset(&o, 0, sizeof o);
    const uint8_t *rgb = NULL;
    int T = 0, H = 0, W = 0;
    double mn = (double)min_px, mx = (double)max_px;
    if (frames_npy) {
        if (npy_read(frames_npy, NPY_U8, &fa, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        if (fa.ndim != 4 || fa.shape[3] != 3 || fa.shape[0] < 1 || fa.shape[0] > 100000) {
            fprintf(stderr, "tango-bench encode: %s: frames must be (T, H, W, 3) uint8\n", frames_npy);
            goto out;
        }
        rgb = fa.data;
        T = (int)fa.shape[0], H = (int)fa.shape[1], W = (int)fa.shape[2];
    } else {
        ds_qwen_video_params qp = ds_qwen_video_default_params();
        qp.nframes = (int)n_frames;
        if (min_px > 0) qp.min_pixels = min_px;
        if (max_px > 0) qp.max_pixels = max_px;
        if (qp_sample_video(video, &qp, &fr, &mn, &mx, NULL, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        rgb = fr.rgb;
        T = fr.n, H = fr.height, W = fr.width;
    }
    if (qp_frames_to_rows(rgb, T, H, W, mn, mx, vi->temporal_patch, vi->patch_size, vi->merge, &rows, err,
                          sizeof err)) {
        fprintf(stderr, "tango-bench encode: %s\n", err);
        goto out;
    }
    if (eng_qwen_vision_encode(m, rows.rows, rows.grid[0], rows.grid[1], rows.grid[2], slices, &o, err,
                               sizeof err) != ENG_OK) {
        fprintf(stderr, "tango-bench encode: %s\n", err);
        goto out;
    }
    if (mkdirs(out_dir)) {
        fprintf(stderr, "tango-bench encode: cannot create %s: %s\n", out_dir, strerror(errno));
        goto out;
    }
    int nw = 0;
    char path[4200];
    int64_t gshape[2] = {1, 3};
    snprintf(path, sizeof path, "%s/grid_thw.npy", out_dir);
    if (write_arr(out_dir, "merged", o.merged, 2, o.n_units, o.d_model, 0, &nw) ||
        write_arr(out_dir, "vit_attn", o.gq_attn, 2, o.grid_t, o.units_per_slice, 0, &nw) ||
        write_arr(out_dir, "unit_keys", o.unit_keys, 3, o.grid_t, o.units_per_slice, o.head_dim, &nw))
        goto out;
    if (npy_write(path, NPY_I64, rows.grid, 2, gshape, err, sizeof err)) {
        fprintf(stderr, "tango-bench encode: %s\n", err);
        goto out;
    }
    nw++;
    if (write_rows && write_arr(out_dir, "pixel_rows", rows.rows, 2, rows.grid[0] * rows.grid[1] * rows.grid[2],
                                (int64_t)3 * vi->temporal_patch * vi->patch_size * vi->patch_size, 0, &nw))
        goto out;
    if (fr.n > 0) {
        int64_t shape[1] = {fr.n};
        snprintf(path, sizeof path, "%s/timestamps.npy", out_dir);
        if (npy_write(path, NPY_F64, fr.timestamps, 1, shape, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        snprintf(path, sizeof path, "%s/frame_indices.npy", out_dir);
        if (npy_write(path, NPY_I64, fr.indices, 1, shape, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        nw += 2;
    }
    if (!quiet)
        printf("encoded %d frames %dx%d -> %dx%d: grid %lldx%lldx%lld, %lld merged tokens (%lld per slice), backend %s, "
               "%.3f s\nwrote %d arrays to %s\n",
               T, H, W, rows.height, rows.width, (long long)rows.grid[0], (long long)rows.grid[1],
               (long long)rows.grid[2], (long long)o.n_units, (long long)o.units_per_slice, vi->backend, o.seconds, nw,
               out_dir);
    rc = 0;
out:
    npy_free(&fa);
    ds_frames_free(&fr);
    qp_rows_free(&rows);
    eng_qwen_vision_out_free(&o);
    return rc;
}

int cmd_encode(int argc, char **argv) {
    const char *model_dir = NULL, *siglip = NULL, *video = NULL, *pixels_path = NULL, *out_dir = NULL;
    const char *backend_s = "cpu", *dtype_s = "auto", *pool_s = "config", *rule_s = "linspace", *cache_dir = NULL,
               *frames_npy = NULL;
    int64_t n_frames = 32, batch = 4, min_px = 0, max_px = 0;
    int no_hidden = 0, quiet = 0, write_rows = 0;
    const cli_opt opts[] = {
        {"model", CLI_STR, &model_dir, "DIR", "checkpoint directory (config.json + safetensors)", .required = 1},
        {"siglip", CLI_STR, &siglip, "PATH", "SigLIP checkpoint with the attention-pooling head (default DIR/siglip)"},
        {"video", CLI_STR, &video, "FILE", "video file (or JPEG frame folder) to sample frames from"},
        {"frames", CLI_INT, &n_frames, "N", "frames to sample from --video", .min = 1, .max = 100000},
        {"rule", CLI_STR, &rule_s, "RULE", "frame index rule for --video: linspace, centred, interior"},
        {"pixels", CLI_STR, &pixels_path, "P.npy", "preprocessed frames (T,3,S,S) float32, already normalised"},
        {"out", CLI_STR, &out_dir, "DIR", "output directory for the .npy files", .required = 1},
        {"backend", CLI_STR, &backend_s, "NAME", "compute backend: ref, cpu, cuda"},
        {"dtype", CLI_STR, &dtype_s, "T", "numerics: auto (fp16 on cuda, fp32 on ref/cpu), fp16, bf16, fp32"},
        {"pool", CLI_STR, &pool_s, "MODE", "pooling: config, bilinear (OV) or average (LLaVA-Video override)"},
        {"batch", CLI_INT, &batch, "N", "frames run through the tower together", .min = 1, .max = 4096},
        {"cache", CLI_STR, &cache_dir, "DIR", "feature cache directory (reuse outputs of the same inputs)",
         .env = "TB_FEATURE_CACHE"},
        {"no-hidden", CLI_FLAG, &no_hidden, NULL, "do not write vision_hidden and projected (the large arrays)"},
        {"write-rows", CLI_FLAG, &write_rows, NULL,
         "Qwen2.5-VL: also write pixel_rows (N,1176), the processor's pixel_values_videos"},
        {"frames-npy", CLI_STR, &frames_npy, "F.npy",
         "Qwen2.5-VL: already sampled uint8 frames (T,H,W,3), resized by --min-pixels / --max-pixels"},
        {"min-pixels", CLI_INT, &min_px, "N",
         "Qwen2.5-VL: per-frame pixel floor (--frames-npy default 3136; --video default qwen-vl-utils' 100352)",
         .min = 0, .max = 1e9},
        {"max-pixels", CLI_INT, &max_px, "N",
         "Qwen2.5-VL: per-frame pixel cap (--frames-npy default 200704 = 448^2; --video: caps qwen-vl-utils' budget)",
         .min = 0, .max = 1e9},
        {"quiet", CLI_FLAG, &quiet, NULL, "print nothing on success"},
        {0}};
    const cli_spec spec = {"encode", NULL, 0, 0,
                           "run the vision tower, projector and pooling; write features and saliency taps", opts};
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, NULL, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    if (!!video + !!pixels_path + !!frames_npy != 1)
        return cli_usage_error(&spec, "give exactly one of --video FILE, --pixels P.npy or --frames-npy F.npy");
    eng_model_params mp = eng_model_default_params();
    if (eng_backend_parse(backend_s, &mp.backend))
        return cli_usage_error(&spec, "--backend must be ref, cpu or cuda, got '%s'", backend_s);
    if (eng_compute_dtype_parse(dtype_s, &mp.dtype))
        return cli_usage_error(&spec, "--dtype must be auto, fp16, bf16 or fp32, got '%s'", dtype_s);
    eng_encode_params ep = eng_encode_default_params();
    if (!strcmp(pool_s, "config")) ep.pool = ENG_VPOOL_CONFIG;
    else if (!strcmp(pool_s, "bilinear")) ep.pool = ENG_VPOOL_BILINEAR;
    else if (!strcmp(pool_s, "average")) ep.pool = ENG_VPOOL_AVERAGE;
    else return cli_usage_error(&spec, "--pool must be config, bilinear or average, got '%s'", pool_s);
    ds_sample_rule rule = DS_SAMPLE_LINSPACE;
    if (ds_sample_rule_parse(rule_s, &rule))
        return cli_usage_error(&spec, "--rule must be linspace, centred or interior, got '%s'", rule_s);
    ep.frames_per_batch = (int)batch;
    ep.keep_hidden = ep.keep_projected = !no_hidden;
    mp.siglip_path = siglip;

    char err[1024];
    int rc = 1;
    eng_model *m = NULL;
    npy_array px;
    memset(&px, 0, sizeof px);
    ds_frames fr;
    memset(&fr, 0, sizeof fr);
    ds_video_t *vid = NULL;
    eng_vision_out o;
    memset(&o, 0, sizeof o);
    double *ts = NULL;
    int64_t n_ts = 0;
    const float *pixels = NULL;
    int64_t T = 0;
    int cache_state = -1; /* -1 no cache, 0 miss, 1 hit */

    m = eng_model_load(model_dir, &mp, err, sizeof err);
    if (!m) {
        fprintf(stderr, "tango-bench encode: %s\n", err);
        goto out;
    }
    eng_vision_info vi;
    eng_model_vision_info(m, &vi);
    if (vi.qwen) {
        if (pixels_path || cache_dir) {
            fprintf(stderr, "tango-bench encode: %s is a Qwen2.5-VL checkpoint: use --frames-npy or --video (no "
                    "--pixels, no --cache)\n", model_dir);
            rc = 2;
            goto out;
        }
        if (frames_npy && !min_px) min_px = 3136;
        if (frames_npy && !max_px) max_px = 200704;
        rc = encode_qwen(m, &vi, video, frames_npy, n_frames, min_px, max_px, (int)batch, out_dir, quiet, write_rows);
        goto out;
    }
    if (frames_npy) {
        fprintf(stderr, "tango-bench encode: --frames-npy is for Qwen2.5-VL checkpoints\n");
        rc = 2;
        goto out;
    }

    char key[2048] = "";
    if (cache_dir) {
        char h[65], source[128];
        if (tb_sha256_file(video ? video : pixels_path, h, NULL, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        snprintf(source, sizeof source, "%s:%s", video ? "video" : "pixels", h);
        const char *pool_name = ep.pool == ENG_VPOOL_BILINEAR  ? "bilinear"
                                : ep.pool == ENG_VPOOL_AVERAGE ? "average"
                                                               : (vi.pool_mode ? "average" : "bilinear");
        if (fcache_key_encode(key, sizeof key, eng_model_digest(m), vi.dtype, source, video ? n_frames : 0,
                              video ? ds_sample_rule_str(rule) : "none", vi.image_size, pool_name, ep.keep_hidden,
                              ep.keep_projected)) {
            fprintf(stderr, "tango-bench encode: cache key too long\n");
            goto out;
        }
        cache_state = fcache_lookup(cache_dir, key, &vi, video ? n_frames : 0, &o, &ts, &n_ts, err, sizeof err);
        if (cache_state < 0) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
    }

    if (cache_state != 1) {
        if (pixels_path) {
            if (npy_read(pixels_path, NPY_F32, &px, err, sizeof err) ||
                npy_check_finite(&px, pixels_path, err, sizeof err)) {
                fprintf(stderr, "tango-bench encode: %s\n", err);
                goto out;
            }
            if (px.ndim != 4 || px.shape[0] < 1 || px.shape[1] != 3 || px.shape[2] != vi.image_size ||
                px.shape[3] != vi.image_size) {
                fprintf(stderr, "tango-bench encode: %s: shape must be (T, 3, %d, %d) float32, got ndim %d (%lld, ...)\n",
                        pixels_path, vi.image_size, vi.image_size, px.ndim, px.ndim > 0 ? (long long)px.shape[0] : 0LL);
                goto out;
            }
            pixels = px.data;
            T = px.shape[0];
        } else {
            if (ds_video_open(video, 0.0, &vid, err, sizeof err)) {
                fprintf(stderr, "tango-bench encode: %s\n", err);
                goto out;
            }
            ds_video_params vp = ds_video_default_params();
            vp.n_frames = (int)n_frames;
            vp.rule = rule;
            vp.size = vi.image_size;
            if (ds_video_sample(vid, &vp, &fr, err, sizeof err)) {
                fprintf(stderr, "tango-bench encode: %s\n", err);
                goto out;
            }
            pixels = fr.pixels;
            T = fr.n;
            n_ts = fr.n;
            ts = malloc((size_t)fr.n * sizeof *ts);
            if (!ts) {
                fprintf(stderr, "tango-bench encode: out of memory\n");
                goto out;
            }
            memcpy(ts, fr.timestamps, (size_t)fr.n * sizeof *ts);
        }
        int erc = eng_vision_encode(m, pixels, T, &ep, &o, err, sizeof err);
        if (erc != ENG_OK) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        if (cache_dir && fcache_store(cache_dir, key, &o, ts, n_ts, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
    }

    if (mkdirs(out_dir)) {
        fprintf(stderr, "tango-bench encode: cannot create %s: %s\n", out_dir, strerror(errno));
        goto out;
    }
    int nw = 0;
    int64_t Tn = o.n_frames, P = o.n_patches, L = o.n_pooled;
    if (write_arr(out_dir, "vision_hidden", o.vision_hidden, 3, Tn, P, o.d_vision, &nw) ||
        write_arr(out_dir, "projected", o.projected, 3, Tn, P, o.d_model, &nw) ||
        write_arr(out_dir, "pooled", o.pooled, 3, Tn, L, o.d_model, &nw) ||
        write_arr(out_dir, "map_attn", o.map_attn, 2, Tn, P, 0, &nw) ||
        write_arr(out_dir, "pooled_attn", o.pooled_attn, 2, Tn, L, 0, &nw) ||
        write_arr(out_dir, "layer_attn_mean", o.layer_attn_mean, 2, Tn, P, 0, &nw) ||
        write_arr(out_dir, "pooled_layer_attn", o.pooled_layer_attn, 2, Tn, L, 0, &nw) ||
        write_arr(out_dir, "frame_global", o.frame_global, 2, Tn, o.d_vision, 0, &nw) ||
        write_arr(out_dir, "pooled_keys", o.pooled_keys, 3, Tn, L, o.head_dim, &nw))
        goto out;
    if (ts && n_ts > 0) {
        char path[4200];
        int64_t shape[1] = {n_ts};
        snprintf(path, sizeof path, "%s/timestamps.npy", out_dir);
        if (npy_write(path, NPY_F64, ts, 1, shape, err, sizeof err)) {
            fprintf(stderr, "tango-bench encode: %s\n", err);
            goto out;
        }
        nw++;
    }
    if (!quiet) {
        printf("encoded %lld frames: grid %lldx%lld -> %s %lldx%lld (%lld tokens/frame), backend %s, %.3f s%s\n",
               (long long)Tn, (long long)o.grid, (long long)o.grid, o.pool_mode ? "average" : "bilinear",
               (long long)o.grid_pooled, (long long)o.grid_pooled, (long long)L, vi.backend, o.seconds,
               vi.has_head ? "" : " (no SigLIP head: map_attn, pooled_attn, frame_global not written)");
        if (cache_state >= 0) printf("cache: %s (%s)\n", cache_state == 1 ? "hit" : "miss, stored", cache_dir);
        printf("wrote %d arrays to %s\n", nw, out_dir);
    }
    rc = 0;
out:
    eng_vision_out_free(&o);
    free(ts);
    npy_free(&px);
    ds_frames_free(&fr);
    ds_video_free(vid);
    eng_model_free(m);
    return rc;
}

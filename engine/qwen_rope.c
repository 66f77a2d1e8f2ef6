/* qwen_rope.c - Qwen2.5-VL's 3-D position ids (get_rope_index of transformers 4.50, spec
 * qwen25vl.md §4.3): text runs count up in all three rows; a video block of T x Lh x Lw merged
 * units starts at max + 1 of everything before it and walks (slice, unit row, unit col) with the
 * temporal id scaled by second_per_grid_t * tokens_per_second and truncated. */
#include "engine/llm.h"

#include <stdio.h>

int eng_qwen_rope_index(const int64_t *ids, int64_t n, const int64_t (*grids)[3], int64_t n_grids,
                        double second_per_grid_t, int tokens_per_second, int merge, int64_t vision_start_id,
                        int64_t video_token_id, int64_t image_token_id, int64_t *pos3, int64_t *max_id, char *err,
                        size_t err_len) {
    if (!ids || !pos3 || n < 1 || merge < 1 || (n_grids > 0 && !grids)) {
        snprintf(err, err_len, "rope index: bad arguments");
        return ENG_ERR_ARG;
    }
    int64_t next = 0, g = 0, i = 0;
    int64_t *pt = pos3, *ph = pos3 + n, *pw = pos3 + 2 * n;
    while (i < n) {
        if (ids[i] == image_token_id) {
            snprintf(err, err_len, "rope index: image pad id %lld at %lld: only videos are supported",
                     (long long)image_token_id, (long long)i);
            return ENG_ERR_ARG;
        }
        int video = ids[i] == video_token_id && i > 0 && ids[i - 1] == vision_start_id;
        if (!video) {
            if (ids[i] == video_token_id) {
                snprintf(err, err_len, "rope index: video pad at %lld does not follow a <|vision_start|> (id %lld)",
                         (long long)i, (long long)vision_start_id);
                return ENG_ERR_ARG;
            }
            pt[i] = ph[i] = pw[i] = next++;
            i++;
            continue;
        }
        if (g >= n_grids) {
            snprintf(err, err_len, "rope index: video block %lld at %lld has no grid (%lld given)", (long long)g,
                     (long long)i, (long long)n_grids);
            return ENG_ERR_ARG;
        }
        int64_t T = grids[g][0], Gh = grids[g][1], Gw = grids[g][2];
        if (T < 1 || Gh < merge || Gw < merge || Gh % merge || Gw % merge) {
            snprintf(err, err_len, "rope index: grid %lld x %lld x %lld of video %lld is not divisible by the merge %d",
                     (long long)T, (long long)Gh, (long long)Gw, (long long)g, merge);
            return ENG_ERR_ARG;
        }
        int64_t Lh = Gh / merge, Lw = Gw / merge, U = T * Lh * Lw, run = 0;
        while (i + run < n && ids[i + run] == video_token_id) run++;
        if (run != U) {
            snprintf(err, err_len, "rope index: video %lld at %lld has %lld pad ids, its grid %lld x %lld x %lld needs %lld",
                     (long long)g, (long long)i, (long long)run, (long long)T, (long long)Gh, (long long)Gw,
                     (long long)U);
            return ENG_ERR_ARG;
        }
        int64_t s = next, top = next - 1;
        for (int64_t t = 0; t < T; t++) {
            /* torch: arange(T) * second_per_grid_t * tokens_per_second in float32, then .long() */
            float tf = (float)t * (float)second_per_grid_t;
            tf = tf * (float)tokens_per_second;
            int64_t tid = s + (int64_t)tf;
            for (int64_t r = 0; r < Lh; r++)
                for (int64_t c = 0; c < Lw; c++, i++) {
                    pt[i] = tid;
                    ph[i] = s + r;
                    pw[i] = s + c;
                    if (tid > top) top = tid;
                    if (s + r > top) top = s + r;
                    if (s + c > top) top = s + c;
                }
        }
        next = top + 1;
        g++;
    }
    if (max_id) *max_id = next - 1;
    return ENG_OK;
}

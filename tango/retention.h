/* retention.h - the retention maths of the paper and of matched-retention sweeps: Eq. 1 (the
 * FLOP-equivalent retention of a per-layer token plan), the two-stage pre-LLM ratio, and FastV's
 * keep count. Pure functions of their arguments, shared by the pruners (which predict and record
 * their plans) and harness/ (FLOPs, reports).
 *
 * Usage:
 *     int64_t per_layer[28] = {...};            // visual tokens each LLM layer runs
 *     double r = tg_equiv_retention(per_layer, 28, 6273);
 *     double pre = tg_two_stage_pre_ratio(28, 18, 0.5, 0.15);   // 28 * 0.15 / (18 + 10 * 0.5)
 */
#ifndef TG_RETENTION_H
#define TG_RETENTION_H

#include <stdint.h>

/* Paper Eq. 1: mean over the n_layers layers of visual_per_layer[l] / n_visual_full. */
double tg_equiv_retention(const int64_t *visual_per_layer, int n_layers, int64_t n_visual_full);

/* Two-stage method (pre-LLM ratio r_pre, then keep p of those from layer K on):
 * r_pre = L*r / (K + (L-K)*p). */
double tg_two_stage_pre_ratio(int n_layers, int k, double p, double r);

/* FastV: the keep count R at layer K (layers >= K hold R tokens) whose equivalent retention is
 * closest to r, i.e. R = round((L*r - K) * N / (L - K)). Returns -1 when no R in [0, N] reaches r
 * within tol (fraction of N); *realised gets the retention R gives. */
int64_t tg_fastv_keep(int n_layers, int k, int64_t n_visual, double r, double tol, double *realised);

/* A layer scaled from Qwen2-7B's 28 layers to a model of n_layers: round(layer28 * L / 28),
 * clamped to [1, L - 1] (the official two-stage methods hard-code layer 18 of 28). */
int tg_scaled_layer(int layer28, int n_layers);

#endif

/* retention.c - Eq. 1, the two-stage ratio and FastV's keep count (see retention.h). */
#include "tango/retention.h"

#include <math.h>

double tg_equiv_retention(const int64_t *visual_per_layer, int n_layers, int64_t n_visual_full) {
    if (n_layers <= 0 || n_visual_full <= 0) return 0.0;
    double sum = 0;
    for (int l = 0; l < n_layers; l++) sum += (double)visual_per_layer[l];
    return sum / ((double)n_layers * (double)n_visual_full);
}

double tg_two_stage_pre_ratio(int n_layers, int k, double p, double r) {
    return (double)n_layers * r / ((double)k + (double)(n_layers - k) * p);
}

/* Layers 0..K-1 see all N visual tokens and layers K..L-1 see R, so
 *   r = (K*N + (L-K)*R) / (L*N)   =>   R = (L*r - K) * N / (L - K). */
int64_t tg_fastv_keep(int n_layers, int k, int64_t n_visual, double r, double tol, double *realised) {
    if (n_layers <= 0 || k < 0 || k >= n_layers || n_visual <= 0) return -1;
    double exact = ((double)n_layers * r - k) * (double)n_visual / (double)(n_layers - k);
    int64_t keep = (int64_t)llround(exact);
    if (keep < 0) keep = 0;
    if (keep > n_visual) keep = n_visual;
    double got = ((double)k * n_visual + (double)(n_layers - k) * keep) / ((double)n_layers * n_visual);
    if (realised) *realised = got;
    if (fabs(got - r) > tol) return -1;
    return keep;
}

int tg_scaled_layer(int layer28, int n_layers) {
    if (n_layers == 28) return layer28;
    long sc = lround((double)layer28 * n_layers / 28.0);
    if (sc > n_layers - 1) sc = n_layers - 1;
    if (sc < 1) sc = 1;
    return (int)sc;
}

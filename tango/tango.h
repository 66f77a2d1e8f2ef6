/* tango.h - Tango (arXiv 2604.09547) as the official implementation (xjtupanda/Tango, cc815b6)
 * runs it, on the shared primitives of tango/primitives.h. Spec: /work/shared/specs/tango.md.
 *
 * The method is registered as "tango" in the pruner registry (tango/pruner.h); this header
 * exposes its parameters and the sub-steps, so tests can pin each one.
 *
 *   1. zero the saliency at the per-model attention-sink indices (scores rounded to fp16);
 *   2. ST-RoPE metric P = strope(L2normalize(F)) (1196/1194/1194 sections for D = 3584);
 *   3. consecutive-frame cosines of F -> HoliTom segmentation DP with tau_segment;
 *   4. per segment: one frame -> COMPRESS(F[f], P[f], A[f], r); several frames -> static tokens
 *      (all in-segment cosines > tau_static) pooled to their temporal mean and COMPRESSed with
 *      r_adj = min(r / ((n*L - (n-1)*S) / (n*L)), 1); dynamic tokens: per-frame diversity-driven
 *      salient selection, then DPC-KNN context anchors over the whole segment, merged with the
 *      beta-weighted update;
 *   5. kept tokens in ascending flat order in the model's newline layout (OneVision one newline,
 *      LLaVA-Video one after every grid row that keeps a token); LLaVA-Video adds the in-LLM plan
 *      (layer 18 of 28, scaled to the model's depth; keep 50 %, 0.6/0.4 fold).
 *
 * Ablation switches (the paper's Table 3 / Figure 7; defaults = the full method, each in the run
 * record): selection=diversity|topk|uniform, score=p-attn|attn, st_rope=on|off,
 * time=seconds|index, segment=holitom|fastvid; score_dtype=fp16|bf16|fp32 is the one numerics
 * switch (every rounding of the official model dtype, fp16 on LLaVA and bf16 on Qwen2.5-VL:
 * saliency, static-pool score, merge beta).
 *
 * Usage: through the descriptor (tg_tango_method.run) with "key=value" parameters; or
 *     tg_tango_params p;
 *     tg_tango_params_resolve(&in, &p, err, sizeof err);   // defaults + overrides
 *     tg_tango_run(&in, &p, &out, err, sizeof err);
 */
#ifndef TG_TANGO_H
#define TG_TANGO_H

#include <stddef.h>
#include <stdint.h>

#include "tango/primitives.h"
#include "tango/pruner.h"

#define TG_TANGO_MAX_SINKS 64

typedef enum { TG_COMPAT_OFFICIAL = 0, TG_COMPAT_PAPER = 1 } tg_compat;

/* Salient selection (ablation switch selection=): the paper's diversity-driven selection (top
 * floor(alpha k) candidates by score, DPC-KNN k clusters on the metric, the max-score member of
 * each), the plain top-k by score, or k tokens evenly spaced in index order among the pool
 * (token floor(i m / k), i < k, of the m candidates: the frame's dynamic tokens, or the
 * COMPRESS pool). */
typedef enum { TG_SELECT_DIVERSITY = 0, TG_SELECT_TOPK = 1, TG_SELECT_UNIFORM = 2 } tg_tango_selection;

/* Quirk names (spec §13). */
#define TG_Q_WRITEBACK "tango.merge_writeback_permutation"
#define TG_Q_STATIC_TAU "tango.static_tau_fixed"
#define TG_Q_SINKS "tango.sink_list_extended"
#define TG_Q_SECTIONS "tango.strope_sections_1196"
#define TG_Q_VIDEO_RATIO "tango.video_ratio_6sig"
#define TG_Q_LAYER17 "tango.fastv_layer17_bidirectional"
/* Qwen2.5-VL (spec qwen25vl.md §6.7) */
#define TG_Q_QWEN_GQ "tango_qwen.global_query_saliency"
#define TG_Q_QWEN_INTERP "tango_qwen.slice_time_interp"
#define TG_Q_QWEN_NOSINK "tango_qwen.no_sink_mask"
#define TG_Q_QWEN_BF16 "tango_qwen.bf16_scores"

typedef struct {
    tb_family family;          /* in->model.family: the official per-model path (sinks, stage) */
    tg_compat compat;          /* compat=official (default) | paper */
    double ratio;              /* nominal r as passed */
    double ratio_pre;          /* pre-LLM ratio applied (r, or 28r/23 for LLaVA-Video) */
    double tau_segment;        /* DP threshold: 0.65 if r = 0.1 else 0.8 */
    double tau_static;         /* in-segment static threshold: 0.8 (official) / tau_segment (paper) */
    double context_ratio;      /* cr = 0.4 */
    double alpha;              /* candidate expansion 1.5 */
    double beta;               /* merge weight floor 0.6 */
    int knn;                   /* DPC-KNN neighbours K = 7 */
    int n_sinks;
    int64_t sinks[TG_TANGO_MAX_SINKS]; /* zeroed saliency indices (OV 28,27,41,169,11,12; Video 26,157,11) */
    tg_strope_params strope;   /* sections + bases */
    double jitter;             /* density noise amplitude 1e-6; 0 disables (jitter=1 keeps 1e-6,
                                  another value in (0,1) is taken as the amplitude) */
    uint64_t seed;             /* generator seed (input seed unless seed= is set); the segment
                                  starting at frame f0 draws from its own stream seeded with
                                  seed ^ (0x9E3779B97F4A7C15 * (f0 + 1)), in the official order
                                  (static salient, static context, dynamic salient, dynamic
                                  context), so results do not depend on the thread count */
    int64_t max_window;        /* DP window limit 1024 */
    tg_dist_mode dist_mode;    /* dist=torch (default) | direct | gemm */
    int n_threads;             /* threads= (0: OpenMP default): segments run in parallel on this
                                  many threads; OpenBLAS is set to 1 thread for the duration of
                                  that loop and restored afterwards */
    tg_round score_round;      /* score_dtype=fp16 (LLaVA default) | bf16 (Qwen2.5-VL default) |
                                  fp32: the official code's model dtype; rounds the saliency, the
                                  static pool's mean score and the merge beta (every rounding that
                                  dtype causes here) */
    tg_round beta_round;       /* merge beta rounded to the model dtype: follows score_dtype */
    /* ablation switches (defaults = the full method; spec tango.md, the paper's Table 3 / Fig. 7) */
    tg_tango_selection selection; /* selection=diversity (default) | topk | uniform */
    int score_recv;            /* score=p-attn (0, default: in->saliency, the MAP-head global-query
                                  attention) | attn (1: in->saliency_recv, the mean received
                                  attention of the last vision layer) */
    int st_rope;               /* st_rope=on (1, default) | off (0: the metric is the L2-normalised
                                  features, unrotated) */
    int time_index;            /* time=seconds (0, default: ST-RoPE t = frame timestamp) | index (1:
                                  t = frame index, a fixed increment) */
    int segment_fastvid;       /* segment=holitom (0, default: the DP) | fastvid (1: DySeg cuts on the
                                  per-frame global vectors, in->frame_global or the frame's mean
                                  feature, 8 segments' worth of lowest cosines plus any below
                                  tau_segment) */
    int llm_stage;             /* in-LLM stage (LLaVA-Video default 1, OV 0) */
    int llm_layer;             /* 18 of 28 (tg_scaled_layer on another depth) */
    double llm_keep;           /* 0.5 */
    /* quirk switches (1 = official behaviour) */
    int q_qwen_interp; /* Qwen: slice times = np.interp of the sampled-frame times (official) */
    int q_writeback_perm, q_static_tau_fixed, q_sinks_extended, q_sections_1196, q_video_ratio_6sig,
        q_layer17_bidir;
} tg_tango_params;

/* The accepted parameter keys (NULL-terminated). */
extern const char *const tg_tango_keys[];

/* Resolves the parameters of a run: compat and the model's family first, then per-family
 * defaults (sinks, tau by ratio, sections by D, LLaVA-Video r_pre over in->model.n_layers), then
 * every "key=value" override of in->params.
 * Checks the values against the input (sinks inside the grid, sections fit D). Returns TG_OK or
 * TG_ERR_INPUT with a message. */
int tg_tango_params_resolve(const tg_prune_input *in, tg_tango_params *p, char *err, size_t err_len);

/* Runs Tango with resolved parameters. Fills *out (caller frees with tg_prune_output_free).
 * Returns TG_OK, TG_ERR_INPUT or TG_ERR_NOMEM with a message. */
int tg_tango_run(const tg_prune_input *in, const tg_tango_params *p, tg_prune_output *out, char *err,
                 size_t err_len);

/* The registry entry point: checks the input, resolves parameters, runs. */
int tg_tango_prune(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * Sub-steps (exposed for tests)
 * ------------------------------------------------------------------------------------------- */

/* Default DP threshold for a nominal ratio: 0.65 when r == 0.1, else 0.8. */
double tg_tango_default_tau(double r);

/* LLaVA-Video pre-LLM ratio L*r/(k + (L-k)p) with k = tg_scaled_layer(18, L), p = 0.5 (on
 * Qwen2-7B's 28 layers 28r/23); with six_sig the value is printed with %.6g and parsed back
 * (0.121739, 0.182609, 0.243478). */
double tg_tango_video_ratio(double r, int n_layers, int six_sig);

/* The registry descriptor ("tango"). */
extern const tg_method tg_tango_method;

/* r_adj = min(r / ((n*L - (n-1)*S) / (n*L)), 1.0), in double, in that operation order. */
double tg_tango_r_adj(double r, int64_t n, int64_t L, int64_t S);

/* COMPRESS budget for m tokens at ratio rho (spec §6.1): R = max(1, ceil(m*rho)) (0 if m = 0),
 * sal = int(R*(1-cr)), ctx = R - sal, C = min(int(alpha*sal), m), k = min(sal, C). */
typedef struct {
    int64_t R, sal, ctx, cand, k;
} tg_tango_budget;
tg_tango_budget tg_tango_compress_budget(int64_t m, double rho, double cr, double alpha);

/* Dynamic budget per frame (spec §5.2 step 4): R = raw = ceil(Ld*r_adj) (no max(1, .)),
 * sal = int(raw*(1-cr)), ctx = raw - sal, k = min(sal, Ld), C = min(int(alpha*k), Ld). */
tg_tango_budget tg_tango_dynamic_budget(int64_t Ld, double r_adj, double cr, double alpha);

/* Write-back of merged anchors (spec §12.1). anchors_gamma[0..c-1] are the anchor ids in DPC
 * gamma order; merged vectors come out in ascending anchor-id order (merged_sorted[q] belongs to
 * the q-th smallest anchor). Fills dest[q] = the id that RECEIVES merged_sorted[q]:
 *   permuted = 1 (official): dest[q] = anchors_gamma[q];
 *   permuted = 0 (paper):    dest[q] = the q-th smallest anchor (its own vector). */
void tg_tango_writeback(const int64_t *anchors_gamma, int64_t c, int permuted, int64_t *dest);

/* Result of one COMPRESS call. */
typedef struct {
    int64_t n_kept;       /* kept local ids (sorted ascending into the caller's kept[]) */
    int64_t n_salient;
    int64_t n_context;
    int64_t n_merged;     /* context anchors that received a merged vector */
    int64_t *merged_pos;  /* [n_merged] local id receiving merged[q] (owned) */
    float *merged;        /* [n_merged][D] (owned) */
    tg_tango_budget budget;
} tg_tango_compress_result;

/* COMPRESS (spec §6.1) on m tokens: X [m][D] features, Q [m][D] metric, a [m] scores, ratio rho.
 * Salient: top-C candidates by a, then one max-score member per DPC-KNN cluster; context: DPC-KNN
 * anchors of the rest, merged (beta-weighted) and written back per tg_tango_writeback. Draws the
 * jitter from rng in the official order (salient, then context). kept [m] receives the sorted
 * kept ids. Free res with tg_tango_compress_result_free. Returns TG_OK or an error. */
int tg_tango_compress(const float *X, const float *Q, const float *a, int64_t m, int64_t D, double rho,
                      const tg_tango_params *p, tg_rng *rng, int64_t *kept, tg_tango_compress_result *res,
                      char *err, size_t err_len);
void tg_tango_compress_result_free(tg_tango_compress_result *res);

/* SELECT_IN_CLUSTERS (spec §6.3) on C candidates Qc [C][D] with scores ac [C] (candidate order =
 * top-k order): DPC-KNN k centres, nearest-centre assignment (first minimum in gamma order), the
 * max-score member of each cluster (first on ties; the centre when empty). chosen [k] gets
 * candidate indices in cluster (gamma) order. noise: [C] pre-drawn jitter or NULL (draw from rng).
 * Returns TG_OK or an error. */
int tg_tango_select_in_clusters(const float *Qc, const float *ac, int64_t C, int64_t D, int64_t k,
                                const tg_tango_params *p, tg_rng *rng, const float *noise, int64_t *chosen,
                                char *err, size_t err_len);

#endif

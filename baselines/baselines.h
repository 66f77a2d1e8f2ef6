/* baselines.h - the baseline pruning methods of tango-bench (FastV, DART, VisionZip, VidCom2,
 * HoliTom, FastVID)
 * and the control rows (full, uniform, uniform-frames, random, topk), each a tg_method
 * descriptor (tango/pruner.h) that harness/registry.c lists, plus the matched-retention solver that
 * turns a target FLOP-equivalent retention r (paper Eq. 1, mean over LLM layers of the visual
 * tokens each layer runs, over the unpruned count) into each method's own knobs.
 *
 * Every method reads in->ratio as the TARGET equivalent retention r of the sweep, solves its own
 * knobs with bl_solve (an explicit --set knob overrides the solver), runs, and records the
 * nominal knobs, the predicted and the realised retention in out->params_json. Methods whose
 * realised count depends on the data (HoliTom's segmentation, FastVID's segments and newline
 * rows, random / topk newline rows on LLaVA-Video) re-solve on the data: they search their main
 * knob until the realised retention is within BL_TOL of r, or report the closest they reach.
 *
 * Accounting (`account` key, bl_geometry.account):
 *   seq (default): what the LLM runs, newlines included, over the unpruned visual block with its
 *       newlines (OV: T*L + 1; LLaVA-Video: T*(L + H)) -- spec visionzip-fastv-dart-vidcom2.md §2;
 *       this is tg_prune_output.equiv_retention;
 *   content: content tokens only over T*L (tg_prune_output.equiv_retention_content).
 *
 * Usage (solver only, e.g. for `tango-bench flops --method fastv --ratio 0.1`):
 *     bl_geometry g = bl_geometry_default(TB_FAMILY_LLAVA_OV, 28); // 32 frames, 14x14, 28 layers
 *     bl_knobs k = bl_knobs_default("fastv");                 // k = 2
 *     double realised; char err[256];
 *     int st = bl_solve("fastv", 0.10, &g, &k, &realised, err, sizeof err);
 *     // st == BL_SOLVE_OK: k.keep == 193, k.llm_layer == 2, realised ~ 0.1000
 */
#ifndef BL_BASELINES_H
#define BL_BASELINES_H

#include <stddef.h>
#include <stdint.h>

#include "common/family.h"
#include "tango/pruner.h"

/* Matched-retention tolerance: |realised - r| <= BL_TOL (0.5 % of the visual tokens). */
#define BL_TOL 0.005

typedef enum { BL_ACCOUNT_SEQ = 0, BL_ACCOUNT_CONTENT = 1 } bl_account;

/* The geometry the solver plans for. */
typedef struct {
    tb_family family;     /* the official per-model code path */
    tg_newline newline;   /* newline layout of the visual block */
    int64_t n_frames;     /* T */
    int64_t grid_h, grid_w; /* pooled grid (14x14 OV, 13x13 Video) */
    int n_layers;         /* LLM layers */
    bl_account account;
} bl_geometry;

/* The paper's geometry of a family: OV 32 frames of 14x14, one newline; Video 64 frames of 13x13,
 * a newline per row; n_layers as given; seq accounting. */
bl_geometry bl_geometry_default(tb_family family, int n_layers);

/* Knobs of every method (each method reads only its own). Inputs to bl_solve are marked (in),
 * outputs (out); fields a method does not use stay as bl_knobs_default set them. */
typedef struct {
    double ratio;          /* (out) pre-LLM nominal ratio: holitom RETAIN_RATIO, fastvid
                              fastvid_retention_ratio, vidcom2 base_scale (R_RATIO) */
    int64_t per_frame;     /* (out) per-frame budget: visionzip spatial_tokens, fastvid
                              F_keep = int(L * ratio), topk tokens per frame, uniform rows*cols */
    double dominant_ratio; /* (in) visionzip DOMINANT_RATIO (0.95: the 5 % contextual share) */
    int64_t dominant, contextual; /* (out) visionzip D = int(b * dominant_ratio), C = b - D */
    int64_t rows, cols;    /* (out) uniform: pooled grid */
    int64_t frames;        /* (out) uniform-frames: frames kept */
    int64_t keep;          /* (out) fastv: keep count M at layer k; dart: P_v + (P_v + P_t) T;
                              random: tokens kept */
    int llm_layer;         /* (in) fastv / dart k (2) / holitom layer (18); (out) tango; 0 = none */
    double llm_keep_ratio; /* (in) holitom: 1 - layer_ratio (0.5); (out) fastv, dart: M / V */
    int holitom_full;      /* (in) holitom: 1 = variant=full (outer + inner), 0 = outer only */
    int pivot_image;       /* (in) dart P_v (4) */
    int pivot_text;        /* (in) dart P_t (4) */
    int64_t per_pivot;     /* (out) dart T = int(N (1 - rho) / (P_v + P_t)), rho = 1 - R */
    int64_t n_seq;         /* (out) predicted visual tokens entering the LLM, newlines included */
    int64_t n_llm_keep;    /* (out) predicted visual tokens from llm_layer on */
    int data_dependent;    /* (out) 1: the realised count depends on the data (see top) */
} bl_knobs;

/* Defaults for a method name (unknown names: the generic defaults). */
bl_knobs bl_knobs_default(const char *method);

/* Solver status: BL_SOLVE_OK, BL_SOLVE_INEXACT (the closest knob is outside BL_TOL; the knobs and
 * *realised hold the closest), or TG_ERR_INPUT (infeasible, e.g. fastv with k = 3 at r = 0.10,
 * unknown method, bad geometry) with a message. */
enum { BL_SOLVE_OK = 0, BL_SOLVE_INEXACT = 1 };

/* Solves the method's own knobs for target equivalent retention r in (0, 1] on geometry g, from
 * the (in) fields of *k (start from bl_knobs_default), writing the (out) fields and the
 * predicted realised retention (*realised, may be NULL). Methods: fastv, dart, visionzip, vidcom2,
 * holitom, fastvid, full, uniform, uniform-frames, random, topk, and tango (its plan only: Tango solves
 * its own ratio; on LLaVA-Video the two-stage pre-LLM ratio of tg_two_stage_pre_ratio with the
 * in-LLM stage at layer 18 keeping 0.5). DART: R = (L r - k) / (L - k) kept from layer k (spec
 * §2; infeasible below k / L), rho = 1 - R, T = int(N (1 - rho) / (P_v + P_t)) in double as the
 * official code computes it (spec §10.2), keep = P_v + (P_v + P_t) T. VidCom2: base_scale solved
 * so that base_scale * T * L content tokens (plus the kept newlines: OV one, Video all H per
 * frame) give r; the per-frame budgets round per frame, so the realised count is data-dependent
 * within a few tokens. Data-independent methods are exact:
 * the run realises *realised. For data-dependent methods (k->data_dependent = 1) the prediction
 * assumes: content = ratio * T * L for holitom / tango (no static/dynamic rounding excess) and
 * T * per_frame for fastvid / topk (no dropped remainders); on LLaVA-Video
 * min(H, ceil(content / T)) newlines per frame (random: min(keep, T * H)). The method's run then
 * re-solves on the data (see the top of this header). Pure: no allocation. */
int bl_solve(const char *method, double r, const bl_geometry *g, bl_knobs *k, double *realised, char *err,
             size_t err_len);

/* Per-layer visual token counts of a plan: visual[l] = n_seq for l < llm_layer (or every layer
 * when llm_layer == 0), n_llm_keep from it on. n_layers <= TG_MAX_LAYERS. */
void bl_plan_layers(const bl_knobs *k, int n_layers, int64_t *visual /* [n_layers] */);

/* HoliTom's budget arithmetic (spec holitom-fastvid.md §1.5), exposed for tests and tools:
 * r' = min(r / ((TN - R) / TN), 1) in double, in that order; per segment the static tokens keep
 * round_half_even(n_stat * r') and every frame ceil(n_dyn * r') dynamic tokens (both capped). */
double bl_holitom_ratio_adj(double r, int64_t R, int64_t TN);
void bl_holitom_budget(double radj, int64_t n_stat, int64_t n_dyn, int64_t *k_stat, int64_t *k_dyn);

/* ---------------------------------------------------------------------------------------------
 * The methods (descriptors for harness/registry.c; run through their .run member)
 * ------------------------------------------------------------------------------------------- */
extern const tg_method bl_fastv_method;
extern const tg_method bl_dart_method;
extern const tg_method bl_vidcom2_method;
extern const tg_method bl_visionzip_method;
extern const tg_method bl_holitom_method;
extern const tg_method bl_fastvid_method;
extern const tg_method bl_full_method;
extern const tg_method bl_uniform_method;
extern const tg_method bl_uniform_frames_method;
extern const tg_method bl_random_method;
extern const tg_method bl_topk_method;

#endif

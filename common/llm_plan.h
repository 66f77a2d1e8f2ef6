/* llm_plan.h - the in-LLM pruning plan: ONE type, produced by the pruners (tango/, baselines/:
 * FastV, HoliTom's inner merge, Tango's LLaVA-Video stage) and executed by the engine
 * (engine/llm.h, eng_llm_prefill) between decoder layers K-1 and K. It lives in common/ because
 * both sides need it and neither may include the other.
 *
 * What the engine does with a plan p (spec tango.md §10, holitom-fastvid.md §1.10, fastv):
 *   - layers < K run (and cache) the whole sequence; layer K-1 also yields the scores;
 *   - candidates = the rows of the visual span [span_start, span_start + span_len) that are not
 *     protected; n_keep = tb_plan_keep_count(p, candidates);
 *   - selection: the n_keep candidates with the largest score (ties: lower index), or exactly
 *     keep_idx[]; the "keep order" (used for merge ties) is descending score / as given;
 *     DART (spec visionzip-fastv-dart-vidcom2.md §5, §10): P_v image pivots = the candidates with
 *     the largest L1 norm of their post-RoPE layer K-1 key (all KV heads concatenated), P_t text
 *     pivots = the rows AFTER the span with the largest such norm; then, pivot by pivot (in the
 *     order of pivot_order), the per_pivot remaining candidates least cosine-similar to the pivot
 *     (layer K-1 outputs through the model's final norm; ties: lower index) are retained. Kept:
 *     the image pivots and every pick (text pivots are outside the span); keep order = image
 *     pivots (descending norm), then the picks in pick order. n_keep = P_v + (P_v + P_t) T when
 *     the span and the text after it are long enough;
 *   - merge: each dropped candidate is assigned to its most cosine-similar kept row (layer-K input
 *     hidden states, L2-normalised, first maximum in keep order), then
 *       PAIRWISE: in ascending dropped order, h_t = (h_t + h_j) / 2 (sequential running average);
 *       WEIGHTED: pooled_t = (h_t + sum_j h_j) / (1 + |S_t|), h_t = w h_t + w_pool pooled_t,
 *                 simultaneous, for every kept row;
 *   - layers >= K run on: the rows before the span, the kept and protected span rows in ascending
 *     original order, the rows after the span, with their position ids (KEEP) or 0..n'-1
 *     (RENUMBER; decode positions still continue after the full prefill).
 */
#ifndef TB_LLM_PLAN_H
#define TB_LLM_PLAN_H

#include <stdint.h>

typedef enum {
    TB_PLAN_SELECT_LAST_QUERY = 0,  /* head-averaged attention of the LAST query row at layer K-1
                                       (FastV official, HoliTom, Tango) */
    TB_PLAN_SELECT_INDICES = 1,     /* exactly keep_idx[0..n_keep_idx), span-relative */
    TB_PLAN_SELECT_ALL_QUERIES = 2, /* attention each row RECEIVES at layer K-1, averaged over heads
                                       and all (causal) query rows (FastV compat=paper) */
    TB_PLAN_SELECT_DART = 3,        /* DART's pivots + duplication-aware greedy selection (above) */
} tb_plan_select;

/* Order in which DART's pivots take their picks (greedy: earlier pivots choose first). */
typedef enum {
    TB_PLAN_ORDER_PYSET = 0, /* CPython's iteration order of set(V + Q) over the pivots' absolute
                                sequence indices (quirk dart.pivot_set_order; tb_plan_pyset_order) */
    TB_PLAN_ORDER_LIST = 1,  /* V by descending norm, then Q by descending norm (compat=paper) */
} tb_plan_order;

typedef enum {
    TB_PLAN_MERGE_NONE = 0,     /* dropped rows vanish (FastV) */
    TB_PLAN_MERGE_PAIRWISE = 1, /* HoliTom's sequential pairwise average */
    TB_PLAN_MERGE_WEIGHTED = 2, /* Tango's simultaneous weighted fold */
} tb_plan_merge;

typedef enum {
    TB_PLAN_POS_KEEP = 0,     /* kept rows keep their position ids (RoPE gaps) */
    TB_PLAN_POS_RENUMBER = 1, /* layers >= K see 0..n'-1 */
} tb_plan_pos;

typedef enum { TB_ROUND_HALF_EVEN = 0, TB_ROUND_FLOOR = 1, TB_ROUND_CEIL = 2 } tb_round;

typedef struct {
    int layer;                /* K in 1..L-1; 0 = no plan */
    tb_plan_select select;
    int64_t keep_count;       /* > 0: keep this many candidates (capped at the candidates) */
    double keep_ratio;        /* keep_count == 0: n_keep = round(candidates * keep_ratio) */
    tb_round keep_round;      /* rounding of that product (Python round = half-even) */
    const int64_t *keep_idx;  /* TB_PLAN_SELECT_INDICES: [n_keep_idx] distinct span-relative
                                 indices (borrowed) */
    int64_t n_keep_idx;
    tb_plan_merge merge;
    double merge_weight;      /* WEIGHTED: w, the kept row's weight (0.6; applied in float32) */
    double merge_pool_weight; /* WEIGHTED: weight of the pooled mean; < 0 = 1 - w */
    tb_plan_pos pos;
    int bidirectional_prev;   /* 1: layer K-1 runs WITHOUT the causal mask in prefill (quirk
                                 tango.fastv_layer17_bidirectional) */
    int64_t span_start;       /* visual span in the spliced sequence; -1 = the visual block that
                                 replaced the placeholder (newline rows included) */
    int64_t span_len;
    const uint8_t *protect;   /* NULL, or [span_len] (borrowed): rows with protect[i] != 0 are
                                 always kept, never scored, selected or merged into */
    /* TB_PLAN_SELECT_DART only */
    int pivot_image;          /* P_v: image pivots (4) */
    int pivot_text;           /* P_t: text pivots among the rows after the span (4) */
    int64_t per_pivot;        /* T: span rows each pivot retains (TOKEN_TOPK) */
    tb_plan_order pivot_order;
} tb_llm_plan;

/* No plan (layer 0), last-query selection, keep ratio 0, half-even rounding, no merge, weight
 * 0.6, pool weight -1, positions kept, the placeholder's span, causal layer K-1; DART 4 + 4
 * pivots, per_pivot 0, CPython set order. */
tb_llm_plan tb_llm_plan_default(void);

/* The one rule for how many of n_candidates a plan keeps: keep_count when > 0, else
 * round(n_candidates * keep_ratio) with keep_round; DART: P_v + (P_v + P_t) per_pivot (what it
 * keeps when at least P_t rows follow the span); clamped to [0, n_candidates]. */
int64_t tb_plan_keep_count(const tb_llm_plan *p, int64_t n_candidates);

/* CPython's iteration order of set(keys) for n distinct non-negative integers (hash(i) = i):
 * inserted in the given order into a table of 8 slots (probe: slot i = v & mask, then the 9
 * following slots when they exist, then i = (5 i + 1 + perturb) & mask with perturb >>= 5;
 * grown to the smallest power of two > 4 * used once fill * 5 >= mask * 3, re-inserting in old
 * slot order), then read in ascending slot order. out [n] receives the keys in that order.
 * Returns 0, or -1 for a negative or repeated key (or n < 0 or an allocation failure). */
int tb_plan_pyset_order(const int64_t *keys, int n, int64_t *out);

/* Stable short names for records: "last-query"/"indices"/"all-queries"/"dart",
 * "none"/"pairwise"/"weighted", "keep"/"renumber", "half-even"/"floor"/"ceil". */
const char *tb_plan_select_str(tb_plan_select s);
const char *tb_plan_merge_str(tb_plan_merge m);
const char *tb_plan_pos_str(tb_plan_pos p);
const char *tb_round_str(tb_round r);

/* Python's round(): nearest integer, ties to even. */
double tb_round_half_even(double x);

#endif

/* aggregate.h - a headline accuracy from per-sample scores, by a convention's aggregation rule
 * written as one line (datasets' ds_aggregate_describe makes it; the results store keeps it with
 * each run, and reads its runs' accuracies through it):
 *     "micro"                 sum of scores / number of scores (a score of -1 subtracts)
 *     "macro:KEY:G1,G2,..."   the mean over the groups G1.. of each group's micro accuracy, a
 *                             sample's group being its category KEY; a group without samples
 *                             counts 0, samples of other groups are not counted (lmms-eval mlvu)
 * A NAN score is a sample the convention leaves out of every denominator.
 *
 * Usage:
 *     tb_agg a;
 *     if (tb_agg_init(&a, "macro:task:count,ego")) ...bad rule...
 *     tb_agg_add(&a, 1.0, "count");
 *     double acc = tb_agg_value(&a);    // 0.5: count 1/1, ego 0 (no samples)
 */
#ifndef TB_AGGREGATE_H
#define TB_AGGREGATE_H

#include <stddef.h>

#define TB_AGG_MAX_GROUPS 16
#define TB_AGG_NAME 64

typedef struct {
    int macro;
    char key[TB_AGG_NAME];                        /* macro: the category key of the groups */
    int n_groups;
    char groups[TB_AGG_MAX_GROUPS][TB_AGG_NAME];
    double g_sum[TB_AGG_MAX_GROUPS], g_n[TB_AGG_MAX_GROUPS];
    double sum, n;                                /* every counted score */
} tb_agg;

/* Parses a rule (NULL or "" read as "micro") and empties the sums. 0, or -1 for a malformed rule
 * (a is then micro). */
int tb_agg_init(tb_agg *a, const char *rule);
/* Adds one sample: its score (NAN: not counted) and, for a macro rule, its group (may be NULL). */
void tb_agg_add(tb_agg *a, double score, const char *group);
/* The accuracy as a fraction; NAN when nothing was counted (micro) or the rule has no groups. */
double tb_agg_value(const tb_agg *a);

#endif

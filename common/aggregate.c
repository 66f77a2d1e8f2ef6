/* aggregate.c - per-sample scores to a headline accuracy by a written rule (see aggregate.h). */
#include "common/aggregate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int tb_agg_init(tb_agg *a, const char *rule) {
    memset(a, 0, sizeof *a);
    if (!rule || !*rule || !strcmp(rule, "micro")) return 0;
    if (strncmp(rule, "macro:", 6)) return -1;
    const char *k = rule + 6, *colon = strchr(k, ':');
    if (!colon || colon == k || (size_t)(colon - k) >= TB_AGG_NAME) return -1;
    memcpy(a->key, k, (size_t)(colon - k));
    for (const char *g = colon + 1; *g;) {
        const char *end = strchr(g, ',');
        size_t len = end ? (size_t)(end - g) : strlen(g);
        if (!len || len >= TB_AGG_NAME || a->n_groups == TB_AGG_MAX_GROUPS) {
            memset(a, 0, sizeof *a);
            return -1;
        }
        memcpy(a->groups[a->n_groups++], g, len);
        g += len + (end != NULL);
    }
    if (!a->n_groups) {
        memset(a, 0, sizeof *a);
        return -1;
    }
    a->macro = 1;
    return 0;
}

void tb_agg_add(tb_agg *a, double score, const char *group) {
    if (isnan(score)) return;
    a->sum += score;
    a->n += 1;
    for (int g = 0; a->macro && group && g < a->n_groups; g++)
        if (!strcmp(group, a->groups[g])) {
            a->g_sum[g] += score;
            a->g_n[g] += 1;
            break;
        }
}

double tb_agg_value(const tb_agg *a) {
    if (!a->macro) return a->n > 0 ? a->sum / a->n : NAN;
    double acc = 0;
    for (int g = 0; g < a->n_groups; g++) acc += a->g_n[g] > 0 ? a->g_sum[g] / a->g_n[g] : 0;
    return acc / a->n_groups;
}

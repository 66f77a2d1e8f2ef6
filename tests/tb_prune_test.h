/* tb_prune_test.h - test helper for the pruner tests: the model layout spelled the way the `prune`
 * command accepts it ("model=<family>" and "layers=<N>" entries among the --set parameters), so
 * test tables stay one list of strings. The entries are taken out of the method's parameters,
 * exactly as `prune` does. Header-only, test code only. */
#ifndef TB_PRUNE_TEST_H
#define TB_PRUNE_TEST_H

#include <stdlib.h>
#include <string.h>

#include "tango/pruner.h"

#define TT_MAX_KV 64

typedef struct {
    const char *kv[TT_MAX_KV];
} tt_params;

/* Sets in->model from in->params (default: llava-ov, 28 layers, hidden = in->dim) and points
 * in->params at the remaining entries (stored in *keep, which must outlive the call that uses in).
 * Returns 0, or -1 for an unknown family. */
static inline int tt_apply_layout(tg_prune_input *in, tt_params *keep) {
    tb_family fam = TB_FAMILY_LLAVA_OV;
    int layers = 28, n = 0;
    for (int i = 0; i < in->n_params && n < TT_MAX_KV; i++) {
        const char *p = in->params[i];
        if (p && !strncmp(p, "model=", 6)) {
            if (tb_family_parse(p + 6, &fam)) return -1;
        } else if (p && !strncmp(p, "layers=", 7)) {
            layers = (int)strtol(p + 7, NULL, 10);
        } else {
            keep->kv[n++] = p;
        }
    }
    in->model = tg_model_layout_default(fam, layers, in->dim);
    in->params = keep->kv;
    in->n_params = n;
    return 0;
}

#endif

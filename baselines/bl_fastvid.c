/* bl_fastvid.c - FastVID (stub while being written). */
#include <string.h>
#include "baselines/bl_internal.h"
const char *const bl_fastvid_keys[] = {"compat", NULL};
int bl_fastvid_run(const tg_prune_input *in, tg_prune_output *out, char *err, size_t err_len) {
    (void)in; memset(out, 0, sizeof *out); bl_set_err(err, err_len, "fastvid: not yet"); return TG_ERR_INPUT;
}

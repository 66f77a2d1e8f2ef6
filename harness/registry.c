/* registry.c - the method table (see registry.h). Adding a method: write its tg_method descriptor
 * in tango/ or baselines/ and list it here; nothing else names it. */
#include "harness/registry.h"

#include <stdio.h>
#include <string.h>

#include "baselines/baselines.h"
#include "tango/tango.h"

static const tg_method *const methods[] = {
    &tg_tango_method,   &bl_fastv_method,   &bl_dart_method,           &bl_visionzip_method, &bl_vidcom2_method,
    &bl_holitom_method, &bl_fastvid_method, &bl_full_method,           &bl_uniform_method,   &bl_uniform_frames_method,
    &bl_random_method,  &bl_topk_method,
};

size_t reg_n_methods(void) { return sizeof methods / sizeof methods[0]; }

const tg_method *reg_method(size_t i) { return i < reg_n_methods() ? methods[i] : NULL; }

const tg_method *reg_method_find(const char *name) {
    for (size_t i = 0; name && i < reg_n_methods(); i++)
        if (!strcmp(methods[i]->name, name)) return methods[i];
    return NULL;
}

int reg_method_no_ratio(const char *name) {
    const tg_method *m = reg_method_find(name);
    return m && (m->caps & TG_CAP_NO_RATIO);
}

const char *reg_method_names(char *buf, size_t n, const char *sep) {
    size_t k = 0;
    if (n) buf[0] = '\0';
    for (size_t i = 0; i < reg_n_methods() && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? sep : "", methods[i]->name);
    return buf;
}

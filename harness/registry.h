/* registry.h - the one place that names every pruning method: Tango (tango/) and the baselines
 * and control rows (baselines/), each a tg_method descriptor with its capability flags. Callers
 * look methods up by name and then ask the descriptor (caps, param_keys), never the name.
 *
 * Usage:
 *     const tg_method *m = reg_method_find("tango");
 *     if (!m) ... unknown;
 *     if (m->caps & TG_CAP_NO_RATIO) ... the full-token reference row;
 *     for (size_t i = 0; i < reg_n_methods(); i++) puts(reg_method(i)->name);
 */
#ifndef TB_REGISTRY_H
#define TB_REGISTRY_H

#include <stddef.h>

#include "tango/pruner.h"

/* Number of registered methods, and the i-th (0 <= i < reg_n_methods()), in a stable order:
 * tango, then the baselines, then the control rows. */
size_t reg_n_methods(void);
const tg_method *reg_method(size_t i);

/* The method named `name`, or NULL. */
const tg_method *reg_method_find(const char *name);

/* 1 when `name` is a registered method that ignores the budget (TG_CAP_NO_RATIO: the full-token
 * reference row), else 0. */
int reg_method_no_ratio(const char *name);

/* Writes the registered names, separated by sep, into buf (truncated to n). Returns buf. */
const char *reg_method_names(char *buf, size_t n, const char *sep);

#endif

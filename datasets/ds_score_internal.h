/* ds_score_internal.h - private to datasets/: the peers' answer scorers behind ds_answer_score
 * (ds_score.c dispatches; ds_score_vlmeval.c holds VLMEvalKit's rules, ds_score_lmms.c
 * lmms-eval's). Each scorer reads the prediction the way its peer does (Python str semantics,
 * ds_text_internal.h) and fills a zeroed ds_answer: letter, correct, parse, score. */
#ifndef TB_DS_SCORE_INTERNAL_H
#define TB_DS_SCORE_INTERNAL_H

#include <stddef.h>

#include "datasets/datasets.h"
#include "datasets/ds_text_internal.h"

/* VLMEvalKit's evaluate() of the sample's benchmark (conv: DS_CONV_VLMEVALKIT or
 * DS_CONV_VLMEVALKIT_E8E78F0) on the raw prediction bytes. Returns DS_OK or DS_ERR_NOMEM. */
int ds_score_vlmeval(const ds_sample *s, ds_convention conv, const char *raw, size_t raw_len, ds_answer *out);

/* lmms-eval's process_results of the sample's benchmark (DS_CONV_LMMS_EVAL or
 * DS_CONV_LMMS_EVAL_073), after the evaluator's reasoning-tag stripping. DS_OK or DS_ERR_NOMEM. */
int ds_score_lmms(const ds_sample *s, ds_convention conv, const char *raw, size_t raw_len, ds_answer *out);

/* Records letter L (0: none) as the answer: parse OK when L != 0, correct when L == gold. */
void ds_answer_letter_set(const ds_sample *s, char L, ds_answer *out);

#endif

/* pipeline.h - the model-side steps of answering one sample that need no video decoder, tokenizer
 * or database: the pruners' view of a loaded LLM, the pruner input built from the vision tower's
 * output, the visual block in the LLM's order, the position ids of a spliced prompt. The session
 * (session.h, one benchmark sample end to end) and the GPU bench driver of the lean build
 * (tests/bench_gpu.c) share them, so both run a sample the same way.
 *
 * Usage:
 *     tg_model_layout lay;
 *     run_model_layout(&llm_info, TB_FAMILY_LLAVA_OV, &lay, err, sizeof err);
 *     tg_prune_input in = run_prune_input(&vis, &lay, method, timestamps, 0.1, seed);
 *     method->run(&in, &out, err, sizeof err);
 *     run_visual_block(&out, newline, &block, err, sizeof err);       // [out.n_seq][D]
 *     run_visual_positions(&out, ph, n_ids, &pos);                       // [N] position ids
 */
#ifndef TB_PIPELINE_H
#define TB_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/family.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "tango/pruner.h"

/* The pruners' view of a loaded LLM (tango/pruner.h): the family given, the checkpoint's newline
 * layout (one_token, grid or no_token; "frame" is refused), its depth and width. Returns 0, or -1
 * with one line in err. */
int run_model_layout(const eng_llm_info *info, tb_family family, tg_model_layout *out, char *err, size_t err_len);

/* The input of method for one video: the pooled features and taps of vis (borrowed: vis must
 * outlive the call of method->run), the layout, the frame times [T] (borrowed), the target ratio
 * (1 for a method without one), the seed. The saliency is the one the method's spec names:
 * received attention for TG_CAP_RECV_ATTN methods or when the checkpoint has no SigLIP head, else
 * the head's attention. The caller sets params / n_params. */
tg_prune_input run_prune_input(const eng_vision_out *vis, const tg_model_layout *layout, const tg_method *method,
                               const float *timestamps, double ratio, uint64_t seed);

/* The visual block in the LLM's order from a pruner's output: order[i] is a kept token (its row
 * of out->tokens) or TG_NEWLINE (the checkpoint's image_newline vector [D], required then).
 * *block: [n_seq][D] (caller frees). Returns 0, or -1 with one line in err. */
int run_visual_block(const tg_prune_output *out, const float *newline, float **block, char *err, size_t err_len);

/* Position ids of a prompt of n_ids ids whose placeholder at index ph is replaced by a pruner's
 * visual block: 0..ph-1, then ph + out->positions[i] (gaps allowed), then the text after the
 * block continuing from the block's largest position. *pos: [out->n_seq + n_ids - 1] (caller
 * frees). Returns 0, or -1 when out of memory. */
int run_visual_positions(const tg_prune_output *out, int64_t ph, int64_t n_ids, int64_t **pos);

#endif

/* llm_internal.h - engine-internal entry points of the LLM side that are not part of the public
 * API (engine/llm.h): a model built in memory with random weights, for benchmarks and tests that
 * need a real-sized Qwen2 without a checkpoint on disk. */
#ifndef TB_ENGINE_LLM_INTERNAL_H
#define TB_ENGINE_LLM_INTERNAL_H

#include <stdint.h>

#include "engine/config.h"
#include "engine/llm.h"

/* Builds a Qwen2 model of shape c (hidden, n_layers, n_heads, n_kv_heads, head_dim, intermediate,
 * vocab, rope_theta, rms_norm_eps; tie_embeddings honoured) with deterministic random weights
 * from seed: Linear weights uniform with variance 1/in, biases +-0.02, norm weights 1, embeddings
 * uniform +-0.5. No image_newline, no stop ids, repetition penalty 1. p may be NULL (defaults).
 * Returns NULL with err set. Free with eng_llm_free. */
eng_llm *eng_llm_new_random(const eng_llm_config *c, const eng_llm_params *p, uint64_t seed, char *err,
                            size_t err_len);

#endif

/* family.h - the model families tango-bench runs, named once for every layer: the datasets pick
 * prompts by family, the pruners pick their official per-model code paths (attention sinks,
 * two-stage ratios), the engine reports the family its checkpoint has. */
#ifndef TB_FAMILY_H
#define TB_FAMILY_H

typedef enum {
    TB_FAMILY_LLAVA_OV = 0,    /* LLaVA-OneVision: 14x14 pooled tokens per frame, one newline */
    TB_FAMILY_LLAVA_VIDEO = 1, /* LLaVA-Video: 13x13 pooled tokens, a newline per grid row */
    TB_FAMILY_QWEN25_VL = 2,   /* Qwen2.5-VL: merged 2x2 patches per temporal slice of 2 frames,
                                  no newline, 3-D M-RoPE position ids (t, h, w) */
} tb_family;

#define TB_N_FAMILIES 3

/* "llava-ov" / "llava-video" / "qwen2.5-vl" ("?" for a bad value). */
const char *tb_family_name(tb_family f);
/* Parses a family name; returns 0, or -1 for an unknown name (*out untouched). */
int tb_family_parse(const char *name, tb_family *out);

#endif

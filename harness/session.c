/* session.c - one sample at a time through a loaded Video LLM and a pruning method (see
 * session.h). The visual block is assembled in the pruner's LLM order (kept vectors, merged values
 * included, and image_newline rows), with the pruner's position ids when they have gaps; its
 * in-LLM plan is translated into the engine's. The realised visual tokens per layer come from the
 * engine (what actually ran); FLOPs and the equivalent retention are computed from them. */
#include "harness/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datasets/video.h"
#include "engine/engine.h"
#include "engine/llm.h"
#include "engine/tokenizer.h"
#include "harness/flops.h"
#include "harness/pipeline.h"
#include "harness/qwen_prep.h"
#include "harness/registry.h"
#include "tango/retention.h"
#include "common/clock.h"

#define SESSION_MAX_PARAMS 64
/* The paper's Qwen2.5-VL setting: maximum frame resolution 448 (max_pixels = 448^2, spec
 * qwen25vl.md §2.1; min_pixels stays qwen-vl-utils' default, quirk pipeline.qwen_min_pixels_default) */
#define QWEN_MAX_PIXELS 200704


/* ---- loading ------------------------------------------------------------------------------- */

/* Per-video work shared by the questions about it. */
typedef struct {
    ds_frames frames;
    eng_vision_out vis;
    float *timestamps;   /* [T] float seconds */
    double decode_ms, vision_ms;
    double duration_s;   /* of the whole video (the LLaVA-Video prompt states it) */
    char error[1024];    /* non-empty: the video failed before pruning */
    /* Qwen2.5-VL: the merger output, saliency and keys, and the sampled frames' times */
    eng_qwen_vision_out qv;
    double *frame_times; /* [frames.n] index / reader fps */
} run_sample_work;

struct run_session {
    eng_model *vision;
    eng_llm *llm;
    eng_llm_state *state;
    tok_tokenizer *tok;
    eng_vision_info vinfo;
    eng_llm_info linfo;
    fl_model fl;
    int64_t n_ctx;
    tg_model_layout layout; /* what the pruners are told about the LLM */
    int n_frames;
    /* the last prepared video and what it was prepared for */
    run_sample_work work;
    int have_work;
    char work_video[1024];
    double work_start, work_end;
    char work_rule[16], work_seek[16];
};

run_model_spec run_model_spec_default(void) {
    return (run_model_spec){.path = NULL, .siglip = NULL, .family = NULL, .backend = "cpu", .dtype = "auto",
                            .n_frames = 0};
}

run_answer_params run_answer_default_params(void) {
    return (run_answer_params){.method = "full", .ratio = 1.0, .convention = DS_CONV_VLMEVALKIT,
                               .frame_rule = "linspace", .seek = "exact", .max_new_tokens = 16};
}

static void work_free(run_sample_work *w) {
    ds_frames_free(&w->frames);
    eng_vision_out_free(&w->vis);
    eng_qwen_vision_out_free(&w->qv);
    free(w->frame_times);
    free(w->timestamps);
    memset(w, 0, sizeof *w);
}

void run_session_free(run_session *l) {
    if (!l) return;
    if (l->have_work) work_free(&l->work);
    eng_llm_state_free(l->state);
    eng_llm_free(l->llm);
    eng_model_free(l->vision);
    tok_free(l->tok);
    free(l);
}

/* One untimed pass at the sample's full shape on a device backend (the vision tower on n_frames
 * blank frames, a prefill of the whole visual block behind a short prompt): loads the kernels and
 * fills the GEMM heuristic cache, so that no stage time of the first sample includes them. */
static int session_warmup(run_session *l, char *e, size_t e_len) {
    const int64_t T = l->n_frames, S = l->vinfo.image_size;
    float *px = calloc((size_t)(T * 3 * S * S), sizeof *px);
    if (!px) {
        snprintf(e, e_len, "warm-up: out of memory");
        return -1;
    }
    eng_encode_params ep = eng_encode_default_params();
    ep.keep_hidden = ep.keep_projected = 0;
    ep.frames_per_batch = (int)T;
    eng_vision_out vo;
    int rc = eng_vision_encode(l->vision, px, T, &ep, &vo, e, e_len);
    free(px);
    if (rc != ENG_OK) return -1;
    int64_t ids[17];
    for (int i = 0; i < 17; i++) ids[i] = i == 8 ? ENG_LLM_IMAGE_PLACEHOLDER : 10 + i;
    eng_llm_prefill_params pp = eng_llm_prefill_default_params();
    pp.ids = ids;
    pp.n_ids = 17;
    pp.visual = vo.pooled;
    pp.n_visual = vo.n_frames * vo.n_pooled;
    eng_llm_prefill_out po;
    rc = eng_llm_prefill(l->state, &pp, &po, e, e_len);
    eng_vision_out_free(&vo);
    return rc == ENG_OK ? 0 : -1;
}

int run_session_open(const run_model_spec *m, run_session **out, char *err, size_t err_len) {
    *out = NULL;
    if (!m || !m->path) {
        snprintf(err, err_len, "no model path");
        return -1;
    }
    run_session *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    char e[1024];
    eng_model_params mp = eng_model_default_params();
    if (eng_backend_parse(m->backend ? m->backend : "cpu", &mp.backend)) {
        snprintf(e, sizeof e, "unknown backend '%s' (ref, cpu, cuda)", m->backend);
        goto fail;
    }
    if (eng_compute_dtype_parse(m->dtype ? m->dtype : "auto", &mp.dtype)) {
        snprintf(e, sizeof e, "unknown dtype '%s' (auto, fp16, bf16, fp32)", m->dtype);
        goto fail;
    }
    if (m->siglip && m->siglip[0]) mp.siglip_path = m->siglip;
    /* The tokenizer first: the real checkpoints carry more embedding rows than the tokenizer has
     * ids, and greedy decoding only ever picks a tokenizer id (spec §6.3, quirk
     * pipeline.vocab_shrink), so the LLM is loaded once, with its vocabulary limit. */
    if (!(l->tok = tok_load(m->path, e, sizeof e))) goto fail;
    if (!(l->vision = eng_model_load(m->path, &mp, e, sizeof e))) goto fail;
    eng_model_vision_info(l->vision, &l->vinfo);
    eng_llm_params lp = eng_llm_default_params();
    lp.backend = mp.backend;
    lp.dtype = mp.dtype;
    lp.vocab_limit = tok_vocab_size(l->tok);
    if (!(l->llm = eng_llm_load(m->path, &lp, e, sizeof e))) goto fail;
    eng_llm_get_info(l->llm, &l->linfo);
    /* the pruners' view of the model: its family (given, else from the newline layout), the
     * checkpoint's own newline layout, its depth and width */
    tb_family fam = l->linfo.mrope                           ? TB_FAMILY_QWEN25_VL
                    : l->linfo.newline_mode == ENG_NEWLINE_GRID ? TB_FAMILY_LLAVA_VIDEO
                                                                : TB_FAMILY_LLAVA_OV;
    if (m->family && tb_family_parse(m->family, &fam)) {
        snprintf(e, sizeof e, "family '%s' is not llava-ov, llava-video or qwen2.5-vl", m->family);
        goto fail;
    }
    if ((fam == TB_FAMILY_QWEN25_VL) != (l->linfo.mrope != 0)) {
        snprintf(e, sizeof e, "%.400s: family '%s' does not match the checkpoint (%s)", m->path, tb_family_name(fam),
                 l->linfo.mrope ? "a Qwen2.5-VL model" : "a LLaVA model");
        goto fail;
    }
    char le[512];
    if (run_model_layout(&l->linfo, fam, &l->layout, le, sizeof le)) {
        snprintf(e, sizeof e, "%.400s: %s", m->path, le);
        goto fail;
    }
    l->n_frames = m->n_frames > 0 ? m->n_frames : fam == TB_FAMILY_LLAVA_VIDEO ? 64 : 32;
    /* Worst case context: every pooled token of every frame plus a newline per row, the prompt
     * and the answer. */
    int64_t grid = l->vinfo.grid - l->vinfo.grid / 2; /* ceil(G/2) >= floor(G/2) */
    l->n_ctx = (int64_t)l->n_frames * grid * (grid + 1) + 2048;
    /* Qwen: 448^2 px per frame at most -> 256 merged tokens (28 x 28 px each) per 2-frame slice */
    if (fam == TB_FAMILY_QWEN25_VL) l->n_ctx = (int64_t)(l->n_frames + 1) / 2 * (QWEN_MAX_PIXELS / (28 * 28)) + 2048;
    if (!(l->state = eng_llm_state_init(l->llm, l->n_ctx, e, sizeof e))) goto fail;
    if (mp.backend == ENG_BACKEND_CUDA && session_warmup(l, e, sizeof e)) goto fail;
    l->fl = (fl_model){.n_layers = l->linfo.n_layers, .d = l->linfo.hidden, .m = l->linfo.intermediate,
                       .n_heads = l->linfo.n_heads, .n_kv_heads = l->linfo.n_kv_heads, .vocab = (int)l->linfo.vocab};
    snprintf(l->fl.name, sizeof l->fl.name, "llm");
    *out = l;
    return 0;
fail:
    snprintf(err, err_len, "%s", e);
    run_session_free(l);
    return -1;
}

const char *run_session_family(const run_session *s) { return tb_family_name(s->layout.family); }
int run_session_frames(const run_session *s) { return s->n_frames; }
int run_session_image_size(const run_session *s) { return s->vinfo.image_size; }
int run_session_llm_layers(const run_session *s) { return s->linfo.n_layers; }
const char *run_session_digest(const run_session *s) { return eng_model_digest(s->vision); }
const char *run_session_dtype(const run_session *s) { return s->linfo.dtype; }

/* ---- per video ----------------------------------------------------------------------------- */

/* Qwen2.5-VL: qwen-vl-utils sampling ({"nframes": N, "max_pixels": 448^2}), the processor chain,
 * the ViT + merger with its saliency tap. */
static void prepare_qwen(run_session *l, const ds_sample *s, run_sample_work *w) {
    char e[1024];
    double t0 = tb_now_s();
    if (s->video_is_frames || (!isnan(s->start) && !isnan(s->end))) {
        snprintf(w->error, sizeof w->error, "qwen2.5-vl: frame folders and clips are not supported by this path yet");
        return;
    }
    ds_qwen_video_params qp = ds_qwen_video_default_params();
    qp.nframes = l->n_frames;
    qp.max_pixels = QWEN_MAX_PIXELS;
    double mn = 0, mx = 0, fps = 0;
    if (qp_sample_video(s->video, &qp, &w->frames, &mn, &mx, &fps, e, sizeof e)) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    w->duration_s = fps > 0 ? (double)w->frames.n / fps : 0;
    qp_rows rows;
    if (qp_frames_to_rows(w->frames.rgb, w->frames.n, w->frames.height, w->frames.width, mn, mx,
                          l->vinfo.temporal_patch, l->vinfo.patch_size, l->vinfo.merge, &rows, e, sizeof e)) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    double t1 = tb_now_s();
    int rc = eng_qwen_vision_encode(l->vision, rows.rows, rows.grid[0], rows.grid[1], rows.grid[2], 4, &w->qv, e,
                                    sizeof e);
    qp_rows_free(&rows);
    if (rc != ENG_OK) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    double t2 = tb_now_s();
    w->decode_ms = 1e3 * (t1 - t0);
    w->vision_ms = 1e3 * (t2 - t1);
    int64_t Gt = w->qv.grid_t;
    w->timestamps = malloc((size_t)Gt * sizeof *w->timestamps);
    w->frame_times = malloc((size_t)w->frames.n * sizeof *w->frame_times);
    if (!w->timestamps || !w->frame_times) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return;
    }
    for (int i = 0; i < w->frames.n; i++) w->frame_times[i] = w->frames.timestamps[i];
    for (int64_t k = 0; k < Gt; k++) { /* a slice's first frame (Tango refines from frame_times) */
        int64_t f = 2 * k < w->frames.n ? 2 * k : w->frames.n - 1;
        w->timestamps[k] = (float)w->frames.timestamps[f];
    }
}

void run_decode_sample(const ds_sample *s, int n_frames, int image_size, const char *frame_rule, const char *seek,
                       run_decoded *out) {
    memset(out, 0, sizeof *out);
    char e[1024];
    double t0 = tb_now_s();
    ds_video_t *v = NULL;
    /* again at decode time: a link may have appeared since the samples were loaded */
    if (ds_video_check(s->video, s->video_rel, e, sizeof e) ||
        ds_video_open(s->video, s->video_is_frames ? s->frames_fps : 0.0, &v, e, sizeof e)) {
        snprintf(out->error, sizeof out->error, "%s", e);
        return;
    }
    ds_video_params vp = ds_video_default_params();
    vp.n_frames = n_frames;
    ds_sample_rule_parse(frame_rule, &vp.rule);
    ds_seek_mode_parse(seek, &vp.seek);
    vp.size = image_size;
    if (!isnan(s->start) && !isnan(s->end)) {
        vp.clip = 1;
        vp.start_s = s->start;
        vp.end_s = s->end;
    }
    ds_video_info info;
    ds_video_get_info(v, &info);
    out->duration_s = info.duration_s;
    int rc = ds_video_sample(v, &vp, &out->frames, e, sizeof e);
    ds_video_free(v);
    if (rc) snprintf(out->error, sizeof out->error, "%s", e);
    out->decode_ms = 1e3 * (tb_now_s() - t0);
}

void run_decoded_free(run_decoded *d) {
    if (!d) return;
    ds_frames_free(&d->frames);
    memset(d, 0, sizeof *d);
}

/* Decodes (or takes the frames decoded ahead in dec) and encodes one video into w. */
static void prepare_sample(run_session *l, const ds_sample *s, const run_answer_params *p, run_decoded *dec,
                           run_sample_work *w) {
    memset(w, 0, sizeof *w);
    if (l->layout.family == TB_FAMILY_QWEN25_VL) { /* its own sampler and processor chain */
        run_decoded_free(dec);
        prepare_qwen(l, s, w);
        return;
    }
    char e[1024];
    run_decoded own;
    if (!dec) {
        run_decode_sample(s, l->n_frames, l->vinfo.image_size, p->frame_rule, p->seek, &own);
        dec = &own;
    }
    w->frames = dec->frames; /* taken over */
    memset(&dec->frames, 0, sizeof dec->frames);
    w->duration_s = dec->duration_s;
    w->decode_ms = dec->decode_ms;
    if (dec->error[0]) {
        snprintf(w->error, sizeof w->error, "%s", dec->error);
        return;
    }
    eng_encode_params ep = eng_encode_default_params();
    ep.keep_hidden = 0;
    ep.keep_projected = 0;
    /* a GPU holds every frame at once: one pass, the largest products */
    if (strcmp(l->vinfo.backend, "cuda") == 0) ep.frames_per_batch = w->frames.n;
    /* VLMEvalKit runs LLaVA-Video with average pooling whatever the config says (quirk
     * pipeline.video_pool_average). */
    if (l->layout.family == TB_FAMILY_LLAVA_VIDEO) ep.pool = ENG_VPOOL_AVERAGE;
    if (eng_vision_encode(l->vision, w->frames.pixels, w->frames.n, &ep, &w->vis, e, sizeof e) != ENG_OK) {
        snprintf(w->error, sizeof w->error, "%s", e);
        return;
    }
    w->vision_ms = 1e3 * w->vis.seconds; /* the backend's clock (CUDA events on the GPU) */
    w->timestamps = malloc((size_t)w->frames.n * sizeof *w->timestamps);
    if (!w->timestamps) {
        snprintf(w->error, sizeof w->error, "out of memory");
        return;
    }
    for (int i = 0; i < w->frames.n; i++) w->timestamps[i] = (float)w->frames.timestamps[i];
}

/* ---- answering ---------------------------------------------------------------------------- */

/* Scores o->raw under conv into o (letter, correct, parse failure, score); -1 with o->error set. */
static int score_answer(const ds_sample *s, ds_convention conv, run_answer *o) {
    ds_answer ans;
    char e[512];
    if (ds_answer_score(s, conv, o->raw, &ans, e, sizeof e)) {
        snprintf(o->error, sizeof o->error, "scoring: %s", e);
        return -1;
    }
    o->correct = ans.correct;
    o->score = ans.score;
    o->parse_failed = ans.parse != DS_PARSE_OK;
    o->letter = ans.parse == DS_PARSE_OK ? ans.letter : 0;
    return 0;
}

static void answer_with(run_session *l, const ds_sample *s, const run_sample_work *w, const run_answer_params *p,
                        const tg_method *method, run_answer *o) {
    char e[768];
    tg_prune_output out = {0};
    float *block = NULL;
    int64_t *pos = NULL;
    char *user = NULL, *content = NULL;
    tok_ids ids = {0};
    int32_t *gen32 = NULL;
    int64_t *ids64 = NULL, gen[4096];
    const eng_vision_out *vis = &w->vis;

    /* prune */
    tg_prune_input in = run_prune_input(vis, &l->layout, method, w->timestamps, p->ratio, p->seed);
    in.params = p->params;
    in.n_params = p->n_params;
    double t0 = tb_now_s();
    if (method->run(&in, &out, e, sizeof e) != TG_OK) {
        snprintf(o->error, sizeof o->error, "%s: %s", method->name, e);
        goto out;
    }
    o->ms[DB_STAGE_PRUNE] = 1e3 * (tb_now_s() - t0);
    if (out.params_json) o->method_json = strdup(out.params_json);
    for (int q = 0, off = 0; q < out.n_quirks && off < (int)sizeof o->quirks; q++)
        off += snprintf(o->quirks + off, sizeof o->quirks - (size_t)off, "%s%s", q ? "," : "", out.quirks[q]);

    /* the visual block in LLM order: kept vectors and newline tokens */
    if (run_visual_block(&out, eng_llm_image_newline(l->llm), &block, e, sizeof e)) {
        snprintf(o->error, sizeof o->error, "%s: %s", method->name, e);
        goto out;
    }

    /* prompt */
    ds_prompt_params pp = ds_prompt_default_params();
    pp.family = l->layout.family;
    pp.convention = p->convention;
    ds_video_time vt = {.duration_s = w->duration_s, .frame_height = w->frames.height, .n_frames = w->frames.n,
                        .frame_times = w->frames.timestamps};
    if (!(user = ds_prompt_user(s, &pp, &vt, e, sizeof e))) {
        snprintf(o->error, sizeof o->error, "prompt: %s", e);
        goto out;
    }
    size_t clen = strlen(user) + 16;
    content = malloc(clen);
    if (!content) goto oom;
    snprintf(content, clen, "<image>\n%s", user);
    if (tok_chat_encode(l->tok, content, &ids, e, sizeof e)) {
        snprintf(o->error, sizeof o->error, "tokenizer: %s", e);
        goto out;
    }
    ids64 = malloc((ids.n ? ids.n : 1) * sizeof *ids64);
    if (!ids64) goto oom;
    int64_t ph = -1;
    for (size_t i = 0; i < ids.n; i++) {
        ids64[i] = ids.v[i];
        if (ids.v[i] == TOK_IMAGE_ID) ph = (int64_t)i;
    }
    if (ph < 0) {
        snprintf(o->error, sizeof o->error, "prompt has no <image> placeholder");
        goto out;
    }
    o->n_text = (int64_t)ids.n - 1;
    if (o->n_text + out.n_seq + p->max_new_tokens > l->n_ctx) {
        snprintf(o->error, sizeof o->error, "sequence of %lld tokens exceeds the context of %lld",
                 (long long)(o->n_text + out.n_seq), (long long)l->n_ctx);
        goto out;
    }
    if (run_visual_positions(&out, ph, (int64_t)ids.n, &pos)) goto oom; /* = 0..N-1 when contiguous */

    /* prefill (with the method's in-LLM plan, executed as given) + generate */
    eng_llm_prefill_params fp = eng_llm_prefill_default_params();
    fp.ids = ids64;
    fp.n_ids = (int64_t)ids.n;
    fp.visual = block;
    fp.n_visual = out.n_seq;
    fp.pos = pos;
    fp.plan = out.plan.layer > 0 ? &out.plan : NULL;
    fp.n_reserve = p->max_new_tokens + 1; /* the KV cache follows the sequence: room for the answer */
    eng_llm_prefill_out po;
    if (eng_llm_prefill(l->state, &fp, &po, e, sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "prefill: %s", e);
        goto out;
    }
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = p->max_new_tokens;
    int64_t n_gen = 0;
    if (eng_llm_generate(l->state, &gp, gen, (int64_t)(sizeof gen / sizeof gen[0]), &n_gen, e, sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "generate: %s", e);
        goto out;
    }
    eng_llm_timings tm;
    eng_llm_get_timings(l->state, &tm);
    o->ms[DB_STAGE_PREFILL] = 1e3 * tm.prefill_s;
    o->ms[DB_STAGE_GENERATE] = 1e3 * tm.decode_s;
    o->n_generated = n_gen;
    gen32 = malloc((size_t)(n_gen ? n_gen : 1) * sizeof *gen32);
    if (!gen32) goto oom;
    for (int64_t i = 0; i < n_gen; i++) gen32[i] = (int32_t)gen[i];
    size_t raw_len = 0;
    if (!(o->raw = tok_decode(l->tok, gen32, (size_t)n_gen, 1, &raw_len, e, sizeof e))) {
        snprintf(o->error, sizeof o->error, "detokenize: %s", e);
        goto out;
    }

    /* score */
    if (score_answer(s, pp.convention, o)) goto out;

    /* realised accounting from what the engine ran */
    o->n_visual_in = out.n_visual_full;
    o->n_seq = out.n_seq;
    o->n_layers = po.n_layers < TG_MAX_LAYERS ? po.n_layers : TG_MAX_LAYERS;
    for (int i = 0; i < o->n_layers; i++) o->visual_per_layer[i] = po.n_visual_layer[i];
    o->retention = tg_equiv_retention(o->visual_per_layer, o->n_layers, out.n_visual_full);
    l->fl.n_layers = o->n_layers;
    o->flops = fl_prefill_flops(&l->fl, o->n_text, o->visual_per_layer);
    goto out;
oom:
    snprintf(o->error, sizeof o->error, "out of memory");
out:
    tg_prune_output_free(&out);
    free(block), free(pos), free(user), free(content), free(ids64), free(gen32);
    tok_ids_free(&ids);
}


/* Qwen2.5-VL: prune the merged tokens per temporal slice, give every kept entry the 3-D
 * position ids of its flat id in the unpruned sequence (get_rope_index on the full prompt; spec
 * qwen25vl.md §6.6: kept tokens keep their ids, text after the video keeps its ids, decode goes
 * on from max + 1), splice the kept rows into a run of as many <|video_pad|> ids. */
static void answer_qwen(run_session *l, const ds_sample *s, const run_sample_work *w, const run_answer_params *p,
                        const tg_method *method, run_answer *o) {
    char e[768];
    tg_prune_output out = {0};
    float *block = NULL;
    char *user = NULL, *content = NULL;
    tok_ids ids = {0};
    int64_t *full = NULL, *pos_full = NULL, *ids2 = NULL, *pos2 = NULL, gen[4096];
    int32_t *gen32 = NULL;
    const eng_qwen_vision_out *q = &w->qv;
    const eng_llm_info *li = &l->linfo;
    int64_t T = q->grid_t, L = q->units_per_slice, D = q->d_model, U = q->n_units;

    tg_prune_input in = tg_prune_input_default();
    in.features = q->merged;
    in.n_frames = T;
    in.n_tokens = L;
    in.dim = D;
    in.grid_h = q->unit_h;
    in.grid_w = q->unit_w;
    in.model = l->layout;
    in.timestamps = w->timestamps;
    in.frame_times = w->frame_times;
    in.n_frame_times = w->frames.n;
    in.saliency = q->gq_attn; /* the global-query attention: Tango, FastVID and VisionZip (§6.2, §7, §8) */
    in.keys = q->unit_keys;
    in.key_dim = q->head_dim;
    in.ratio = method->caps & TG_CAP_NO_RATIO ? 1.0 : p->ratio;
    in.seed = p->seed;
    in.params = p->params;
    in.n_params = p->n_params;
    double t0 = tb_now_s();
    if (method->run(&in, &out, e, sizeof e) != TG_OK) {
        snprintf(o->error, sizeof o->error, "%s: %s", method->name, e);
        goto out;
    }
    o->ms[DB_STAGE_PRUNE] = 1e3 * (tb_now_s() - t0);
    if (out.params_json) o->method_json = strdup(out.params_json);
    for (int qk = 0, off = 0; qk < out.n_quirks && off < (int)sizeof o->quirks; qk++)
        off += snprintf(o->quirks + off, sizeof o->quirks - (size_t)off, "%s%s", qk ? "," : "", out.quirks[qk]);
    if (out.plan.layer > 0) {
        snprintf(o->error, sizeof o->error, "%s: in-LLM plans are not supported on qwen2.5-vl", method->name);
        goto out;
    }
    if (run_visual_block(&out, NULL, &block, e, sizeof e)) {
        snprintf(o->error, sizeof o->error, "%s: %s", method->name, e);
        goto out;
    }
    /* prompt: the chat template with the video item first (VLMEvalKit's one user turn) */
    ds_prompt_params pp = ds_prompt_default_params();
    pp.family = l->layout.family;
    pp.convention = p->convention;
    ds_video_time vt = {.duration_s = w->duration_s, .frame_height = w->frames.height, .n_frames = w->frames.n,
                        .frame_times = w->frames.timestamps};
    if (!(user = ds_prompt_user(s, &pp, &vt, e, sizeof e))) {
        snprintf(o->error, sizeof o->error, "prompt: %s", e);
        goto out;
    }
    size_t clen = strlen(user) + 64;
    if (!(content = malloc(clen))) goto oom;
    snprintf(content, clen, "<|vision_start|><|video_pad|><|vision_end|>\n%s", user);
    char *chat = tok_chat_render(content);
    if (!chat) goto oom;
    int trc = tok_encode(l->tok, chat, strlen(chat), &ids, e, sizeof e);
    free(chat);
    if (trc) {
        snprintf(o->error, sizeof o->error, "tokenizer: %s", e);
        goto out;
    }
    /* the processor's expansion: one pad per merged unit */
    int64_t n0 = (int64_t)ids.n, pad = -1;
    for (int64_t i = 0; i < n0; i++)
        if (ids.v[i] == li->video_token_id) pad = i;
    if (pad < 0) {
        snprintf(o->error, sizeof o->error, "prompt has no <|video_pad|> (id %d)", li->video_token_id);
        goto out;
    }
    int64_t nf = n0 - 1 + U, ns = n0 - 1 + out.n_seq;
    o->n_text = n0 - 1;
    if (ns + p->max_new_tokens > l->n_ctx) {
        snprintf(o->error, sizeof o->error, "sequence of %lld tokens exceeds the context of %lld", (long long)ns,
                 (long long)l->n_ctx);
        goto out;
    }
    full = malloc((size_t)nf * sizeof *full);
    pos_full = malloc((size_t)(3 * nf) * sizeof *pos_full);
    ids2 = malloc((size_t)ns * sizeof *ids2);
    pos2 = malloc((size_t)(3 * ns) * sizeof *pos2);
    if (!full || !pos_full || !ids2 || !pos2) goto oom;
    for (int64_t i = 0, k = 0; i < n0; i++) {
        if (i == pad)
            for (int64_t u = 0; u < U; u++) full[k++] = li->video_token_id;
        else
            full[k++] = ids.v[i];
    }
    int64_t grid[1][3] = {{q->grid_t, q->grid_h, q->grid_w}}, max_id = 0;
    if (eng_qwen_rope_index(full, nf, (const int64_t(*)[3])grid, 1, 1.0, li->tokens_per_second, li->spatial_merge,
                            li->vision_start_id, li->video_token_id, li->image_token_id, pos_full, &max_id, e,
                            sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "positions: %s", e);
        goto out;
    }
    /* the kept sequence: text before, the kept entries (their flat id's ids), text after */
    for (int64_t i = 0, k = 0; i < nf; i++) {
        int64_t src;
        if (i < pad) src = i;
        else if (i < pad + U) {
            if (i - pad >= out.n_seq) continue;
            if (out.order[i - pad] < 0 || out.order[i - pad] >= U) {
                snprintf(o->error, sizeof o->error, "%s: entry %lld is not a merged token", method->name,
                         (long long)(i - pad));
                goto out;
            }
            src = pad + out.order[i - pad];
        } else src = i;
        ids2[k] = full[i < pad || i >= pad + U ? i : pad];
        for (int r = 0; r < 3; r++) pos2[r * ns + k] = pos_full[r * nf + src];
        k++;
    }
    eng_llm_prefill_params fp = eng_llm_prefill_default_params();
    fp.ids = ids2;
    fp.n_ids = ns;
    fp.visual = block;
    fp.n_visual = out.n_seq;
    fp.pos3 = pos2;
    eng_llm_prefill_out po;
    if (eng_llm_prefill(l->state, &fp, &po, e, sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "prefill: %s", e);
        goto out;
    }
    eng_llm_gen_params gp = eng_llm_gen_default_params();
    gp.max_new_tokens = p->max_new_tokens;
    gp.repetition_penalty = 1.0; /* VLMEvalKit passes 1.0 explicitly (§4.5) */
    int64_t n_gen = 0;
    if (eng_llm_generate(l->state, &gp, gen, (int64_t)(sizeof gen / sizeof gen[0]), &n_gen, e, sizeof e) != ENG_OK) {
        snprintf(o->error, sizeof o->error, "generate: %s", e);
        goto out;
    }
    eng_llm_timings tm;
    eng_llm_get_timings(l->state, &tm);
    o->ms[DB_STAGE_PREFILL] = 1e3 * tm.prefill_s;
    o->ms[DB_STAGE_GENERATE] = 1e3 * tm.decode_s;
    o->n_generated = n_gen;
    if (!(gen32 = malloc((size_t)(n_gen ? n_gen : 1) * sizeof *gen32))) goto oom;
    for (int64_t i = 0; i < n_gen; i++) gen32[i] = (int32_t)gen[i];
    size_t raw_len = 0;
    if (!(o->raw = tok_decode(l->tok, gen32, (size_t)n_gen, 1, &raw_len, e, sizeof e))) {
        snprintf(o->error, sizeof o->error, "detokenize: %s", e);
        goto out;
    }
    if (score_answer(s, pp.convention, o)) goto out;
    o->n_visual_in = out.n_visual_full;
    o->n_seq = out.n_seq;
    o->n_layers = po.n_layers < TG_MAX_LAYERS ? po.n_layers : TG_MAX_LAYERS;
    for (int i = 0; i < o->n_layers; i++) o->visual_per_layer[i] = po.n_visual_layer[i];
    o->retention = tg_equiv_retention(o->visual_per_layer, o->n_layers, out.n_visual_full);
    l->fl.n_layers = o->n_layers;
    o->flops = fl_prefill_flops(&l->fl, o->n_text, o->visual_per_layer);
    goto out;
oom:
    snprintf(o->error, sizeof o->error, "out of memory");
out:
    tg_prune_output_free(&out);
    free(block), free(user), free(content), free(full), free(pos_full), free(ids2), free(pos2), free(gen32);
    tok_ids_free(&ids);
}

/* Equal, NaN included (absent clip bounds). */
static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

int run_session_answer(run_session *l, const ds_sample *s, const run_answer_params *p, run_answer *o) {
    return run_session_answer_decoded(l, s, p, NULL, o);
}

int run_session_decodes_ahead(const run_session *l) {
    return l->layout.family != TB_FAMILY_QWEN25_VL; /* Qwen2.5-VL decodes with its own sampler */
}

int run_session_decodes(const run_session *l, const ds_sample *s, const run_answer_params *p) {
    return !(l->have_work && !strcmp(l->work_video, s->video ? s->video : "") && same_double(l->work_start, s->start) &&
             same_double(l->work_end, s->end) && !strcmp(l->work_rule, p->frame_rule) &&
             !strcmp(l->work_seek, p->seek));
}

int run_session_answer_decoded(run_session *l, const ds_sample *s, const run_answer_params *p, run_decoded *dec,
                               run_answer *o) {
    memset(o, 0, sizeof *o);
    for (int k = 0; k < DB_N_STAGES; k++) o->ms[k] = -1;
    const tg_method *method = p && p->method ? reg_method_find(p->method) : NULL;
    if (!l || !s || !method || p->n_params > SESSION_MAX_PARAMS) {
        snprintf(o->error, sizeof o->error, "bad arguments (unknown method '%s'?)", p && p->method ? p->method : "");
        run_decoded_free(dec);
        return -1;
    }
    if (s->error) { /* a record that did not validate */
        snprintf(o->error, sizeof o->error, "%s", s->error);
        run_decoded_free(dec);
        return 0;
    }
    /* Questions about the same video, clip and frame policy follow each other in every
     * benchmark's records: decode and encode once, reuse for all of them. */
    if (run_session_decodes(l, s, p)) {
        if (l->have_work) work_free(&l->work);
        prepare_sample(l, s, p, dec, &l->work);
        l->have_work = 1;
        snprintf(l->work_video, sizeof l->work_video, "%s", s->video ? s->video : "");
        l->work_start = s->start;
        l->work_end = s->end;
        snprintf(l->work_rule, sizeof l->work_rule, "%s", p->frame_rule);
        snprintf(l->work_seek, sizeof l->work_seek, "%s", p->seek);
    }
    run_decoded_free(dec); /* frames decoded for a video the session already had: not needed */
    const run_sample_work *w = &l->work;
    if (w->error[0]) {
        snprintf(o->error, sizeof o->error, "%s", w->error);
        return 0;
    }
    if (l->layout.family == TB_FAMILY_QWEN25_VL) answer_qwen(l, s, w, p, method, o);
    else answer_with(l, s, w, p, method, o);
    if (o->error[0]) {
        for (int k = 0; k < DB_N_STAGES; k++) o->ms[k] = -1;
        return 0;
    }
    o->ms[DB_STAGE_DECODE] = w->decode_ms;
    o->ms[DB_STAGE_VISION] = w->vision_ms;
    o->ms[DB_STAGE_TOTAL] = w->decode_ms + w->vision_ms + o->ms[DB_STAGE_PRUNE] + o->ms[DB_STAGE_PREFILL] +
                            o->ms[DB_STAGE_GENERATE];
    return 0;
}

void run_answer_free(run_answer *a) {
    if (!a) return;
    free(a->raw);
    free(a->method_json);
    a->raw = a->method_json = NULL;
}

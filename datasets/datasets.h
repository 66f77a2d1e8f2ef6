/* datasets.h - benchmark manifests and samples: download and cache the official annotation
 * records of Video-MME, MVBench, LongVideoBench and MLVU-Dev (MCQ), turn them into common
 * samples, build the exact prompt text each reference pipeline used, and extract / score answers.
 *
 * What this module deliberately does not do: decode video or sample frames (datasets/frames*,
 * datasets/video*), download videos, or call any LLM judge. A parse failure is recorded as such,
 * never guessed. Spec: specs/datasets.md, specs/llava-ov-engine.md §5.
 *
 * Usage (the experiment runner):
 *
 *     char err[512];
 *     ds_load_params lp = ds_load_default_params();
 *     lp.cache_dir = "/data/tb-cache";         // or lp.manifest = "synth/manifest/"
 *     lp.videos_root = "/data/mvbench";
 *     ds_sample_set *set = NULL;
 *     if (ds_samples_load(DS_BENCH_MVBENCH, &lp, &set, err, sizeof err) != DS_OK) {
 *         fprintf(stderr, "%s\n", err); return 1;
 *     }
 *     ds_prompt_params pp = ds_prompt_default_params();   // llava-ov, vlmevalkit
 *     for (size_t i = 0; i < ds_sample_set_count(set); i++) {
 *         const ds_sample *s = ds_sample_set_get(set, i);
 *         char *user = ds_prompt_user(s, &pp, NULL, err, sizeof err);  // text after "<image>\n"
 *         char *chat = ds_prompt_chat(s, &pp, NULL, err, sizeof err);  // whole qwen_1_5 prompt
 *         const char *prediction = run_model(s->video, s->start, s->end, chat);
 *         ds_answer a;
 *         ds_answer_score(s, pp.convention, prediction, &a, err, sizeof err);
 *         // a.letter ('A'.. or 0), a.correct (0/1), a.parse (DS_PARSE_OK / FAILED / REFUSED),
 *         // a.score (1, 0, -1, or NAN = not counted)
 *         free(user); free(chat);
 *     }
 *     ds_sample_set_free(set);
 *
 * Downloading (tango-bench fetch) is ds_fetch(); it needs curl_global_init() done by main.
 */
#ifndef TB_DATASETS_H
#define TB_DATASETS_H

#include <stddef.h>
#include <stdint.h>

#include "common/family.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes (numbers are stable, never reused).
 */
typedef enum {
    DS_OK = 0,
    DS_ERR_ARG = -1,         /* bad argument / unknown benchmark / unsupported combination */
    DS_ERR_IO = -2,          /* local file error */
    DS_ERR_NET = -3,         /* connection / timeout / truncated transfer after all retries */
    DS_ERR_HTTP = -4,        /* non-2xx HTTP status (other than 401/403) */
    DS_ERR_AUTH = -5,        /* 401/403: gated dataset, terms not accepted or HF_TOKEN missing */
    DS_ERR_JSON = -6,        /* malformed JSON */
    DS_ERR_SCHEMA = -7,      /* JSON well-formed but not the expected record schema */
    DS_ERR_PATH = -8,        /* a video path escapes the videos root */
    DS_ERR_TOOBIG = -9,      /* download larger than the allowed maximum */
    DS_ERR_CHECKSUM = -10,   /* size or sha256 mismatch */
    DS_ERR_NOT_CACHED = -11, /* offline / samples: nothing usable in the cache */
    DS_ERR_NOMEM = -12,
    DS_ERR_UNSUPPORTED = -13 /* combination the spec does not define (see ds_prompt_user) */
} ds_status;

/* Short name of a status ("ok", "auth", ...). Never NULL. */
const char *ds_status_str(int status);

/* ---------------------------------------------------------------------------------------------
 * Benchmarks, model families, conventions.
 */
typedef enum {
    DS_BENCH_VIDEOMME = 0,
    DS_BENCH_MVBENCH = 1,
    DS_BENCH_LONGVIDEOBENCH = 2,
    DS_BENCH_MLVU = 3,
    DS_BENCH_COUNT = 4
} ds_bench;

/* Scoring conventions: the peers' rule sets, named and versioned (README "Scoring conventions").
 * A convention fixes the prompt (VLMEvalKit's or lmms-eval's text) and how an answer is scored
 * and aggregated. The first two are what the Tango paper's numbers mean (the copies vendored in
 * xjtupanda/Tango@cc815b6) and are the defaults; the versioned ones are the peers today. */
typedef enum {
    DS_CONV_VLMEVALKIT = 0,         /* "vlmevalkit": VLMEvalKit as in xjtupanda/Tango@cc815b6 */
    DS_CONV_LMMS_EVAL = 1,          /* "lmms-eval": lmms-eval as in xjtupanda/Tango@cc815b6 (= 0.7.1) */
    DS_CONV_VLMEVALKIT_E8E78F0 = 2, /* "vlmevalkit@e8e78f0": open-compass/VLMEvalKit@e8e78f0 */
    DS_CONV_LMMS_EVAL_073 = 3,      /* "lmms-eval@0.7.3": lmms-eval 0.7.3 (PyPI) */
    DS_CONV_COUNT = 4
} ds_convention;

/* "videomme", "mvbench", "longvideobench", "mlvu". NULL for an out-of-range value. */
const char *ds_bench_name(ds_bench b);
/* Parses a benchmark name (the four above); returns 0 and sets *out, or -1. */
int ds_bench_parse(const char *name, ds_bench *out);
/* A convention's name (above); NULL for an out-of-range value. */
const char *ds_convention_name(ds_convention c);
/* Parses a convention name; returns 0 and sets *out, or -1. (Model families: common/family.h.) */
int ds_convention_parse(const char *name, ds_convention *out);
/* The names of all conventions, "a|b|c|d", for help texts. Static string. */
const char *ds_convention_names(void);
/* Where a convention's rules come from, one line ("xjtupanda/Tango@cc815b6 VLMEvalKit/...").
 * Static string, NULL for an out-of-range value. */
const char *ds_convention_source(ds_convention c);
/* 1 when the convention uses lmms-eval's prompts, 0 for VLMEvalKit's. */
int ds_convention_lmms(ds_convention c);

/* ---------------------------------------------------------------------------------------------
 * The common sample. All strings are owned by the sample set (valid until ds_sample_set_free).
 */
#define DS_MAX_OPTIONS 8
#define DS_MAX_CATEGORIES 4

typedef struct {
    char *id;                              /* unique within the benchmark ("001-1", "action_sequence_0") */
    ds_bench bench;
    char *video;                           /* resolved path: videos_root + benchmark layout */
    char *video_rel;                       /* path relative to videos_root, checked not to escape it */
    int video_is_frames;                   /* 1: video is a folder of %05d.jpg frames (MVBench tvqa) */
    double frames_fps;                     /* fps of a frame folder (3), else 0 */
    double start, end;                     /* clip bounds in seconds; NAN when absent */
    double duration;                       /* seconds from the record, NAN when absent */
    char *question;                        /* question text as stored */
    int n_options;                         /* 2..DS_MAX_OPTIONS */
    char *options[DS_MAX_OPTIONS];         /* option texts without letter prefixes */
    char *options_raw[DS_MAX_OPTIONS];     /* Video-MME only: options as stored ("A. ..."); else NULL */
    char gold;                             /* 'A' + index of the correct option */
    char *task;                            /* MVBench task file stem, MLVU task, else NULL */
    int n_categories;
    const char *category_keys[DS_MAX_CATEGORIES]; /* static strings ("duration", "task_type", ...) */
    char *category_values[DS_MAX_CATEGORIES];
    char *error;                           /* non-NULL only with ds_load_params.keep_bad_records: the
                                              record did not validate (message naming file, record
                                              and field); id is "<file name>#<record>" (no
                                              directory), nothing else set */
} ds_sample;

typedef struct ds_sample_set ds_sample_set;

/* A sample's video (s->video, which ends in "/" + s->video_rel) must lie inside its videos root
 * once symbolic links are resolved: a link inside the root pointing outside it is refused
 * (DS_ERR_PATH, one line naming the path and where it leads). A video that does not exist passes
 * (opening it fails later). Checked when samples are loaded and again before a run decodes. */
int ds_video_check(const char *video, const char *video_rel, char *err, size_t err_len);

/* Number of samples / the i-th sample (borrowed; NULL when i is out of range). NULL set: 0/NULL. */
size_t ds_sample_set_count(const ds_sample_set *set);
const ds_sample *ds_sample_set_get(const ds_sample_set *set, size_t i);
/* Value of a category of a sample ("duration", "task_type", "task", "duration_group", ...), or
 * NULL when the sample has no such key. Borrowed from the sample. */
const char *ds_sample_category(const ds_sample *s, const char *key);
/* Frees a set and every string it owns. NULL is a no-op. */
void ds_sample_set_free(ds_sample_set *set);
/* The manifest content the set was loaded from, as 64 hex digits: a SHA-256 chained over every
 * file ds_samples_load read, in its reading order (each file's SHA-256, with the task stem for
 * MVBench and MLVU, whose sample ids and tasks come from it), never the paths. A copied or moved
 * manifest keeps it; an edited record changes it. "" for a set made by ds_samples_parse alone.
 * Borrowed, valid until the set is freed. */
const char *ds_sample_set_content_sha256(const ds_sample_set *set);

/* ---------------------------------------------------------------------------------------------
 * Loading samples.
 */
typedef struct {
    const char *cache_dir;   /* cache root; NULL: ds_default_cache_dir() */
    const char *revision;    /* NULL: "main" */
    const char *manifest;    /* local file or directory in the benchmark's official record format;
                                when set, the cache is bypassed */
    const char *videos_root; /* NULL: "." */
    int keep_bad_records;    /* 1: a record that fails validation becomes a sample with `error`
                                set instead of failing the whole load (the runner stores it as a
                                failed sample); malformed JSON still fails the file */
} ds_load_params;

ds_load_params ds_load_default_params(void);

/* Loads every sample of a benchmark, from p->manifest when set, else from the cache written by
 * ds_fetch (never touches the network; every cache file must have the size and the SHA-256 its
 * cache manifest lists, DS_ERR_CHECKSUM otherwise: the bytes are hashed for the content digest
 * anyway). Records are validated field by field; the first bad one
 * fails the whole load with a message naming the file, record and field. Video paths that are
 * absolute or contain ".." are rejected (DS_ERR_PATH).
 *   manifest forms: videomme: JSON array of rows, JSON Lines, a rows-API page, or a directory of
 *   those; mvbench: a task JSON list (task = file stem) or a directory of them (official task
 *   order first, then others by name); longvideobench: lvb_val.json or its directory; mlvu: a task
 *   JSON file (1_plotQA.json ...) or a directory of them (or of json/).
 * On success *out owns the samples (free with ds_sample_set_free). On failure *out is NULL and
 * err holds one line. */
int ds_samples_load(ds_bench bench, const ds_load_params *p, ds_sample_set **out, char *err,
                    size_t err_len);

/* Parses a JSON text of one benchmark's records (an array, JSON Lines, or a rows-API page for
 * videomme) into a new set. task: the MVBench/MLVU task file stem (NULL for the other two).
 * source: a name for error messages. Appends to *io_set when it is non-NULL, else creates one. */
int ds_samples_parse(ds_bench bench, const char *json, size_t json_len, const char *task,
                     const char *source, const ds_load_params *p, ds_sample_set **io_set, char *err,
                     size_t err_len);

/* Default cache root: $TB_CACHE, else $XDG_CACHE_HOME/tango-bench, else $HOME/.cache/tango-bench,
 * else ".tango-bench-cache". Returns a static string valid until the next call. */
const char *ds_default_cache_dir(void);

/* ---------------------------------------------------------------------------------------------
 * Prompts.
 */
typedef struct {
    tb_family family;          /* default TB_FAMILY_LLAVA_OV */
    ds_convention convention;  /* default DS_CONV_VLMEVALKIT */
} ds_prompt_params;

ds_prompt_params ds_prompt_default_params(void);

/* What the LLaVA-Video time instruction needs (llava-ov-engine.md §5.2). */
typedef struct {
    double duration_s;          /* video_time = total frames / avg fps */
    int64_t frame_height;       /* H of the decoded frames (the reference's bug: not the count) */
    int n_frames;
    const double *frame_times;  /* [n_frames] seconds, each printed "%.2fs", joined by "," */
} ds_video_time;

/* The user-turn text after its leading "<image>\n", byte for byte as the reference pipeline
 * (family, convention) built it, e.g. Video-MME/VLMEvalKit begins with "\nThese are the frames".
 * For TB_FAMILY_LLAVA_VIDEO + VLMEvalKit the time instruction is prepended; with vt == NULL it
 * keeps the literal placeholders {DUR}, {H} and {FRAME_TIME}. A versioned convention builds the
 * prompt of its tool (vlmevalkit@e8e78f0 as vlmevalkit, lmms-eval@0.7.3 as lmms-eval: their text
 * for a video LLM without subtitles is unchanged). DS_ERR_UNSUPPORTED (NULL return, err set) for
 * combinations the spec does not define: lmms-eval + llava-video, lmms-eval + MLVU (its prompt
 * needs the sy1998/MLVU_dev rows whose question embeds the options; scoring works).
 * Returns a malloc'd string (caller frees) or NULL with err set. */
char *ds_prompt_user(const ds_sample *s, const ds_prompt_params *p, const ds_video_time *vt,
                     char *err, size_t err_len);

/* The whole qwen_1_5 chat prompt: "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n
 * <|im_start|>user\n<image>\n" + ds_prompt_user(...) + "<|im_end|>\n<|im_start|>assistant\n".
 * Same ownership and errors as ds_prompt_user. */
char *ds_prompt_chat(const ds_sample *s, const ds_prompt_params *p, const ds_video_time *vt,
                     char *err, size_t err_len);

/* ---------------------------------------------------------------------------------------------
 * Answer extraction and scoring: each convention's exact-matching path (no LLM judge), with
 * Python's Unicode semantics where the peer relies on them (str.strip/split whitespace, \w and
 * \b, str.lower) and the peer's aggregation rule.
 */
typedef enum {
    DS_PARSE_OK = 0,      /* a letter was extracted (correct or not) */
    DS_PARSE_FAILED = 1,  /* no letter could be extracted (or no prediction at all) */
    DS_PARSE_REFUSED = 2  /* a refusal string (VLMEvalKit can_infer 'Z'): scored wrong */
} ds_parse;

typedef struct {
    char letter;     /* 'A'.. the extracted / matched option letter, 0 when parse != DS_PARSE_OK */
    int correct;     /* 1 when the peer's headline accuracy counts the sample as correct */
    ds_parse parse;
    double score;    /* the sample's term in the peer's accuracy (ds_aggregate): 1 or 0, -1 where
                        the peer penalises (VLMEvalKit MLVU: a missing or failed prediction), NAN
                        where the peer leaves the sample out of the denominator (lmms-eval MVBench:
                        an empty response) */
} ds_answer;

/* Scores one prediction against s->gold (and s->options where the peer uses option texts) with
 * the rules of the benchmark and convention (README "Scoring conventions"): VLMEvalKit reads a
 * prediction that pandas would read as missing ("", "NA", "None", ...) as missing; lmms-eval
 * first strips <think>/<analysis> blocks. Reference quirks are kept (VLMEvalKit: "Based..." gives
 * B, an empty MVBench prediction counts as correct). A peer's random fallback (lmms-eval
 * LongVideoBench) is not copied: it is recorded as DS_PARSE_FAILED, scored 0. When correct and a
 * letter is reported, letter == gold. Returns DS_OK, or DS_ERR_ARG (bad sample) / DS_ERR_NOMEM
 * with err set. */
int ds_answer_score(const ds_sample *s, ds_convention conv, const char *prediction, ds_answer *out,
                    char *err, size_t err_len);
/* The same on prediction bytes that may contain NUL. */
int ds_answer_score_n(const ds_sample *s, ds_convention conv, const char *prediction, size_t len,
                      ds_answer *out, char *err, size_t err_len);

/* How a convention aggregates a benchmark's per-sample scores into its headline accuracy, as the
 * rule line of common/aggregate.h that the results store keeps with a run: "micro" (sum of scores
 * over the samples counted) for all but lmms-eval's mlvu_dev, which is "macro:task:anomaly_reco,
 * count,ego,needle,order,plotQA,topic_reasoning" (the mean of the seven task accuracies, a task
 * without samples counting 0). Returns 0, or -1 when buf is too small. */
int ds_aggregate_describe(ds_convention c, ds_bench b, char *buf, size_t buf_len);

/* ---------------------------------------------------------------------------------------------
 * Download (tango-bench fetch).
 */
typedef struct {
    const char *cache_dir;       /* NULL: ds_default_cache_dir() */
    const char *revision;        /* NULL: "main" */
    int offline;                 /* 1: only check the cache, never the network */
    int force;                   /* 1: download again even when the cache is complete */
    const char *hf_endpoint;     /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *datasets_server; /* NULL: $HF_DATASETS_SERVER, else https://datasets-server.huggingface.co */
    const char *token;           /* NULL: $HF_TOKEN (never printed, never stored) */
    int max_retries;             /* < 0: $TB_RETRY_MAX, else 5 */
    int64_t retry_base_ms;       /* < 0: $TB_RETRY_BASE_MS, else 500 (doubles each retry, max 30 s) */
    int64_t timeout_s;           /* <= 0: $TB_HTTP_TIMEOUT_S, else 300 (per transfer) */
    int64_t max_bytes;           /* <= 0: 256 MiB per file */
} ds_fetch_params;

ds_fetch_params ds_fetch_default_params(void);

/* What ds_fetch did (optional). */
typedef struct {
    int from_cache;      /* 1: the cache was already complete, nothing downloaded */
    int n_files;         /* files in the cache entry */
    int64_t n_bytes;     /* their total size */
    size_t n_samples;    /* samples the adapter produced from them */
    int n_requests;      /* HTTP requests made, retries included */
    int tree_checked;    /* 1: sizes (and LFS sha256) were checked against the Hub tree listing */
    size_t n_bad_records; /* records that failed validation (kept in the files; run stores each as a
                             failed sample); n_samples counts them too */
    char first_bad[512]; /* the first one's message ("<file>: record <k>: field ...") */
    char dir[1024];      /* the cache entry directory: <cache>/<bench>/<revision> */
} ds_fetch_info;

/* Downloads the official annotation records of a benchmark into <cache>/<bench>/<revision>/:
 *   videomme: dataset-viewer rows API (lmms-lab/Video-MME, videomme/test; 100 rows a page; the
 *             viewer only serves the default branch, so revision must be "main");
 *   mvbench: json/<task>.json x 20 from OpenGVLab/MVBench (resolve/{REV});
 *   longvideobench: lvb_val.json (gated); mlvu: MLVU/json/<n>_<task>.json x 7 from MLVU/MVLU.
 * Sizes and LFS sha256 come from the Hub tree listing ({HF_ENDPOINT}/api/datasets/{REPO}/tree/
 * {REV}/{DIR}) when it answers (a 401/403 there is an error; other failures leave the checks to
 * the HTTP headers and info->tree_checked = 0, recorded in the cache manifest).
 * Every file is validated by the adapter before it is committed (temp file + rename): a record
 * that fails validation is counted (info->n_bad_records) and left for the runner to store as a
 * failed sample; a file whose every record is bad fails the fetch. Then a
 * manifest.json with sizes and sha256 is written last; a complete entry is reused unless force.
 * offline: only verifies the cache entry (sizes and sha256). Retries with backoff on 429, 5xx and
 * transfer errors, resumes partial downloads with Range, follows redirects sending the token only
 * to the original host. info may be NULL. */
int ds_fetch(ds_bench bench, const ds_fetch_params *p, ds_fetch_info *info, char *err,
             size_t err_len);

#ifdef __cplusplus
}
#endif

#endif

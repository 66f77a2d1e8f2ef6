/* video.c - open a video (or a JPEG frame folder), index its frames the way decord does, and
 * decode exactly the sampled frames with libavformat/libavcodec, in parallel.
 *
 * Indexing (ds_video_open): every packet of the chosen video stream is read once without
 * decoding. Its timestamp (pts, else dts) and keyframe flag are kept; the timestamps sorted
 * ascending give frame i -> pts. This is decord's VideoReader::IndexKeyframes, so our frame count
 * equals len(vr). Files whose packets carry no usable or no unique timestamps, or only decode
 * timestamps while the codec reorders frames (AVI with B-frames), fall back to "sequential"
 * mode: frames are counted by decoding from the start (exact, slow). Truncation is detected when
 * fewer packets can be read than the container's own frame count, when a packet's data is cut
 * off (AV_PKT_FLAG_CORRUPT) or when reading fails mid-file.
 *
 * Decoding (ds_video_sample): the wanted frame indices are sorted, de-duplicated and grouped by
 * their preceding keyframe. Each group is one seek followed by
 * forward decoding until every wanted frame of the group has come out (the seek goes to the
 * keyframe's pts with AVSEEK_FLAG_BACKWARD); packets that are not
 * wanted are decoded with skip_frame = AVDISCARD_NONREF, so non-reference frames (B-frames)
 * between the keyframe and the target are parsed but not reconstructed - this changes nothing
 * in the frames we keep because nothing references them. Groups are shared out to worker
 * threads, each with its own demuxer and decoder (FFmpeg contexts are not shareable), and each
 * decoder uses FFmpeg's own threading with n_threads / n_workers threads. A seek that lands
 * after the wanted frame is retried from the previous keyframe, then from the start (frame 0 is
 * reached by reopening the demuxer, never by an approximate timestamp seek).
 *
 * What it does not do: honour rotation metadata, pick among several video streams (FFmpeg's
 * "best" stream is used, attached pictures are ignored), decode audio.
 */
#include "datasets/ds_internal.h"
#include "datasets/video.h"

#include <dirent.h>
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DS_JPEG_MAX_BYTES ((size_t)256 << 20) /* refuse absurd "JPEG" files */

struct ds_video {
    char *path;
    int is_folder;
    /* folder */
    char **files;      /* [n_frames] full paths, sorted by name */
    /* video */
    int stream;        /* index of the video stream */
    AVCodecParameters *par;
    AVRational tb;     /* stream time base */
    int64_t *pts;      /* [n_frames] frame timestamps (stream time base), ascending */
    int64_t *key_frame;/* [n_keys] frame indices of keyframes, ascending */
    int64_t *key_ts;   /* [n_keys] timestamp to seek to for each keyframe (its pts, else dts) */
    int64_t n_keys;
    int pts_ordered;
    /* both */
    int64_t n_frames;
    double fps;
    int width, height;
    char codec[32];
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int n_online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* Quiet FFmpeg's own logging once: library code must not print. */
static void quiet_ffmpeg(void) {
    static atomic_int done;
    if (!atomic_exchange(&done, 1)) av_log_set_level(AV_LOG_QUIET);
}

ds_video_params ds_video_default_params(void) {
    ds_video_params p;
    memset(&p, 0, sizeof p);
    p.n_frames = 32;
    p.rule = DS_SAMPLE_LINSPACE;
    p.seek = DS_SEEK_EXACT;
    p.size = 384;
    for (int c = 0; c < 3; c++) {
        p.mean[c] = 0.5f;
        p.std[c] = 0.5f;
    }
    return p;
}

void ds_video_free(ds_video_t *v) {
    if (!v) return;
    if (v->files)
        for (int64_t i = 0; i < v->n_frames; i++) free(v->files[i]);
    free(v->files);
    avcodec_parameters_free(&v->par);
    free(v->pts);
    free(v->key_frame);
    free(v->key_ts);
    free(v->path);
    free(v);
}

void ds_video_get_info(const ds_video_t *v, ds_video_info *info) {
    memset(info, 0, sizeof *info);
    if (!v) return;
    info->n_frames = v->n_frames;
    info->avg_fps = v->fps;
    info->duration_s = v->fps > 0 ? (double)v->n_frames / v->fps : 0.0;
    info->width = v->width;
    info->height = v->height;
    info->n_keyframes = v->is_folder ? v->n_frames : v->n_keys;
    info->is_folder = v->is_folder;
    info->pts_ordered = v->is_folder ? 1 : v->pts_ordered;
    info->codec = v->codec;
    info->path = v->path;
}

/* ==== JPEG folders ============================================================================ */

static int has_jpeg_ext(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

/* Reads a whole file (at most DS_JPEG_MAX_BYTES) into a padded AVPacket. */
static int read_file_packet(const char *path, AVPacket *pkt, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ds_set_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return DS_VIDEO_ERR_MISSING;
    }
    int rc = DS_VIDEO_OK;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz <= 0 || (size_t)sz > DS_JPEG_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        ds_set_err(err, err_len, "%s: %s", path, sz == 0 ? "empty file" : "unreadable or too large for a JPEG frame");
        rc = sz == 0 ? DS_VIDEO_ERR_FORMAT : DS_VIDEO_ERR_MISSING;
        goto out;
    }
    if (av_new_packet(pkt, (int)sz) < 0) {
        ds_set_err(err, err_len, "%s: out of memory", path);
        rc = DS_VIDEO_ERR_NOMEM;
        goto out;
    }
    if (fread(pkt->data, 1, (size_t)sz, f) != (size_t)sz) {
        ds_set_err(err, err_len, "%s: short read", path);
        rc = DS_VIDEO_ERR_TRUNCATED;
        av_packet_unref(pkt);
    }
out:
    fclose(f);
    return rc;
}

/* Decodes one JPEG file into frm with an already opened mjpeg decoder. */
static int decode_jpeg(AVCodecContext *dec, AVPacket *pkt, AVFrame *frm, const char *path, char *err,
                       size_t err_len) {
    int rc = read_file_packet(path, pkt, err, err_len);
    if (rc) return rc;
    char eb[128];
    int r = avcodec_send_packet(dec, pkt);
    av_packet_unref(pkt);
    if (r >= 0) r = avcodec_send_packet(dec, NULL);
    if (r >= 0 || r == AVERROR_EOF) r = avcodec_receive_frame(dec, frm);
    avcodec_flush_buffers(dec);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: not a decodable JPEG (%s)", path, ds_averr(r, eb, sizeof eb));
        return DS_VIDEO_ERR_FORMAT;
    }
    return DS_VIDEO_OK;
}

static int open_mjpeg(AVCodecContext **out, int threads) {
    const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
    if (!c) return DS_VIDEO_ERR_CODEC;
    AVCodecContext *d = avcodec_alloc_context3(c);
    if (!d) return DS_VIDEO_ERR_NOMEM;
    d->thread_count = threads;
    if (avcodec_open2(d, c, NULL) < 0) {
        avcodec_free_context(&d);
        return DS_VIDEO_ERR_CODEC;
    }
    *out = d;
    return DS_VIDEO_OK;
}

static int open_folder(ds_video_t *v, double fps, char *err, size_t err_len) {
    DIR *d = opendir(v->path);
    if (!d) {
        ds_set_err(err, err_len, "%s: cannot open frame folder: %s", v->path, strerror(errno));
        return DS_VIDEO_ERR_MISSING;
    }
    size_t cap = 0, n = 0;
    char **files = NULL;
    int rc = DS_VIDEO_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_jpeg_ext(e->d_name)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            char **nf = realloc(files, nc * sizeof *nf);
            if (!nf) {
                rc = DS_VIDEO_ERR_NOMEM;
                break;
            }
            files = nf;
            cap = nc;
        }
        size_t len = strlen(v->path) + strlen(e->d_name) + 2;
        files[n] = malloc(len);
        if (!files[n]) {
            rc = DS_VIDEO_ERR_NOMEM;
            break;
        }
        snprintf(files[n], len, "%s/%s", v->path, e->d_name);
        n++;
    }
    closedir(d);
    v->files = files;
    v->n_frames = (int64_t)n;
    if (rc) {
        ds_set_err(err, err_len, "%s: out of memory listing the frame folder", v->path);
        return rc;
    }
    if (n == 0) {
        ds_set_err(err, err_len, "%s: frame folder holds no .jpg/.jpeg files", v->path);
        return DS_VIDEO_ERR_EMPTY;
    }
    qsort(files, n, sizeof *files, cmp_str);
    v->is_folder = 1;
    v->fps = fps > 0 ? fps : 3.0;
    v->pts_ordered = 1;
    snprintf(v->codec, sizeof v->codec, "mjpeg");
    /* size of the first frame (and a check that it decodes) */
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frm = av_frame_alloc();
    if (!pkt || !frm) {
        rc = DS_VIDEO_ERR_NOMEM;
        ds_set_err(err, err_len, "%s: out of memory", v->path);
    } else if ((rc = open_mjpeg(&dec, 1))) {
        ds_set_err(err, err_len, "%s: this FFmpeg build has no MJPEG decoder", v->path);
    } else if (!(rc = decode_jpeg(dec, pkt, frm, files[0], err, err_len))) {
        v->width = frm->width;
        v->height = frm->height;
    }
    avcodec_free_context(&dec);
    av_packet_free(&pkt);
    av_frame_free(&frm);
    return rc;
}

/* ==== video files: the decord-compatible index ================================================ */

typedef struct {
    int64_t ts, seek_ts;
    int key;
} pkt_rec;

static int open_input(const char *path, AVFormatContext **fmt_out, int *stream_out, char *err, size_t err_len) {
    AVFormatContext *fmt = NULL;
    char eb[128];
    int r = avformat_open_input(&fmt, path, NULL, NULL);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: not a readable video (%s)", path, ds_averr(r, eb, sizeof eb));
        return DS_VIDEO_ERR_FORMAT;
    }
    r = avformat_find_stream_info(fmt, NULL);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: cannot read stream information (%s)", path, ds_averr(r, eb, sizeof eb));
        avformat_close_input(&fmt);
        return DS_VIDEO_ERR_FORMAT;
    }
    int best = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
        if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) continue;
        best = (int)i;
        break;
    }
    if (best >= 0) {
        int b = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        if (b >= 0 && !(fmt->streams[b]->disposition & AV_DISPOSITION_ATTACHED_PIC)) best = b;
    }
    if (best < 0) {
        ds_set_err(err, err_len, "%s: no video stream (audio-only or data-only file)", path);
        avformat_close_input(&fmt);
        return DS_VIDEO_ERR_NO_VIDEO;
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != best) fmt->streams[i]->discard = AVDISCARD_ALL;
    *fmt_out = fmt;
    *stream_out = best;
    return DS_VIDEO_OK;
}

static int cmp_pkt_ts(const void *a, const void *b) {
    const pkt_rec *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int open_file(ds_video_t *v, char *err, size_t err_len) {
    AVFormatContext *fmt = NULL;
    int rc = open_input(v->path, &fmt, &v->stream, err, err_len);
    if (rc) return rc;
    AVStream *st = fmt->streams[v->stream];
    char eb[128];
    pkt_rec *recs = NULL;
    size_t n = 0, cap = 0;
    AVPacket *pkt = av_packet_alloc();
    const AVCodec *dc = avcodec_find_decoder(st->codecpar->codec_id);
    if (!pkt) {
        rc = DS_VIDEO_ERR_NOMEM;
        ds_set_err(err, err_len, "%s: out of memory", v->path);
        goto out;
    }
    if (!dc) {
        rc = DS_VIDEO_ERR_CODEC;
        ds_set_err(err, err_len, "%s: no decoder for codec %s in this FFmpeg build", v->path,
                avcodec_get_name(st->codecpar->codec_id));
        goto out;
    }
    snprintf(v->codec, sizeof v->codec, "%s", dc->name);
    v->par = avcodec_parameters_alloc();
    if (!v->par || avcodec_parameters_copy(v->par, st->codecpar) < 0) {
        rc = DS_VIDEO_ERR_NOMEM;
        ds_set_err(err, err_len, "%s: out of memory", v->path);
        goto out;
    }
    v->tb = st->time_base;
    v->width = st->codecpar->width;
    v->height = st->codecpar->height;
    int all_ts = 1, all_pts = 1, corrupt = 0;
    for (;;) {
        int r = av_read_frame(fmt, pkt);
        if (r == AVERROR_EOF) break;
        if (r < 0) {
            if (n == 0) {
                rc = DS_VIDEO_ERR_FORMAT;
                ds_set_err(err, err_len, "%s: cannot read any packet (%s)", v->path, ds_averr(r, eb, sizeof eb));
            } else {
                rc = DS_VIDEO_ERR_TRUNCATED;
                ds_set_err(err, err_len, "%s: truncated or corrupt: read error after %zu video packets (%s)", v->path,
                        n, ds_averr(r, eb, sizeof eb));
            }
            goto out;
        }
        if (pkt->stream_index == v->stream) {
            if (pkt->flags & AV_PKT_FLAG_CORRUPT) corrupt = 1;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                pkt_rec *nr = realloc(recs, nc * sizeof *nr);
                if (!nr) {
                    av_packet_unref(pkt);
                    rc = DS_VIDEO_ERR_NOMEM;
                    ds_set_err(err, err_len, "%s: out of memory indexing packets", v->path);
                    goto out;
                }
                recs = nr;
                cap = nc;
            }
            int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            if (ts == AV_NOPTS_VALUE) all_ts = 0;
            if (pkt->pts == AV_NOPTS_VALUE) all_pts = 0;
            recs[n].ts = ts;
            recs[n].seek_ts = ts; /* pts: FFmpeg's mov index is searched by presentation time */
            recs[n].key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
            n++;
        }
        av_packet_unref(pkt);
    }
    if (n == 0) {
        rc = DS_VIDEO_ERR_EMPTY;
        ds_set_err(err, err_len, "%s: the video stream has no frames", v->path);
        goto out;
    }
    if (corrupt) {
        rc = DS_VIDEO_ERR_TRUNCATED;
        ds_set_err(err, err_len, "%s: truncated: the data of a video packet is cut off (%zu packets read)", v->path, n);
        goto out;
    }
    if (st->nb_frames > 0 && (int64_t)n < st->nb_frames) {
        rc = DS_VIDEO_ERR_TRUNCATED;
        ds_set_err(err, err_len, "%s: truncated: the container lists %lld frames but only %zu could be read", v->path,
                (long long)st->nb_frames, n);
        goto out;
    }
    v->n_frames = (int64_t)n;
    v->pts = malloc(n * sizeof *v->pts);
    v->key_frame = malloc(n * sizeof *v->key_frame);
    v->key_ts = malloc(n * sizeof *v->key_ts);
    if (!v->pts || !v->key_frame || !v->key_ts) {
        rc = DS_VIDEO_ERR_NOMEM;
        ds_set_err(err, err_len, "%s: out of memory", v->path);
        goto out;
    }
    /* Decode-order timestamps (dts only, e.g. AVI) give display order only without frame
     * reordering; with B-frames (video_delay > 0) frames are counted by decoding instead. */
    v->pts_ordered = all_ts && (all_pts || st->codecpar->video_delay == 0);
    if (all_ts) {
        /* Key packets: remember seek targets before sorting (decode order is lost by the sort). */
        qsort(recs, n, sizeof *recs, cmp_pkt_ts);
        for (size_t i = 0; i < n; i++) {
            v->pts[i] = recs[i].ts;
            if (i > 0 && recs[i].ts == recs[i - 1].ts) v->pts_ordered = 0; /* ambiguous timestamps */
        }
        if (v->pts_ordered)
            for (size_t i = 0; i < n; i++)
                if (recs[i].key) {
                    v->key_frame[v->n_keys] = (int64_t)i;
                    v->key_ts[v->n_keys] = recs[i].seek_ts;
                    v->n_keys++;
                }
    }
    if (!v->pts_ordered) {
        for (size_t i = 0; i < n; i++) v->pts[i] = (int64_t)i;
        v->n_keys = 0;
    }
    if (v->n_keys == 0 || v->key_frame[0] != 0) {
        /* frame 0 is always reachable by seeking to the start */
        memmove(v->key_frame + 1, v->key_frame, (size_t)v->n_keys * sizeof *v->key_frame);
        memmove(v->key_ts + 1, v->key_ts, (size_t)v->n_keys * sizeof *v->key_ts);
        v->key_frame[0] = 0;
        v->key_ts[0] = INT64_MIN;
        v->n_keys++;
    }
    /* avg fps as decord: avg_frame_rate; fall back to r_frame_rate, then count / duration */
    AVRational fr = st->avg_frame_rate;
    if (fr.num <= 0 || fr.den <= 0) fr = st->r_frame_rate;
    if (fr.num > 0 && fr.den > 0) v->fps = av_q2d(fr);
    else if (fmt->duration > 0) v->fps = (double)n / ((double)fmt->duration / AV_TIME_BASE);
    else v->fps = 25.0;
out:
    free(recs);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return rc;
}

int ds_video_open(const char *path, double folder_fps, ds_video_t **out, char *err, size_t err_len) {
    if (!out) return DS_VIDEO_ERR_ARG;
    *out = NULL;
    if (!path || !*path) {
        ds_set_err(err, err_len, "video: empty path");
        return DS_VIDEO_ERR_ARG;
    }
    quiet_ffmpeg();
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ds_set_err(err, err_len, "%s: %s", path, strerror(errno));
        return DS_VIDEO_ERR_MISSING;
    }
    ds_video_t *v = calloc(1, sizeof *v);
    if (!v || !(v->path = dup_str(path))) {
        free(v);
        ds_set_err(err, err_len, "%s: out of memory", path);
        return DS_VIDEO_ERR_NOMEM;
    }
    int rc;
    if (S_ISDIR(sb.st_mode)) {
        rc = open_folder(v, folder_fps, err, err_len);
    } else if (sb.st_size == 0) {
        ds_set_err(err, err_len, "%s: empty file", path);
        rc = DS_VIDEO_ERR_FORMAT;
    } else {
        rc = open_file(v, err, err_len);
    }
    if (rc) {
        ds_video_free(v);
        return rc;
    }
    *out = v;
    return DS_VIDEO_OK;
}

/* ==== decoding ================================================================================ */

/* One wanted frame: its index, its pts, the output positions that want it. */
typedef struct {
    int64_t frame;
    int64_t pts;
    int64_t key;       /* index into key_frame / key_ts */
    int first_pos;     /* first output position j with want[j] == frame */
    int done;
} want_t;

typedef struct {
    int begin, end;    /* range in the wants array */
} group_t;

typedef struct sampler sampler_t;

typedef struct {
    sampler_t *s;
    pthread_t tid;
    int started;
    /* FFmpeg state */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frm, *prev;
    struct SwsContext *sws;
    uint8_t *rgb;      /* native RGB24 buffer */
    size_t rgb_cap;
    int64_t prev_ts;   /* timestamp of prev */
    int fresh;         /* demuxer opened and nothing read yet */
    int64_t n_decoded, n_subst;
    int rc;
    char err[512];
} worker_t;

struct sampler {
    ds_video_t *v;
    const ds_video_params *p;
    want_t *wants;
    int n_wants;
    group_t *groups;
    int n_groups;
    atomic_int next_group;
    atomic_int failed;
    int dec_threads;
    const int64_t *want_of_pos; /* [n] frame index wanted at output position j */
    ds_frames *out;
    int keep_all_pos;           /* decode-all reference path: rgb_out instead of ds_frames */
    uint8_t *rgb_out;
};

static int worker_open(worker_t *w) {
    ds_video_t *v = w->s->v;
    w->pkt = av_packet_alloc();
    w->frm = av_frame_alloc();
    w->prev = av_frame_alloc();
    if (!w->pkt || !w->frm || !w->prev) {
        ds_set_err(w->err, sizeof w->err, "%s: out of memory", v->path);
        return DS_VIDEO_ERR_NOMEM;
    }
    if (v->is_folder) {
        int rc = open_mjpeg(&w->dec, w->s->dec_threads);
        if (rc) ds_set_err(w->err, sizeof w->err, "%s: cannot open the MJPEG decoder", v->path);
        return rc;
    }
    int stream = -1;
    int rc = open_input(v->path, &w->fmt, &stream, w->err, sizeof w->err);
    if (rc) return rc;
    w->fresh = 1;
    if (stream != v->stream) {
        ds_set_err(w->err, sizeof w->err, "%s: the file changed while it was being read", v->path);
        return DS_VIDEO_ERR_FORMAT;
    }
    const AVCodec *c = avcodec_find_decoder(v->par->codec_id);
    if (!c || !(w->dec = avcodec_alloc_context3(c)) || avcodec_parameters_to_context(w->dec, v->par) < 0) {
        ds_set_err(w->err, sizeof w->err, "%s: cannot set up the %s decoder", v->path, v->codec);
        return DS_VIDEO_ERR_CODEC;
    }
    w->dec->thread_count = w->s->dec_threads;
    w->dec->pkt_timebase = v->tb;
    char eb[128];
    int r = avcodec_open2(w->dec, c, NULL);
    if (r < 0) {
        ds_set_err(w->err, sizeof w->err, "%s: cannot open the %s decoder (%s)", v->path, v->codec,
                ds_averr(r, eb, sizeof eb));
        return DS_VIDEO_ERR_CODEC;
    }
    return DS_VIDEO_OK;
}

static void worker_close(worker_t *w) {
    avcodec_free_context(&w->dec);
    avformat_close_input(&w->fmt);
    av_packet_free(&w->pkt);
    av_frame_free(&w->frm);
    av_frame_free(&w->prev);
    sws_freeContext(w->sws);
    w->sws = NULL;
    free(w->rgb);
    w->rgb = NULL;
}

/* frame -> tightly packed RGB24 in w->rgb. */
static int to_rgb(worker_t *w, const AVFrame *f) {
    const char *path = w->s->v->path;
    if (f->width < 1 || f->height < 1) {
        ds_set_err(w->err, sizeof w->err, "%s: decoder returned an empty frame", path);
        return DS_VIDEO_ERR_DECODE;
    }
    size_t need = (size_t)f->width * (size_t)f->height * 3;
    if (need > w->rgb_cap) {
        uint8_t *nb = realloc(w->rgb, need);
        if (!nb) {
            ds_set_err(w->err, sizeof w->err, "%s: out of memory", path);
            return DS_VIDEO_ERR_NOMEM;
        }
        w->rgb = nb;
        w->rgb_cap = need;
    }
    w->sws = sws_getCachedContext(w->sws, f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
    if (!w->sws) {
        ds_set_err(w->err, sizeof w->err, "%s: cannot convert pixel format %s to RGB", path,
                av_get_pix_fmt_name((enum AVPixelFormat)f->format));
        return DS_VIDEO_ERR_DECODE;
    }
    /* YUV -> RGB as FFmpeg's scale filter does it in decord's filter graph ("scale=W:H" into
     * rgb24): default flags (bicubic, no accurate rounding), matrix from the frame (BT.601 when
     * unspecified), range from the frame. Tested byte-identical to the ffmpeg CLI graph. */
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_RGB)) {
        int cs = f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : (int)f->colorspace;
        int src_range = f->color_range == AVCOL_RANGE_JPEG;
        int *inv, *tab, sr, dr, b, c, s;
        if (sws_getColorspaceDetails(w->sws, &inv, &sr, &tab, &dr, &b, &c, &s) >= 0)
            sws_setColorspaceDetails(w->sws, sws_getCoefficients(cs), src_range || sr, tab, 1, b, c, s);
    }
    uint8_t *dst[4] = {w->rgb, NULL, NULL, NULL};
    int dst_ls[4] = {f->width * 3, 0, 0, 0};
    sws_scale(w->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_ls);
    return DS_VIDEO_OK;
}

/* Writes decoded frame f to every output position that wants s->wants[wi]. */
static int emit(worker_t *w, int wi, const AVFrame *f) {
    sampler_t *s = w->s;
    want_t *wt = &s->wants[wi];
    int rc = to_rgb(w, f);
    if (rc) return rc;
    ds_frames *o = s->out;
    const ds_video_params *p = s->p;
    int n = o->n;
    if (s->keep_all_pos) { /* decode-all reference: rgb_out sized from the info */
        if (f->width != s->v->width || f->height != s->v->height) {
            ds_set_err(w->err, sizeof w->err, "%s: frame size changed mid-stream (%dx%d)", s->v->path, f->width,
                    f->height);
            return DS_VIDEO_ERR_DECODE;
        }
    }
    size_t fsz = (size_t)f->width * (size_t)f->height * 3;
    if (o->rgb || s->keep_all_pos) { /* o->width/height are set before the workers start */
        if (o->width != f->width || o->height != f->height) {
            ds_set_err(w->err, sizeof w->err, "%s: frames differ in size (%dx%d vs %dx%d); cannot keep RGB", s->v->path,
                    f->width, f->height, o->width, o->height);
            return DS_VIDEO_ERR_DECODE;
        }
    }
    size_t plane3 = (size_t)3 * (size_t)o->size * (size_t)o->size;
    int first = -1;
    for (int j = wt->first_pos; j < n; j++) {
        if (s->want_of_pos[j] != wt->frame) continue;
        uint8_t *rgb_dst = s->keep_all_pos ? s->rgb_out : o->rgb;
        if (rgb_dst) memcpy(rgb_dst + (size_t)j * fsz, w->rgb, fsz);
        if (o->pixels) {
            float *dst = o->pixels + (size_t)j * plane3;
            if (first < 0) {
                if (ds_preprocess_rgb(w->rgb, f->width, f->height, (size_t)f->width * 3, o->size, p->mean, p->std,
                                      dst)) {
                    ds_set_err(w->err, sizeof w->err, "%s: out of memory preprocessing a frame", s->v->path);
                    return DS_VIDEO_ERR_NOMEM;
                }
            } else {
                memcpy(dst, o->pixels + (size_t)first * plane3, plane3 * sizeof(float));
            }
        }
        if (first < 0) first = j;
    }
    wt->done = 1;
    return DS_VIDEO_OK;
}

/* Positions the worker's demuxer at keyframe k. Frame 0 is reached without timestamp seeking
 * (which some demuxers, e.g. MPEG-TS, do approximately): a demuxer that has not read anything
 * yet is already there, otherwise it is reopened. Returns >= 0 or an AVERROR. */
static int seek_key(worker_t *w, int64_t k) {
    ds_video_t *v = w->s->v;
    int64_t ts = v->key_ts[k];
    int r = 0;
    if (k <= 0 || ts == INT64_MIN) {
        if (!w->fresh) {
            int stream = -1;
            avformat_close_input(&w->fmt);
            r = open_input(v->path, &w->fmt, &stream, w->err, sizeof w->err);
            if (r == 0 && stream != v->stream) r = -1;
            if (r) r = AVERROR(EIO);
        }
    } else {
        r = av_seek_frame(w->fmt, v->stream, ts, AVSEEK_FLAG_BACKWARD);
    }
    w->fresh = 0;
    avcodec_flush_buffers(w->dec);
    return r;
}

/* Index of the want whose pts equals ts inside [b, e), or -1. Wants are sorted by pts. */
static int find_want(const sampler_t *s, int b, int e, int64_t ts) {
    while (b < e) {
        int m = b + (e - b) / 2;
        if (s->wants[m].pts < ts) b = m + 1;
        else if (s->wants[m].pts > ts) e = m;
        else return m;
    }
    return -1;
}

/* Receives every frame the decoder has ready and matches it against the group. Returns 0,
 * a negative status, or 1 when the first frame came out after the first missing want
 * (the seek overshot; caller retries from an earlier keyframe). */
static int drain_ready(worker_t *w, const group_t *g, int *n_out, int allow_overshoot_retry) {
    sampler_t *s = w->s;
    char eb[128];
    for (;;) {
        int r = avcodec_receive_frame(w->dec, w->frm);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return 0;
        if (r < 0) {
            ds_set_err(w->err, sizeof w->err, "%s: decoding failed (%s)", s->v->path, ds_averr(r, eb, sizeof eb));
            return DS_VIDEO_ERR_DECODE;
        }
        w->n_decoded++;
        int64_t ts = w->frm->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) ts = w->frm->pts;
        /* first still-missing want of the group */
        int miss = -1;
        for (int i = g->begin; i < g->end; i++)
            if (!s->wants[i].done) {
                miss = i;
                break;
            }
        if (miss < 0) {
            av_frame_unref(w->frm);
            continue;
        }
        if (*n_out == 0 && ts != AV_NOPTS_VALUE && ts > s->wants[miss].pts && allow_overshoot_retry) {
            av_frame_unref(w->frm);
            return 1;
        }
        (*n_out)++;
        /* wants passed over without their frame (never output by the decoder): decord
         * substitutes the previous frame; when there is no earlier frame (the stream starts with
         * undecodable frames) the current one is used. */
        while (miss >= 0 && ts != AV_NOPTS_VALUE && ts > s->wants[miss].pts) {
            int use_prev = w->prev->buf[0] && w->prev_ts < s->wants[miss].pts;
            int rc = emit(w, miss, use_prev ? w->prev : w->frm);
            if (rc) return rc;
            w->n_subst++;
            miss = -1;
            for (int i = g->begin; i < g->end; i++)
                if (!s->wants[i].done) {
                    miss = i;
                    break;
                }
        }
        int wi = ts == AV_NOPTS_VALUE ? -1 : find_want(s, g->begin, g->end, ts);
        if (wi >= 0 && !s->wants[wi].done) {
            int rc = emit(w, wi, w->frm);
            if (rc) return rc;
        }
        av_frame_unref(w->prev);
        av_frame_move_ref(w->prev, w->frm);
        w->prev_ts = ts;
    }
}

/* Decodes one group (targets sharing a preceding keyframe). */
static int do_group(worker_t *w, const group_t *g) {
    sampler_t *s = w->s;
    ds_video_t *v = s->v;
    char eb[128];
    int64_t k = s->wants[g->begin].key;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (attempt == 1) k = k > 0 ? k - 1 : 0;
        if (attempt == 2) k = 0;
        int r = seek_key(w, k);
        if (r < 0 && k > 0) continue;
        if (r < 0) {
            ds_set_err(w->err, sizeof w->err, "%s: seek to the start failed (%s)", v->path, ds_averr(r, eb, sizeof eb));
            return DS_VIDEO_ERR_DECODE;
        }
        av_frame_unref(w->prev);
        int n_out = 0, sent_targets = 0, n_targets = g->end - g->begin, overshoot = 0, eof = 0;
        for (int i = g->begin; i < g->end; i++)
            if (s->wants[i].done) n_targets--;
        while (!overshoot) {
            r = av_read_frame(w->fmt, w->pkt);
            if (r == AVERROR_EOF) {
                eof = 1;
                break;
            }
            if (r < 0) {
                ds_set_err(w->err, sizeof w->err, "%s: read error while decoding (%s)", v->path, ds_averr(r, eb, sizeof eb));
                return DS_VIDEO_ERR_TRUNCATED;
            }
            if (w->pkt->stream_index != v->stream) {
                av_packet_unref(w->pkt);
                continue;
            }
            int64_t pts = w->pkt->pts != AV_NOPTS_VALUE ? w->pkt->pts : w->pkt->dts;
            int wi = pts == AV_NOPTS_VALUE ? -1 : find_want(s, g->begin, g->end, pts);
            int is_target = wi >= 0 && !s->wants[wi].done;
            w->dec->skip_frame = is_target ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
            if (is_target) sent_targets++;
            for (;;) {
                r = avcodec_send_packet(w->dec, w->pkt);
                if (r != AVERROR(EAGAIN)) break;
                int d = drain_ready(w, g, &n_out, attempt < 2); /* make room, then resend */
                if (d < 0) {
                    av_packet_unref(w->pkt);
                    return d;
                }
                if (d == 1) {
                    overshoot = 1;
                    break;
                }
            }
            av_packet_unref(w->pkt);
            if (overshoot) break;
            if (r < 0 && r != AVERROR_INVALIDDATA) {
                ds_set_err(w->err, sizeof w->err, "%s: decoding failed (%s)", v->path, ds_averr(r, eb, sizeof eb));
                return DS_VIDEO_ERR_DECODE;
            }
            int d = drain_ready(w, g, &n_out, attempt < 2);
            if (d < 0) return d;
            if (d == 1) {
                overshoot = 1;
                break;
            }
            if (sent_targets >= n_targets) break; /* every wanted packet sent: drain below */
        }
        if (overshoot) continue;
        (void)eof;
        w->dec->skip_frame = AVDISCARD_DEFAULT;
        r = avcodec_send_packet(w->dec, NULL);
        int d = drain_ready(w, g, &n_out, attempt < 2);
        if (d < 0) return d;
        if (d == 1) continue;
        avcodec_flush_buffers(w->dec);
        /* wants that never came out: previous frame (decord), else an error */
        for (int i = g->begin; i < g->end; i++) {
            if (s->wants[i].done) continue;
            if (!w->prev->buf[0]) {
                if (attempt < 2) goto retry;
                ds_set_err(w->err, sizeof w->err, "%s: frame %lld could not be decoded (damaged stream?)", v->path,
                        (long long)s->wants[i].frame);
                return DS_VIDEO_ERR_DECODE;
            }
            int rc = emit(w, i, w->prev);
            if (rc) return rc;
            w->n_subst++;
        }
        return DS_VIDEO_OK;
    retry:;
    }
    ds_set_err(w->err, sizeof w->err, "%s: could not reach frame %lld by seeking", v->path,
            (long long)s->wants[g->begin].frame);
    return DS_VIDEO_ERR_DECODE;
}

/* Sequential mode and the decode-all reference: decode from the start, frame i = i-th output
 * (or pts lookup when the index is pts-ordered). All wants form one group. */
static int do_sequential(worker_t *w) {
    sampler_t *s = w->s;
    ds_video_t *v = s->v;
    char eb[128];
    int64_t count = 0;
    int remaining = 0;
    for (int i = 0; i < s->n_wants; i++) remaining += !s->wants[i].done;
    int eof = 0;
    while (remaining > 0) {
        int r = 0;
        if (!eof) {
            r = av_read_frame(w->fmt, w->pkt);
            if (r == AVERROR_EOF) {
                eof = 1;
                r = avcodec_send_packet(w->dec, NULL);
            } else if (r < 0) {
                ds_set_err(w->err, sizeof w->err, "%s: read error while decoding (%s)", v->path, ds_averr(r, eb, sizeof eb));
                return DS_VIDEO_ERR_TRUNCATED;
            } else {
                if (w->pkt->stream_index != v->stream) {
                    av_packet_unref(w->pkt);
                    continue;
                }
                r = avcodec_send_packet(w->dec, w->pkt);
                av_packet_unref(w->pkt);
            }
            if (r < 0 && r != AVERROR_INVALIDDATA && r != AVERROR_EOF) {
                ds_set_err(w->err, sizeof w->err, "%s: decoding failed (%s)", v->path, ds_averr(r, eb, sizeof eb));
                return DS_VIDEO_ERR_DECODE;
            }
        }
        for (;;) {
            r = avcodec_receive_frame(w->dec, w->frm);
            if (r == AVERROR(EAGAIN)) break;
            if (r == AVERROR_EOF) goto done;
            if (r < 0) {
                ds_set_err(w->err, sizeof w->err, "%s: decoding failed (%s)", v->path, ds_averr(r, eb, sizeof eb));
                return DS_VIDEO_ERR_DECODE;
            }
            w->n_decoded++;
            int64_t idx = count++;
            if (v->pts_ordered) {
                int64_t ts = w->frm->best_effort_timestamp;
                int64_t *hit = ts == AV_NOPTS_VALUE ? NULL : bsearch(&ts, v->pts, (size_t)v->n_frames, sizeof *v->pts, cmp_i64);
                idx = hit ? hit - v->pts : -1;
            }
            for (int i = 0; i < s->n_wants; i++)
                if (!s->wants[i].done && s->wants[i].frame == idx) {
                    int rc = emit(w, i, w->frm);
                    if (rc) return rc;
                    remaining--;
                }
            av_frame_unref(w->prev);
            av_frame_move_ref(w->prev, w->frm);
        }
    }
done:
    for (int i = 0; i < s->n_wants; i++) {
        if (s->wants[i].done) continue;
        if (!w->prev->buf[0]) {
            ds_set_err(w->err, sizeof w->err, "%s: no frame could be decoded", v->path);
            return DS_VIDEO_ERR_DECODE;
        }
        int rc = emit(w, i, w->prev);
        if (rc) return rc;
        w->n_subst++;
    }
    return DS_VIDEO_OK;
}

static int do_folder_group(worker_t *w, const group_t *g) {
    sampler_t *s = w->s;
    for (int i = g->begin; i < g->end; i++) {
        int rc = decode_jpeg(w->dec, w->pkt, w->frm, s->v->files[s->wants[i].frame], w->err, sizeof w->err);
        if (rc) return rc;
        w->n_decoded++;
        rc = emit(w, i, w->frm);
        av_frame_unref(w->frm);
        if (rc) return rc;
    }
    return DS_VIDEO_OK;
}

static void *worker_main(void *arg) {
    worker_t *w = arg;
    sampler_t *s = w->s;
    w->rc = worker_open(w);
    if (w->rc) {
        atomic_store(&s->failed, 1);
        return NULL;
    }
    if (!s->v->is_folder && (!s->v->pts_ordered || s->keep_all_pos)) {
        w->rc = do_sequential(w);
    } else {
        for (;;) {
            if (atomic_load(&s->failed)) break;
            int gi = atomic_fetch_add(&s->next_group, 1);
            if (gi >= s->n_groups) break;
            w->rc = s->v->is_folder ? do_folder_group(w, &s->groups[gi]) : do_group(w, &s->groups[gi]);
            if (w->rc) break;
        }
    }
    if (w->rc) atomic_store(&s->failed, 1);
    return NULL;
}

static int cmp_want(const void *a, const void *b) {
    const want_t *x = a, *y = b;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* Preceding keyframe (index into key arrays) of frame f. */
static int64_t key_of(const ds_video_t *v, int64_t f) {
    int64_t lo = 0, hi = v->n_keys - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (v->key_frame[mid] <= f) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Runs the workers over want_of_pos[0..n-1]. */
static int run_sampler(sampler_t *s, int n_threads, int64_t *n_decoded, int64_t *n_subst, int *n_workers_out,
                       char *err, size_t err_len) {
    ds_video_t *v = s->v;
    const int64_t *wp = s->want_of_pos;
    int n = s->out->n;
    int rc = DS_VIDEO_OK;
    worker_t *ws = NULL;
    s->wants = malloc((size_t)n * sizeof *s->wants);
    s->groups = malloc((size_t)n * sizeof *s->groups);
    if (!s->wants || !s->groups) {
        ds_set_err(err, err_len, "%s: out of memory", v->path);
        rc = DS_VIDEO_ERR_NOMEM;
        goto out;
    }
    /* unique wanted frames, sorted */
    for (int j = 0; j < n; j++) {
        s->wants[j].frame = wp[j];
        s->wants[j].first_pos = j;
    }
    qsort(s->wants, (size_t)n, sizeof *s->wants, cmp_want);
    int m = 0;
    for (int j = 0; j < n; j++) {
        if (m > 0 && s->wants[m - 1].frame == s->wants[j].frame) {
            if (s->wants[j].first_pos < s->wants[m - 1].first_pos) s->wants[m - 1].first_pos = s->wants[j].first_pos;
            continue;
        }
        s->wants[m++] = s->wants[j];
    }
    s->n_wants = m;
    for (int i = 0; i < m; i++) {
        want_t *wt = &s->wants[i];
        wt->done = 0;
        wt->pts = v->is_folder ? wt->frame : v->pts[wt->frame];
        wt->key = v->is_folder ? wt->frame : key_of(v, wt->frame);
    }
    /* groups: same preceding keyframe (folders: split evenly for parallelism) */
    int ng = 0;
    if (v->is_folder) {
        for (int i = 0; i < m; i++) s->groups[ng++] = (group_t){i, i + 1};
    } else {
        for (int i = 0; i < m; i++) {
            if (ng > 0 && s->wants[i].key == s->wants[s->groups[ng - 1].begin].key) s->groups[ng - 1].end = i + 1;
            else s->groups[ng++] = (group_t){i, i + 1};
        }
    }
    s->n_groups = ng;
    if (n_threads <= 0) n_threads = n_online_cpus();
    int sequential = !v->is_folder && (!v->pts_ordered || s->keep_all_pos);
    int nw = sequential ? 1 : (ng < n_threads ? ng : n_threads);
    if (nw < 1) nw = 1;
    s->dec_threads = n_threads / nw;
    if (s->dec_threads < 1) s->dec_threads = 1;
    if (v->is_folder) s->dec_threads = 1;
    ws = calloc((size_t)nw, sizeof *ws);
    if (!ws) {
        ds_set_err(err, err_len, "%s: out of memory", v->path);
        rc = DS_VIDEO_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < nw; i++) ws[i].s = s;
    if (nw == 1) {
        worker_main(&ws[0]);
    } else {
        for (int i = 0; i < nw; i++) {
            if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) == 0) ws[i].started = 1;
            else worker_main(&ws[i]); /* no thread: run inline */
        }
        for (int i = 0; i < nw; i++)
            if (ws[i].started) pthread_join(ws[i].tid, NULL);
    }
    int64_t dec = 0, sub = 0;
    for (int i = 0; i < nw; i++) {
        if (ws[i].rc && rc == DS_VIDEO_OK) {
            rc = ws[i].rc;
            ds_set_err(err, err_len, "%s", ws[i].err);
        }
        dec += ws[i].n_decoded;
        sub += ws[i].n_subst;
        worker_close(&ws[i]);
    }
    if (n_decoded) *n_decoded = dec;
    if (n_subst) *n_subst = sub;
    if (n_workers_out) *n_workers_out = nw;
out:
    free(ws);
    free(s->wants);
    free(s->groups);
    s->wants = NULL;
    s->groups = NULL;
    return rc;
}

void ds_frames_free(ds_frames *f) {
    if (!f) return;
    free(f->pixels);
    free(f->indices);
    free(f->requested);
    free(f->timestamps);
    free(f->rgb);
    memset(f, 0, sizeof *f);
}

int ds_video_sample(ds_video_t *v, const ds_video_params *p, ds_frames *out, char *err, size_t err_len) {
    if (!out) return DS_VIDEO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!v || !p) {
        ds_set_err(err, err_len, "video: NULL handle or parameters");
        return DS_VIDEO_ERR_ARG;
    }
    if (p->n_frames < 1 || p->n_frames > 100000) {
        ds_set_err(err, err_len, "%s: n_frames %d out of range 1..100000", v->path, p->n_frames);
        return DS_VIDEO_ERR_ARG;
    }
    if (p->size < 0 || p->size > 8192) {
        ds_set_err(err, err_len, "%s: output size %d out of range 0..8192", v->path, p->size);
        return DS_VIDEO_ERR_ARG;
    }
    for (int c = 0; c < 3; c++)
        if (!(p->std[c] != 0.0f)) {
            ds_set_err(err, err_len, "%s: normalisation std[%d] must be non-zero", v->path, c);
            return DS_VIDEO_ERR_ARG;
        }
    int rc = DS_VIDEO_OK;
    int n = p->n_frames;
    int64_t first, last;
    char cerr[256];
    if (ds_clip_range(v->n_frames, v->fps, p->clip, p->start_s, p->end_s, &first, &last, cerr, sizeof cerr)) {
        ds_set_err(err, err_len, "%s: %s", v->path, cerr);
        return DS_VIDEO_ERR_ARG;
    }
    out->n = n;
    out->size = p->size;
    out->first_index = first;
    out->last_index = last;
    out->indices = malloc((size_t)n * sizeof *out->indices);
    out->requested = malloc((size_t)n * sizeof *out->requested);
    out->timestamps = malloc((size_t)n * sizeof *out->timestamps);
    size_t plane3 = (size_t)3 * (size_t)p->size * (size_t)p->size;
    if (p->size > 0) out->pixels = malloc((size_t)n * plane3 * sizeof(float));
    if (!out->indices || !out->requested || !out->timestamps || (p->size > 0 && !out->pixels)) {
        ds_set_err(err, err_len, "%s: out of memory for %d frames", v->path, n);
        rc = DS_VIDEO_ERR_NOMEM;
        goto fail;
    }
    /* MVBench frame folders number their files from 1; the centred rule's bound arithmetic is
     * done in those 1-based numbers (first_idx = 1, max_frame = n_files). */
    if (v->is_folder && p->rule == DS_SAMPLE_CENTRED && p->clip) {
        double a = nearbyint(p->start_s * v->fps), b = nearbyint(p->end_s * v->fps);
        int64_t f1 = a > 1 ? (a < 9e15 ? (int64_t)a : INT64_MAX / 2) : 1;
        int64_t l1 = b < (double)v->n_frames ? (b > -9e15 ? (int64_t)b : 0) : v->n_frames;
        if (l1 < f1) {
            ds_set_err(err, err_len, "%s: clip [%g s, %g s] holds no frame of the folder", v->path, p->start_s, p->end_s);
            rc = DS_VIDEO_ERR_ARG;
            goto fail;
        }
        first = f1 - 1;
        last = l1 - 1;
        out->first_index = first;
        out->last_index = last;
    }
    ds_sample_indices(p->rule, first, last, n, out->requested);
    for (int j = 0; j < n; j++) {
        int64_t f = out->requested[j];
        if (p->seek == DS_SEEK_KEYFRAME && !v->is_folder) f = v->key_frame[key_of(v, f)];
        out->indices[j] = f;
        out->timestamps[j] = (double)f / v->fps;
    }
    if (p->keep_rgb) {
        int w0 = v->width, h0 = v->height;
        size_t fsz = (size_t)w0 * (size_t)h0 * 3;
        if (w0 < 1 || h0 < 1 || fsz > ((size_t)1 << 40) / (size_t)n || !(out->rgb = malloc(fsz * (size_t)n))) {
            ds_set_err(err, err_len, "%s: cannot allocate RGB frames of %dx%d", v->path, w0, h0);
            rc = DS_VIDEO_ERR_NOMEM;
            goto fail;
        }
    }
    out->width = v->width;
    out->height = v->height;
    sampler_t s;
    memset(&s, 0, sizeof s);
    s.v = v;
    s.p = p;
    s.out = out;
    s.want_of_pos = out->indices;
    rc = run_sampler(&s, p->n_threads, &out->n_decoded, &out->n_substituted, &out->n_workers, err, err_len);
    if (rc) goto fail;
    return DS_VIDEO_OK;
fail:
    ds_frames_free(out);
    return rc;
}

int ds_video_sample_path(const char *path, double folder_fps, const ds_video_params *p, ds_frames *out,
                         ds_video_info *info, char *err, size_t err_len) {
    if (out) memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    ds_video_t *v = NULL;
    int rc = ds_video_open(path, folder_fps, &v, err, err_len);
    if (rc) return rc;
    if (info) {
        ds_video_get_info(v, info);
        info->codec = NULL;
        info->path = NULL;
    }
    rc = ds_video_sample(v, p, out, err, err_len);
    ds_video_free(v);
    return rc;
}

int ds_video_decode_all_keep(ds_video_t *v, const int64_t *indices, int n, int n_threads, uint8_t *rgb_out,
                             int64_t *n_decoded, char *err, size_t err_len) {
    if (!v || !indices || n < 1 || !rgb_out) {
        ds_set_err(err, err_len, "video: bad arguments to decode_all_keep");
        return DS_VIDEO_ERR_ARG;
    }
    for (int j = 0; j < n; j++)
        if (indices[j] < 0 || indices[j] >= v->n_frames) {
            ds_set_err(err, err_len, "%s: frame index %lld outside 0..%lld", v->path, (long long)indices[j],
                    (long long)v->n_frames - 1);
            return DS_VIDEO_ERR_ARG;
        }
    ds_frames o;
    memset(&o, 0, sizeof o);
    o.n = n;
    o.width = v->width;
    o.height = v->height;
    sampler_t s;
    memset(&s, 0, sizeof s);
    s.v = v;
    ds_video_params p = ds_video_default_params();
    s.p = &p;
    s.out = &o;
    s.want_of_pos = indices;
    s.keep_all_pos = !v->is_folder;
    s.rgb_out = rgb_out;
    if (v->is_folder) o.rgb = rgb_out;
    int rc = run_sampler(&s, n_threads, n_decoded, NULL, NULL, err, err_len);
    return rc;
}

/* video_write.c - a small constant-frame-rate video writer on libavcodec + libavformat, used by
 * the synthetic benchmark, the frame tests and the decoding benchmark.
 *
 * H.264 through libx264 when this FFmpeg build has it, else MPEG-4 part 2 (FFmpeg's native
 * encoder). Keyframes come exactly every `gop` frames (scene-cut detection off, closed GOPs), so
 * tests can predict where keyframes are. With one encoder thread the output is deterministic
 * for a given FFmpeg build. What it does not do: audio, variable frame rate, HDR.
 */
#include "datasets/ds_internal.h"
#include "datasets/video.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ds_vwriter {
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint8_t *rgb_pad;   /* [H][W*3] + padding: swscale's SIMD reads up to 16 bytes past the end of
                           its input, which would make the output depend on whatever follows the
                           caller's buffer (seen as nondeterministic videos under valgrind) */
    int64_t next_pts;
    int header_written;
    char codec[16];
    char path[1024];
};

ds_vwriter_params ds_vwriter_default_params(void) {
    ds_vwriter_params p;
    memset(&p, 0, sizeof p);
    p.width = 320;
    p.height = 240;
    p.fps = 25;
    p.gop = 25;
    p.max_b_frames = 2;
    p.codec = "auto";
    p.preset = "veryfast";
    p.crf = 23;
    p.threads = 1;
    return p;
}

int ds_have_libx264(void) { return avcodec_find_encoder_by_name("libx264") != NULL; }

const char *ds_vwriter_codec(const ds_vwriter_t *w) { return w ? w->codec : ""; }

static void writer_free(ds_vwriter_t *w) {
    if (!w) return;
    if (w->fmt) {
        if (!(w->fmt->oformat->flags & AVFMT_NOFILE)) avio_closep(&w->fmt->pb);
        avformat_free_context(w->fmt);
    }
    avcodec_free_context(&w->enc);
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    sws_freeContext(w->sws);
    free(w->rgb_pad);
    free(w);
}

int ds_vwriter_open(const char *path, const ds_vwriter_params *p, ds_vwriter_t **out, char *err, size_t err_len) {
    if (!out) return DS_VIDEO_ERR_ARG;
    *out = NULL;
    if (!path || !p || p->width < 2 || p->height < 2 || (p->width & 1) || (p->height & 1) || p->fps < 1 ||
        p->fps > 1000 || p->gop < 1 || p->max_b_frames < 0 || p->max_b_frames > 16) {
        ds_set_err(err, err_len, "%s: bad writer parameters (even width/height >= 2, fps 1..1000, gop >= 1)",
                path ? path : "(null)");
        return DS_VIDEO_ERR_ARG;
    }
    av_log_set_level(AV_LOG_QUIET);
    const char *want = p->codec ? p->codec : "auto";
    const AVCodec *c = NULL;
    if (!strcmp(want, "auto") || !strcmp(want, "h264") || !strcmp(want, "libx264"))
        c = avcodec_find_encoder_by_name("libx264");
    if (!c && (!strcmp(want, "auto") || !strcmp(want, "mpeg4"))) c = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!c) {
        ds_set_err(err, err_len, "%s: no %s encoder in this FFmpeg build", path, want);
        return DS_VIDEO_ERR_CODEC;
    }
    ds_vwriter_t *w = calloc(1, sizeof *w);
    if (!w) {
        ds_set_err(err, err_len, "%s: out of memory", path);
        return DS_VIDEO_ERR_NOMEM;
    }
    snprintf(w->codec, sizeof w->codec, "%s", c->name);
    snprintf(w->path, sizeof w->path, "%s", path);
    char eb[128];
    int rc = DS_VIDEO_ERR_IO, r;
    r = avformat_alloc_output_context2(&w->fmt, NULL, NULL, path);
    if (r < 0 || !w->fmt) {
        ds_set_err(err, err_len, "%s: unknown container for this file name (%s)", path, ds_averr(r, eb, sizeof eb));
        rc = DS_VIDEO_ERR_ARG;
        goto fail;
    }
    w->enc = avcodec_alloc_context3(c);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    w->st = avformat_new_stream(w->fmt, NULL);
    if (!w->enc || !w->frame || !w->pkt || !w->st) {
        ds_set_err(err, err_len, "%s: out of memory", path);
        rc = DS_VIDEO_ERR_NOMEM;
        goto fail;
    }
    AVCodecContext *e = w->enc;
    e->width = p->width;
    e->height = p->height;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->time_base = (AVRational){1, p->fps};
    e->framerate = (AVRational){p->fps, 1};
    e->gop_size = p->gop;
    e->keyint_min = p->gop;
    e->max_b_frames = p->max_b_frames;
    e->thread_count = p->threads > 0 ? p->threads : 1;
    e->color_range = AVCOL_RANGE_MPEG;
    e->colorspace = AVCOL_SPC_BT470BG;
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(c->name, "libx264")) {
        av_opt_set(e->priv_data, "preset", p->preset ? p->preset : "veryfast", 0);
        av_opt_set_double(e->priv_data, "crf", p->crf > 0 ? p->crf : 23, 0);
        char x264p[128];
        snprintf(x264p, sizeof x264p, "keyint=%d:min-keyint=%d:scenecut=0:bframes=%d:open-gop=0", p->gop, p->gop,
                 p->max_b_frames);
        av_opt_set(e->priv_data, "x264-params", x264p, 0);
    } else {
        e->flags |= AV_CODEC_FLAG_QSCALE;
        e->global_quality = FF_QP2LAMBDA * 4;
        e->bit_rate = 0;
        e->flags |= AV_CODEC_FLAG_CLOSED_GOP;
        av_opt_set_int(e, "sc_threshold", 1000000000, AV_OPT_SEARCH_CHILDREN); /* no scene-cut keyframes */
    }
    r = avcodec_open2(e, c, NULL);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: cannot open encoder %s (%s)", path, c->name, ds_averr(r, eb, sizeof eb));
        rc = DS_VIDEO_ERR_CODEC;
        goto fail;
    }
    r = avcodec_parameters_from_context(w->st->codecpar, e);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: cannot copy encoder parameters", path);
        goto fail;
    }
    w->st->time_base = e->time_base;
    w->st->avg_frame_rate = e->framerate;
    w->frame->format = e->pix_fmt;
    w->frame->width = e->width;
    w->frame->height = e->height;
    if (av_frame_get_buffer(w->frame, 0) < 0) {
        ds_set_err(err, err_len, "%s: out of memory", path);
        rc = DS_VIDEO_ERR_NOMEM;
        goto fail;
    }
    if (!(w->fmt->oformat->flags & AVFMT_NOFILE)) {
        r = avio_open(&w->fmt->pb, path, AVIO_FLAG_WRITE);
        if (r < 0) {
            ds_set_err(err, err_len, "%s: cannot create file (%s)", path, ds_averr(r, eb, sizeof eb));
            goto fail;
        }
    }
    AVDictionary *mux_opts = NULL;
    av_dict_set(&mux_opts, "fflags", "+bitexact", 0);
    r = avformat_write_header(w->fmt, &mux_opts);
    av_dict_free(&mux_opts);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: cannot write the container header (%s)", path, ds_averr(r, eb, sizeof eb));
        goto fail;
    }
    w->header_written = 1;
    *out = w;
    return DS_VIDEO_OK;
fail:
    writer_free(w);
    return rc;
}

/* Sends frame (NULL = flush) and writes every packet that comes out. */
static int encode_write(ds_vwriter_t *w, AVFrame *frame, char *err, size_t err_len) {
    char eb[128];
    int r = avcodec_send_frame(w->enc, frame);
    if (r < 0) {
        ds_set_err(err, err_len, "%s: encoding failed (%s)", w->path, ds_averr(r, eb, sizeof eb));
        return DS_VIDEO_ERR_IO;
    }
    for (;;) {
        r = avcodec_receive_packet(w->enc, w->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return DS_VIDEO_OK;
        if (r < 0) {
            ds_set_err(err, err_len, "%s: encoding failed (%s)", w->path, ds_averr(r, eb, sizeof eb));
            return DS_VIDEO_ERR_IO;
        }
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        r = av_interleaved_write_frame(w->fmt, w->pkt);
        if (r < 0) {
            ds_set_err(err, err_len, "%s: write failed (%s)", w->path, ds_averr(r, eb, sizeof eb));
            return DS_VIDEO_ERR_IO;
        }
    }
}

/* Zeroes every byte of the frame's planes, the row padding past the width included: the buffer
 * av_frame_make_writable hands back may be new and uninitialised, and the encoder reads that
 * padding, which made videos written in one process depend on earlier heap contents. */
static void clear_frame(AVFrame *f, int H) {
    for (int i = 0; i < 3 && f->data[i]; i++) memset(f->data[i], 0, (size_t)f->linesize[i] * (size_t)(i ? (H + 1) / 2 : H));
}

int ds_vwriter_put_yuv420(ds_vwriter_t *w, const uint8_t *y, const uint8_t *u, const uint8_t *v, char *err,
                          size_t err_len) {
    if (!w || !y || !u || !v) return DS_VIDEO_ERR_ARG;
    if (av_frame_make_writable(w->frame) < 0) {
        ds_set_err(err, err_len, "%s: out of memory", w->path);
        return DS_VIDEO_ERR_NOMEM;
    }
    int W = w->enc->width, H = w->enc->height;
    clear_frame(w->frame, H);
    for (int r = 0; r < H; r++) memcpy(w->frame->data[0] + (size_t)r * (size_t)w->frame->linesize[0], y + (size_t)r * (size_t)W, (size_t)W);
    for (int r = 0; r < H / 2; r++) {
        memcpy(w->frame->data[1] + (size_t)r * (size_t)w->frame->linesize[1], u + (size_t)r * (size_t)(W / 2), (size_t)(W / 2));
        memcpy(w->frame->data[2] + (size_t)r * (size_t)w->frame->linesize[2], v + (size_t)r * (size_t)(W / 2), (size_t)(W / 2));
    }
    w->frame->pts = w->next_pts++;
    return encode_write(w, w->frame, err, err_len);
}

int ds_vwriter_put_rgb(ds_vwriter_t *w, const uint8_t *rgb, char *err, size_t err_len) {
    if (!w || !rgb) return DS_VIDEO_ERR_ARG;
    int W = w->enc->width, H = w->enc->height;
    w->sws = sws_getCachedContext(w->sws, W, H, AV_PIX_FMT_RGB24, W, H, AV_PIX_FMT_YUV420P,
                                  SWS_BICUBIC | SWS_ACCURATE_RND | SWS_BITEXACT, NULL, NULL, NULL);
    if (!w->sws || av_frame_make_writable(w->frame) < 0) {
        ds_set_err(err, err_len, "%s: cannot set up RGB to YUV conversion", w->path);
        return DS_VIDEO_ERR_NOMEM;
    }
    size_t bytes = (size_t)W * (size_t)H * 3;
    if (!w->rgb_pad && !(w->rgb_pad = calloc(1, bytes + 64))) {
        ds_set_err(err, err_len, "%s: out of memory", w->path);
        return DS_VIDEO_ERR_NOMEM;
    }
    memcpy(w->rgb_pad, rgb, bytes);
    clear_frame(w->frame, H);
    const uint8_t *src[4] = {w->rgb_pad, NULL, NULL, NULL};
    int src_ls[4] = {W * 3, 0, 0, 0};
    sws_scale(w->sws, src, src_ls, 0, H, w->frame->data, w->frame->linesize);
    w->frame->pts = w->next_pts++;
    return encode_write(w, w->frame, err, err_len);
}

int ds_vwriter_close(ds_vwriter_t *w, char *err, size_t err_len) {
    if (!w) return DS_VIDEO_OK;
    int rc = encode_write(w, NULL, err, err_len);
    if (w->header_written) {
        int r = av_write_trailer(w->fmt);
        if (r < 0 && rc == DS_VIDEO_OK) {
            char eb[128];
            ds_set_err(err, err_len, "%s: cannot finish the file (%s)", w->path, ds_averr(r, eb, sizeof eb));
            rc = DS_VIDEO_ERR_IO;
        }
    }
    writer_free(w);
    return rc;
}

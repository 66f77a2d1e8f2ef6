/* cmd_tokenize.c - tango-bench tokenize: encode text with a Qwen2 tokenizer (optionally in the
 * qwen_1_5 chat template, optionally split on "<image>" the way LLaVA does) and print the ids as
 * a JSON array; or decode a comma list of ids and print the text.
 *
 *   tango-bench tokenize --tokenizer DIR --text 'hello world'          -> [14990, 1879]
 *   tango-bench tokenize --tokenizer DIR --text $'<image>\nhi' --chat --image-split
 *   tango-bench tokenize --tokenizer DIR --decode 14990,1879            -> hello world
 */
#include "harness/cli.h"
#include "harness/commands.h"
#include "engine/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file (text given by --file). */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(b);
                b = NULL;
            }
            break;
        }
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = n;
    }
    return b;
}

/* Decodes a comma list of ids and prints the text followed by a newline. */
static int do_decode(const cli_spec *spec, tok_tokenizer *tk, const char *list, int skip_special) {
    size_t n_max = 1;
    for (const char *p = list; *p; p++) n_max += *p == ',';
    if (n_max > (size_t)1 << 24) return cli_usage_error(spec, "--decode: too many ids");
    int64_t *v = malloc(n_max * sizeof *v);
    int32_t *ids = malloc(n_max * sizeof *ids);
    int rc = 0;
    if (!v || !ids) {
        fprintf(stderr, "tango-bench tokenize: out of memory\n");
        rc = 1;
        goto out;
    }
    int n = cli_split_ints(list, v, (int)n_max);
    if (n < 0) {
        rc = cli_usage_error(spec, "--decode expects a comma list of integer ids, got '%s'", list);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (v[i] < INT32_MIN || v[i] > INT32_MAX) {
            rc = cli_usage_error(spec, "--decode: id %lld is out of range", (long long)v[i]);
            goto out;
        }
        ids[i] = (int32_t)v[i];
    }
    char err[512];
    size_t len = 0;
    char *text = tok_decode(tk, ids, (size_t)n, skip_special, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "tango-bench tokenize: %s\n", err);
        rc = 1;
        goto out;
    }
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    free(text);
out:
    free(v);
    free(ids);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *text = NULL, *file = NULL, *decode = NULL;
    int image_split = 0, chat = 0, skip_special = 0;
    const cli_opt opts[] = {
        {"tokenizer", CLI_STR, &dir, "DIR", "tokenizer directory (tokenizer.json or vocab.json + merges.txt) or tokenizer.json",
         .env = "TB_TOKENIZER", .required = 1},
        {"text", CLI_STR, &text, "TEXT", "text to encode"},
        {"file", CLI_STR, &file, "F", "encode the bytes of this file"},
        {"image-split", CLI_FLAG, &image_split, NULL, "split on <image>, encode each part, join with -200 (LLaVA)"},
        {"chat", CLI_FLAG, &chat, NULL, "wrap the text as the user turn of the qwen_1_5 template first"},
        {"decode", CLI_STR, &decode, "IDS", "decode a comma list of ids and print the text"},
        {"skip-special", CLI_FLAG, &skip_special, NULL, "with --decode: drop special tokens"},
        {0}};
    const cli_spec spec = {"tokenize", NULL, 0, 0,
                           "encode text to token ids (a JSON array) or decode ids to text", opts};
    char *pos[1];
    int n_pos = 0;
    int st = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (st != CLI_OK) return cli_exit_code(st);
    if ((text != NULL) + (file != NULL) + (decode != NULL) != 1)
        return cli_usage_error(&spec, "give exactly one of --text, --file, --decode");
    if (decode && (image_split || chat))
        return cli_usage_error(&spec, "--image-split and --chat apply to encoding, not to --decode");
    if (skip_special && !decode) return cli_usage_error(&spec, "--skip-special applies to --decode only");

    char err[512];
    tok_tokenizer *tk = tok_load(dir, err, sizeof err);
    if (!tk) {
        fprintf(stderr, "tango-bench tokenize: %s\n", err);
        return 1;
    }
    if (decode) {
        int rc = do_decode(&spec, tk, decode, skip_special);
        tok_free(tk);
        return rc;
    }

    int rc = 1;
    char *buf = NULL, *prompt = NULL;
    size_t len = 0;
    tok_ids ids = {0};
    if (file) {
        buf = slurp(file, &len);
        if (!buf) {
            fprintf(stderr, "tango-bench tokenize: %s: cannot read: %s\n", file, strerror(errno));
            goto out;
        }
        text = buf;
    } else {
        len = strlen(text);
    }
    if (chat) {
        if (memchr(text, '\0', len)) {
            fprintf(stderr, "tango-bench tokenize: %s: contains a NUL byte, which --chat cannot carry\n",
                    file ? file : "--text");
            goto out;
        }
        prompt = tok_chat_render(text);
        if (!prompt) {
            fprintf(stderr, "tango-bench tokenize: out of memory\n");
            goto out;
        }
        text = prompt;
        len = strlen(prompt);
    }
    st = image_split ? tok_encode_image_split(tk, text, len, &ids, err, sizeof err)
                     : tok_encode(tk, text, len, &ids, err, sizeof err);
    if (st != TOK_OK) {
        fprintf(stderr, "tango-bench tokenize: %s%s%s\n", file ? file : "", file ? ": " : "", err);
        goto out;
    }
    fputc('[', stdout);
    for (size_t i = 0; i < ids.n; i++) fprintf(stdout, "%s%d", i ? ", " : "", ids.v[i]);
    fputs("]\n", stdout);
    rc = 0;
out:
    tok_ids_free(&ids);
    free(prompt);
    free(buf);
    tok_free(tk);
    return rc;
}

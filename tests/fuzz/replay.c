/* replay.c - runs a libFuzzer harness without libFuzzer: every file named on the command line,
 * and every file inside a directory named there (one level), goes through LLVMFuzzerTestOneInput
 * once. The suite (tests/fuzz_replay.sh) replays each harness's seed corpus and past crash inputs
 * this way; under `make asan` any memory error, leak or undefined behaviour aborts it. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return -1;
    /* an exact-size copy, so ASan sees a read one past the input */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) return -1;
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*n)++;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    long n = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) continue; /* an absent crash folder is fine */
        if (!S_ISDIR(sb.st_mode)) {
            bad |= replay_file(argv[i], &n);
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) continue;
        char **names = NULL;
        size_t k = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md")) continue;
            if (k == cap) {
                cap = cap ? 2 * cap : 64;
                names = realloc(names, cap * sizeof *names);
                if (!names) return 2;
            }
            size_t l = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[k] = malloc(l);
            if (!names[k]) return 2;
            snprintf(names[k++], l, "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        qsort(names, k, sizeof *names, cmp_str);
        for (size_t j = 0; j < k; j++) {
            bad |= replay_file(names[j], &n);
            free(names[j]);
        }
        free(names);
    }
    printf("replayed %ld inputs\n", n);
    return bad ? 1 : 0;
}

/* fuzz_config.c - the model configs (engine/config.c, harness/flops.c): parts "config.json
 * ##### generation_config.json ##### SigLIP config.json" (later parts optional), read as
 * eng_config_load reads a checkpoint directory, as the SigLIP tower's config, and as the FLOPs
 * model of `tango-bench flops`. */
#include "tests/fuzz/fuzz_util.h"

#include "engine/config.h"
#include "harness/flops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[3];
    size_t len[3];
    size_t n = fz_split(data, size, part, len, 3);
    const char *dir = fz_path("model");
    mkdir(dir, 0700);
    char cfg[600], gen[600], sig[600], err[1024];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(gen, sizeof gen, "%s/generation_config.json", dir);
    snprintf(sig, sizeof sig, "%s", fz_path("siglip.json"));
    fz_write(cfg, part[0], len[0]);
    if (n > 1) fz_write(gen, part[1], len[1]);
    else unlink(gen);
    eng_config c;
    int ok = eng_config_load(dir, &c, err, sizeof err) == 0;
    eng_config c2;
    (void)eng_config_parse((const char *)part[0], len[0], "config.json", &c2, err, sizeof err);
    if (n > 1) {
        eng_generation_config g;
        (void)eng_generation_config_parse((const char *)part[1], len[1], "generation_config.json", &g, err, sizeof err);
    }
    if (n > 2) {
        fz_write(sig, part[2], len[2]);
        eng_vision_config v;
        if (eng_siglip_config_load(sig, &v, err, sizeof err) == 0 && ok)
            (void)eng_siglip_config_check(&c.vision, &v, err, sizeof err);
    }
    fl_model m;
    (void)fl_model_from_config(cfg, &m, err, sizeof err);
    return 0;
}

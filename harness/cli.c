/* cli.c - the declarative option parser behind every tango-bench command (see cli.h). */
#include "harness/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int range_checked(const cli_opt *o) { return !(o->min == 0 && o->max == 0); }

static void print_usage_line(const cli_spec *spec, FILE *out) {
    fprintf(out, "usage: tango-bench %s [options]%s%s\n", spec->name, spec->args ? " " : "",
            spec->args ? spec->args : "");
}

void cli_print_help(const cli_spec *spec, FILE *out) {
    print_usage_line(spec, out);
    fprintf(out, "\n%s\n\noptions:\n", spec->summary);
    for (const cli_opt *o = spec->opts; o && o->name; o++) {
        char left[96];
        if (o->type == CLI_FLAG)
            snprintf(left, sizeof left, "--%s", o->name);
        else
            snprintf(left, sizeof left, "--%s %s", o->name, o->metavar ? o->metavar : "VALUE");
        fprintf(out, "  %-28s %s", left, o->help ? o->help : "");
        switch (o->type) {
        case CLI_STR: {
            const char *v = *(const char **)o->dst;
            if (v && *v) fprintf(out, " (default: %s)", v);
            break;
        }
        case CLI_INT: fprintf(out, " (default: %lld)", (long long)*(int64_t *)o->dst); break;
        case CLI_DOUBLE: /* NAN: no value unless given */
            if (!isnan(*(double *)o->dst)) fprintf(out, " (default: %g)", *(double *)o->dst);
            break;
        case CLI_LIST: fprintf(out, " (repeatable)"); break;
        case CLI_FLAG: break;
        }
        if (o->required) fprintf(out, " [required]");
        if (o->env) fprintf(out, " [env %s]", o->env);
        fputc('\n', out);
    }
    fprintf(out, "  %-28s %s\n", "--help", "show this help");
}

static int fail(const cli_spec *spec, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tango-bench %s: ", spec->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    print_usage_line(spec, stderr);
    fprintf(stderr, "(tango-bench %s --help lists the options)\n", spec->name);
    return CLI_ERROR;
}

int cli_usage_error(const cli_spec *spec, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tango-bench %s: ", spec->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "(tango-bench %s --help lists the options)\n", spec->name);
    return 2;
}

int cli_exit_code(int status) { return status == CLI_HELP ? 0 : 2; }

/* Stores one textual value into the option's destination, with type and range checks. */
static int set_value(const cli_spec *spec, const cli_opt *o, const char *val, const char *origin) {
    char *end = NULL;
    switch (o->type) {
    case CLI_FLAG: *(int *)o->dst = 1; return CLI_OK;
    case CLI_STR: *(const char **)o->dst = val; return CLI_OK;
    case CLI_LIST: {
        cli_list *l = o->dst;
        if (l->n >= CLI_LIST_MAX) return fail(spec, "--%s given more than %d times", o->name, CLI_LIST_MAX);
        l->items[l->n++] = val;
        return CLI_OK;
    }
    case CLI_INT: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end)
            return fail(spec, "%s%s expects an integer, got '%s'", origin, o->name, val);
        if (range_checked(o) && ((double)v < o->min || (double)v > o->max))
            return fail(spec, "%s%s=%s is out of range [%g, %g]", origin, o->name, val, o->min, o->max);
        *(int64_t *)o->dst = v;
        return CLI_OK;
    }
    case CLI_DOUBLE: {
        errno = 0;
        double v = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(v))
            return fail(spec, "%s%s expects a number, got '%s'", origin, o->name, val);
        if (range_checked(o) && (v < o->min || v > o->max))
            return fail(spec, "%s%s=%s is out of range [%g, %g]", origin, o->name, val, o->min, o->max);
        *(double *)o->dst = v;
        return CLI_OK;
    }
    }
    return fail(spec, "internal: bad option type for --%s", o->name);
}

int cli_parse(const cli_spec *spec, int argc, char **argv, char **pos, int *n_pos) {
    int n_opts = 0;
    for (const cli_opt *o = spec->opts; o && o->name; o++) n_opts++;
    unsigned char seen[256] = {0};
    if (n_opts > 256) return fail(spec, "internal: too many options");
    *n_pos = 0;

    for (int i = 0; i < n_opts; i++) { /* environment defaults first; argv overrides them */
        const cli_opt *o = &spec->opts[i];
        const char *ev = o->env ? getenv(o->env) : NULL;
        if (ev && *ev && o->type != CLI_FLAG && o->type != CLI_LIST) {
            char origin[80];
            snprintf(origin, sizeof origin, "environment %s for --", o->env);
            if (set_value(spec, o, ev, origin) != CLI_OK) return CLI_ERROR;
            seen[i] = 1;
        }
    }

    int only_pos = 0;
    for (int a = 1; a < argc; a++) {
        char *arg = argv[a];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (*n_pos >= spec->n_pos_max) return fail(spec, "unexpected argument '%s'", arg);
            pos[(*n_pos)++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) { only_pos = 1; continue; }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cli_print_help(spec, stdout);
            return CLI_HELP;
        }
        if (arg[1] != '-') return fail(spec, "unknown option '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int idx = -1;
        for (int i = 0; i < n_opts; i++)
            if (strlen(spec->opts[i].name) == len && !strncmp(spec->opts[i].name, name, len)) idx = i;
        if (idx < 0) return fail(spec, "unknown option '--%.*s'", (int)len, name);
        const cli_opt *o = &spec->opts[idx];
        const char *val = NULL;
        if (o->type == CLI_FLAG) {
            if (eq) return fail(spec, "--%s takes no value", o->name);
        } else if (eq) {
            val = eq + 1;
        } else {
            if (a + 1 >= argc) return fail(spec, "--%s needs a value (%s)", o->name, o->metavar ? o->metavar : "VALUE");
            val = argv[++a];
        }
        if (set_value(spec, o, val, "--") != CLI_OK) return CLI_ERROR;
        seen[idx] = 1;
    }

    for (int i = 0; i < n_opts; i++)
        if (spec->opts[i].required && !seen[i]) return fail(spec, "--%s is required", spec->opts[i].name);
    if (*n_pos < spec->n_pos_min)
        return fail(spec, "missing argument%s%s", spec->args ? " " : "", spec->args ? spec->args : "");
    return CLI_OK;
}

int cli_split_doubles(const char *s, double *out, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || n >= max) return -1;
        out[n++] = v;
        if (*end == ',') p = end + 1;
        else if (*end == '\0') p = end;
        else return -1;
        if (*end == ',' && *p == '\0') return -1;
    }
    return n;
}

int cli_split_ints(const char *s, int64_t *out, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || n >= max) return -1;
        out[n++] = v;
        if (*end == ',') p = end + 1;
        else if (*end == '\0') p = end;
        else return -1;
        if (*end == ',' && *p == '\0') return -1;
    }
    return n;
}

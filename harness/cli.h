/* cli.h - declarative command-line options for tango-bench commands.
 *
 * Each command describes its options once, in a table; the same table parses argv, checks
 * types and ranges, reads environment defaults and prints --help (with the current values of
 * the destinations as defaults). Nothing here exits: cli_parse returns a status and the caller
 * (a cmd_* function) returns the exit code to harness/main.c, the only place that exits.
 *
 * Usage:
 *     const char *db = "results.db"; int64_t limit = 0; int json = 0;
 *     const cli_opt opts[] = {
 *         { "db",    CLI_STR,  &db,    "FILE", "results database" },
 *         { "limit", CLI_INT,  &limit, "N",    "stop after N samples (0 = all)", .min = 0, .max = 1e9 },
 *         { "json",  CLI_FLAG, &json,  NULL,   "one JSON object per line" },
 *         { 0 } };
 *     const cli_spec spec = { "samples", "BENCH", 1, 1, "print normalised samples", opts };
 *     char *pos[1]; int n_pos;
 *     int st = cli_parse(&spec, argc, argv, pos, &n_pos);
 *     if (st != CLI_OK) return cli_exit_code(st);
 */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdint.h>
#include <stdio.h>

typedef enum {
    CLI_FLAG,   /* dst: int*,         set to 1 when present                          */
    CLI_STR,    /* dst: const char**, borrowed from argv or the environment          */
    CLI_INT,    /* dst: int64_t*,     strtoll with end pointer and range check       */
    CLI_DOUBLE, /* dst: double*,      strtod with end pointer, finite, range check   */
    CLI_LIST,   /* dst: cli_list*,    repeatable; each occurrence appends one value  */
} cli_type;

#define CLI_LIST_MAX 64

typedef struct {
    int n;
    const char *items[CLI_LIST_MAX]; /* borrowed from argv */
} cli_list;

typedef struct {
    const char *name;    /* long name without "--" */
    cli_type type;
    void *dst;
    const char *metavar; /* shown in help (FILE, N, ...); NULL for flags */
    const char *help;
    double min, max;     /* inclusive numeric range; unchecked when min == max == 0 */
    const char *env;     /* environment variable read as the default, or NULL */
    int required;        /* 1: an error when absent (after the environment) */
} cli_opt;

typedef struct {
    const char *name;      /* command name as typed */
    const char *args;      /* positional arguments for usage ("BENCH", "OUT.db IN.db..."), or NULL */
    int n_pos_min;
    int n_pos_max;         /* capacity of the caller's pos[] array */
    const char *summary;   /* one line */
    const cli_opt *opts;   /* terminated by an entry with name == NULL */
} cli_spec;

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = -1 };

/* Parses argv[1..argc-1] (argv[0] is the command name) against spec. Positional arguments are
 * stored (borrowed) in pos[0..*n_pos-1]. On CLI_ERROR one line "tango-bench CMD: ..." and the
 * usage go to stderr; on CLI_HELP the help goes to stdout. */
int cli_parse(const cli_spec *spec, int argc, char **argv, char **pos, int *n_pos);

/* Exit code for a cli_parse status: 0 for help, 2 for errors. */
int cli_exit_code(int status);

/* Prints the full help of a command (usage, summary, one line per option with its default). */
void cli_print_help(const cli_spec *spec, FILE *out);

/* Reports a usage-level error for a command after parsing (bad value combination etc.): prints
 * "tango-bench CMD: <message>" and a pointer to --help on stderr. Returns 2. */
int cli_usage_error(const cli_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses "a,b,c" doubles / int64s into out[0..max-1]; returns the count or -1 on a bad item. */
int cli_split_doubles(const char *s, double *out, int max);
int cli_split_ints(const char *s, int64_t *out, int max);

#endif

/* commands.h - the tango-bench subcommands. Each lives in harness/cmd_<name>.c and has the
 * signature int cmd_x(int argc, char **argv), argv[0] being the command name; it returns the
 * process exit code (0 ok, 1 failure, 2 usage error) and never exits itself. */
#ifndef TB_COMMANDS_H
#define TB_COMMANDS_H

typedef int (*tb_command_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    tb_command_fn run;
    const char *summary;
} tb_command;

/* The command table, terminated by {0}; defined in harness/main.c. */
extern const tb_command tb_commands[];

/* For commands whose name is reserved but whose implementation has not landed: prints one line
 * naming the command and returns 2. */
int cmd_reserved(const char *name);

/* Build features as one line ("cuda=off openblas=0.3.21 ..."), for --version and run records. */
const char *tb_build_features(void);

int cmd_fetch(int argc, char **argv);
int cmd_samples(int argc, char **argv);
int cmd_frames(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_make_tiny_model(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_flops(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_rescore(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif

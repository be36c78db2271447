/*
 * cli.h - what the files of the command line share: main() (main.c)
 * dispatches subcommands to the others.
 */
#ifndef XDS_CLI_H
#define XDS_CLI_H

/* `xds-lua profile build|show ...`; argv[0] is "profile".  Exit status. */
int cli_profile(int argc, char **argv);

/* A file the run will write (opt names it in the message): its folder
 * exists and is writable.  0, or -1 with the message printed. */
int cli_check_out_path(const char *opt, const char *path);

#endif

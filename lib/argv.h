/* Command-line helpers shared by nhi and nhictl. */
#ifndef NHI_ARGV_H
#define NHI_ARGV_H

#include <stdbool.h>

/* Whether a command's arguments (argv[0] is its name) ask for its help
 * (-h or --help before any "--"): help must work before nhi is set up,
 * so the caller skips reading the configuration. */
bool nhi_argv_wants_help(int argc, char **argv);

#endif

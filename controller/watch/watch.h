/* watch.h: the entry points of `virtform watch` (the reconcile daemon) and
 * `virtform status` (asking it how things stand). main.c dispatches to
 * these; argv[0] is the command name. Each returns the exit code. */
#pragma once

/* virtform watch [OPTIONS] DIR: 0 after SIGTERM/SIGINT, 1 when it cannot
 * start (lock held, bad config, DIR unwatchable), 2 on a usage error. */
int vf_watch_main(int argc, char **argv);

/* virtform status [--json] [--state-dir DIR] [--config FILE]: 0 when the
 * daemon answered, 1 when none runs (or it failed to answer), 2 usage. */
int vf_status_main(int argc, char **argv);

/* msg.h - what every mallog command shares: one message shape, exit codes, verbosity, escaping
 * text for JSON and HTML, where the binary is. Depends on lib/ only; nothing here knows a command. */
#ifndef MLG_MSG_H
#define MLG_MSG_H

#include <stdio.h>
#include "../lib/mallog.h"

#define EXIT_DIFF 1  /* diff/check found a difference */
#define EXIT_ERROR 2 /* any error */

extern int msg_verbosity; /* -q = 0, default 1, -v = 2 */

/* "mallog <cmd>: <file>: <what> at byte N (event M)" */
void msg_log_error(const char *cmd, const char *file, const struct mlg_error *err);
/* "mallog <cmd>: <what>" on stderr */
void msg_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Directory of the running mallog binary (to find libmallog.so beside it). */
const char *msg_self_dir(void);
/* Text for HTML or XML (JUnit): < > & " ' escaped. */
void msg_xml_escape(FILE *f, const char *s);

#endif

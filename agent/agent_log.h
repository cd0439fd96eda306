/* The agent's log sink: stderr (timestamped lines) or syslog. libhsdo's
 * messages arrive through hsdo_log_set_handler(); the agent's own through
 * the same hsdo_log_*() calls. */
#ifndef HSDO_AGENT_AGENT_LOG_H
#define HSDO_AGENT_AGENT_LOG_H

#include <stdbool.h>

#include "hsdo/log.h"

/* Route all logging to syslog (ident "hsdo-agent") or stderr, and set the
 * level (debug when `debug`, info otherwise). Safe to call again on reload. */
void agent_log_setup(bool use_syslog, bool debug);
void agent_log_close(void);
/* True when two error messages have the same cause (hsdo_log_cause: they
 * differ only in parenthesized details such as a request id): an error is
 * logged once per cause, not once per occurrence. */
bool agent_log_same_cause(const char *a, const char *b);

#endif

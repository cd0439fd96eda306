/* The HTTP transport (hsdo/http.h) on the agent's libev loop, the shape of
 * curl's evhiperfifo example: one ev_io per socket curl asks to watch
 * (started, modified, stopped as curl says) and one ev_timer for the
 * engine's single timer. Nothing here blocks the loop. */
#ifndef HSDO_AGENT_HTTP_EV_H
#define HSDO_AGENT_HTTP_EV_H

#include <stddef.h>

#include <ev.h>

#include "hsdo/http.h"

struct http_ev;

/* An event-mode engine driven by loop. 0, or what hsdo_http_new returns
 * (-HSDO_EINVAL, -HSDO_ENOMEM, -HSDO_EHTTP) with the reason in err. opt is
 * borrowed for the call. */
int http_ev_new(struct ev_loop *loop, const struct hsdo_http_options *opt,
			struct http_ev **out, char *err, size_t errlen);
/* The engine, for hsdo_http_submit/hsdo_http_after and the AWS client;
 * owned by the adapter. */
struct hsdo_http *http_ev_engine(struct http_ev *a);
/* Free the engine (in-flight transfers get their done with "cancelled"),
 * stop every watcher, release; NULL is a no-op. Not from an HTTP callback. */
void http_ev_free(struct http_ev *a);

#endif

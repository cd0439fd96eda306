/* The Consul discovery source: /v1/health/service/<name>?passing with
 * blocking queries. See source.h for the interface it implements. */
#ifndef HSDO_SOURCE_CONSUL_H
#define HSDO_SOURCE_CONSUL_H

#include <stddef.h>
#include <stdint.h>

#include "hsdo/http.h"
#include "hsdo/source.h"

struct hsdo_source_consul_options {
	long wait_ms;          /* blocking-query wait; 0: 30000 (Consul's bound
				* is 10 min); < 0: plain polling, no index */
};

/* Consul at base url (http:// or https://, any path prefix) for the
 * services[0..n) (group = the service name), with token (NULL or "": none)
 * sent as X-Consul-Token and wiped on free. TLS uses http's CA option.
 * http is borrowed and must outlive the source.
 *
 * list asks every service (index=<its last X-Consul-Index>, wait=...) and
 * completes at the first answer once every service has answered at least
 * once: with blocking queries that is when something changed or the wait
 * ran out, so a list may take up to wait_ms (with a blocking transport,
 * each service in turn: up to n * wait_ms). The server loop should call it
 * with the event-driven transport, and start one list no sooner than
 * INTERVAL after the previous one started: Consul asks clients to
 * rate-limit blocking loops, and the source never sleeps. Requests still
 * running when a list completes keep running; their answers are folded
 * into the next list. An index that goes backwards restarts at 0, and a
 * service that failed is asked again without an index (Consul's rules). */
int hsdo_source_consul_open(const char *url, const char *const *services, size_t n,
			    const char *token, struct hsdo_http *http,
			    const struct hsdo_source_consul_options *opt,
			    struct hsdo_source **out, char *err, size_t errlen);

/* ---- pure parts, exposed for tests and fuzzers ---------------------------- */

/* One Consul service's instances, appended to *out (instances unsorted,
 * the group entry for service added or updated): parse a
 * /v1/health/service/<service> reply. 0, or -HSDO_EPROTO / -HSDO_ETOOBIG /
 * -HSDO_ENOMEM with err, *out then unchanged. Instance id is
 * "<Node.Node>/<Service.ID>" (service ids are only unique per agent); ip
 * is Service.Address, else Node.Address; port Service.Port. An entry
 * without an IP-literal address is skipped (counted, and named in
 * out->warning). */
int hsdo_source_consul_parse(const char *buf, size_t len, const char *service,
			     struct hsdo_source_result *out, char *err, size_t errlen);

/* The next blocking-query index from the previous one and the
 * X-Consul-Index text of an answer: the new value, 0 when it went
 * backwards or is missing/garbled (start over without blocking). */
uint64_t hsdo_source_consul_next_index(uint64_t prev, const char *header);

/* Request URL for service: base + "/v1/health/service/<service>?passing",
 * plus "&index=N&wait=Ws" when index > 0 and wait_ms >= 0. Returns the
 * length, or -HSDO_ETOOBIG / -HSDO_EINVAL. */
int hsdo_source_consul_url(const char *base, const char *service, uint64_t index, long wait_ms,
			   char *out, size_t outlen);

#endif

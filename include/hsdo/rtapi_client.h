/* HAProxy Runtime API client: one connection to a stats socket in prompt
 * mode, batches of commands pipelined on it, one reply per command.
 *
 * Pure part (no I/O): parsing a socket address, splitting a prompt-mode
 * byte stream into replies. I/O part: one non-blocking state machine per
 * connection (connect, handshake, batches), driven by the caller's event
 * loop through fd + events + timeout, or by poll(2) in the blocking calls;
 * every connect, handshake and batch bounded by a timeout.
 *
 * Prompt-mode framing measured on HAProxy 2.6.12 (tests/data/rtapi/
 * prompt_*.txt, capture_prompt.py): after `prompt\n` every command's output
 * is followed by "\n> ", including the empty output of `prompt` itself and
 * of a silent success; so the stream is "\n> " out1 "\n> " out2 "\n> " ...
 * An output usually ends in "\n" (so "...\n\n> ") but some do not
 * ("Empty weight string ...\n> ", "No such server.\n> " from del server).
 * One line with an unescaped ';' runs several commands, and how their
 * replies are separated depends on the version: 2.6 and 3.0 print the
 * prompt after each ("a\n> b\n> "), 3.2 only "\n" between them and the
 * prompt once after the line ("a\nb\n> "; tests/unit/check_rtapi_client.c).
 * _split_lines reads both, given which one (_join_detect tells from the
 * answer to HSDO_RTAPI_JOIN_PROBE).
 *
 * So _exec refuses (before sending anything) a command that would not get
 * exactly one reply, as measured: a newline or CR; an unescaped ';'; a
 * trailing unescaped '\' (it escapes the newline and joins two lines);
 * a trailing "<<" (payload mode: later lines are swallowed); an empty line
 * (answered with the help text); `prompt` or `quit` as first word (prompt
 * mode ends); more than HSDO_RTAPI_CLIENT_CMD_MAX bytes. */
#ifndef HSDO_RTAPI_CLIENT_H
#define HSDO_RTAPI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "hsdo/rtapi.h"
#include "hsdo/slot.h"

/* sizeof(sockaddr_un.sun_path): a path must fit with its NUL. */
#define HSDO_RTAPI_PATH_MAX 108u
/* Longest command line accepted by _exec. HAProxy 2.6.12 resets the
 * connection on a line of 16383 bytes or more with the default
 * tune.bufsize (16384); this leaves room for tune.bufsize 8192. */
#define HSDO_RTAPI_CLIENT_CMD_MAX 8190u
/* Most commands in one _exec batch. */
#define HSDO_RTAPI_CLIENT_BATCH_MAX 100000u
/* Default cap on the bytes of all replies of one _exec. */
#define HSDO_RTAPI_CLIENT_REPLY_MAX (64u << 20)
/* Bounds on timeouts, in ms. */
#define HSDO_RTAPI_CLIENT_TIMEOUT_MAX 3600000

enum hsdo_rtapi_family {
	HSDO_RTAPI_FAMILY_UNIX = 0,    /* path */
	HSDO_RTAPI_FAMILY_ABNS,        /* Linux abstract namespace name */
	HSDO_RTAPI_FAMILY_IPV4,
	HSDO_RTAPI_FAMILY_IPV6,
	HSDO_RTAPI_FAMILY_COUNT
};

/* Where the stats socket is. */
struct hsdo_rtapi_target {
	enum hsdo_rtapi_family family;
	char path[HSDO_RTAPI_PATH_MAX]; /* UNIX path / ABNS name; "" for IP */
	char ip[HSDO_IP_LEN];           /* canonical literal (inet_ntop); "" else */
	uint16_t port;                  /* 1-65535 for IP; 0 else */
};

/* One reply inside a stream: borrowed from the buffer given to _split,
 * trailing newlines trimmed (a silent success has len 0). */
struct hsdo_rtapi_reply {
	const char *ptr;
	size_t len;
};

/* The replies of one _exec, owned; release with hsdo_rtapi_result_free. */
struct hsdo_rtapi_result {
	size_t n;
	char **reply;                   /* n NUL-terminated replies, trimmed */
	size_t *len;                    /* strlen(reply[i]) */
	char *buf;                      /* backing store of reply[] */
};

/* Per-connection counters, for metrics and benchmarks. */
struct hsdo_rtapi_client_stats {
	uint64_t connections;           /* 1 once _open succeeded */
	uint64_t execs;                 /* _exec calls that sent something */
	uint64_t commands;              /* caller commands fully written */
	uint64_t replies;               /* caller replies fully read */
	uint64_t bytes_out;             /* all bytes written, prompt included */
	uint64_t bytes_in;              /* all bytes read */
};

struct hsdo_rtapi_client;

/* Name of a family for logs ("unix", "abns", "ipv4", "ipv6"). */
const char *hsdo_rtapi_family_str(enum hsdo_rtapi_family f);

/* Parse a stats socket address in HAProxy's forms: `unix@<path>`, `abns@<name>`,
 * `ipv4@<ip>:<port>`, `ipv6@[<ip>]:<port>` or `ipv6@<ip>:<port>` (last ':'),
 * unprefixed `<ip>:<port>`/`[<ip6>]:<port>`, else a Unix path (absolute or
 * relative). IP literals only. 0 and *out, or -HSDO_EINVAL and err. */
int hsdo_rtapi_client_parse_target(const char *s, struct hsdo_rtapi_target *out,
	char *err, size_t errlen);
/* Write t as parse_target reads it back ("unix@/run/h.sock",
 * "ipv6@[::1]:9999"). Returns the length, or -HSDO_ETOOBIG/-HSDO_EINVAL. */
int hsdo_rtapi_client_target_str(const struct hsdo_rtapi_target *t, char *buf, size_t len);

/* How a prompt-mode CLI separates the replies of `;`-joined commands. */
enum hsdo_rtapi_join {
	HSDO_RTAPI_JOIN_PROMPT = 0,     /* 2.6, 3.0: "\n> " after each command */
	HSDO_RTAPI_JOIN_NEWLINE,        /* 3.2: "\n" between, "\n> " after the line */
	HSDO_RTAPI_JOIN_COUNT
};
/* A line whose answer tells the two apart (see _join_detect). */
#define HSDO_RTAPI_JOIN_PROBE "show version;show version"

/* "prompt" or "newline". */
const char *hsdo_rtapi_join_str(enum hsdo_rtapi_join j);

/* Split a prompt-mode stream into its first nexpected replies, each ended by
 * "\n> ", into out[] (borrowed from buf); *nfound = complete ones. 0 when all
 * are there and nothing follows, -HSDO_EAGAIN when more bytes are needed,
 * -HSDO_EPROTO for a NUL byte or bytes after the last reply. One command a
 * line: the same on every version. */
int hsdo_rtapi_client_split(const char *buf, size_t len, size_t nexpected,
	struct hsdo_rtapi_reply *out, size_t *nfound);
/* The same by line: line i held ncmds[i] >= 1 `;`-joined commands (NULL:
 * one each) and gets one reply in out[i], its commands' outputs with the
 * separators of join between them. Returns as _split; -HSDO_EINVAL for a
 * count of 0 or a join out of range. */
int hsdo_rtapi_client_split_lines(const char *buf, size_t len, const size_t *ncmds,
	size_t nlines, enum hsdo_rtapi_join join, struct hsdo_rtapi_reply *out, size_t *nfound);
/* Read which join a CLI uses from the start of buf, its answer to the line
 * HSDO_RTAPI_JOIN_PROBE sent in prompt mode: two prompts, each after the
 * version (PROMPT), or one after "<version>\n\n<version>" (NEWLINE). 0 with
 * *join and *used (bytes of that answer), -HSDO_EAGAIN when incomplete,
 * -HSDO_EPROTO when it is neither. */
int hsdo_rtapi_client_join_detect(const char *buf, size_t len, enum hsdo_rtapi_join *join,
	size_t *used);

/* Non-blocking use, for an event loop. _start begins connecting to t and
 * the prompt handshake follows by itself; _send queues a batch (refused
 * commands as _exec refuses them, with nothing queued). Then the caller
 * waits until hsdo_rtapi_client_fd() is ready for
 * hsdo_rtapi_client_events() (HSDO_RTAPI_IO_READ | HSDO_RTAPI_IO_WRITE;
 * 0: only time), at most hsdo_rtapi_client_timeout() ms (-1: nothing in
 * flight), and calls hsdo_rtapi_client_io(), which sends and reads what
 * the socket takes and has without ever waiting, and returns -HSDO_EAGAIN
 * (wait again), 0 (connected; or the batch is complete and its replies
 * are in *res, owned) or an error as _open and _exec return them (c is
 * then unusable). timeout_ms bounds connect + handshake together, then
 * each batch. One _io call reads at most 1 MiB, so a huge reply cannot
 * hold the caller's loop. */
enum { HSDO_RTAPI_IO_READ = 1, HSDO_RTAPI_IO_WRITE = 2 };
int hsdo_rtapi_client_start(const struct hsdo_rtapi_target *t, int timeout_ms,
	struct hsdo_rtapi_client **out, char *err, size_t errlen);
int hsdo_rtapi_client_send(struct hsdo_rtapi_client *c, const char *const *cmds, size_t n,
	char *err, size_t errlen);
int hsdo_rtapi_client_io(struct hsdo_rtapi_client *c, struct hsdo_rtapi_result *res,
	char *err, size_t errlen);
int hsdo_rtapi_client_fd(const struct hsdo_rtapi_client *c);
int hsdo_rtapi_client_events(const struct hsdo_rtapi_client *c);
long hsdo_rtapi_client_timeout(const struct hsdo_rtapi_client *c);

/* Blocking use (tools, tests, benchmarks): the same machine driven with
 * poll(2). _open connects to t (connect and the prompt handshake bounded
 * by timeout_ms in total) and enters prompt mode. timeout_ms also bounds
 * each later _exec. 0 and *out (close with _close); -HSDO_ENOTFOUND when
 * the socket file is missing, -HSDO_EIO when refused or timed out,
 * -HSDO_EPROTO, -HSDO_ENOMEM. */
int hsdo_rtapi_client_open(const struct hsdo_rtapi_target *t, int timeout_ms,
	struct hsdo_rtapi_client **out, char *err, size_t errlen);
/* Change the per-exec timeout (ms, > 0) and the cap on all reply bytes of
 * one exec (> 0); a value of 0 keeps the current one. */
void hsdo_rtapi_client_set_limits(struct hsdo_rtapi_client *c, int timeout_ms,
	size_t max_reply);
/* Pipeline cmds[0..n) (arguments escaped with hsdo_rtapi_escape), reading
 * while writing, and store one reply each in *res (owned; zeroed on error).
 * -HSDO_EINVAL, nothing sent, for a refused command (above); a timeout, EOF,
 * -HSDO_ETOOBIG or -HSDO_EPROTO leave c unusable (-HSDO_EIO afterwards). */
int hsdo_rtapi_client_exec(struct hsdo_rtapi_client *c, const char *const *cmds, size_t n,
	struct hsdo_rtapi_result *res, char *err, size_t errlen);
/* Copy the counters of c into *out. */
void hsdo_rtapi_client_stats(const struct hsdo_rtapi_client *c,
	struct hsdo_rtapi_client_stats *out);
/* Send `quit` without waiting, close and free; NULL is a no-op. */
void hsdo_rtapi_client_close(struct hsdo_rtapi_client *c);

/* hsdo_rtapi_parse_servers_state on reply i of a result from _exec: the
 * parser wants the reply untrimmed, blank line included, which is rebuilt
 * in a temporary copy. Same results and ownership as the parser. */
int hsdo_rtapi_client_parse_state(const struct hsdo_rtapi_result *res, size_t i,
	struct hsdo_servers_state *out, char *err, size_t errlen);

/* Release what _exec stored in r and zero it; NULL is a no-op. */
void hsdo_rtapi_result_free(struct hsdo_rtapi_result *r);

#endif

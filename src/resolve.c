/* resolve: host names to numeric addresses in a thread, results delivered through ev_async.
 *
 * A lookup is a job shared by the resolver (in the loop) and its thread, reference counted
 * and guarded by its own mutex. The thread signals the loop only while the resolver still
 * holds the job (not abandoned), and does so under the mutex, so an abandoned job's thread
 * never touches a resolver that may be gone. */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

#define RESOLVE_NAME_MAX 256

struct job {
	pthread_mutex_t mu;
	int refs;                  /* the resolver's and the thread's */
	bool abandoned;            /* the resolver let go: the thread must not touch it */
	bool done;
	struct resolver *r;        /* valid while !abandoned */
	size_t n;
	char names[RESOLVE_MAX_NAMES][RESOLVE_NAME_MAX];
	struct resolve_answer answers[RESOLVE_MAX_NAMES];
};

struct resolver {
	struct ev_loop *loop;
	ev_async wake;
	struct job *job;           /* the lookup the caller waits for */
	struct job *orphan;        /* an abandoned lookup whose thread may still run */
	resolve_cb cb;
	void *arg;
};

static void job_unref(struct job *j)
{
	int left;

	pthread_mutex_lock(&j->mu);
	left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left == 0) {
		pthread_mutex_destroy(&j->mu);
		free(j);
	}
}

static bool job_done(struct job *j)
{
	bool done;

	pthread_mutex_lock(&j->mu);
	done = j->done;
	pthread_mutex_unlock(&j->mu);
	return done;
}

static void lookup(const char *name, struct resolve_answer *a)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(name, NULL, &hints, &res);

	a->naddrs = 0;
	if (rc != 0) {
		snprintf(a->error, sizeof(a->error), "%s", gai_strerror(rc));
		return;
	}
	for (const struct addrinfo *ai = res; ai && a->naddrs < RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
		char text[RESOLVE_ADDR_MAX];
		const void *addr;
		bool seen = false;

		if (ai->ai_family == AF_INET)
			addr = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			addr = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(ai->ai_family, addr, text, sizeof(text)))
			continue;
		for (size_t k = 0; k < a->naddrs && !seen; k++)
			seen = strcmp(a->addrs[k], text) == 0;
		if (!seen)
			memcpy(a->addrs[a->naddrs++], text, sizeof(text));
	}
	freeaddrinfo(res);
	if (a->naddrs == 0)
		snprintf(a->error, sizeof(a->error), "no IPv4 or IPv6 address");
}

static void *job_run(void *arg)
{
	struct job *j = arg;

	for (size_t i = 0; i < j->n; i++)
		lookup(j->names[i], &j->answers[i]);
	pthread_mutex_lock(&j->mu);
	j->done = true;
	if (!j->abandoned)
		ev_async_send(j->r->loop, &j->r->wake);
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
	return NULL;
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct resolver *r = container_of(w, struct resolver, wake);
	struct job *j = r->job;
	resolve_cb cb = r->cb;
	void *arg = r->arg;

	(void)loop;
	(void)revents;
	/* a wake-up may be left over from a job abandoned since */
	if (!j || !job_done(j))
		return;
	r->job = NULL;
	r->cb = NULL;
	r->arg = NULL;
	cb(j->answers, j->n, arg);
	job_unref(j);
}

struct resolver *resolver_new(struct ev_loop *loop)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->loop = loop;
	ev_async_init(&r->wake, wake_cb);
	ev_async_start(loop, &r->wake);
	ev_unref(loop); /* an idle resolver does not keep the loop running */
	return r;
}

void resolve_cancel(struct resolver *r)
{
	struct job *j = r->job;
	bool done;

	if (!j)
		return;
	r->job = NULL;
	r->cb = NULL;
	r->arg = NULL;
	pthread_mutex_lock(&j->mu);
	j->abandoned = true;
	done = j->done;
	pthread_mutex_unlock(&j->mu);
	if (done) {
		job_unref(j);
		return;
	}
	if (r->orphan)
		job_unref(r->orphan); /* not running: resolve_start keeps at most one that runs */
	r->orphan = j;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	resolve_cancel(r);
	if (r->orphan)
		job_unref(r->orphan);
	ev_ref(r->loop);
	ev_async_stop(r->loop, &r->wake);
	free(r);
}

bool resolve_start(struct resolver *r, const char *const *names, size_t n, resolve_cb cb,
                   void *arg, char *err, size_t errlen)
{
	struct job *j;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	if (r->job) {
		snprintf(err, errlen, "a host name lookup is already running");
		return false;
	}
	if (r->orphan) {
		if (!job_done(r->orphan)) {
			snprintf(err, errlen, "the last host name lookup has not ended yet");
			return false;
		}
		job_unref(r->orphan);
		r->orphan = NULL;
	}
	if (n == 0 || n > RESOLVE_MAX_NAMES) {
		snprintf(err, errlen, "%zu host names to look up (1 to %d)", n, RESOLVE_MAX_NAMES);
		return false;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!util_strlcpy(j->names[i], names[i], sizeof(j->names[i]))) {
			snprintf(err, errlen, "host name longer than %d bytes", RESOLVE_NAME_MAX - 1);
			free(j);
			return false;
		}
	}
	j->n = n;
	j->refs = 2;
	j->r = r;
	pthread_mutex_init(&j->mu, NULL);

	/* the thread takes no signals: they belong to the loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, job_run, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a lookup thread: %s", strerror(rc));
		pthread_mutex_destroy(&j->mu);
		free(j);
		return false;
	}
	r->job = j;
	r->cb = cb;
	r->arg = arg;
	return true;
}

/* rss_floor: the memory floor under primgr for bench/run.sh. A program that does nothing but
 * load and start the libraries primgr is built on, the way primgr starts them: libcurl
 * (curl_global_init, one multi handle), libev (the default loop), jansson (one document) and
 * libpq (one connection to CONNINFO, kept open). Then it waits for SIGTERM. Its RSS is what
 * any daemon built on these libraries pays before it does any work of its own; primgr's RSS
 * minus this floor is what primgr itself costs.
 *
 *   rss_floor CONNINFO      prints "ready" once connected (or "ready db=failed: ...")
 *
 * cc -O2 -o rss_floor rss_floor.c $(pkg-config --cflags --libs libpq libcurl jansson) -lev */
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void stop_cb(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int main(int argc, char **argv)
{
	struct ev_loop *loop;
	CURLM *multi;
	PGconn *db;
	json_t *doc;
	char *text;

	if (argc != 2) {
		fprintf(stderr, "usage: rss_floor CONNINFO\n");
		return 2;
	}
	signal(SIGTERM, stop_cb);
	signal(SIGINT, stop_cb);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "rss_floor: curl_global_init failed\n");
		return 1;
	}
	multi = curl_multi_init();
	loop = ev_default_loop(0);
	doc = json_pack("{s:s, s:i}", "state", "Primary", "votes", 1);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	if (!multi || !loop || !text) {
		fprintf(stderr, "rss_floor: a library failed to start\n");
		return 1;
	}
	db = PQconnectdb(argv[1]);
	if (PQstatus(db) == CONNECTION_OK)
		printf("ready\n");
	else
		printf("ready db=failed: %s", PQerrorMessage(db));
	fflush(stdout);
	while (!stop_flag)
		pause();
	PQfinish(db);
	free(text);
	json_decref(doc);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	return 0;
}

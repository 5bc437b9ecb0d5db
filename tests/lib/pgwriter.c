/* pgwriter: a client that writes numbered rows through a load balancer, for the haproxy
 * integration test and the demo. Each attempt opens a NEW connection (so every row tests
 * where haproxy routes a new client now), inserts row n into
 *
 *     CREATE TABLE primgr_writes (n int PRIMARY KEY, port int NOT NULL,
 *                                 at timestamptz NOT NULL DEFAULT clock_timestamp())
 *
 * recording the PostgreSQL port that committed it (current_setting('port')), and prints one
 * line per attempt on stdout:
 *
 *     <n> <port> <wall ms>         committed on the server listening on <port>
 *     <n> ERR <wall ms> <reason>   connection or insert failed (n is not reused)
 *
 * n grows with every attempt, so a row that committed but whose reply was lost cannot be
 * confused with a later one. Runs until SIGTERM/SIGINT or -d seconds.
 *
 * Usage: pgwriter -p PORT [-h HOST] [-U USER] [-D DBNAME] [-d SECONDS] [-i INTERVAL_MS]
 *                 [-s FIRST_N]
 * Build: cc -O2 -I"$(pg_config --includedir)" -o pgwriter pgwriter.c -lpq */
#define _GNU_SOURCE
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void stop_cb(int sig)
{
	(void)sig;
	stop = 1;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of a libpq message, without its newline, as one word-safe token. */
static void print_reason(const char *msg)
{
	for (const char *p = msg; *p != '\0' && *p != '\n'; p++)
		putchar(*p == ' ' ? '_' : *p);
	putchar('\n');
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *port = NULL, *user = "postgres", *db = "postgres";
	long seconds = 0, interval_ms = 20, first = 1;
	char conninfo[512], nbuf[24];
	long long end_ms;
	int c;

	while ((c = getopt(argc, argv, "h:p:U:D:d:i:s:")) != -1) {
		switch (c) {
		case 'h': host = optarg; break;
		case 'p': port = optarg; break;
		case 'U': user = optarg; break;
		case 'D': db = optarg; break;
		case 'd': seconds = strtol(optarg, NULL, 10); break;
		case 'i': interval_ms = strtol(optarg, NULL, 10); break;
		case 's': first = strtol(optarg, NULL, 10); break;
		default: port = NULL; optind = argc; break;
		}
	}
	if (port == NULL || interval_ms < 0 || seconds < 0 || first < 1) {
		fprintf(stderr, "usage: pgwriter -p PORT [-h HOST] [-U USER] [-D DB] [-d SECONDS] "
				"[-i INTERVAL_MS] [-s FIRST_N]\n");
		return 64;
	}
	/* Every wait is bounded: connecting (2 s) and each statement (2 s on the server, and
	 * TCP keepalives for a server that vanished without a reset). */
	snprintf(conninfo, sizeof(conninfo),
		 "host=%s port=%s user=%s dbname=%s connect_timeout=2 application_name=pgwriter "
		 "options='-c statement_timeout=2000' keepalives_idle=1 keepalives_interval=1 "
		 "keepalives_count=2",
		 host, port, user, db);
	signal(SIGTERM, stop_cb);
	signal(SIGINT, stop_cb);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	end_ms = seconds > 0 ? wall_ms() + seconds * 1000LL : 0;

	for (long n = first; !stop && (end_ms == 0 || wall_ms() < end_ms); n++) {
		const char *params[1] = { nbuf };
		PGconn *conn = PQconnectdb(conninfo);

		snprintf(nbuf, sizeof(nbuf), "%ld", n);
		if (PQstatus(conn) != CONNECTION_OK) {
			printf("%ld ERR %lld ", n, wall_ms());
			print_reason(PQerrorMessage(conn));
		} else {
			PGresult *res = PQexecParams(conn,
				"INSERT INTO primgr_writes (n, port) "
				"VALUES ($1::int, current_setting('port')::int) RETURNING port",
				1, NULL, params, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
				printf("%ld %s %lld\n", n, PQgetvalue(res, 0, 0), wall_ms());
			} else {
				printf("%ld ERR %lld ", n, wall_ms());
				print_reason(PQerrorMessage(conn));
			}
			PQclear(res);
		}
		PQfinish(conn);
		if (interval_ms > 0)
			usleep((useconds_t)interval_ms * 1000);
	}
	return 0;
}

/* main: options, daemonizing, the pidfile, signals and the loop. Everything else lives in
 * libprimgr.a. Exit codes: 0 ok, 1 runtime error, 64 usage, 78 bad configuration. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "http.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "realprimary.h"
#include "refresh.h"
#include "server.h"
#include "state.h"
#include "topology.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

enum { OPT_PRINT_CONFIG = 256, OPT_PIDFILE, OPT_ALLOW_ROOT };

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, 't' },
	{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
	{ "foreground", no_argument, NULL, 'f' },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static struct {
	const char *config_path;
	bool check, print, foreground, allow_root;
	const char *pidfile;
	int verbose;
} opt = { .config_path = CONFIG_DEFAULT_PATH };

static struct config cfg;
static struct identity identity;
static bool pidfile_written;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: primgr [OPTION]...            run the daemon\n"
		"       primgr ctl drain|maint|ready|show [-c FILE]\n"
		"       primgr status [-c FILE] [--host URL] [--json]\n"
		"\n"
		"Tells haproxy and scripts which PostgreSQL node of a repmgr cluster is the primary\n"
		"the cluster agrees on (agent-check and HTTP).\n"
		"\n"
		"  -c, --config FILE    configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		"  -t, --check-config   check the configuration and exit\n"
		"      --print-config   print the effective configuration (with defaults) and exit\n"
		"  -f, --foreground     stay in the foreground\n"
		"      --pidfile FILE   write the process id to FILE\n"
		"  -v, --verbose        log more (repeat for debug)\n"
		"      --allow-root     run even as root\n"
		"  -V, --version        print the version and exit\n"
		"  -h, --help           print this help and exit\n"
		"\n"
		"See primgr(8) and primgr.ini(5).\n");
}

static int verbose_level(int base)
{
	int level = base;
	for (int i = 0; i < opt.verbose && level < LOG_DEBUG; i++)
		level = level < LOG_INFO ? LOG_INFO : LOG_DEBUG;
	return level;
}

static void apply_logging(const struct config *c)
{
	enum log_target target = c->log_target;

	/* A daemon has no stderr: send its log to syslog rather than to /dev/null. */
	if (!opt.foreground)
		target = LOG_TARGET_SYSLOG;
	log_open(target, verbose_level(c->log_level), c->log_facility);
}

/* SIGHUP. Parses into a second struct and validates; on error the running configuration
 * stays (one warning). Otherwise the new values are copied over the running struct in
 * place: this runs on the loop between callbacks, and what the modules keep beyond one
 * callback is their own copy (server: its struct config; pg, peers: their settings; a
 * transfer in flight: curl's copies of the URL and timeouts; the refresh: node URLs, made
 * again from the rules each cycle), so nothing holds a pointer into a half-written value. */
static void reload(void)
{
	static struct config fresh;
	char err[1536], restart[512], changed[1024];
	bool needs_restart;

	if (!config_load(opt.config_path, &fresh, err, sizeof(err))) {
		log_msg(LOG_WARNING, "reload refused, the running configuration stays: %s", err);
		metrics_note_config(false);
		return;
	}
	if (opt.pidfile && !util_strlcpy(fresh.pidfile, opt.pidfile, sizeof(fresh.pidfile)))
		fresh.pidfile[0] = '\0';    /* cannot happen: it fitted at start */
	needs_restart = config_diff(&cfg, &fresh, changed, sizeof(changed), restart,
				    sizeof(restart));
	/* The certificate, key and CA files are read again even when their names did not
	 * change: that is how a renewed certificate is put in place. */
	if (!server_reload_tls(&fresh, err, sizeof(err))) {
		log_msg(LOG_WARNING, "reload refused, the running configuration and certificate "
			"stay: %s", err);
		metrics_note_config(false);
		return;
	}
	if (needs_restart)
		log_msg(LOG_NOTICE, "reload: %s changed: needs a restart to take effect (the "
			"running values stay until then)", restart);
	cfg = fresh;
	apply_logging(&cfg);
	server_reconfigure(&cfg);
	refresh_reconfigure(&cfg);
	realprimary_reconfigure(&cfg);
	metrics_note_config(true);
	log_msg(LOG_NOTICE, "configuration reloaded from %s: %s%s", opt.config_path,
		changed[0] ? "changed " : "", changed[0] ? changed : "no change");
}

static const char *absolute_config_path(const char *path)
{
	char *abs;

	if (path[0] == '/')
		return path;
	abs = realpath(path, NULL);
	if (!abs)
		fatal(CONFIG_EXIT_CONFIG, "%s: %s", path, strerror(errno));
	return abs;    /* kept for the life of the process */
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	switch (w->signum) {
	case SIGHUP:
		reload();
		break;
	default:
		log_msg(LOG_NOTICE, "%s received, stopping", strsignal(w->signum));
		ev_break(loop, EVBREAK_ALL);
	}
}

static void daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		fatal(1, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal(1, "setsid: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fatal(1, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal(1, "chdir /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fatal(1, "/dev/null: %s", strerror(errno));
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void pidfile_write(const char *path)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (util_write_file_atomic(path, text, (size_t)n, 0644) < 0)
		fatal(1, "pidfile %s: %s", path, strerror(errno));
	pidfile_written = true;
}

static void parse_options(int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "c:tfvVh", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.config_path = optarg;
			break;
		case 't':
			opt.check = true;
			break;
		case OPT_PRINT_CONFIG:
			opt.print = true;
			break;
		case 'f':
			opt.foreground = true;
			break;
		case OPT_PIDFILE:
			opt.pidfile = optarg;
			break;
		case 'v':
			opt.verbose++;
			break;
		case OPT_ALLOW_ROOT:
			opt.allow_root = true;
			break;
		case 'V':
			printf("primgr %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(CONFIG_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "primgr: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(CONFIG_EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	struct ev_loop *loop;
	ev_signal sig_term, sig_int, sig_hup;
	char err[512];

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1, CONFIG_DEFAULT_PATH);
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return ctl_status_main(argc - 1, argv + 1, CONFIG_DEFAULT_PATH);
	parse_options(argc, argv);

	if (!config_load(opt.config_path, &cfg, err, sizeof(err)))
		fatal(CONFIG_EXIT_CONFIG, "%s", err);
	metrics_note_config(true);
	http_set_metrics(metrics_format);
	if (opt.pidfile && !util_strlcpy(cfg.pidfile, opt.pidfile, sizeof(cfg.pidfile)))
		fatal(CONFIG_EXIT_USAGE, "--pidfile: path too long");
	if (opt.print) {
		config_print(stdout, &cfg);
		return 0;
	}
	if (opt.check) {
		/* Like haproxy -c: the file is checked; what it points at may not exist here. */
		if (identity_load(&cfg, &identity, err, sizeof(err)))
			printf("%s: configuration ok (node %d \"%s\")\n", opt.config_path,
			       identity.node_id, identity.node_name);
		else
			printf("%s: configuration ok\nwarning: %s (the daemon will not start "
			       "without its identity)\n",
			       opt.config_path, err);
		return 0;
	}
	if (!identity_load(&cfg, &identity, err, sizeof(err)))
		fatal(CONFIG_EXIT_CONFIG, "%s", err);
	if (geteuid() == 0 && !cfg.allow_root && !opt.allow_root)
		fatal(1, "refusing to run as root: run as the postgres user, or set "
			 "[server] allow_root = true or pass --allow-root");

	signal(SIGPIPE, SIG_IGN);
	/* SIGHUP reads the file again, after daemonize's chdir("/"). */
	opt.config_path = absolute_config_path(opt.config_path);
	if (!opt.foreground)
		daemonize();
	apply_logging(&cfg);
	if (cfg.pidfile[0])
		pidfile_write(cfg.pidfile);

	loop = ev_default_loop(EVFLAG_AUTO);
	if (!loop)
		fatal(1, "cannot initialise the event loop");
	if (!server_start(loop, &cfg, err, sizeof(err)))
		fatal(1, "%s", err);
	if (!refresh_start(loop, &cfg, &identity, err, sizeof(err)))
		fatal(1, "%s", err);
	realprimary_start(loop, &cfg, &identity);

	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_init(&sig_int, signal_cb, SIGINT);
	ev_signal_init(&sig_hup, signal_cb, SIGHUP);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_hup);

	log_msg(LOG_NOTICE, "primgr %s started: node %d \"%s\", config %s", PACKAGE_VERSION,
		identity.node_id, identity.node_name, opt.config_path);
	ev_run(loop, 0);

	server_stop();
	realprimary_stop();
	refresh_stop();
	state_shutdown();
	if (pidfile_written)
		unlink(cfg.pidfile);
	log_msg(LOG_NOTICE, "stopped");
	log_close();
	return 0;
}

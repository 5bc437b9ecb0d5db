/* log: leveled logging to stderr or syslog with printf format checking, fatal() for
 * errors before the loop starts, and the level and facility names of the INI. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_target log_target = LOG_TARGET_STDERR;
static int log_level = LOG_NOTICE;
static bool syslog_open;

static const struct {
	const char *name;
	int value;
} levels[] = {
	{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING }, { "error", LOG_ERR },
}, facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

void log_open(enum log_target target, int level, int facility)
{
	if (syslog_open && target != LOG_TARGET_SYSLOG) {
		closelog();
		syslog_open = false;
	}
	if (target == LOG_TARGET_SYSLOG) {
		if (syslog_open)
			closelog();
		openlog("primgr", LOG_PID | LOG_NDELAY, facility);
		syslog_open = true;
	}
	log_target = target;
	log_level = level;
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_close(void)
{
	if (syslog_open)
		closelog();
	syslog_open = false;
}

static void log_vmsg(int prio, const char *fmt, va_list ap)
{
	char line[1024];

	if (prio > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_target == LOG_TARGET_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ primgr[%s]: %s\n", when, ts.tv_nsec / 1000000,
		log_level_name(prio), line);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void fatal(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_target == LOG_TARGET_STDERR) {
		fputs("primgr: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		log_vmsg(LOG_ERR, fmt, ap);
	}
	va_end(ap);
	exit(code);
}

int log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(name, levels[i].name) == 0)
			return levels[i].value;
	return -1;
}

const char *log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].value == level)
			return levels[i].name;
	return level < LOG_ERR ? "error" : "debug";
}

int log_facility_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].value;
	return -1;
}

const char *log_facility_name(int facility)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facilities[i].value == facility)
			return facilities[i].name;
	return "daemon";
}

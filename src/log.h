/* log: leveled logging to stderr or syslog. Priorities are syslog's LOG_* values. */
#ifndef PRIMGR_LOG_H
#define PRIMGR_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

/* Sets the target, the lowest priority written (LOG_DEBUG..LOG_ERR) and the syslog facility. */
void log_open(enum log_target target, int level, int facility);
void log_set_level(int level);
int log_get_level(void);
void log_close(void);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Before the loop runs only: logs at LOG_ERR and exits with code. */
void fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Name <-> priority ("debug", "info", "notice", "warning", "error"); -1 when unknown. */
int log_level_from_name(const char *name);
const char *log_level_name(int level);
/* "daemon", "local0".."local7", "user"; -1 when unknown. */
int log_facility_from_name(const char *name);
const char *log_facility_name(int facility);

#endif

/* metrics: the Prometheus text exposition (format 0.0.4) of the snapshot and of every
 * module's own counters, read when scraped; only main.c calls in. */
#ifndef PRIMGR_METRICS_H
#define PRIMGR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

/* A configuration load: the first call is the start, later ones SIGHUP reloads. */
void metrics_note_config(bool ok);
/* Appends the exposition of every metric (uses the current snapshot); may start a
 * /realPrimary fan-out (realprimary_scrape) so that the next scrape's claims are fresh. */
bool metrics_format(struct buf *out, const struct config *cfg, int64_t now_ms) WUR;

#endif

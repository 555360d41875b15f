/* librig: the public API of needle-rig (umbrella header). */
#ifndef RIG_RIG_H
#define RIG_RIG_H

#include <rig/error.h>
#include <rig/log.h>
#include <rig/clock.h>
#include <rig/pcg32.h>
#include <rig/uri.h>

/** Version string of librig ("0.1.0"). */
const char *rig_version(void);

/** The build's git commit (`git describe` when it was configured), or
 *  "unknown" outside a checkout. */
const char *rig_build_commit(void);

/** Install SIGINT/SIGTERM/SIGHUP handlers that set a flag every blocking librig
 *  call checks; after it is set they return RIG_ERR_INTERRUPTED. */
void rig_install_interrupt_handlers(void);

/** Non-zero once SIGINT/SIGTERM arrived (or rig_request_interrupt ran); in
 *  a nest's thread of a station (rig/station.h), also once that nest alone
 *  was stopped (rig_station_stop_nest). */
int rig_interrupted(void);

/** Set the interrupt flag by hand (tests, operator abort). */
void rig_request_interrupt(void);

/** What interrupted: "interrupted by the operator (Ctrl-C)", "terminated by
 *  SIGTERM (...)", "stopped: its terminal closed (SIGHUP)", or "stopped by
 *  the operator" (rig_request_interrupt); the first cause wins. */
const char *rig_interrupt_cause(void);

#endif

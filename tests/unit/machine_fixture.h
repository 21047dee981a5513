/*
 * Shared by the cmocka tests that run points through the runner: this
 * machine's topology, the busy-work calibration and the compact pinning,
 * loaded once per test group.  A test that needs more calls machine_setup()
 * from its own setup; the others hand setup and teardown to cmocka.
 */
#ifndef SL_TESTS_MACHINE_FIXTURE_H
#define SL_TESTS_MACHINE_FIXTURE_H

#include <stdio.h>

#include "pinning/pin.h"
#include "workloads/workload.h"

static struct sl_topo *topo;
static struct sl_calib calib;
static struct sl_pin_spec pin_compact;

static inline int machine_setup(void)
{
	struct sl_err err;

	if (sl_topo_load(&topo, NULL, NULL, &err) < 0 ||
	    sl_calibrate(&calib, &err) < 0 ||
	    sl_pin_parse("compact", &pin_compact, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline int setup(void **state)
{
	(void)state;
	return machine_setup();
}

static inline int teardown(void **state)
{
	(void)state;
	sl_topo_free(topo);
	return 0;
}

#endif

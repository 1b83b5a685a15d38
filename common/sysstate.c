#include "sysstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-bus.h>

#define SYSTEMD_PRIVATE_BUS "unix:path=/run/systemd/private"

static int connect_private(sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r = sd_bus_new(&bus);

	if (r >= 0)
		r = sd_bus_set_address(bus, SYSTEMD_PRIVATE_BUS);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

static int ask(sd_bus *bus, unsigned timeout_ms, char *buf, size_t size)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char *state = NULL;
	int r;

	r = sd_bus_set_method_call_timeout(bus, (uint64_t)timeout_ms * 1000);
	if (r >= 0)
		r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
					       "org.freedesktop.systemd1.Manager", "SystemState", &err, &state);
	sd_bus_error_free(&err);
	if (r < 0)
		return r;
	snprintf(buf, size, "%s", state);
	free(state);
	return 0;
}

int sysstate_get(char *buf, size_t size, unsigned timeout_ms)
{
	sd_bus *bus = NULL;
	int r = connect_private(&bus);

	if (r >= 0) {
		r = ask(bus, timeout_ms, buf, size);
		sd_bus_flush_close_unref(bus);
		if (r >= 0)
			return 0;
	}
	bus = NULL;
	r = sd_bus_open_system(&bus);
	if (r < 0)
		return r;
	r = ask(bus, timeout_ms, buf, size);
	sd_bus_flush_close_unref(bus);
	return r;
}

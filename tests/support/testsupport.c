/* Shared fixtures for the cmocka tests: temporary directories, free ports,
 * and a simulated station with its fixture and suite loaded. */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rig/fixture.h>
#include <rig/rig.h>
#include <rig/sim.h>
#include <rig/suite.h>

#include "core/core.h"
#include "testsupport.h"

char *ts_mkdtemp(const char *tag)
{
	char tmpl[256];
	char *dir;
	snprintf(tmpl, sizeof(tmpl), "/tmp/rigtest-%s-XXXXXX", tag);
	dir = mkdtemp(tmpl);
	return dir ? strdup(dir) : NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ts_rmtree(const char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

unsigned short ts_free_port(void)
{
	struct sockaddr_in addr = {0};
	socklen_t len = sizeof(addr);
	unsigned short port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		port = ntohs(addr.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

int ts_station_start(struct ts_station *st, unsigned nests, uint64_t seed, const char *fixture)
{
	struct rig_sim_config cfg = {.n_nests = nests, .seed = seed, .lockstep = 1};
	char dir_var[300], port_var[64], path[512];
	const char *vars[] = {dir_var, port_var, NULL};

	memset(st, 0, sizeof(*st));
	st->dir = ts_mkdtemp("station");
	cfg.state_dir = st->dir;
	if (!st->dir || rig_sim_start(&cfg, &st->sim) < 0)
		goto fail;
	snprintf(dir_var, sizeof(dir_var), "SIM_DIR=%s", st->dir);
	snprintf(port_var, sizeof(port_var), "SIM_PORT=%u", (unsigned)rig_sim_port(st->sim));
	snprintf(path, sizeof(path), "%s/%s", RIG_SOURCE_DIR, fixture);
	if (rig_fixture_load(path, vars, &st->fx) < 0 ||
	    rig_suite_load(RIG_SOURCE_DIR "/fixtures/suites/calibrate.yaml", &st->suite) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "ts_station_start: %s\n", rig_last_error());
	ts_station_stop(st);
	return -1;
}

void ts_station_stop(struct ts_station *st)
{
	rig_suite_free(st->suite);
	rig_fixture_free(st->fx);
	rig_sim_stop(st->sim);
	ts_rmtree(st->dir);
	free(st->dir);
	memset(st, 0, sizeof(*st));
}

size_t ts_frame_build(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *p, size_t len)
{
	f[0] = 0xA5;
	f[1] = 0x5A;
	f[2] = 0x01;
	f[3] = type;
	rigi_put_u16le(f + 4, seq);
	rigi_put_u16le(f + 6, (uint16_t)len);
	if (len)
		memcpy(f + 8, p, len);
	rigi_put_u32le(f + 8 + len, rigi_crc32(f + 2, 6 + len));
	return 12 + len;
}

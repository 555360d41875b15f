/* Benchmark: a DAQ capture of 20 kHz x 2 channels x 1 s over Modbus TCP
 * from an in-process simulated station running at SPEED (default 1: real
 * time), through the rig's driver. Prints, per run and as medians: the
 * capture's own real duration (1 s / SPEED), the time the rig sees
 * (configure + arm + wait + read-out), the wait over the capture's duration
 * (how late the rig notices the end), the read-out time and rate, and the
 * overhead on top of the capture.
 * usage: bench_daq_capture [RUNS [SPEED]] (defaults 5, 1) */
#include <stdio.h>
#include <stdlib.h>

#include <rig/instr.h>
#include <rig/rig.h>

#include "simclock.h"
#include "station.h"

#define RATE 20000u
#define SAMPLES 20000u /* per channel: 1 s */
#define CHANNELS 2u

struct run {
	double setup_s, wait_s, read_s, total_s;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int one_run(struct rig_daq *daq, int16_t *buf, struct run *r)
{
	struct rig_daq_config cfg = {RATE, SAMPLES, 0x3, RIG_DAQ_TRIGGER_IMMEDIATE};
	int64_t t0 = rig_clock_ns(), t1, t2, t3;
	int ret = rig_daq_configure(daq, &cfg);

	if (ret == 0)
		ret = rig_daq_arm(daq);
	t1 = rig_clock_ns();
	if (ret == 0)
		ret = rig_daq_wait(daq, 5000);
	t2 = rig_clock_ns();
	if (ret == 0)
		ret = rig_daq_read(daq, buf, SAMPLES * CHANNELS, NULL);
	t3 = rig_clock_ns();
	r->setup_s = (t1 - t0) * 1e-9;
	r->wait_s = (t2 - t1) * 1e-9;
	r->read_s = (t3 - t2) * 1e-9;
	r->total_s = (t3 - t0) * 1e-9;
	return ret;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct sim_clock clock;
	struct sim_station_config cfg = {.n_nests = 1, .seed = 1, .clock = &clock};
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
	double speed = argc > 2 ? strtod(argv[2], NULL) : 1.0;
	double capture_s, regs = SAMPLES * CHANNELS;
	double total[64], readout[64], overhead[64], late[64];
	struct sim_station *st = NULL;
	struct rig_daq *daq = NULL;
	int16_t *buf = malloc(SAMPLES * CHANNELS * sizeof(int16_t));
	char uri[64];
	int ret;

	if (runs < 1 || runs > 64)
		runs = 5;
	if (!(speed >= 0.01 && speed <= 1000))
		speed = 1.0;
	sim_clock_init(&clock, speed);
	capture_s = (double)SAMPLES / RATE / speed;
	ret = sim_station_new(&cfg, &st);
	if (ret == 0)
		ret = sim_station_start(st);
	snprintf(uri, sizeof(uri), "modbus-tcp://127.0.0.1:%u?unit=1", st ? sim_station_port(st) : 0);
	if (ret == 0)
		ret = rig_daq_open(uri, &daq);
	printf("DAQ capture over Modbus TCP, %u Hz x %u channels x %.3f s (%u samples, %u "
	       "blocks of <= 125 registers), station speed %g\n",
	       RATE, CHANNELS, (double)SAMPLES / RATE, SAMPLES * CHANNELS,
	       (SAMPLES * CHANNELS + 124) / 125, speed);
	printf("%4s %10s %10s %10s %10s %10s %10s %12s %10s\n", "run", "capture_s", "setup_s",
	       "wait_s", "wait/capt", "readout_s", "total_s", "registers/s", "overhead");
	for (int i = 0; i < runs && ret == 0; i++) {
		struct run r;
		ret = one_run(daq, buf, &r);
		if (ret < 0)
			break;
		total[i] = r.total_s;
		readout[i] = r.read_s;
		overhead[i] = r.total_s - capture_s;
		late[i] = r.wait_s / capture_s;
		printf("%4d %10.4f %10.4f %10.4f %10.3f %10.4f %10.4f %12.3e %8.1f ms\n", i + 1,
		       capture_s, r.setup_s, r.wait_s, late[i], r.read_s, r.total_s,
		       regs / r.read_s, overhead[i] * 1e3);
	}
	if (ret == 0)
		printf("median: total %.4f s, wait/capture %.3f, read-out %.4f s (%.3e "
		       "registers/s), overhead %.1f ms (%.2f %% of the capture)\n",
		       median(total, runs), median(late, runs), median(readout, runs),
		       regs / median(readout, runs), median(overhead, runs) * 1e3,
		       median(overhead, runs) / capture_s * 100);
	else
		fprintf(stderr, "bench_daq_capture: %s: %s\n", rig_strerror(ret), rig_last_error());
	rig_daq_close(daq);
	sim_station_free(st);
	free(buf);
	return ret == 0 ? 0 : 1;
}

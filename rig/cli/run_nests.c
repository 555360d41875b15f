/* Several nests of one station at once on the terminal (`rig run --nests`,
 * `rig demo --nests`): the station runs them in parallel (rig/station.h);
 * here each unit gets its store sink, a progress line per nest and step
 * (one live line would mix the nests), and one summary line when it ends,
 * with a tally by outcome. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/station.h>

#include "cli.h"

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void print_step(const struct rig_run_progress *p, void *user)
{
	struct cli_nest *n = user;
	if (p->step_index + 1 == n->last_step)
		return;
	n->last_step = p->step_index + 1;
	pthread_mutex_lock(&print_lock);
	fprintf(stderr, "%s step %u/%u %s\n", n->label, p->step_index + 1, p->n_steps, p->step);
	pthread_mutex_unlock(&print_lock);
}

static int before_unit(struct rig_nest_job *job, unsigned k)
{
	struct cli_nest *n = job->user;
	struct cli_nests *cn = n->all;
	int ret;
	snprintf(n->label, sizeof(n->label), "nest %u", job->opt.nest);
	if (cn->load_unit && (ret = cn->load_unit(n, job, k)) != 0) {
		n->load_failed = 1;
		pthread_mutex_lock(&print_lock);
		cn->tally[RIG_OUTCOME_ERROR]++;
		pthread_mutex_unlock(&print_lock);
		return ret;
	}
	n->last_step = 0;
	cli_run_store_open(&n->cs, job->opt.reports_dir, cn->store_url, cn->station_id);
	job->opt.sinks = n->cs.store ? &n->cs.sink : NULL;
	job->opt.n_sinks = n->cs.store ? 1 : 0;
	job->opt.warnings = n->cs.warnings;
	job->opt.progress = cn->n == 1 ? cli_print_progress : print_step;
	job->opt.progress_user = n->label;
	if (cn->n > 1)
		job->opt.progress_user = n;
	return 0;
}

static void after_unit(struct rig_nest_job *job, unsigned k, int ret,
		       const struct rig_run_summary *sum)
{
	struct cli_nest *n = job->user;
	struct cli_nests *cn = n->all;
	(void)k;
	cli_run_store_close(&n->cs);
	pthread_mutex_lock(&print_lock);
	cli_progress_done();
	if (ret < 0) {
		fprintf(stderr, "rig %s: nest %u: no record: %s: %s\n", cn->command, job->opt.nest,
			rig_strerror(ret), rig_last_error());
		cn->tally[RIG_OUTCOME_ERROR]++;
	} else {
		if (cn->n > 1)
			printf("nest %u  ", job->opt.nest);
		cli_print_summary(stdout, sum);
		if (cn->print_paths)
			printf("%srecord: %s\n", cn->n > 1 ? "        " : "", sum->record_path);
		if (cn->print_paths && sum->report_failures[0])
			fprintf(stderr, "rig %s: nest %u: reports not written (the outcome stands): "
					"%s\n", cn->command, job->opt.nest, sum->report_failures);
		if (cn->print_paths && (sum->outcome == RIG_OUTCOME_ERROR || sum->bad_input))
			fprintf(stderr, "rig %s: nest %u, %s %s: %s (%s)\n", cn->command,
				job->opt.nest, sum->serial, rig_outcome_name(sum->outcome), sum->reason,
				sum->error ? rig_errname(sum->error) : "no code");
		cn->bad_input |= sum->bad_input;
		cn->tally[sum->outcome]++;
	}
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

int cli_nests_run(struct cli_nests *cn, const struct rig_run_options *base,
		  const unsigned *nests, const unsigned *units, enum rig_outcome *worst)
{
	struct rig_station_options so = {base->fixture, base->reports_dir, base->time_scale,
					  cn->holder};
	struct rig_nest_job jobs[RIG_FIXTURE_MAX_NESTS];
	struct rig_station *st = NULL;
	int ret = rig_station_open(&so, &st);

	*worst = RIG_OUTCOME_PASS;
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < cn->n; i++) {
		cn->nest[i].all = cn;
		cn->nest[i].load_failed = 0;
		jobs[i] = (struct rig_nest_job){.opt = *base, .units = units[i],
						.before_unit = before_unit, .after_unit = after_unit,
						.user = &cn->nest[i]};
		jobs[i].opt.nest = nests[i];
	}
	ret = rig_station_run(st, jobs, cn->n);
	for (size_t i = 0; ret == 0 && i < cn->n; i++)
		*worst = rig_outcome_combine(*worst, cn->nest[i].load_failed ? RIG_OUTCOME_ERROR
									      : jobs[i].worst);
	rig_station_capture_counts(st, &cn->captures, &cn->requests);
	rig_station_close(st);
	return ret;
}

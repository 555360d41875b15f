/* Station fixture files: loading and checking (format in docs/files.md),
 * and the readiness checks that only need the fixture and the date: station
 * sensors in calibration, phantom fresh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rig/fixture.h>
#include <rig/uri.h>

#include "core/config.h"
#include "core/core.h"

static const char *const top_keys[] = {"station", "daq",    "nests",    "phantom",
				       "safety",  "line_key", "signing_key", "reports", "store", NULL};
static const char *const reports_keys[] = {"formats", "captures", NULL};
static const char *const station_keys[] = {"id", "name", NULL};
static const char *const daq_keys[] = {"uri", "sample_rate_hz", "captures", NULL};
/* How nests share the DAQ (rig/station.h); the order is enum rig_daq_sharing. */
static const char *const sharing_names[] = {"shared", "turns", NULL};
static const char *const nest_keys[] = {"index", "dut", "displacement", "force", NULL};
static const char *const sensor_keys[] = {"uri",  "channel", "scale", "offset",
					  "unit", "calibration", NULL};
static const char *const cal_keys[] = {"certificate", "calibrated", "due",
				       "standard_uncertainty", NULL};
static const char *const phantom_keys[] = {"type", "lot", "installed", "max_strokes",
					   "expires", "tent_residual", NULL};
static const char *const safety_keys[] = {"max_force_mn", "max_protrusion_um", NULL};

enum uri_class { URI_MODBUS, URI_DUT };

/* A string that must parse as an address of @p cls. */
static int read_uri(const struct rigi_map *m, const char *key, enum uri_class cls, char **out)
{
	struct rig_uri uri;
	int ret = rigi_map_str(m, key, RIGI_REQUIRED, out);
	if (ret < 0)
		return ret;
	const char *expected = cls == URI_MODBUS
				       ? "a Modbus address (modbus-tcp://HOST:PORT?unit=N or "
					 "modbus-rtu:///dev/DEVICE?baud=B&unit=N)"
				       : "a pen address (usb://VID:PID?serial=S, unix:///PATH or "
					 "tcp://HOST:PORT)";
	char why[512] = "";
	ret = rig_uri_parse(*out, &uri);
	if (ret < 0)
		snprintf(why, sizeof(why), " (%s)", rig_last_error());
	else if (cls == URI_MODBUS && uri.scheme != RIG_URI_MODBUS_TCP &&
		 uri.scheme != RIG_URI_MODBUS_RTU)
		snprintf(why, sizeof(why), " (not a Modbus scheme)");
	else if (cls == URI_MODBUS && uri.unit == 0)
		/* Broadcast: on RTU nothing answers it; over TCP a gateway or
		 * server may answer as whichever device it likes, so readings
		 * could come from another instrument. */
		snprintf(why, sizeof(why),
			 " (unit 0 is the Modbus broadcast address, not an instrument: give the "
			 "instrument's own unit id 1..247, e.g. ?unit=1)");
	else if (cls == URI_DUT && (uri.scheme == RIG_URI_MODBUS_TCP ||
				    uri.scheme == RIG_URI_MODBUS_RTU))
		snprintf(why, sizeof(why), " (a Modbus scheme)");
	if (!why[0])
		return 0;
	return rigi_cfg_fail(m->cfg, rigi_map_find(m, key), "'%s': expected %s, found '%.200s'%s",
			     key, expected, *out, why);
}

static int read_cal(const struct rigi_map *sensor, struct rig_sensor_cal *cal)
{
	struct rigi_map m;
	int ret = rigi_map_map(sensor, "calibration", RIGI_REQUIRED, cal_keys, &m);
	if (ret < 0)
		return ret;
	if ((ret = rigi_map_str(&m, "certificate", RIGI_REQUIRED, &cal->certificate)) < 0 ||
	    (ret = rigi_map_date(&m, "calibrated", RIGI_REQUIRED, &cal->calibrated)) < 0 ||
	    (ret = rigi_map_date(&m, "due", RIGI_REQUIRED, &cal->due)) < 0 ||
	    (ret = rigi_map_num(&m, "standard_uncertainty", RIGI_REQUIRED, 1e-6, 1e6,
				&cal->standard_uncertainty)) < 0)
		return ret;
	if (rig_date_compare(&cal->due, &cal->calibrated) < 0) {
		char d[16];
		return rigi_cfg_fail(m.cfg, rigi_map_find(&m, "due"),
				     "'due': expected a date on or after 'calibrated' (%s), found %s",
				     rig_date_format(&cal->calibrated, d, sizeof(d)),
				     rigi_map_find(&m, "due")->text);
	}
	return 0;
}

static int read_sensor(const struct rigi_map *nest, const char *key, const char *unit,
		       struct rig_sensor *s)
{
	const char *const units[] = {unit, NULL};
	struct rigi_map m;
	unsigned long channel = 0;
	int unit_index;
	int ret = rigi_map_map(nest, key, RIGI_REQUIRED, sensor_keys, &m);
	if (ret < 0)
		return ret;
	if ((ret = read_uri(&m, "uri", URI_MODBUS, &s->uri)) < 0 ||
	    (ret = rigi_map_uint(&m, "channel", RIGI_REQUIRED, 0, RIG_FIXTURE_MAX_CHANNEL,
				 &channel)) < 0 ||
	    (ret = rigi_map_num(&m, "scale", RIGI_REQUIRED, -1e6, 1e6, &s->scale)) < 0 ||
	    (ret = rigi_map_num(&m, "offset", RIGI_OPTIONAL, -1e9, 1e9, &s->offset)) < 0 ||
	    (ret = rigi_map_enum(&m, "unit", RIGI_REQUIRED, units, &unit_index)) < 0)
		return ret;
	if (s->scale == 0)
		return rigi_cfg_fail(m.cfg, rigi_map_find(&m, "scale"),
				     "'scale': expected a non-zero %s per count, found 0", unit);
	s->daq_channel = (unsigned)channel;
	snprintf(s->unit, sizeof(s->unit), "%s", unit);
	return read_cal(&m, &s->cal);
}

/* Path as a device identity: repeated '/' collapsed, "/./" dropped, no
 * trailing '/' (the kernel opens the same file for all these spellings). */
static void normalize_path(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < cap; p++) {
		if (*p == '/' && n > 0 && out[n - 1] == '/')
			continue;
		if (*p == '.' && n > 0 && out[n - 1] == '/' && (p[1] == '/' || !p[1]))
			continue;
		out[n++] = *p;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
}

static int text_differs(const char *a, const char *b)
{
	return a[0] && b[0] && strcmp(a, b) != 0;
}

/* Whether two (already valid) addresses name the same device: the same
 * scheme and host (case-insensitive) and port, or the same normalized path,
 * and the same Modbus unit; query options such as timeout_ms do not count.
 * usb: the same VID:PID unless both give a serial (or both a path) and
 * these differ — without one, either may open the other's pen. */
static int same_device(const char *ta, const char *tb)
{
	struct rig_uri a, b;
	char pa[RIG_URI_TEXT_MAX], pb[RIG_URI_TEXT_MAX];
	if (rig_uri_parse(ta, &a) < 0 || rig_uri_parse(tb, &b) < 0)
		return strcmp(ta, tb) == 0;
	if (a.scheme != b.scheme || a.unit != b.unit)
		return 0;
	switch (a.scheme) {
	case RIG_URI_MODBUS_TCP:
	case RIG_URI_TCP:
		return a.port == b.port && strcasecmp(a.host, b.host) == 0;
	case RIG_URI_USB:
		return a.vid == b.vid && a.pid == b.pid && !text_differs(a.serial, b.serial) &&
		       !text_differs(a.usb_path, b.usb_path);
	case RIG_URI_MODBUS_RTU:
	case RIG_URI_UNIX:
		normalize_path(a.path, pa, sizeof(pa));
		normalize_path(b.path, pb, sizeof(pb));
		return strcmp(pa, pb) == 0;
	}
	return 0;
}

/* Two nests must not share an index, a pen, a sensor or a DAQ channel, and
 * no device may serve in two roles: a mix-up would judge one pen by
 * another's signals. Addresses are compared by same_device(). */
static int check_distinct(const struct rigi_map *m, const struct rig_fixture *fx,
			  const struct rig_nest *n)
{
	const struct rig_sensor *mine[2] = {&n->displacement, &n->force};
	if (n->displacement.daq_channel == n->force.daq_channel)
		return rigi_cfg_fail(m->cfg, m->node,
				     "%s: expected different DAQ channels for displacement and "
				     "force, found channel %u for both",
				     m->what, n->force.daq_channel);
	if (same_device(n->displacement.uri, n->force.uri))
		return rigi_cfg_fail(m->cfg, m->node,
				     "%s: expected two sensors, found the displacement sensor "
				     "'%s' and the force sensor '%s' to be the same device",
				     m->what, n->displacement.uri, n->force.uri);
	for (int a = 0; a < 2; a++)
		if (fx->daq.uri && same_device(mine[a]->uri, fx->daq.uri))
			return rigi_cfg_fail(m->cfg, m->node,
					     "%s: expected a sensor apart from the DAQ, found %s "
					     "'%s' to be the DAQ '%s'",
					     m->what, a ? "the force sensor" : "the displacement sensor",
					     mine[a]->uri, fx->daq.uri);
	for (unsigned i = 0; i < fx->n_nests; i++) {
		const struct rig_nest *o = &fx->nests[i];
		const struct rig_sensor *theirs[2] = {&o->displacement, &o->force};
		if (o->index == n->index || same_device(o->dut_uri, n->dut_uri))
			return rigi_cfg_fail(m->cfg, m->node,
					     "%s: expected a nest index and pen of its own, found "
					     "the same %s as nests[%u]",
					     m->what, o->index == n->index ? "index" : "dut", i);
		for (int a = 0; a < 2; a++) {
			for (int b = 0; b < 2; b++) {
				if (mine[a]->daq_channel == theirs[b]->daq_channel ||
				    same_device(mine[a]->uri, theirs[b]->uri))
					return rigi_cfg_fail(
						m->cfg, m->node,
						"%s: expected sensors and DAQ channels of its "
						"own, found %s shared with nests[%u]",
						m->what, a ? "the force sensor" : "the displacement sensor",
						i);
			}
		}
	}
	return 0;
}

static int read_nest(const struct rigi_cfg *cfg, const struct rigi_node *node, size_t i,
		     struct rig_fixture *fx)
{
	struct rig_nest *n = &fx->nests[fx->n_nests];
	struct rigi_map m;
	unsigned long index = 0;
	char what[32];
	snprintf(what, sizeof(what), "nests[%zu]", i);
	int ret = rigi_cfg_map(cfg, node, what, nest_keys, &m);
	if (ret < 0)
		return ret;
	if ((ret = rigi_map_uint(&m, "index", RIGI_REQUIRED, 0, RIG_FIXTURE_MAX_NESTS - 1,
				 &index)) < 0 ||
	    (ret = read_uri(&m, "dut", URI_DUT, &n->dut_uri)) < 0 ||
	    (ret = read_sensor(&m, "displacement", "um", &n->displacement)) < 0 ||
	    (ret = read_sensor(&m, "force", "mN", &n->force)) < 0)
		return ret;
	n->index = (unsigned)index;
	ret = check_distinct(&m, fx, n);
	if (ret == 0)
		fx->n_nests++;
	return ret;
}

static int read_nests(const struct rigi_map *top, struct rig_fixture *fx)
{
	const struct rigi_node *seq;
	int ret = rigi_map_seq(top, "nests", RIGI_REQUIRED, &seq);
	if (ret < 0)
		return ret;
	if (seq->n == 0 || seq->n > RIG_FIXTURE_MAX_NESTS)
		return rigi_cfg_fail(top->cfg, seq, "'nests': expected 1 to %d nests, found %zu",
				     RIG_FIXTURE_MAX_NESTS, seq->n);
	for (size_t i = 0; i < seq->n; i++) {
		ret = read_nest(top->cfg, seq->items[i], i, fx);
		if (ret < 0) {
			/* Count the half-read nest so that rig_fixture_free frees it. */
			fx->n_nests++;
			return ret;
		}
	}
	return 0;
}

static int read_phantom(const struct rigi_map *top, struct rig_phantom *p)
{
	struct rigi_map m;
	unsigned long strokes = 0;
	int ret = rigi_map_map(top, "phantom", RIGI_REQUIRED, phantom_keys, &m);
	if (ret < 0)
		return ret;
	if ((ret = rigi_map_str(&m, "type", RIGI_REQUIRED, &p->type)) < 0 ||
	    (ret = rigi_map_str(&m, "lot", RIGI_OPTIONAL, &p->lot)) < 0 ||
	    (ret = rigi_map_date(&m, "installed", RIGI_REQUIRED, &p->installed)) < 0 ||
	    (ret = rigi_map_uint(&m, "max_strokes", RIGI_OPTIONAL, 1, 1000000000000UL,
				 &strokes)) < 0 ||
	    (ret = rigi_map_date(&m, "expires", RIGI_OPTIONAL, &p->expires)) < 0)
		return ret;
	p->tent_residual = 1.0;
	if ((ret = rigi_map_num(&m, "tent_residual", RIGI_OPTIONAL, 0, 1, &p->tent_residual)) < 0)
		return ret;
	p->max_strokes = strokes;
	p->has_expiry = rigi_map_find(&m, "expires") != NULL;
	if (!strokes && !p->has_expiry)
		return rigi_cfg_fail(m.cfg, m.node,
				     "'phantom': expected 'max_strokes' or 'expires' (when to "
				     "replace it), found neither");
	if (p->has_expiry && rig_date_compare(&p->expires, &p->installed) < 0)
		return rigi_cfg_fail(m.cfg, rigi_map_find(&m, "expires"),
				     "'expires': expected a date on or after 'installed', found %s",
				     rigi_map_find(&m, "expires")->text);
	return 0;
}

/* reports: {formats: html,pdf | all | none, captures: first | none | all} */
static int read_reports(const struct rigi_map *top, struct rig_fixture *fx)
{
	struct rigi_map m;
	char *keep = NULL;
	int ret = rigi_map_map(top, "reports", RIGI_OPTIONAL, reports_keys, &m);
	if (ret < 0 || !rigi_map_find(top, "reports"))
		return ret;
	if ((ret = rigi_map_str(&m, "formats", RIGI_OPTIONAL, &fx->report_formats)) < 0 ||
	    (ret = rigi_map_str(&m, "captures", RIGI_OPTIONAL, &keep)) < 0)
		return ret;
	if (keep && strcmp(keep, "first") && strcmp(keep, "none") && strcmp(keep, "all"))
		ret = rigi_cfg_fail(m.cfg, rigi_map_find(&m, "captures"),
				    "'captures': expected first, none or all, found %s", keep);
	else if (keep)
		fx->keep_captures = !strcmp(keep, "none") ? 1 : !strcmp(keep, "all") ? 2 : 0;
	free(keep);
	return ret;
}

static int read_fixture(const struct rigi_cfg *cfg, const struct rigi_node *root,
			struct rig_fixture *fx)
{
	struct rigi_map top, station, daq, safety;
	unsigned long rate = 0;
	int sharing = RIG_DAQ_SHARED;
	int ret = rigi_cfg_map(cfg, root, NULL, top_keys, &top);
	if (ret < 0)
		return ret;
	if ((ret = rigi_map_map(&top, "station", RIGI_REQUIRED, station_keys, &station)) < 0 ||
	    (ret = rigi_map_str(&station, "id", RIGI_REQUIRED, &fx->station_id)) < 0 ||
	    (ret = rigi_map_str(&station, "name", RIGI_REQUIRED, &fx->station_name)) < 0 ||
	    (ret = rigi_map_map(&top, "daq", RIGI_REQUIRED, daq_keys, &daq)) < 0 ||
	    (ret = read_uri(&daq, "uri", URI_MODBUS, &fx->daq.uri)) < 0 ||
	    (ret = rigi_map_uint(&daq, "sample_rate_hz", RIGI_REQUIRED, 1, 1000000, &rate)) < 0 ||
	    (ret = rigi_map_enum(&daq, "captures", RIGI_OPTIONAL, sharing_names, &sharing)) < 0 ||
	    (ret = read_nests(&top, fx)) < 0 || (ret = read_phantom(&top, &fx->phantom)) < 0 ||
	    (ret = rigi_map_map(&top, "safety", RIGI_REQUIRED, safety_keys, &safety)) < 0 ||
	    (ret = rigi_map_num(&safety, "max_force_mn", RIGI_REQUIRED, 1, 1e6,
				&fx->safety.max_force_mn)) < 0 ||
	    (ret = rigi_map_num(&safety, "max_protrusion_um", RIGI_REQUIRED, 1, 1e4,
				&fx->safety.max_protrusion_um)) < 0 ||
	    (ret = rigi_map_str(&top, "line_key", RIGI_REQUIRED, &fx->line_key)) < 0 ||
	    (ret = rigi_map_str(&top, "signing_key", RIGI_OPTIONAL, &fx->signing_key)) < 0 ||
	    (ret = rigi_map_str(&top, "store", RIGI_OPTIONAL, &fx->store)) < 0 ||
	    (ret = read_reports(&top, fx)) < 0)
		return ret;
	fx->daq.sample_rate_hz = (unsigned)rate;
	fx->daq.sharing = (enum rig_daq_sharing)sharing;
	return 0;
}

int rig_fixture_load(const char *path, const char *const *vars, struct rig_fixture **out)
{
	struct rigi_doc *doc = NULL;
	struct rig_fixture *fx = NULL;
	struct rigi_cfg cfg = {.path = path, .vars = vars, .expand = 1};
	int ret;

	if (!path || !out)
		return rigi_fail(RIG_ERR_ARG, "rig_fixture_load: path and out are required");
	*out = NULL;
	ret = rigi_yaml_load(path, &doc);
	if (ret < 0)
		goto out;
	fx = calloc(1, sizeof(*fx));
	if (!fx || !(fx->path = strdup(path))) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	ret = read_fixture(&cfg, doc->root, fx);
out:
	rigi_doc_free(doc);
	if (ret < 0) {
		rig_fixture_free(fx);
		return ret;
	}
	RIGI_DEBUG("fixture", "%s: station %s, %u nests, DAQ %s at %u Hz", path, fx->station_id,
		   fx->n_nests, fx->daq.uri, fx->daq.sample_rate_hz);
	*out = fx;
	return 0;
}

static void sensor_free(struct rig_sensor *s)
{
	free(s->uri);
	free(s->cal.certificate);
}

void rig_fixture_free(struct rig_fixture *fx)
{
	if (!fx)
		return;
	for (unsigned i = 0; i < fx->n_nests; i++) {
		free(fx->nests[i].dut_uri);
		sensor_free(&fx->nests[i].displacement);
		sensor_free(&fx->nests[i].force);
	}
	free(fx->path);
	free(fx->station_id);
	free(fx->station_name);
	free(fx->daq.uri);
	free(fx->phantom.type);
	free(fx->phantom.lot);
	free(fx->signing_key);
	free(fx->store);
	free(fx->report_formats);
	free(fx->line_key);
	free(fx);
}

const struct rig_nest *rig_fixture_nest(const struct rig_fixture *fx, unsigned index)
{
	for (unsigned i = 0; fx && i < fx->n_nests; i++)
		if (fx->nests[i].index == index)
			return &fx->nests[i];
	return NULL;
}

/* Append the problem with one sensor's calibration to @p f; 1 if any. */
static int sensor_due_problem(FILE *f, const struct rig_nest *n, const char *which,
			      const struct rig_sensor_cal *cal, const struct rig_date *today,
			      int count)
{
	char due[16], cald[16], now[16];
	rig_date_format(&cal->due, due, sizeof(due));
	rig_date_format(&cal->calibrated, cald, sizeof(cald));
	rig_date_format(today, now, sizeof(now));
	if (rig_date_compare(today, &cal->due) > 0)
		fprintf(f, "%snest %u %s sensor (certificate %s) was due for calibration on %s "
			   "(today %s)",
			count ? "; " : "", n->index, which, cal->certificate, due, now);
	else if (rig_date_compare(today, &cal->calibrated) < 0)
		fprintf(f, "%snest %u %s sensor (certificate %s, due %s) is calibrated on %s, "
			   "after today %s: the station clock or the certificate date is wrong",
			count ? "; " : "", n->index, which, cal->certificate, due, cald, now);
	else
		return 0;
	return 1;
}

int rig_fixture_check_due(const struct rig_fixture *fx, const struct rig_date *today,
			  char **detail)
{
	char *text = NULL;
	size_t len = 0;
	int count = 0;
	FILE *f;

	if (detail)
		*detail = NULL;
	if (!fx || !today)
		return rigi_fail(RIG_ERR_ARG, "rig_fixture_check_due: fixture and today are required");
	f = open_memstream(&text, &len);
	if (!f)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory checking calibration dates");
	fprintf(f, "station %s: ", fx->station_id);
	for (unsigned i = 0; i < fx->n_nests; i++) {
		const struct rig_nest *n = &fx->nests[i];
		count += sensor_due_problem(f, n, "displacement", &n->displacement.cal, today, count);
		count += sensor_due_problem(f, n, "force", &n->force.cal, today, count);
	}
	fprintf(f, "; have the sensors calibrated and update %s before certifying units", fx->path);
	if (fclose(f) != 0 || !text) {
		free(text);
		return rigi_fail(RIG_ERR_NOMEM, "out of memory checking calibration dates");
	}
	if (count == 0) {
		free(text);
		return 0;
	}
	int ret = rigi_fail(RIG_ERR_STATE, "%s", text);
	if (detail)
		*detail = text;
	else
		free(text);
	return ret;
}

int rig_fixture_check_phantom(const struct rig_fixture *fx, const struct rig_date *today,
			      uint64_t strokes_used)
{
	char d[16], now[16];
	if (!fx || !today)
		return rigi_fail(RIG_ERR_ARG, "rig_fixture_check_phantom: fixture and today are required");
	const struct rig_phantom *p = &fx->phantom;
	rig_date_format(today, now, sizeof(now));
	if (rig_date_compare(today, &p->installed) < 0)
		return rigi_fail(RIG_ERR_STATE,
				 "station %s: phantom installed on %s, after today %s: the station "
				 "clock or %s is wrong",
				 fx->station_id, rig_date_format(&p->installed, d, sizeof(d)), now,
				 fx->path);
	if (p->has_expiry && rig_date_compare(today, &p->expires) > 0)
		return rigi_fail(RIG_ERR_STATE,
				 "station %s: phantom (%s) expired on %s (today %s); replace it and "
				 "update 'phantom' in %s",
				 fx->station_id, p->type, rig_date_format(&p->expires, d, sizeof(d)),
				 now, fx->path);
	if (p->max_strokes && strokes_used >= p->max_strokes)
		return rigi_fail(RIG_ERR_STATE,
				 "station %s: phantom (%s) has taken %llu strokes, its limit is %llu; "
				 "replace it and update 'phantom' in %s",
				 fx->station_id, p->type, (unsigned long long)strokes_used,
				 (unsigned long long)p->max_strokes, fx->path);
	return 0;
}

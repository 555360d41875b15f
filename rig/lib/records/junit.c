/* The JUnit XML report (docs/reports.md "JUnit"): one <testsuite> per run
 * for CI and MES tools, written with libxml2's xmlTextWriter — the
 * project's only libxml2 caller.
 *
 * Cases, in the record's order:
 *  - one per judged measurement: classname = step, name = measurement,
 *    with its numbers in <system-out> when it passed; a verdict worse
 *    than its step's outcome did not decide the step (as-found limits
 *    only mark a unit "drifted": docs/calibration.md) and is shown in
 *    <system-out> of a passing case, not counted, so that CI goes red
 *    exactly when the unit did not pass;
 *  - one per step with no judged measurement, or whose outcome is worse
 *    than its measurements' (a step that did not finish): classname
 *    "steps", name = step, so a run that ended ERROR in identify still
 *    says why;
 *  - one "run" case when the run's outcome is worse than every case above
 *    (no step ran, or a recovered run "run did not finish").
 * PASS is an empty case, FAIL and INDETERMINATE a <failure> (a conformity
 * not proven is not a pass), ERROR an <error>, ABORTED a <skipped>. The
 * worst case's result is therefore always the run's outcome. A step's
 * duration is shared evenly by its cases (the record does not time
 * measurements one by one). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlwriter.h>

#include <rig/error.h>
#include <rig/record.h>
#include <rig/report.h>
#include <rig/verdict.h>

#include "core/core.h"
#include "records/output.h"
#include "records/records.h"

/* ---- text: valid UTF-8 and XML 1.0 characters only ---- */

/* 1 when @p s is valid UTF-8 (no overlong forms, no surrogates) made of
 * XML 1.0 characters only (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF). */
static int xml_text_ok(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n, cp;
		if (c < 0x80) {
			if (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD)
				return 0;
			s++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return 0; /* also stops at the NUL */
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
			return 0;
		s += n + 1;
	}
	return 1;
}

/* @p s as XML can carry it: unchanged when xml_text_ok, else (as the record
 * writes such text) '?' for each byte outside printable ASCII. *copy is
 * what the caller frees (NULL when @p s is returned). NULL: out of memory. */
static const char *xml_text(const char *s, char **copy)
{
	*copy = NULL;
	if (xml_text_ok((const unsigned char *)s))
		return s;
	size_t n = strlen(s);
	if (!(*copy = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)s[i];
		(*copy)[i] = (c && (c < 0x20 || c > 0x7E)) ? '?' : (char)c;
	}
	return *copy;
}

/* ---- the writer: the first failure is kept, later calls do nothing ---- */

struct jw {
	xmlTextWriterPtr w;
	const char *failed; /* what could not be written, or NULL */
};

static void jw_check(struct jw *j, int rc, const char *what)
{
	if (rc < 0 && !j->failed)
		j->failed = what;
}

static void jw_start(struct jw *j, const char *element)
{
	if (!j->failed)
		jw_check(j, xmlTextWriterStartElement(j->w, BAD_CAST element), element);
}

static void jw_end(struct jw *j)
{
	if (!j->failed)
		jw_check(j, xmlTextWriterEndElement(j->w), "the end of an element");
}

static void jw_attr(struct jw *j, const char *name, const char *value)
{
	char *copy;
	const char *v;
	if (j->failed)
		return;
	if (!(v = xml_text(value ? value : "", &copy))) {
		j->failed = name;
		return;
	}
	jw_check(j, xmlTextWriterWriteAttribute(j->w, BAD_CAST name, BAD_CAST v), name);
	free(copy);
}

static void jw_attrf(struct jw *j, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void jw_attrf(struct jw *j, const char *name, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	jw_attr(j, name, buf);
}

static void jw_text(struct jw *j, const char *text)
{
	char *copy;
	const char *v;
	if (j->failed || !text || !*text)
		return;
	if (!(v = xml_text(text, &copy))) {
		j->failed = "text";
		return;
	}
	jw_check(j, xmlTextWriterWriteString(j->w, BAD_CAST v), "text");
	free(copy);
}

static void jw_property(struct jw *j, const char *name, const char *value)
{
	jw_start(j, "property");
	jw_attr(j, "name", name);
	jw_attr(j, "value", value);
	jw_end(j);
}

/* ---- the cases ---- */

enum jcase_kind { JCASE_MEASUREMENT, JCASE_STEP, JCASE_RUN };

struct jcase {
	enum jcase_kind kind;
	const struct rig_record_step *step;    /* NULL for the run case */
	const struct rig_measurement *m;       /* JCASE_MEASUREMENT only */
	enum rig_outcome outcome;              /* the case's result */
	int counted;                           /* 0: m's verdict did not decide its step */
	double time;
};

struct jcases {
	struct jcase *v;
	size_t n;
	unsigned failures, errors, skipped;
};

static void jcases_push(struct jcases *c, struct jcase k)
{
	c->v[c->n++] = k;
	switch (k.outcome) {
	case RIG_OUTCOME_PASS:
		break;
	case RIG_OUTCOME_FAIL:
	case RIG_OUTCOME_INDETERMINATE:
		c->failures++;
		break;
	case RIG_OUTCOME_ABORTED:
		c->skipped++;
		break;
	default: /* ERROR, or a value outside the enum (counted as ERROR) */
		c->errors++;
		break;
	}
}

/* The cases of @p rec (see the file comment). c->v is malloc'd. */
static int jcases_build(const struct rig_record *rec, struct jcases *c)
{
	size_t cap = 1;
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < rec->n_steps; i++)
		cap += rec->steps[i]->n_measurements + 1;
	if (!(c->v = calloc(cap, sizeof(*c->v))))
		return rigi_fail(RIG_ERR_NOMEM, "junit report of run %s: out of memory for %zu cases",
				 rec->run_id, cap);

	int any = 0;
	enum rig_outcome all = RIG_OUTCOME_PASS;
	for (size_t i = 0; i < rec->n_steps; i++) {
		const struct rig_record_step *s = rec->steps[i];
		size_t judged = 0;
		for (size_t k = 0; k < s->n_measurements; k++)
			judged += s->measurements[k].judged != 0;
		/* A verdict counts when it is no worse than its step's outcome. */
		enum rig_outcome agg = RIG_OUTCOME_PASS;
		for (size_t k = 0; k < s->n_measurements; k++) {
			const struct rig_measurement *m = &s->measurements[k];
			if (m->judged && rig_outcome_combine(m->outcome, s->outcome) == s->outcome)
				agg = rig_outcome_combine(agg, m->outcome);
		}
		/* A step case when no measurement carries the step's outcome. */
		int step_case = !judged || rig_outcome_combine(agg, s->outcome) != agg;
		size_t n = judged + (size_t)step_case;
		double share = isfinite(s->duration_s) && s->duration_s > 0
				       ? s->duration_s / (double)n
				       : 0;
		for (size_t k = 0; k < s->n_measurements; k++) {
			const struct rig_measurement *m = &s->measurements[k];
			if (!m->judged)
				continue;
			int counted = rig_outcome_combine(m->outcome, s->outcome) == s->outcome;
			jcases_push(c, (struct jcase){JCASE_MEASUREMENT, s, m,
						      counted ? m->outcome : RIG_OUTCOME_PASS,
						      counted, share});
		}
		if (step_case)
			jcases_push(c, (struct jcase){JCASE_STEP, s, NULL, s->outcome, 1, share});
		any = 1;
	}
	for (size_t k = 0; k < c->n; k++)
		all = rig_outcome_combine(all, c->v[k].outcome);
	if (!any || rig_outcome_combine(all, rec->outcome) != all)
		jcases_push(c, (struct jcase){JCASE_RUN, NULL, NULL, rec->outcome, 1, 0});
	return 0;
}

/* "value V unit, limit L..H unit, U u unit, error e unit": the numbers of
 * a measurement's decision. */
static void measurement_message(const struct rig_measurement *m, char *buf, size_t cap)
{
	const char *u = m->unit;
	size_t len = 0;
	int r;
#define ADD(...)                                                                   \
	do {                                                                       \
		r = snprintf(buf + len, cap - len, __VA_ARGS__);                   \
		len = r < 0 ? len : (size_t)r >= cap - len ? cap - 1 : len + (size_t)r; \
	} while (0)
	buf[0] = '\0';
	if (isfinite(m->value))
		ADD("value %.6g %s", m->value, u);
	else
		ADD("value not measured");
	if (m->limit.guard_factor >= 1)
		ADD(", limit %.6g..%.6g %s", m->limit.low, m->limit.high, m->limit.unit);
	if (isfinite(m->u_expanded))
		ADD(", U %.6g %s", m->u_expanded, u);
	if (isfinite(m->value) && isfinite(m->error))
		ADD(", error %+.6g %s", m->error, u);
#undef ADD
}

static void write_case(struct jw *j, const struct rig_record *rec, const struct jcase *k)
{
	char message[1024];
	const char *reason;
	jw_start(j, "testcase");
	switch (k->kind) {
	case JCASE_MEASUREMENT:
		jw_attr(j, "classname", k->step->name);
		jw_attr(j, "name", k->m->name);
		measurement_message(k->m, message, sizeof(message));
		reason = k->m->reason;
		break;
	case JCASE_STEP:
		jw_attr(j, "classname", "steps");
		jw_attr(j, "name", k->step->name);
		snprintf(message, sizeof(message), "%s", k->step->reason);
		reason = k->step->reason;
		break;
	default:
		jw_attr(j, "classname", "run");
		jw_attr(j, "name", "run");
		if (rec->error)
			snprintf(message, sizeof(message), "%s (%s)", rec->reason,
				 rig_errname(rec->error));
		else
			snprintf(message, sizeof(message), "%s", rec->reason);
		reason = message;
		break;
	}
	jw_attrf(j, "time", "%.3f", k->time);
	const char *element = NULL;
	switch (k->outcome) {
	case RIG_OUTCOME_PASS:
		break;
	case RIG_OUTCOME_FAIL:
	case RIG_OUTCOME_INDETERMINATE:
		element = "failure";
		break;
	case RIG_OUTCOME_ABORTED:
		element = "skipped";
		break;
	default:
		element = "error";
		break;
	}
	if (element) {
		jw_start(j, element);
		jw_attr(j, "message", message);
		if (k->outcome != RIG_OUTCOME_ABORTED)
			jw_attr(j, "type", rig_outcome_name(k->outcome));
		jw_text(j, reason);
		jw_end(j);
	} else if (k->kind == JCASE_MEASUREMENT) {
		/* Passed, or a verdict its step did not count: the numbers. */
		char out[4096];
		if (k->counted)
			snprintf(out, sizeof(out), "PASS: %s\n%s", message, reason);
		else
			snprintf(out, sizeof(out),
				 "%s, not counted: step %s ended %s (%s)\n%s\n%s",
				 rig_outcome_name(k->m->outcome), k->step->name,
				 rig_outcome_name(k->step->outcome), k->step->reason, message,
				 reason);
		jw_start(j, "system-out");
		jw_text(j, out);
		jw_end(j);
	}
	jw_end(j);
}

/* A run's duration: ended - started, or (a record that never finished) the
 * sum of its steps' durations. */
static double run_seconds(const struct rig_record *rec)
{
	if (rec->ended_ms > 0 && rec->started_ms > 0 && rec->ended_ms >= rec->started_ms)
		return (double)(rec->ended_ms - rec->started_ms) / 1000.0;
	double t = 0;
	for (size_t i = 0; i < rec->n_steps; i++)
		if (isfinite(rec->steps[i]->duration_s) && rec->steps[i]->duration_s > 0)
			t += rec->steps[i]->duration_s;
	return t;
}

static void write_properties(struct jw *j, const struct rig_record *rec)
{
	char buf[32];
	jw_start(j, "properties");
	jw_property(j, "unit.serial", rec->unit.serial);
	jw_property(j, "unit.model", rec->unit.model);
	jw_property(j, "unit.hardware", rec->unit.hardware);
	jw_property(j, "unit.firmware", rec->unit.firmware);
	jw_property(j, "station.id", rec->station.id);
	jw_property(j, "station.name", rec->station.name);
	snprintf(buf, sizeof(buf), "%u", rec->station.nest);
	jw_property(j, "station.nest", buf);
	jw_property(j, "station.simulated", rec->station.simulated ? "true" : "false");
	jw_property(j, "suite.name", rec->suite_name);
	jw_property(j, "suite.version", rec->suite_version);
	jw_property(j, "suite.sha256", rec->suite_sha256);
	jw_property(j, "run_id", rec->run_id);
	jw_property(j, "operator", rec->operator_name);
	if (rig_time_format_utc(rec->started_ms, buf, sizeof(buf)) == 0)
		jw_property(j, "started", buf);
	if (rec->ended_ms > 0 && rig_time_format_utc(rec->ended_ms, buf, sizeof(buf)) == 0)
		jw_property(j, "ended", buf);
	jw_property(j, "software.version", rec->software_version);
	jw_property(j, "software.commit", rec->software_commit);
	jw_property(j, "outcome", rig_outcome_name(rec->outcome));
	jw_property(j, "reason", rec->reason);
	if (rec->error)
		jw_property(j, "error.name", rig_errname(rec->error));
	if (rec->signer_public_key[0])
		jw_property(j, "signature.public_key", rec->signer_public_key);
	jw_end(j);
}

static void write_document(struct jw *j, const struct rig_record *rec, const struct jcases *c)
{
	char name[RIG_RECORD_NAME_MAX + 40], stamp[32];
	double seconds = run_seconds(rec);

	if (rec->unit.serial[0])
		snprintf(name, sizeof(name), "%s %s", rec->suite_name, rec->unit.serial);
	else
		snprintf(name, sizeof(name), "%s (unidentified)", rec->suite_name);
	jw_check(j, xmlTextWriterSetIndent(j->w, 1), "indentation");
	jw_check(j, xmlTextWriterSetIndentString(j->w, BAD_CAST "  "), "indentation");
	jw_check(j, xmlTextWriterStartDocument(j->w, NULL, "UTF-8", NULL), "the XML declaration");

	jw_start(j, "testsuites");
	jw_attr(j, "name", "needle-rig");
	jw_attrf(j, "tests", "%zu", c->n);
	jw_attrf(j, "failures", "%u", c->failures);
	jw_attrf(j, "errors", "%u", c->errors);
	jw_attrf(j, "skipped", "%u", c->skipped);
	jw_attrf(j, "time", "%.3f", seconds);

	jw_start(j, "testsuite");
	jw_attr(j, "name", name);
	jw_attrf(j, "tests", "%zu", c->n);
	jw_attrf(j, "failures", "%u", c->failures);
	jw_attrf(j, "errors", "%u", c->errors);
	jw_attrf(j, "skipped", "%u", c->skipped);
	/* JUnit's timestamp has no time zone: UTC to the second (the
	 * "started" property has the milliseconds and the Z). */
	if (rig_time_format_utc(rec->started_ms, stamp, sizeof(stamp)) == 0) {
		stamp[19] = '\0';
		jw_attr(j, "timestamp", stamp);
	}
	jw_attrf(j, "time", "%.3f", seconds);
	if (rec->station.host[0])
		jw_attr(j, "hostname", rec->station.host);
	write_properties(j, rec);
	for (size_t k = 0; k < c->n; k++)
		write_case(j, rec, &c->v[k]);
	jw_end(j); /* testsuite */
	jw_end(j); /* testsuites */
	if (!j->failed)
		jw_check(j, xmlTextWriterEndDocument(j->w), "the end of the document");
}

static int junit_write(const struct rig_report_input *in, const char *path)
{
	struct jcases c;
	struct jw j = {0};
	xmlBufferPtr buf = NULL;
	int ret;

	if (!in || !in->record || !path || !*path)
		return rigi_fail(RIG_ERR_ARG, "junit report: no record or no output path given "
					      "(a bug in the caller)");
	const struct rig_record *rec = in->record;
	if ((ret = jcases_build(rec, &c)) < 0)
		return ret;
	xmlInitParser();
	if (!(buf = xmlBufferCreate()) || !(j.w = xmlNewTextWriterMemory(buf, 0))) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: libxml2 could not start an XML writer (out of "
					       "memory); make the report again with `rig report`",
				path);
		goto out;
	}
	write_document(&j, rec, &c);
	xmlFreeTextWriter(j.w); /* flushes into buf */
	j.w = NULL;
	if (j.failed) {
		ret = rigi_fail(RIG_ERR_NOMEM,
				"%s: libxml2 could not write %s of the JUnit report of run %s (out "
				"of memory); nothing was written, make it again with `rig report`",
				path, j.failed, rec->run_id);
		goto out;
	}
	ret = rigi_atomic_write(path, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	if (ret < 0)
		rigi_error_context("junit report of run %s", rec->run_id);
out:
	if (j.w)
		xmlFreeTextWriter(j.w);
	if (buf)
		xmlBufferFree(buf);
	free(c.v);
	return ret;
}

const struct rig_output_module rigi_output_junit = {
	.id = "junit",
	.description = "JUnit XML for CI and MES tools: one testcase per judged measurement",
	.file_name = "junit.xml",
	.write = junit_write,
};

/* The only libyaml caller: parses a fixture or suite file into the small
 * document tree of config.h, keeping each node's line and column, and turns
 * libyaml's errors into RIG_ERR_FORMAT details "FILE:LINE:COL: ...".
 * Anchors, aliases, tags and multiple documents are refused: the files are
 * read by QA engineers and auditors, so every value is written out where it
 * applies. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "core/config.h"
#include "core/core.h"

/* Deep enough for any fixture or suite; shallow enough that a hostile file
 * cannot exhaust the stack through recursion. */
#define MAX_DEPTH 32

struct builder {
	yaml_parser_t parser;
	const char *path;
};

static int fail_at(const struct builder *b, yaml_mark_t mark, const char *what, const char *hint)
{
	return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: %s%s%s", b->path, mark.line + 1,
			 mark.column + 1, what, hint ? "; " : "", hint ? hint : "");
}

/* Line and column of byte @p offset of the file (the reader reports only
 * an offset when the bytes are not valid text). */
static yaml_mark_t offset_mark(const char *path, size_t offset)
{
	yaml_mark_t mark = {0, 0, 0};
	FILE *f = fopen(path, "rb");
	for (size_t i = 0; f && i < offset; i++) {
		int c = fgetc(f);
		if (c == EOF)
			break;
		if (c == '\n') {
			mark.line++;
			mark.column = 0;
		} else if ((c & 0xC0) != 0x80) {
			mark.column++;
		}
	}
	if (f)
		fclose(f);
	return mark;
}

static int syntax_error(const struct builder *b)
{
	const yaml_parser_t *p = &b->parser;
	char what[512];

	if (p->error == YAML_MEMORY_ERROR)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while parsing", b->path);
	if (p->error == YAML_READER_ERROR) {
		snprintf(what, sizeof(what), "cannot read the text at byte %zu: %s",
			 p->problem_offset, p->problem ? p->problem : "invalid input");
		return fail_at(b, offset_mark(b->path, p->problem_offset), what,
			       "save the file as UTF-8 text");
	}
	if (p->context)
		snprintf(what, sizeof(what), "YAML syntax error: %s (%s at line %zu column %zu)",
			 p->problem ? p->problem : "invalid syntax", p->context,
			 p->context_mark.line + 1, p->context_mark.column + 1);
	else
		snprintf(what, sizeof(what), "YAML syntax error: %s",
			 p->problem ? p->problem : "invalid syntax");
	return fail_at(b, p->problem_mark, what, "check indentation, colons and quotes");
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return syntax_error(b);
	return 0;
}

static void node_free(struct rigi_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; n->pairs && i < n->n; i++) {
		node_free(n->pairs[i].key);
		node_free(n->pairs[i].value);
	}
	for (size_t i = 0; n->items && i < n->n; i++)
		node_free(n->items[i]);
	free(n->pairs);
	free(n->items);
	free(n->text);
	free(n);
}

static struct rigi_node *node_new(enum rigi_node_kind kind, yaml_mark_t mark)
{
	struct rigi_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (unsigned)mark.line + 1;
	n->column = (unsigned)mark.column + 1;
	return n;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static int refuse_anchor_tag(const struct builder *b, const yaml_event_t *ev,
			    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor)
		return fail_at(b, ev->start_mark, "anchors (&name) are not supported",
			       "write the value out where it applies");
	if (tag)
		return fail_at(b, ev->start_mark, "explicit tags (!tag) are not supported",
			       "write plain values; quote a value to make it a string");
	return 0;
}

static int build_scalar(const struct builder *b, const yaml_event_t *ev, struct rigi_node **out)
{
	const size_t len = ev->data.scalar.length;
	const yaml_scalar_style_t style = ev->data.scalar.style;
	struct rigi_node *n;
	int ret = refuse_anchor_tag(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
	if (ret < 0)
		return ret;
	if (memchr(ev->data.scalar.value, '\0', len))
		return fail_at(b, ev->start_mark, "a value contains a NUL character", NULL);
	n = node_new(RIGI_NODE_SCALAR, ev->start_mark);
	if (!n || !(n->text = malloc(len + 1))) {
		node_free(n);
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while parsing", b->path);
	}
	memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->len = len;
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		n->style = RIGI_SCALAR_QUOTED;
	else if (style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE)
		n->style = RIGI_SCALAR_BLOCK;
	else
		n->style = RIGI_SCALAR_PLAIN;
	/* Escapes and line folding change the length, so equal lengths on one
	 * line mean the text is the source verbatim. */
	if (n->style != RIGI_SCALAR_BLOCK && ev->start_mark.line == ev->end_mark.line) {
		size_t span = ev->end_mark.column - ev->start_mark.column;
		size_t quotes = n->style == RIGI_SCALAR_QUOTED ? 2 : 0;
		n->verbatim = span >= quotes && span - quotes == utf8_chars(n->text, len);
	}
	*out = n;
	return 0;
}

static int build_node(struct builder *b, yaml_event_t *ev, unsigned depth,
		      struct rigi_node **out);

/* @p arr with room for element @p n (arrays grow in powers of two), or
 * NULL when out of memory (@p arr is then still valid). */
static void *grown(void *arr, size_t n, size_t size)
{
	if (n & (n - 1))
		return arr;
	return realloc(arr, (n ? 2 * n : 1) * size);
}

static int build_seq(struct builder *b, unsigned depth, struct rigi_node *n)
{
	for (;;) {
		yaml_event_t ev;
		struct rigi_node *child = NULL;
		int ret = next_event(b, &ev);
		if (ret < 0)
			return ret;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		ret = build_node(b, &ev, depth + 1, &child);
		if (ret < 0)
			return ret;
		struct rigi_node **items = grown(n->items, n->n, sizeof(*items));
		if (!items) {
			node_free(child);
			return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while parsing", b->path);
		}
		n->items = items;
		n->items[n->n++] = child;
	}
}

static int check_key(const struct builder *b, const struct rigi_node *map,
		     const struct rigi_node *key)
{
	if (key->kind != RIGI_NODE_SCALAR || key->len == 0)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%u:%u: expected a key name, found %s",
				 b->path, key->line, key->column,
				 key->kind == RIGI_NODE_SCALAR ? "an empty key" : "a structured key");
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->text, key->text) == 0)
			return rigi_fail(RIG_ERR_FORMAT,
					 "%s:%u:%u: duplicate key '%s' (first at line %u column %u); "
					 "keep one of them",
					 b->path, key->line, key->column, key->text,
					 map->pairs[i].key->line, map->pairs[i].key->column);
	return 0;
}

static int build_pair(struct builder *b, yaml_event_t *ev, unsigned depth, struct rigi_node *n)
{
	struct rigi_node *key = NULL, *value = NULL;
	yaml_event_t vev;
	int ret = build_node(b, ev, depth + 1, &key);
	if (ret < 0)
		return ret;
	ret = check_key(b, n, key);
	if (ret < 0)
		goto out;
	ret = next_event(b, &vev);
	if (ret < 0)
		goto out;
	ret = build_node(b, &vev, depth + 1, &value);
	if (ret < 0)
		goto out;
	value->key = key->text;
	struct rigi_pair *pairs = grown(n->pairs, n->n, sizeof(*pairs));
	if (!pairs) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while parsing", b->path);
		goto out;
	}
	n->pairs = pairs;
	n->pairs[n->n].key = key;
	n->pairs[n->n].value = value;
	n->n++;
	return 0;
out:
	node_free(key);
	node_free(value);
	return ret;
}

static int build_map(struct builder *b, unsigned depth, struct rigi_node *n)
{
	for (;;) {
		yaml_event_t ev;
		int ret = next_event(b, &ev);
		if (ret < 0)
			return ret;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		ret = build_pair(b, &ev, depth, n);
		if (ret < 0)
			return ret;
	}
}

/* Build the node starting with @p ev (consumed: deleted here). */
static int build_node(struct builder *b, yaml_event_t *ev, unsigned depth,
		      struct rigi_node **out)
{
	struct rigi_node *n = NULL;
	int ret;

	if (depth > MAX_DEPTH) {
		ret = fail_at(b, ev->start_mark, "nested deeper than 32 levels", NULL);
		goto out;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		ret = build_scalar(b, ev, &n);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int seq = ev->type == YAML_SEQUENCE_START_EVENT;
		ret = seq ? refuse_anchor_tag(b, ev, ev->data.sequence_start.anchor,
					     ev->data.sequence_start.tag)
			  : refuse_anchor_tag(b, ev, ev->data.mapping_start.anchor,
					     ev->data.mapping_start.tag);
		if (ret < 0)
			break;
		n = node_new(seq ? RIGI_NODE_SEQ : RIGI_NODE_MAP, ev->start_mark);
		if (!n) {
			ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while parsing", b->path);
			break;
		}
		ret = seq ? build_seq(b, depth, n) : build_map(b, depth, n);
		break;
	}
	case YAML_ALIAS_EVENT:
		ret = fail_at(b, ev->start_mark, "aliases (*name) are not supported",
			      "write the value out where it applies");
		break;
	default:
		ret = fail_at(b, ev->start_mark, "unexpected YAML structure", NULL);
		break;
	}
out:
	yaml_event_delete(ev);
	if (ret < 0) {
		node_free(n);
		return ret;
	}
	*out = n;
	return 0;
}

/* Expect an event of @p type (stream and document framing). */
static int expect(struct builder *b, yaml_event_type_t type, yaml_event_t *ev)
{
	int ret = next_event(b, ev);
	if (ret < 0)
		return ret;
	if (ev->type != type) {
		yaml_mark_t mark = ev->start_mark;
		int is_stream_end = ev->type == YAML_STREAM_END_EVENT;
		yaml_event_delete(ev);
		if (type == YAML_DOCUMENT_START_EVENT && is_stream_end)
			return fail_at(b, mark, "expected a mapping, found an empty file", NULL);
		if (type == YAML_STREAM_END_EVENT)
			return fail_at(b, mark, "expected the end of the file, found a second document",
				       "keep one document per file (remove '---')");
		return fail_at(b, mark, "unexpected YAML structure", NULL);
	}
	return 0;
}

static int parse_document(struct builder *b, struct rigi_node **root)
{
	yaml_event_t ev;
	int ret = expect(b, YAML_STREAM_START_EVENT, &ev);
	if (ret < 0)
		return ret;
	yaml_event_delete(&ev);
	ret = expect(b, YAML_DOCUMENT_START_EVENT, &ev);
	if (ret < 0)
		return ret;
	yaml_event_delete(&ev);
	ret = next_event(b, &ev);
	if (ret < 0)
		return ret;
	ret = build_node(b, &ev, 0, root);
	if (ret < 0)
		return ret;
	ret = expect(b, YAML_DOCUMENT_END_EVENT, &ev);
	if (ret == 0) {
		yaml_event_delete(&ev);
		ret = expect(b, YAML_STREAM_END_EVENT, &ev);
	}
	if (ret == 0)
		yaml_event_delete(&ev);
	return ret;
}

static int open_error(const char *path, int err)
{
	const char *why = strerror(err);
	if (err == ENOENT)
		return rigi_fail(RIG_ERR_NOT_FOUND, "%s: %s; check the path", path, why);
	if (err == EISDIR)
		return rigi_fail(RIG_ERR_ARG, "%s: is a directory, not a file; give the YAML "
				 "file's path", path);
	if (err == EACCES || err == EPERM)
		return rigi_fail(RIG_ERR_PERMISSION, "%s: %s; check the file's permissions",
				 path, why);
	return rigi_fail(RIG_ERR_IO, "%s: cannot open: %s", path, why);
}

int rigi_yaml_load(const char *path, struct rigi_doc **out)
{
	struct builder b = {.path = path};
	struct rigi_doc *doc = NULL;
	FILE *f = NULL;
	int ret;

	if (!path || !out)
		return rigi_fail(RIG_ERR_ARG, "rigi_yaml_load: path and out are required");
	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return open_error(path, errno);
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f); /* fopen opens a directory; reading it fails later */
		return open_error(path, EISDIR);
	}
	if (!yaml_parser_initialize(&b.parser)) {
		fclose(f);
		return rigi_fail(RIG_ERR_NOMEM, "%s: cannot initialise the YAML parser", path);
	}
	yaml_parser_set_input_file(&b.parser, f);
	doc = calloc(1, sizeof(*doc));
	if (!doc || !(doc->path = strdup(path))) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while parsing", path);
		goto out;
	}
	ret = parse_document(&b, &doc->root);
	if (ret == 0 && ferror(f))
		ret = rigi_fail(RIG_ERR_IO, "%s: read error", path);
out:
	yaml_parser_delete(&b.parser);
	fclose(f);
	if (ret < 0) {
		rigi_doc_free(doc);
		return ret;
	}
	*out = doc;
	return 0;
}

void rigi_doc_free(struct rigi_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->path);
	free(doc);
}

/* Private: human-edited configuration files (fixtures, suites). yaml.c (the
 * only libyaml caller) parses a file into a small document tree in which
 * every node keeps its line and column; config.c reads typed values out of
 * that tree and reports every problem as "FILE:LINE:COL: what was expected,
 * what was found" (RIG_ERR_FORMAT), expanding ${NAME} variables on request. */
#ifndef RIGI_CONFIG_H
#define RIGI_CONFIG_H

#include <stddef.h>

struct rig_date;

enum rigi_node_kind {
	RIGI_NODE_SCALAR,
	RIGI_NODE_MAP,
	RIGI_NODE_SEQ,
};

enum rigi_scalar_style {
	RIGI_SCALAR_PLAIN,  /* unquoted: may be a number, a boolean or nothing */
	RIGI_SCALAR_QUOTED, /* '...' or "...": always a string */
	RIGI_SCALAR_BLOCK,  /* | or > */
};

struct rigi_pair;

struct rigi_node {
	enum rigi_node_kind kind;
	unsigned line, column;   /* 1-based position of the node's first character */
	const char *key;         /* key text when the node is a mapping value, else NULL */
	/* scalars */
	char *text;              /* NUL-terminated value ("" for an empty value) */
	size_t len;
	enum rigi_scalar_style style;
	int verbatim;            /* text is a one-line copy of the source starting at
				    column (+1 for the opening quote): offsets inside
				    it map onto columns */
	/* mappings (pairs) and sequences (items) */
	struct rigi_pair *pairs;
	struct rigi_node **items;
	size_t n;
};

struct rigi_pair {
	struct rigi_node *key;   /* always a scalar */
	struct rigi_node *value;
};

struct rigi_doc {
	char *path;
	struct rigi_node *root;
};

/* ---- yaml.c: the only libyaml caller ---- */

/** Parse the YAML file at @p path (one document, no anchors, aliases or
 *  tags, unique keys, at most 32 levels deep). Returns 0 and a document the
 *  caller frees with rigi_doc_free(), RIG_ERR_NOT_FOUND / RIG_ERR_PERMISSION
 *  / RIG_ERR_IO when the file cannot be read, RIG_ERR_FORMAT (detail
 *  "FILE:LINE:COL: ...") for a syntax error, RIG_ERR_NOMEM. */
int rigi_yaml_load(const char *path, struct rigi_doc **out);

/** Free a document; NULL is a no-op. */
void rigi_doc_free(struct rigi_doc *doc);

/* ---- config.c: typed access with positioned errors ---- */

struct rigi_cfg {
	const char *path;         /* file name used in messages */
	const char *const *vars;  /* "NAME=VALUE" strings, NULL-terminated, or NULL */
	int expand;               /* non-zero: expand ${NAME} in string values */
};

enum rigi_need {
	RIGI_OPTIONAL = 0, /* absent: 0 returned, output left as it was (the default) */
	RIGI_REQUIRED = 1, /* absent: RIG_ERR_FORMAT at the mapping's position */
};

/** Record "PATH:LINE:COL: <message>" at @p node and return RIG_ERR_FORMAT. */
int rigi_cfg_fail(const struct rigi_cfg *cfg, const struct rigi_node *node,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** A mapping being read: the file, the node and its name for messages. */
struct rigi_map {
	const struct rigi_cfg *cfg;
	const struct rigi_node *node;
	char what[64];            /* for messages: "'daq'", "'steps[3] (fit)'", "the top level" */
};

/** Check that @p node is a mapping whose keys are all in the NULL-terminated
 *  @p keys (an unknown key is reported at its position with the list of
 *  known ones) and fill @p out. @p what names the mapping in messages
 *  ("daq", "nests[1]"); NULL for the top level of the file. */
int rigi_cfg_map(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		 const char *const *keys, struct rigi_map *out);

/** The value of @p key, or NULL when absent. */
const struct rigi_node *rigi_map_find(const struct rigi_map *m, const char *key);

/** The value of @p key; RIG_ERR_FORMAT at the mapping when absent and
 *  required (*out = NULL when absent and optional). */
int rigi_map_get(const struct rigi_map *m, const char *key, enum rigi_need need,
		 const struct rigi_node **out);

/** A nested mapping with the keys @p keys (absent and optional: returns 0
 *  with out->node = NULL). */
int rigi_map_map(const struct rigi_map *m, const char *key, enum rigi_need need,
		 const char *const *keys, struct rigi_map *out);

/** A sequence (absent and optional: *out = NULL). */
int rigi_map_seq(const struct rigi_map *m, const char *key, enum rigi_need need,
		 const struct rigi_node **out);

/** A non-empty string (any scalar, ${NAME} expanded when cfg->expand).
 *  *out is malloc'd; a previous *out is freed when replaced. */
int rigi_map_str(const struct rigi_map *m, const char *key, enum rigi_need need, char **out);

/** An unquoted decimal integer in [lo, hi]. */
int rigi_map_uint(const struct rigi_map *m, const char *key, enum rigi_need need,
		  unsigned long lo, unsigned long hi, unsigned long *out);

/** An unquoted finite number in [lo, hi]. */
int rigi_map_num(const struct rigi_map *m, const char *key, enum rigi_need need, double lo,
		 double hi, double *out);

/** true or false (unquoted). */
int rigi_map_bool(const struct rigi_map *m, const char *key, enum rigi_need need, int *out);

/** A calendar date YYYY-MM-DD. */
int rigi_map_date(const struct rigi_map *m, const char *key, enum rigi_need need,
		  struct rig_date *out);

/** One of the NULL-terminated @p names; *out is its index. */
int rigi_map_enum(const struct rigi_map *m, const char *key, enum rigi_need need,
		  const char *const *names, int *out);

/** Node-level forms of the above, for sequence items; @p what names the
 *  value in messages. */
int rigi_node_uint(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		   unsigned long lo, unsigned long hi, unsigned long *out);
int rigi_node_num(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		  double lo, double hi, double *out);
int rigi_node_enum(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		   const char *const *names, int *out);

/** Describe a node for "found ..." in messages: a quoted scalar (shortened),
 *  "nothing", "a mapping" or "a list". Returns @p buf. */
const char *rigi_node_describe(const struct rigi_node *node, char *buf, size_t cap);

#endif

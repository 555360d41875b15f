/* Private header of the records layer: the station's Ed25519 signing key
 * file, and signing and verifying with hex-encoded keys and signatures
 * (a run's record.json is signed into record.sig). */
#ifndef RIGI_RECORDS_SIGN_H
#define RIGI_RECORDS_SIGN_H

#include <stddef.h>

/** The station's Ed25519 key pair (opaque; the secret never leaves it). */
struct rigi_signer;

/** Open the station signing key at @p path, creating it on first use.
 *
 *  File absent: a new key pair is generated from the system RNG and the
 *  private key file is created with mode 0600 (O_CREAT|O_EXCL, so an
 *  existing file is never overwritten; fsync of the file and of its
 *  directory), then the public key file "<path>.pub" with mode 0644.
 *
 *  File present: it must be a regular file, not a symbolic link, owned by
 *  the effective user, with no group or other permission bits; otherwise
 *  RIG_ERR_PERMISSION, with a detail naming the file and, for the mode,
 *  the mode and "chmod 600 FILE". Its content must be exactly the format
 *  below, else RIG_ERR_FORMAT naming the file. A missing "<path>.pub" is
 *  rewritten; one that is malformed or holds another public key is
 *  RIG_ERR_FORMAT naming both files.
 *
 *  Private key file: one line "ed25519-secret-seed <64 lower-case hex>\n",
 *  the 32-byte RFC 8032 secret key (seed) from which the pair is derived.
 *  Public key file: one line "ed25519-public <64 lower-case hex>\n".
 *
 *  Other errors: missing directory RIG_ERR_NOT_FOUND; unwritable directory
 *  or read-only file system RIG_ERR_PERMISSION; full disk or quota
 *  RIG_ERR_NOSPACE ("disk full"); other I/O RIG_ERR_IO;
 *  RIG_ERR_NOMEM; RIG_ERR_ARG for a NULL or empty argument. On success
 *  *@p out is the signer (free with rigi_signer_free); on failure NULL. */
int rigi_signer_open(const char *path, struct rigi_signer **out);

/** Wipe the secret and free @p s; NULL is fine. */
void rigi_signer_free(struct rigi_signer *s);

/** The public key as 64 lower-case hex digits + NUL. */
void rigi_signer_public_hex(const struct rigi_signer *s, char hex[65]);

/** Detached Ed25519 signature of @p len bytes of @p msg as 128 lower-case
 *  hex digits + NUL. 0, RIG_ERR_ARG or RIG_ERR_INTERNAL. */
int rigi_signer_sign_hex(const struct rigi_signer *s, const void *msg, size_t len,
			 char sig_hex[129]);

/** Verify a hex signature (128 digits, either case) of @p len bytes of
 *  @p msg with a hex public key (64 digits, either case): 0 valid;
 *  RIG_ERR_SIGNATURE invalid; RIG_ERR_FORMAT when either hex string is
 *  malformed (the detail says which). */
int rigi_verify_hex(const char *public_hex, const void *msg, size_t len, const char *sig_hex);

/** Read a public key file ("ed25519-public <64 hex>\n", either case) into
 *  64 lower-case hex digits + NUL. 0; RIG_ERR_NOT_FOUND when it does not
 *  exist; RIG_ERR_FORMAT when its content is not that one line;
 *  RIG_ERR_PERMISSION or RIG_ERR_IO when it cannot be read. Every detail
 *  names the file. */
int rigi_public_key_load(const char *path, char hex[65]);

#endif

#!/usr/bin/env python3
"""Independent third-party check of a needle-rig record signature.

A run record reports/<serial>/<run-id>/record.json is signed by the station
with Ed25519 (RFC 8032, pure: the signature covers the file's exact bytes)
and the signature is stored as 128 hex digits in record.sig. This script
checks such a signature without any needle-rig code, with pyca/cryptography
(python3-cryptography, on OpenSSL: another implementation than the
libsodium that signed it) when it is importable, otherwise with PyNaCl
(python3-nacl).

Usage:
  verify_ed25519.py PUBLIC_HEX FILE SIGFILE
      PUBLIC_HEX: the station's public key, 64 hex digits (the hex of its
      "ed25519-public <hex>" key file); SIGFILE: 128 hex digits and an
      optional newline.
  verify_ed25519.py --selftest
      check the Python library against RFC 8032 section 7.1 TEST 1.

Exit status: 0 valid (or self-test passed); 1 invalid (or self-test
failed); 2 usage error or malformed input; 3 neither library is installed.
"""
import re
import sys

EXIT_VALID, EXIT_INVALID, EXIT_USAGE, EXIT_NO_LIBRARY = 0, 1, 2, 3

# RFC 8032 section 7.1, TEST 1 (empty message).
TEST1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
TEST1_SIGNATURE = ("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                   "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")


class Backend:
    """Ed25519 through one Python library: name, public_of, sign, verify."""

    def __init__(self, name, public_of, sign, verify):
        self.name, self.public_of, self.sign, self.verify = name, public_of, sign, verify


def nacl_backend():
    import nacl.exceptions
    import nacl.signing

    def verify(public, msg, sig):
        try:
            nacl.signing.VerifyKey(public).verify(msg, sig)
            return True
        except (nacl.exceptions.CryptoError, ValueError):
            return False

    return Backend("PyNaCl",
                   lambda seed: bytes(nacl.signing.SigningKey(seed).verify_key),
                   lambda seed, msg: nacl.signing.SigningKey(seed).sign(msg).signature,
                   verify)


def cryptography_backend():
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def public_of(seed):
        key = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def verify(public, msg, sig):
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
            return True
        except (InvalidSignature, ValueError):
            return False

    return Backend("cryptography",
                   public_of,
                   lambda seed, msg: ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(msg),
                   verify)


def load_backend():
    for make in (cryptography_backend, nacl_backend):
        try:
            return make()
        except ImportError:
            continue
    print("verify_ed25519.py: neither PyNaCl nor cryptography can be imported by "
          f"{sys.executable}; install python3-nacl or python3-cryptography",
          file=sys.stderr)
    sys.exit(EXIT_NO_LIBRARY)


def selftest(backend):
    seed, public = bytes.fromhex(TEST1_SEED), bytes.fromhex(TEST1_PUBLIC)
    sig = bytes.fromhex(TEST1_SIGNATURE)
    tampered = bytes([sig[0] ^ 1]) + sig[1:]
    checks = [
        ("public key of the seed", backend.public_of(seed) == public),
        ("signature of the empty message", backend.sign(seed, b"") == sig),
        ("the signature verifies", backend.verify(public, b"", sig)),
        ("a flipped signature bit is refused", not backend.verify(public, b"", tampered)),
        ("another message is refused", not backend.verify(public, b"\x00", sig)),
    ]
    failed = [what for what, ok in checks if not ok]
    for what in failed:
        print(f"selftest FAILED ({backend.name}): {what}")
    if failed:
        return EXIT_INVALID
    print(f"selftest ok: RFC 8032 TEST 1 with {backend.name}")
    return EXIT_VALID


def usage(message):
    print(f"verify_ed25519.py: {message}\n"
          "usage: verify_ed25519.py PUBLIC_HEX FILE SIGFILE | --selftest", file=sys.stderr)
    return EXIT_USAGE


def read_bytes(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        print(f"verify_ed25519.py: cannot read {what} {path}: {e.strerror}", file=sys.stderr)
        return None


def verify_file(backend, public_hex, path, sig_path):
    if not re.fullmatch(r"[0-9a-fA-F]{64}", public_hex):
        return usage(f"the public key must be 64 hex digits, not {public_hex!r}")
    data = read_bytes(path, "file")
    sig_text = read_bytes(sig_path, "signature file")
    if data is None or sig_text is None:
        return EXIT_USAGE
    if not re.fullmatch(rb"[0-9a-fA-F]{128}\n?", sig_text):
        print(f"verify_ed25519.py: signature file {sig_path} must hold 128 hex digits and "
              "an optional newline", file=sys.stderr)
        return EXIT_USAGE
    sig = bytes.fromhex(sig_text[:128].decode("ascii"))
    if backend.verify(bytes.fromhex(public_hex), data, sig):
        print(f"valid: {sig_path} is a good signature of {path} "
              f"under {public_hex.lower()} ({backend.name})")
        return EXIT_VALID
    print(f"INVALID: {sig_path} is not a valid signature of {path} "
          f"under {public_hex.lower()} ({backend.name}): the file, the signature or the "
          "key is not the one that was signed")
    return EXIT_INVALID


def main(argv):
    if argv in (["-h"], ["--help"]):
        print(__doc__.strip())
        return EXIT_VALID
    if argv == ["--selftest"]:
        return selftest(load_backend())
    if len(argv) != 3 or argv[0].startswith("-"):
        return usage("expected PUBLIC_HEX FILE SIGFILE, or --selftest")
    return verify_file(load_backend(), *argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

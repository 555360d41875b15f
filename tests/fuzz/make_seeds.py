#!/usr/bin/env python3
"""Seed corpora of the fuzz targets (tests/fuzz/README.md).

usage: make_seeds.py RIG_BINARY [OUT_DIR]

Writes valid inputs into OUT_DIR/<target>/ (default: corpus/ beside this
script): frames and pen answers built from docs/protocol.md, signed table
blobs for the fuzz pen (MN1-000123, the line key of fuzz_pen.c), the repo's
fixtures and suites, and what a real `rig demo --lockstep` run writes
(capture CSVs cut to a few thousand rows, record.json, journal lines).
Deterministic except for the demo's run ids and timestamps."""
import glob
import gzip
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
KEY = bytes([0x6e, 0x72, 0x69, 0x67, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65,
             0x79, 0x2d, 0x30, 0x31, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
             0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])
SERIAL = b"MN1-000123"


def frame(typ, seq, payload=b""):
    body = struct.pack("<BBHH", 1, typ, seq, len(payload)) + payload
    return b"\xa5\x5a" + body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def identity(serial=SERIAL):
    d = bytearray(94)
    d[0:3] = b"MN1"
    d[16:16 + len(serial)] = serial
    struct.pack_into("<HIHHB", d, 32, 0x0100, 0x010200, 1, 512, 32)
    struct.pack_into("<10H", d, 44, 0, 4095, 0, 1000, 250, 2500, 250, 3000, 3000, 9000)
    d[64] = 6
    struct.pack_into("<6H", d, 66, 3000, 4200, 5400, 6600, 7800, 9000)
    return bytes(d)


def status(active_seq=1):
    d = bytearray(36)
    struct.pack_into("<BBHBBBB", d, 0, 0, 0, 0, 0, 0, 1, 0)
    struct.pack_into("<III", d, 8, active_seq, 0x12345678, 1000)
    struct.pack_into("<HhHHHH", d, 20, 0, 240, 0, 0, 0, 0)
    return bytes(d)


def blob(depth, rate, seq=2, serial=SERIAL, key=KEY, created=1764700000):
    b = b"NRCT" + struct.pack("<HBB", 1, len(depth), len(rate))
    b += serial.ljust(16, b"\0") + struct.pack("<IQI", seq, created, 0)
    for s, v in depth + rate:
        b += struct.pack("<HH", s, v)
    b += struct.pack("<I", zlib.crc32(b) & 0xFFFFFFFF)
    return b + hmac.new(key, b"NRIG-TABLE-1" + b, hashlib.sha256).digest()


GOOD_DEPTH = [(250, 400), (1000, 1500), (2500, 3800)]
GOOD_RATE = [(3000, 300), (6000, 600), (9000, 950)]


def rec(kind, payload):
    n = len(payload)
    return bytes([kind | ((n >> 4) & 0x30), n & 0xFF]) + payload


class Out:
    def __init__(self, root):
        self.root = root

    def put(self, target, name, data):
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def protocol_seeds(o):
    frames = [frame(0x01, 7), frame(0x81, 7, b"\0" + identity()), frame(0x82, 8, b"\0" + status()),
              frame(0xFF, 9, b"\x01"), frame(0x22, 10, struct.pack("<H", 0) + b"x" * 512),
              frame(0xA0, 11, b"\0\0" + struct.pack("<H", 3) + b"abc")]
    for i, f in enumerate(frames):
        o.put("dut_frame", "frame-%d" % i, bytes([255]) + f)
    o.put("dut_frame", "stream-garbage", bytes([3]) + b"\x00\xa5\x5a\x02" + b"".join(frames) + b"\xa5")
    big = frame(0x20, 1, bytes(1024))
    o.put("dut_frame", "max-frame-pieces", bytes([0]) + big + big[:20])

    ok = b"\0"
    ident, stat = rec(0, ok + identity()), rec(0, ok + status())
    o.put("dut_reply", "identify-status", bytes([0, 1, 6]) + ident + stat + rec(0, ok))
    o.put("dut_reply", "nak-then-identify", bytes([0, 0, 0]) + rec(1, b"\x01") + ident + ident + ident)
    o.put("dut_reply", "stale-then-status", bytes([1, 1, 1]) + rec(3, ok + status()) + stat + stat + stat)
    o.put("dut_reply", "raw-split", bytes([0, 6, 6]) + rec(2, frame(0x81, 0x4000, ok + identity())[:30])
          + rec(2, frame(0x81, 0x4000, ok + identity())[30:]) + rec(0, ok) + rec(0, ok))
    o.put("dut_reply", "auth", bytes([2, 4, 5]) + ident + rec(0, ok + bytes(range(32))) + rec(0, ok)
          + rec(0, ok) + rec(0, ok))
    o.put("dut_reply", "set-user", bytes([3, 3, 6]) + rec(0, ok + struct.pack("<HH", 1500, 600))
          + rec(0, b"\x09") + rec(0, ok))
    tb = blob(GOOD_DEPTH, GOOD_RATE)
    for slot_op, name in ((7, "read-a"), (17, "read-b"), (27, "read-active")):
        slot = [0, 1, 0][slot_op // 10]
        o.put("dut_reply", name, bytes([slot_op, 6, 6]) + rec(0, ok + bytes([slot]) + struct.pack("<H", len(tb)) + tb)
              + rec(0, ok) + rec(0, ok))
    o.put("dut_reply", "read-empty", bytes([7, 6, 6]) + rec(0, ok + b"\0\0\0") + rec(0, ok) + rec(0, ok))
    # rig_dut_table_write of fuzz_dut_reply.c's test blob (key 01 02 03 0...,
    # created 0): identify, status, begin, chunk, commit, read-back.
    wb = blob([(250, 100), (2500, 4000)], [(3000, 100), (9000, 900)], seq=2,
              key=bytes([1, 2, 3]) + bytes(29), created=0)
    o.put("dut_reply", "write", bytes([8, 6, 6]) + ident + stat + rec(0, ok + b"\1")
          + rec(0, ok + struct.pack("<H", len(wb))) + rec(0, ok + b"\1" + struct.pack("<I", 2))
          + rec(0, ok + b"\1" + struct.pack("<H", len(wb)) + wb) + rec(0, ok) + rec(0, ok))
    o.put("table", "good", bytes([0]) + tb)
    o.put("table", "good-chunks-7", bytes([0x08]) + tb)
    o.put("table", "good-32-knots", bytes([3]) + blob([(250 + 75 * i, 100 + 120 * i) for i in range(31)] + [(2600, 3900)],
                                                      [(3000 + 200 * i, 20 + 30 * i) for i in range(32)]))
    o.put("table", "stale", bytes([0]) + blob(GOOD_DEPTH, GOOD_RATE, seq=1))
    o.put("table", "other-serial", bytes([0]) + blob(GOOD_DEPTH, GOOD_RATE, serial=b"MN1-000124"))
    o.put("table", "not-monotone", bytes([0]) + blob([(250, 400), (1000, 300), (2500, 3800)], GOOD_RATE))
    o.put("table", "bounds", bytes([0]) + blob([(300, 400), (2500, 3800)], GOOD_RATE))
    o.put("table", "bad-key", bytes([0]) + blob(GOOD_DEPTH, GOOD_RATE, key=bytes(32)))
    o.put("table", "fix-me", bytes([3]) + blob(GOOD_DEPTH, GOOD_RATE)[:-40] + bytes(40))

    # firmware: op records (fuzz_firmware.c).
    def req(cmd, payload=b"", resend=False):
        op = 1 | (8 if resend else 0)
        return bytes([op, cmd, len(payload)]) + payload
    o.put("firmware", "identify-status", req(0x01) + req(0x02) + req(0x02, resend=True))
    o.put("firmware", "auth-service-motor", bytes([2]) + req(0x11, struct.pack("<HH", 2000, 500)) + req(0x12, b"\1")
          + bytes([3, 200]) + req(0x02) + req(0x13))
    o.put("firmware", "set-user", req(0x10, struct.pack("<HH", 1000, 6000)) + req(0x12, b"\1") + req(0x12, b"\0"))
    o.put("firmware", "table-read", req(0x20, b"\xfe\0\0" + struct.pack("<H", 1000)) + req(0x20, b"\1\0\0\x10\0"))
    t = blob(GOOD_DEPTH, GOOD_RATE)
    o.put("firmware", "table-write", bytes([2]) + req(0x21, struct.pack("<HI", len(t), zlib.crc32(t)))
          + req(0x22, b"\0\0" + t) + req(0x23) + req(0x23, resend=True) + req(0x20, b"\xfe\0\0\xe8\x03"))
    o.put("firmware", "garbage-timeout", bytes([0, 5]) + b"\xa5\x5a\x01\x02\x00" + bytes([3, 60]) + req(0x01)
          + bytes([4, 5]) + req(0x24))
    o.put("firmware", "bad-frames", bytes([0, 12]) + frame(0x01, 1)[:-1] + b"\0" + bytes([0, 12])
          + b"\xa5\x5a\x02\x01\0\0\0\0\0\0\0\0" + bytes([0, 8]) + b"\xa5\x5a\x01\x01\0\0\xff\x7f")


def file_seeds(o):
    for p in sorted(glob.glob(os.path.join(TOP, "fixtures", "*.yaml")) +
                    glob.glob(os.path.join(TOP, "tests", "data", "*fixture*.yaml"))):
        o.put("fixture", os.path.basename(p), open(p, "rb").read())
    for p in sorted(glob.glob(os.path.join(TOP, "fixtures", "suites", "*.yaml")) +
                    glob.glob(os.path.join(TOP, "tests", "data", "*suite*.yaml"))):
        o.put("suite", os.path.basename(p), open(p, "rb").read())
    uris = ["modbus-tcp://127.0.0.1:1502?unit=1", "modbus-tcp://[::1]:502?unit=247&timeout_ms=200",
            "modbus-rtu:///dev/ttyUSB0?baud=115200&unit=3&parity=E&data=8&stop=1",
            "usb://1209:4e52", "usb://1209:4e52?serial=MN1-000123&path=1-2.3",
            "unix:///tmp/rig-sim/nest0.sock", "tcp://localhost:7000?timeout_ms=1000",
            "unix:///p?timeout_ms=", "modbus-tcp://h:99999?unit=1", "usb://zz:1"]
    for i, u in enumerate(uris):
        o.put("uri", "uri-%02d" % i, u.encode())
    lines = ["help", "status", "truth 0", "truth 1 service 2000 500", "truth 0 user 1000 6000",
             "load 1 MN1-000777 bent-needle\ntruth 1\nunload 1", "power-cycle 0",
             "fault modbus-late 300\nfault clear", "fault daq-overrun", "fault daq-map-version 2",
             "fault sensor-dead 0 disp\nfault sensor-noisy 1 force", "fault dut-cut 0 100",
             "fault power-loss 1 50", "fault dut-hold 0 TABLE_COMMIT 10 2", "stop", "bogus 1 2",
             "load 0 MN1-000002"]
    for i, l in enumerate(lines):
        o.put("sim_control", "ctl-%02d" % i, l.encode() + b"\n")
    o.put("key_file", "raw32", bytes(range(32)))
    o.put("key_file", "hex64nl", bytes(range(32)).hex().encode() + b"\n")
    o.put("key_file", "hex64-upper", bytes(range(32)).hex().upper().encode())
    o.put("key_file", "hex65-bad", bytes(range(32)).hex().encode() + b"x")
    pts = [(250 * i, 100 + 150 * i + (i * i) % 7) for i in range(12)]
    o.put("fit", "line-int16", bytes([1]) + b"".join(struct.pack("<hh", x, y) for x, y in pts))
    o.put("fit", "quad-int16", bytes([2]) + b"".join(struct.pack("<hh", x, (x * x) // 300 + 7) for x, _ in pts))
    o.put("fit", "repeats-int16", bytes([3]) + b"".join(struct.pack("<hh", x, y + k) for x, y in pts for k in (0, 2, 4)))
    o.put("fit", "raw-doubles", bytes([9]) + b"".join(struct.pack("<dd", x / 3.0, y * 1.5) for x, y in pts))


def demo_seeds(o, rig):
    tmp = tempfile.mkdtemp(prefix="rig-fuzz-seeds-")
    try:
        subprocess.run([rig, "demo", "--units", "1", "--lockstep", "--fixture",
                        os.path.join(TOP, "fixtures", "sim.yaml"), "--suite",
                        os.path.join(TOP, "fixtures", "suites", "calibrate.yaml"),
                        "--reports", os.path.join(tmp, "reports"), "--calibrations",
                        os.path.join(tmp, "cal")], check=True, stdout=subprocess.DEVNULL)
        run = glob.glob(os.path.join(tmp, "reports", "*", "*", "record.json"))[0]
        d = os.path.dirname(run)
        # libFuzzer cuts inputs at -max_len: records slimmed to a few
        # measurements per step (still accepted: the loader re-counts).
        rec_full = json.load(open(run))
        for keep, name in ((3, "demo-record-3"), (1, "demo-record-1"), (0, "demo-record-0")):
            r = json.loads(json.dumps(rec_full))
            for st in r["steps"]:
                if "measurements" in st:
                    st["measurements"] = st["measurements"][:keep]
            if keep == 0:
                r["steps"] = r["steps"][:2]
            o.put("record_json", name + ".json", json.dumps(r, sort_keys=True, separators=(",", ":")).encode())
        lines = open(os.path.join(d, "journal.jsonl"), "rb").read().splitlines()
        seen = set()
        for line in lines:  # one line of each event type
            ev = line[:line.find(b",")]
            if ev not in seen:
                seen.add(ev)
                o.put("journal_line", "line-%02d" % len(seen), line)
        for i, gz in enumerate(sorted(glob.glob(os.path.join(d, "captures", "*.csv.gz")))):
            rows = gzip.open(gz, "rb").read().splitlines(keepends=True)
            keep = 2500 if i == 0 else 120
            # options byte 0: the default columns (by unit), rate from time_s.
            o.put("capture_csv", os.path.basename(gz)[:-3], b"\0" + b"".join(rows[:keep]))
        rows = gzip.open(sorted(glob.glob(os.path.join(d, "captures", "*.csv.gz")))[0], "rb").read().splitlines(keepends=True)
        body = [r.split(b",", 1)[1] for r in rows[2:300]]
        o.put("capture_csv", "no-time-rate-given", bytes([0x10]) + b"ch0_um,ch1_mN\n" + b"".join(body))
        o.put("capture_csv", "by-name", bytes([0x02 | 0x08]) + b"".join(rows[:200]))
    finally:
        shutil.rmtree(tmp)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    o = Out(sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus"))
    protocol_seeds(o)
    file_seeds(o)
    demo_seeds(o, sys.argv[1])


if __name__ == "__main__":
    main()

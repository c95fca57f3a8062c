#!/usr/bin/env python3
"""Send one raw 'r' frame (one JSON record) to a batcher, the GoChariots way: a 4-byte big-endian
length, the type byte, the payload; nothing is read back. Standard library only, on purpose."""

import argparse
import json
import os
import socket
import struct
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("record", nargs="?", default='{"Tags":{"key":"value"},"Seed":1,"Pre":{"Hash":0}}',
                   help="the JSON record (either shape), @FILE, or - for stdin (default: %(default)s)")
    p.add_argument("--batcher", default="localhost:9000", help="host:port (default %(default)s, as ./chariots up)")
    p.add_argument("--type", default="r", choices=["r", "s"], help="frame type: r one record, s a JSON array (default r)")
    p.add_argument("--no-check", action="store_true", help="send the payload even if it is not valid JSON (to test the batcher)")
    a = p.parse_args()
    text = a.record
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = f.read()
    if not a.no_check:
        try:
            json.loads(text)
        except ValueError as e:
            sys.exit("rawpost.py: not valid JSON (--no-check sends it anyway): %s" % e)
    payload = text.encode("utf-8")
    host, _, port = a.batcher.rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port)), timeout=10) as s:
            token = os.environ.get("CHARIOTS_TOKEN")  # a cluster that requires a client token: shown first
            if token:
                hello = json.dumps({"acks": 0, "token": token.strip()}).encode()
                s.sendall(struct.pack(">I", len(hello) + 1) + b"A" + hello)
            s.sendall(struct.pack(">I", len(payload) + 1) + a.type.encode() + payload)
            s.shutdown(socket.SHUT_WR)
    except OSError as e:
        sys.exit("rawpost.py: cannot send to %s: %s" % (a.batcher, e))
    print("sent a %r frame of %d bytes to %s" % (a.type, len(payload) + 5, a.batcher), file=sys.stderr)


if __name__ == "__main__":
    main()

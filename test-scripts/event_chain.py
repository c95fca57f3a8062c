#!/usr/bin/env python3
"""Append a chain of N causally linked events with the Python client: event i+1 names event i's
tag "step" as its cause, all share one seed. Prints each event as a JSON line (with its LId with
--wait), and the chain's seed on stderr; check it with ./trace SEED."""

import argparse
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
from chariots import Batcher, Client, caused_by  # noqa: E402


class _NoBatcher:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-n", type=int, default=5, help="events in the chain (default %(default)s)")
    p.add_argument("--url", default=os.environ.get("CHARIOTS_URL", "http://localhost:8080"),
                   help="the app (env CHARIOTS_URL; default %(default)s)")
    p.add_argument("--batcher", default=os.environ.get("CHARIOTS_BATCHER", "localhost:9000"),
                   help="the batcher for --via tcp/mixed (env CHARIOTS_BATCHER; default %(default)s)")
    p.add_argument("--via", choices=["http", "tcp", "mixed"], default="http",
                   help="append over HTTP, raw TCP 'r' frames, or alternately (default %(default)s)")
    p.add_argument("--seed", type=int, help="the chain's seed (default: random 64-bit)")
    p.add_argument("--name", help="tag chain=NAME on every event (default: random)")
    p.add_argument("--wait", action="store_true", help="wait until every event is in the log; print LIds")
    a = p.parse_args()
    if a.n < 1:
        p.error("-n must be at least 1")
    name = a.name or secrets.token_hex(4)
    log = Client(a.url, token=os.environ.get("CHARIOTS_TOKEN"))
    events = []
    with (Batcher(a.batcher, token=os.environ.get("CHARIOTS_TOKEN")) if a.via != "http" else _NoBatcher()) as bt:
        prev = None
        for i in range(a.n):
            tags = {"chain": name, "step": str(i)}
            cause = caused_by(prev, "step") if prev else None
            seed = a.seed if prev is None else None
            tcp = a.via == "tcp" or (a.via == "mixed" and i % 2 == 1)
            prev = bt.append(tags, cause, seed=seed) if tcp else log.append(tags, cause, seed=seed)
            events.append(prev)
    if a.wait:
        deadline = time.monotonic() + 60
        for ev in events:
            while True:
                st = log.status(ev.id)
                if st.status == "appended":
                    ev.lid = st.lid
                    break
                if st.status == "rejected" or time.monotonic() > deadline:
                    sys.exit("event_chain.py: event %s is %s" % (ev.id, st.status))
                time.sleep(0.05)
    for ev in events:
        print(json.dumps(ev.to_json(), ensure_ascii=False))
    print("chain %s: %d events, seed %d" % (name, len(events), events[0].seed), file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a script: say what failed, exit 1
        sys.exit("event_chain.py: error: %s" % e)

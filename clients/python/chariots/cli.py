"""``python3 -m chariots``: append and read from a shell; JSON on stdout, errors on stderr, exit 1."""

import argparse
import json
import os
import sys
from typing import List, Optional

from ._core import Cause, caused_by, fnv1a64, tag_hash, u64
from .errors import ChariotsError
from .http import DEFAULT_URL, Client
from .tcp import DEFAULT_BATCHER, Batcher


def _dump(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _u64_arg(text: str) -> int:
    try:
        return u64("value", int(text, 10))
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError("must be an unsigned 64-bit decimal number (0..18446744073709551615), got %r" % text)


def _lid_arg(text: str) -> int:
    v = _u64_arg(text)
    if v == 0:
        raise argparse.ArgumentTypeError("LIds start at 1")
    return v


def _tags_arg(text: str):
    try:
        tags = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError("must be a JSON object of strings, like '{\"k\":\"v\"}': %s" % e)
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise argparse.ArgumentTypeError("must be a JSON object of string values, like '{\"k\":\"v\"}', got %s" % text)
    return tags


def _cause_arg(text: str):
    lid, sep, key = text.partition(":")
    if not sep or not key:
        raise argparse.ArgumentTypeError("must be LID:key (the cause's LId and the tag that names it), got %r" % text)
    return _lid_arg(lid), key


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("CHARIOTS_URL", DEFAULT_URL),
                        help="the app's HTTP address (env CHARIOTS_URL; default %(default)s)")
    common.add_argument("--token", default=os.environ.get("CHARIOTS_TOKEN"),
                        help="the client token, for a cluster that requires one (env CHARIOTS_TOKEN)")
    common.add_argument("--ca", default=os.environ.get("CHARIOTS_CA"),
                        help="the certificate authority (PEM) of an https:// URL or tls:// batcher (env CHARIOTS_CA)")
    common.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default %(default)s)")

    p = argparse.ArgumentParser(prog="python3 -m chariots", description="Chariots client: append events, read the log.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True

    def appender(name, help):
        a = sub.add_parser(name, parents=[common], help=help, description=help)
        a.add_argument("--tags", type=_tags_arg, required=True, help="the tags, a JSON object: '{\"k\":\"v\"}'")
        a.add_argument("--seed", type=_u64_arg, help="the chain's seed (default: its causes', or random for a new chain)")
        a.add_argument("--caused-by", type=_cause_arg, action="append", default=[], metavar="LID:KEY",
                       help="a cause: the record at LID (fetched over HTTP), named by its tag KEY; repeatable")
        a.add_argument("--prehash", type=_u64_arg, action="append", default=[], metavar="HASH",
                       help="a cause by hash (needs --seed); repeatable")
        a.add_argument("--id", help="the record's id (default: random; reuse it to retry safely)")
        return a

    a = appender("append", "append one record over HTTP; prints the event")
    a.add_argument("--wait", action="store_true", help="return once persisted and indexed (prints its lid)")
    s = appender("send", "append one record over raw TCP ('r' frame) to a batcher; prints the event (no lid)")
    s.add_argument("--batcher", default=os.environ.get("CHARIOTS_BATCHER", DEFAULT_BATCHER),
                   help="the batcher's host:port (env CHARIOTS_BATCHER; default %(default)s)")

    g = sub.add_parser("get", parents=[common], help="the record at an LId")
    g.add_argument("lid", type=_lid_arg)
    st = sub.add_parser("status", parents=[common], help="appended / pending / rejected / unknown, by id")
    st.add_argument("id")
    r = sub.add_parser("records", parents=[common], help="records from an LId, one JSON line each")
    r.add_argument("--from", dest="from_lid", type=_lid_arg, default=1)
    r.add_argument("--limit", type=int, default=None, help="at most this many (default: to the end of the log)")
    t = sub.add_parser("by-tag", parents=[common], help="records carrying tag key:value, one JSON line each")
    t.add_argument("tag", help="key:value")
    t.add_argument("--seed", type=_u64_arg, help="only this chain's")
    t.add_argument("--from", dest="from_lid", type=_lid_arg, default=1)
    tr = sub.add_parser("trace", parents=[common], help="a chain in log order, each record with its causes' LIds")
    tr.add_argument("seed", type=_u64_arg)
    tl = sub.add_parser("tail", parents=[common], help="follow the log, one JSON line per record")
    tl.add_argument("--from", dest="from_lid", type=_lid_arg, default=1)
    tl.add_argument("-n", "--count", type=int, default=None, help="stop after this many records")
    h = sub.add_parser("hash", help="FNV-1a-64 of KEY:VALUE (or of one TEXT), unsigned decimal")
    h.add_argument("text", nargs="+", metavar="KEY VALUE | TEXT")
    return p


def _causes(args, client: Client) -> List[Cause]:
    causes = [caused_by(client.get(lid), key) for lid, key in args.caused_by]
    if args.prehash:
        if args.seed is None:
            raise SystemExit2("--prehash needs --seed (the cause's chain)")
        causes += [Cause(h, args.seed) for h in args.prehash]
    return causes


class SystemExit2(Exception):
    pass


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.cmd == "hash":
            if len(args.text) == 2:
                print(tag_hash(args.text[0], args.text[1]))
            elif len(args.text) == 1:
                print(fnv1a64(args.text[0]))
            else:
                raise SystemExit2("hash takes KEY VALUE or one TEXT")
            return 0
        client = Client(args.url, timeout=args.timeout, token=args.token, ca_file=args.ca)
        if args.cmd == "append":
            ev = client.append(args.tags, _causes(args, client), seed=args.seed, id=args.id, wait=args.wait)
            _dump(ev.to_json())
        elif args.cmd == "send":
            causes = _causes(args, client)
            with Batcher(args.batcher, timeout=args.timeout, token=args.token, ca_file=args.ca) as b:
                ev = b.append(args.tags, causes, seed=args.seed, id=args.id)
            _dump(ev.to_json())
        elif args.cmd == "get":
            _dump(client.get(args.lid).to_json())
        elif args.cmd == "status":
            _dump(client.status(args.id).to_json())
        elif args.cmd == "records":
            for i, ev in enumerate(client.iter_records(args.from_lid)):
                if args.limit is not None and i >= args.limit:
                    break
                _dump(ev.to_json())
        elif args.cmd == "by-tag":
            for ev in client.by_tag(args.tag, seed=args.seed, from_lid=args.from_lid):
                _dump(ev.to_json())
        elif args.cmd == "trace":
            for ev in client.trace(args.seed):
                _dump(ev.to_json())
        elif args.cmd == "tail":
            gen = client.tail(args.from_lid)
            try:
                for i, ev in enumerate(gen):
                    _dump(ev.to_json())
                    if args.count is not None and i + 1 >= args.count:
                        break
            finally:
                gen.close()
        return 0
    except (ChariotsError, OSError, ValueError, TypeError, KeyError, SystemExit2) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        sys.stderr.write("chariots: error: %s\n" % msg)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

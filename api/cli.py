"""The `golemite` command line: the daemon, accounts, and a client for the HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path


def _number(kind: type, low: float, high: float | None = None, *, above: bool = False):
    """An argparse type: a `kind` number from `low` (or above it) up to `high`."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        fits = value is not None and value == value and value != float("inf") and (
            value > low if above else value >= low) and (high is None or value <= high)
        if not fits:
            what = "a whole number" if kind is int else "a number"
            bound = (f"above {low:g}" if above else f"of at least {low:g}" if high is None
                     else f"from {low:g} to {high:g}")
            raise argparse.ArgumentTypeError(f"expected {what} {bound}, got {text!r}")
        return value
    return parse


_count = _number(int, 1)


def _serve_parser(sub) -> None:
    # Every option carries a help text: ArgumentDefaultsHelpFormatter only shows the
    # default of options that have one, and SPEC §1 wants every default in --help.
    p = sub.add_parser("serve", help="run the daemon", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=_number(int, 1, 65535), default=9881, help="port to listen on")
    p.add_argument("--data-dir", default="./data", help="where everything durable lives")
    p.add_argument("--durability", choices=["sync", "meta", "none"], default="sync",
                   help="sync: fsync every commit; meta: no metadata sync; none: not crash-safe (benchmarks only)")
    p.add_argument("--max-workers-per-account", type=_count, default=10_000, help="workers per account (403 past it)")
    p.add_argument("--invoke-timeout", type=_number(float, 0, above=True), default=60.0, help="seconds before invoke-and-await answers 504")
    p.add_argument("--max-body-bytes", type=_count, default=64 << 20, help="largest request body (413 past it)")
    p.add_argument("--max-memory-mb", type=_count, default=256, help="guest linear memory per worker")
    p.add_argument("--max-invocation-seconds", type=_number(float, 0), default=0, help="wall time of one invocation (0: none)")
    p.add_argument("--max-live-workers", type=_count, default=1000, help="instances kept in memory (LRU)")
    p.add_argument("--guest-threads", type=_count, default=16, help="threads that run guest code")
    p.add_argument("--thread-policy", choices=["batch", "normal"], default="batch",
                   help="batch: the helper threads (guest, oplog writer, epoch) run under Linux's SCHED_BATCH "
                        "and do not preempt the event loop as they wake; normal: the default policy")
    p.add_argument("--demo-template", default=None, metavar="NAME=PATH",
                   help="upload this component for the default account if no template of that name exists")
    p.add_argument("--log-format", choices=["auto", "json", "console"], default="auto",
                   help="auto: console lines on a terminal, JSON lines otherwise")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info",
                   help="the least level logged; warning drops the line per request")
    p.add_argument("--event-loop", choices=["uvloop", "asyncio"], default="uvloop",
                   help="uvloop: libuv's loop (more requests per second); asyncio: the standard library's")


def event_loop_factory(name: str):
    """The loop constructor for `--event-loop`; the standard loop where uvloop is not installed."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return None
        return uvloop.new_event_loop
    return None


def _key_value(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


DEFAULT_URL = "http://127.0.0.1:9881"


def _client_parser(sub) -> None:
    def client(p):
        p.add_argument("--url", default=os.environ.get("GOLEMITE_URL", DEFAULT_URL),
                       help=f"the daemon's base URL (env GOLEMITE_URL; default {DEFAULT_URL})")
        p.add_argument("--token", default=os.environ.get("GOLEMITE_TOKEN"),
                       help="bearer token (env GOLEMITE_TOKEN)")
        return p

    def worker_args(p):
        p.add_argument("template_id")
        p.add_argument("name", help="worker name")
        return p

    t = sub.add_parser("template", help="manage templates").add_subparsers(dest="action", required=True)
    p = client(t.add_parser("add", help="upload a new template"))
    p.add_argument("--name", required=True)
    p.add_argument("wasm", help="path of the component (.wasm)")
    p = client(t.add_parser("list", help="list templates (latest version of each)"))
    p.add_argument("--name", help="only templates of this name")
    p = client(t.add_parser("update", help="upload the next version of a template"))
    p.add_argument("template_id")
    p.add_argument("wasm", help="path of the component (.wasm)")

    w = sub.add_parser("worker", help="manage and invoke workers").add_subparsers(dest="action", required=True)
    p = worker_args(client(w.add_parser("add", help="create a worker")))
    p.add_argument("--arg", action="append", default=[], help="a command-line argument (repeatable)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", type=_key_value,
                   help="an environment variable (repeatable)")
    for action, text in (("get", "show a worker's metadata"), ("delete", "delete a worker and its oplog"),
                         ("resume", "resume an interrupted worker"), ("key", "create an invocation key"),
                         ("connect", "stream the worker's output events until it is deleted")):
        worker_args(client(w.add_parser(action, help=text)))
    p = client(w.add_parser("list", help="list a template's workers"))
    p.add_argument("template_id")
    p.add_argument("--filter", action="append", default=[], help="PROPERTY OP VALUE (repeatable)")
    p.add_argument("--count", type=int, help="page size")
    p.add_argument("--cursor", help="cursor of the previous page")
    for action, text in (("invoke", "queue an invocation"), ("invoke-and-await", "invoke and wait for the result")):
        p = worker_args(client(w.add_parser(action, help=text)))
        p.add_argument("function", help="e.g. golem:it/api/add-item")
        p.add_argument("params", nargs="?", default="[]", help="JSON array of parameters")
        p.add_argument("--calling-convention", default="component", choices=["component", "stdio"])
        if action == "invoke-and-await":
            p.add_argument("--key", help="invocation key (from `worker key`) for exactly-once")
    p = worker_args(client(w.add_parser("interrupt", help="interrupt a running or suspended worker")))
    p.add_argument("--recover-immediately", action="store_true", help="simulate a crash and recover at once")
    p = worker_args(client(w.add_parser("complete", help="complete a promise")))
    p.add_argument("oplog_idx", type=int, help="oplog index of the promise")
    p.add_argument("data", help="the data, as text (sent as its UTF-8 bytes), or hex with --hex")
    p.add_argument("--hex", action="store_true", help="the data is hexadecimal bytes (e.g. ff00), not text")
    p = worker_args(client(w.add_parser("oplog", help="read a worker's oplog")))
    p.add_argument("--from", dest="start", type=int, default=1)
    p.add_argument("--count", type=int, default=100)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="golemite", description="durable WebAssembly workers")
    sub = ap.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    acc = sub.add_parser("accounts", help="manage accounts").add_subparsers(dest="action", required=True)
    p = acc.add_parser("create", help="create an account and print its token")
    p.add_argument("name")
    p.add_argument("--data-dir", default="./data")
    p = sub.add_parser("backup", help="copy a data dir into a new folder (safe while the daemon serves)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("dest", help="the new folder; `golemite serve --data-dir DEST` runs on it")
    p.add_argument("--data-dir", default="./data", help="the data dir to copy")
    _client_parser(sub)
    return ap


class ClientError(Exception):
    pass


def _request(args, method: str, path: str, *, body: bytes | None = None, content_type: str | None = None,
             query: dict | None = None):
    url = args.url.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=600) as resp:
            data = resp.read()
    except urllib.error.HTTPError as e:
        raise ClientError(f"HTTP {e.code}: {e.read().decode(errors='replace')}{_token_hint(args, e.code)}") from None
    except urllib.error.URLError as e:
        raise ClientError(f"cannot reach {args.url}: {e.reason}") from None
    except http.client.InvalidURL as e:
        raise ClientError(f"invalid --url {args.url!r}: {e}") from None
    except (http.client.HTTPException, OSError) as e:  # the daemon went away mid-answer
        raise ClientError(f"lost the connection to {args.url}: {e!r}") from None
    except ValueError as e:  # urllib's word for a malformed URL
        raise ClientError(f"invalid --url {args.url!r}: {e}") from None
    try:
        return json.loads(data) if data else None
    except ValueError:
        raise ClientError(f"the answer from {args.url} is not JSON: {data[:200]!r}") from None


def _token_hint(args, status: int) -> str:
    return " (no token given: pass --token or set GOLEMITE_TOKEN)" if status == 401 and not args.token else ""


def _multipart(fields: dict[str, tuple[str | None, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, (filename, data) in fields.items():
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _segment(text: str) -> str:
    """One path segment, escaped: a name holding '#', '?' or '/' must not become another URL
    (`worker delete T 'w#2'` deleted worker w)."""
    return urllib.parse.quote(text, safe="")


def _template_path(args, suffix: str = "") -> str:
    return f"/v1/templates/{_segment(args.template_id)}{suffix}"


def _worker_path(args, suffix: str = "") -> str:
    return _template_path(args, f"/workers/{_segment(args.name)}{suffix}")


def _complete_data(args) -> bytes:
    if not args.hex:
        return args.data.encode()
    try:
        return bytes.fromhex(args.data)
    except ValueError:
        raise ClientError(f"--hex data must be pairs of hex digits (e.g. ff00), got {args.data!r}") from None


def _read_wasm(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ClientError(f"cannot read {path}: {e.strerror}") from None


def _params(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError as e:
        raise ClientError(f"params must be JSON (e.g. '[1, \"text\"]'): {e}") from None


def run_client(args) -> object:
    c = args.command
    a = args.action
    if c == "template":
        if a == "add":
            body, ctype = _multipart({"name": (None, args.name.encode()),
                                      "template": (Path(args.wasm).name, _read_wasm(args.wasm))})
            return _request(args, "POST", "/v1/templates", body=body, content_type=ctype)
        if a == "list":
            return _request(args, "GET", "/v1/templates", query={"template-name": args.name})
        return _request(args, "PUT", _template_path(args, "/upload"),
                        body=_read_wasm(args.wasm), content_type="application/octet-stream")
    if a == "add":
        body = json.dumps({"name": args.name, "args": args.arg, "env": [list(kv) for kv in args.env]}).encode()
        return _request(args, "POST", _template_path(args, "/workers"), body=body,
                        content_type="application/json")
    if a == "get":
        return _request(args, "GET", _worker_path(args))
    if a == "delete":
        return _request(args, "DELETE", _worker_path(args))
    if a == "resume":
        return _request(args, "POST", _worker_path(args, "/resume"))
    if a == "key":
        return _request(args, "POST", _worker_path(args, "/key"))
    if a == "list":
        return _request(args, "GET", _template_path(args, "/workers"),
                        query={"filter": args.filter, "count": args.count, "cursor": args.cursor})
    if a in ("invoke", "invoke-and-await"):
        body = json.dumps({"params": _params(args.params)}).encode()
        query = {"function": args.function, "calling-convention": args.calling_convention}
        if a == "invoke-and-await":
            query["invocation-key"] = args.key
        return _request(args, "POST", _worker_path(args, "/" + a), body=body, content_type="application/json",
                        query=query)
    if a == "interrupt":
        return _request(args, "POST", _worker_path(args, "/interrupt"),
                        query={"recover-immediately": "true" if args.recover_immediately else None})
    if a == "complete":
        body = json.dumps({"oplogIdx": args.oplog_idx, "data": list(_complete_data(args))}).encode()
        return _request(args, "POST", _worker_path(args, "/complete"), body=body, content_type="application/json")
    if a == "oplog":
        return _request(args, "GET", _worker_path(args, "/oplog"), query={"from": args.start, "count": args.count})
    if a == "connect":
        return asyncio.run(_connect(args))
    raise ClientError(f"unknown command {c} {a}")


async def _connect(args) -> None:
    import aiohttp
    url = args.url.rstrip("/").replace("http", "ws", 1) + _worker_path(args, "/connect")
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url, headers=headers) as ws:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        print(msg.data, flush=True)
                code = ws.close_code
    except aiohttp.WSServerHandshakeError as e:
        raise ClientError(f"HTTP {e.status}: {e.message}{_token_hint(args, e.status)}") from None
    except aiohttp.InvalidURL:
        raise ClientError(f"invalid --url {args.url!r}") from None
    except aiohttp.ClientConnectorError as e:
        raise ClientError(f"cannot reach {args.url}: {e.os_error.strerror or e.os_error}") from None
    except (aiohttp.ClientError, OSError) as e:
        raise ClientError(f"lost the connection to {args.url}: {e!r}") from None
    # The daemon closes normally once the worker is deleted; any other ending (it stopped,
    # or was killed) is not what the command waits for.
    if code != aiohttp.WSCloseCode.OK:
        raise ClientError(f"the connection to {args.url} ended (websocket close code {code}): "
                          "the daemon stopped or went away")
    print("golemite: the worker was deleted", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        from . import logging as golemite_logging
        from .server import serve
        fmt = {"auto": None, "json": True, "console": False}[args.log_format]
        golemite_logging.configure(fmt, args.log_level)
        with asyncio.Runner(loop_factory=event_loop_factory(args.event_loop)) as runner:
            return runner.run(serve(args))
    if args.command in ("accounts", "backup"):
        return _offline(args)
    try:
        result = run_client(args)
    except ClientError as e:
        print(f"golemite: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, most often ending `worker connect`
        return 130
    if result is not None:
        print(json.dumps(result, indent=2))
    return 0


def _offline(args) -> int:
    """Commands that work on a data dir directly, not through the daemon."""
    from executor import ExecutorError, backup_data_dir, create_account_offline
    try:
        if args.command == "backup":
            size = backup_data_dir(args.data_dir, args.dest)
            print(json.dumps({"backup": str(args.dest), "storeBytes": size}, indent=2))
        else:
            print(create_account_offline(args.data_dir, args.name))
    except ExecutorError as e:
        print(f"golemite: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"golemite: {e.filename or args.data_dir}: {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

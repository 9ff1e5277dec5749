"""The `golemite` command line: the daemon, accounts, and a client for the HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path


def _serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="run the daemon", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9881)
    p.add_argument("--data-dir", default="./data")
    p.add_argument("--durability", choices=["sync", "meta", "none"], default="sync",
                   help="sync: fsync every commit; meta: no metadata sync; none: not crash-safe (benchmarks only)")
    p.add_argument("--max-workers-per-account", type=int, default=10_000)
    p.add_argument("--invoke-timeout", type=float, default=60.0, help="seconds before invoke-and-await answers 504")
    p.add_argument("--max-body-bytes", type=int, default=64 << 20)
    p.add_argument("--max-memory-mb", type=int, default=256, help="guest linear memory per worker")
    p.add_argument("--max-invocation-seconds", type=float, default=0, help="wall time of one invocation (0: none)")
    p.add_argument("--max-live-workers", type=int, default=1000, help="instances kept in memory (LRU)")
    p.add_argument("--guest-threads", type=int, default=8, help="threads that run guest code")
    p.add_argument("--demo-template", default=None, metavar="NAME=PATH",
                   help="upload this component for the default account if no template of that name exists")
    p.add_argument("--log-format", choices=["auto", "json", "console"], default="auto")


def _client_parser(sub) -> None:
    def client(p):
        p.add_argument("--url", default=os.environ.get("GOLEMITE_URL", "http://127.0.0.1:9881"))
        p.add_argument("--token", default=os.environ.get("GOLEMITE_TOKEN"))
        return p

    t = sub.add_parser("template", help="manage templates").add_subparsers(dest="action", required=True)
    p = client(t.add_parser("add"))
    p.add_argument("--name", required=True)
    p.add_argument("wasm")
    p = client(t.add_parser("list"))
    p.add_argument("--name")
    p = client(t.add_parser("update"))
    p.add_argument("template_id")
    p.add_argument("wasm")

    w = sub.add_parser("worker", help="manage and invoke workers").add_subparsers(dest="action", required=True)
    p = client(w.add_parser("add"))
    p.add_argument("template_id")
    p.add_argument("name")
    p.add_argument("--arg", action="append", default=[])
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    for action in ("get", "delete", "resume", "connect"):
        p = client(w.add_parser(action))
        p.add_argument("template_id")
        p.add_argument("name")
    p = client(w.add_parser("list"))
    p.add_argument("template_id")
    p.add_argument("--filter", action="append", default=[])
    for action in ("invoke", "invoke-and-await"):
        p = client(w.add_parser(action))
        p.add_argument("template_id")
        p.add_argument("name")
        p.add_argument("function")
        p.add_argument("params", nargs="?", default="[]", help="JSON array of parameters")
        p.add_argument("--key")
        p.add_argument("--calling-convention", default="component")
    p = client(w.add_parser("interrupt"))
    p.add_argument("template_id")
    p.add_argument("name")
    p.add_argument("--recover-immediately", action="store_true")
    p = client(w.add_parser("complete"))
    p.add_argument("template_id")
    p.add_argument("name")
    p.add_argument("oplog_idx", type=int)
    p.add_argument("data", help="the data, as text (sent as its UTF-8 bytes)")
    p = client(w.add_parser("oplog"))
    p.add_argument("template_id")
    p.add_argument("name")
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
    _client_parser(sub)
    return ap


class ClientError(Exception):
    pass


def _request(args, method: str, path: str, *, body: bytes | None = None, content_type: str | None = None,
             query: dict | None = None):
    url = args.url.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
    req = urllib.request.Request(url, data=body, method=method)
    if args.token:
        req.add_header("Authorization", f"Bearer {args.token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            data = resp.read()
    except urllib.error.HTTPError as e:
        raise ClientError(f"HTTP {e.code}: {e.read().decode(errors='replace')}") from None
    except urllib.error.URLError as e:
        raise ClientError(f"cannot reach {args.url}: {e.reason}") from None
    return json.loads(data) if data else None


def _multipart(fields: dict[str, tuple[str | None, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, (filename, data) in fields.items():
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _worker_path(args, suffix: str = "") -> str:
    return f"/v1/templates/{args.template_id}/workers/{args.name}{suffix}"


def run_client(args) -> object:
    c = args.command
    a = args.action
    if c == "template":
        if a == "add":
            body, ctype = _multipart({"name": (None, args.name.encode()),
                                      "template": (Path(args.wasm).name, Path(args.wasm).read_bytes())})
            return _request(args, "POST", "/v1/templates", body=body, content_type=ctype)
        if a == "list":
            return _request(args, "GET", "/v1/templates", query={"template-name": args.name})
        return _request(args, "PUT", f"/v1/templates/{args.template_id}/upload",
                        body=Path(args.wasm).read_bytes(), content_type="application/octet-stream")
    if a == "add":
        env = [e.split("=", 1) for e in args.env]
        body = json.dumps({"name": args.name, "args": args.arg, "env": env}).encode()
        return _request(args, "POST", f"/v1/templates/{args.template_id}/workers", body=body,
                        content_type="application/json")
    if a == "get":
        return _request(args, "GET", _worker_path(args))
    if a == "delete":
        return _request(args, "DELETE", _worker_path(args))
    if a == "resume":
        return _request(args, "POST", _worker_path(args, "/resume"))
    if a == "list":
        return _request(args, "GET", f"/v1/templates/{args.template_id}/workers", query={"filter": args.filter})
    if a in ("invoke", "invoke-and-await"):
        body = json.dumps({"params": json.loads(args.params)}).encode()
        query = {"function": args.function, "calling-convention": args.calling_convention}
        if a == "invoke-and-await":
            query["invocation-key"] = args.key
        return _request(args, "POST", _worker_path(args, "/" + a), body=body, content_type="application/json",
                        query=query)
    if a == "interrupt":
        return _request(args, "POST", _worker_path(args, "/interrupt"),
                        query={"recover-immediately": "true" if args.recover_immediately else None})
    if a == "complete":
        body = json.dumps({"oplogIdx": args.oplog_idx, "data": list(args.data.encode())}).encode()
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
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, headers=headers) as ws:
            async for msg in ws:
                print(msg.data, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        from . import logging as golemite_logging
        from .server import serve
        fmt = {"auto": None, "json": True, "console": False}[args.log_format]
        golemite_logging.configure(fmt)
        return asyncio.run(serve(args))
    if args.command == "accounts":
        from executor import Accounts, AlreadyExists
        from oplog import OplogStore
        store = OplogStore(Path(args.data_dir) / "oplog")
        try:
            _, token = Accounts(store).create(args.name)
        except AlreadyExists as e:
            print(f"golemite: {e}", file=sys.stderr)
            return 1
        finally:
            store.close()
        print(token)
        return 0
    try:
        result = run_client(args)
    except ClientError as e:
        print(f"golemite: {e}", file=sys.stderr)
        return 1
    if result is not None:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

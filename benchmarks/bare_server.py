"""The HTTP baseline: a bare aiohttp endpoint on golemite's invoke-and-await path.

It parses the same JSON body and answers `{"result": [1]}`, so the difference to the
daemon is everything golemite does per request. Run: python -m benchmarks.bare_server --port P
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

from api.cli import event_loop_factory


async def invoke_and_await(request: web.Request) -> web.Response:
    body = await request.json()
    if not isinstance(body.get("params"), list):
        return web.json_response({"errors": ["params must be a list"]}, status=400)
    return web.Response(body=json.dumps({"result": [1]}).encode(), content_type="application/json")


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/templates/{templateId}/workers/{workerName}/invoke-and-await", invoke_and_await)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--event-loop", choices=["uvloop", "asyncio"], default="uvloop",
                    help="the same choice as golemite serve's, so both run on the same loop")
    args = ap.parse_args(argv)
    factory = event_loop_factory(args.event_loop)
    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None,
                loop=factory() if factory else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""An OpenAPI 3 document generated from the request/response Structs."""

from __future__ import annotations

from functools import lru_cache

import msgspec

from . import models as M

_W = "/v1/templates/{templateId}/workers/{workerName}"
_TID = {"name": "templateId", "in": "path", "required": True, "schema": {"type": "string"}}
_WNAME = {"name": "workerName", "in": "path", "required": True,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$"}}


def _q(name: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _int(minimum: int) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": M.MAX_QUERY_INT}


def _json(ref: str | dict) -> dict:
    schema = {"$ref": f"#/components/schemas/{ref}"} if isinstance(ref, str) else ref
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok, *, params=(), body=None, errors=(400, 401, 404)) -> dict:
    responses = {"200": {"description": "OK", **_json(ok)}}
    for code in errors:
        ref = "ErrorsBody" if code == 400 else "ErrorBody"
        responses[str(code)] = {"description": "error", **_json(ref)}
    op = {"summary": summary, "parameters": list(params), "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, **body}
        responses["413"] = {"description": "the body is over --max-body-bytes", **_json("ErrorBody")}
    return op


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    structs = (M.Template, M.VersionedWorkerId, M.WorkerCreationRequest, M.InvokeBody, M.CompleteBody,
               M.WorkerMetadata, M.WorkersPage, M.InvokeResult, M.KeyValue, M.OplogPage, M.ErrorsBody, M.ErrorBody)
    _, components = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    multipart = {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["name", "template"],
        "properties": {"name": {"type": "string"}, "template": {"type": "string", "format": "binary"}}}}}}
    octets = {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    w = (_TID, _WNAME)
    paths = {
        "/v1/templates": {
            "post": _op("Upload a new template", "Template", body=multipart, errors=(400, 401)),
            "get": _op("List templates (latest version of each)", {"type": "array", "items": {"$ref": "#/components/schemas/Template"}},
                       params=[_q("template-name", {"type": "string"})], errors=(401,)),
        },
        "/v1/templates/{templateId}": {"get": _op("Every version of a template", {"type": "array", "items": {"$ref": "#/components/schemas/Template"}}, params=[_TID])},
        "/v1/templates/{templateId}/latest": {"get": _op("Latest version of a template", "Template", params=[_TID])},
        "/v1/templates/{templateId}/upload": {"put": _op("Upload the next version", "Template", params=[_TID], body=octets)},
        "/v1/templates/{templateId}/download": {"get": {
            "summary": "Download a version's wasm", "parameters": [_TID, _q("version", _int(0))],
            "responses": {"200": {"description": "the component", **octets},
                          "400": {"description": "error", **_json("ErrorsBody")},
                          "401": {"description": "error", **_json("ErrorBody")},
                          "404": {"description": "error", **_json("ErrorBody")}}}},
        "/v1/templates/workers/{workerId}": {"get": _op("Parse a worker id", "VersionedWorkerId", params=[
            {"name": "workerId", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/v1/templates/{templateId}/workers": {
            "post": _op("Create a worker", "VersionedWorkerId", params=[_TID], body=_json("WorkerCreationRequest"),
                        errors=(400, 401, 403, 404, 409)),
            "get": _op("List workers", "WorkersPage", params=[
                _TID, _q("filter", {"type": "array", "items": {"type": "string"}}), _q("cursor", {"type": "string"}),
                _q("count", _int(1))]),
        },
        _W: {"get": _op("Worker metadata", "WorkerMetadata", params=w),
             "delete": _op("Delete a worker", {"type": "object"}, params=w)},
        _W + "/key": {"post": _op("Create an invocation key", "KeyValue", params=w)},
        _W + "/invoke-and-await": {"post": _op("Invoke and wait for the result", "InvokeResult", params=[
            *w, _q("function", {"type": "string"}, True), _q("invocation-key", {"type": "string"}),
            _q("calling-convention", {"type": "string", "enum": ["component", "stdio"]})],
            body=_json("InvokeBody"), errors=(400, 401, 403, 404, 500, 504))},
        _W + "/invoke": {"post": _op("Queue an invocation", {"type": "object"}, params=[
            *w, _q("function", {"type": "string"}, True),
            _q("calling-convention", {"type": "string", "enum": ["component", "stdio"]})],
            body=_json("InvokeBody"), errors=(400, 401, 403, 404, 500))},
        _W + "/complete": {"post": _op("Complete a promise", {"type": "boolean"}, params=w, body=_json("CompleteBody"))},
        _W + "/interrupt": {"post": _op("Interrupt a worker", {"type": "boolean"}, params=[
            *w, _q("recover-immediately", {"type": "boolean"})])},
        _W + "/resume": {"post": _op("Resume an interrupted worker", {"type": "object"}, params=w)},
        _W + "/oplog": {"get": _op("Read a worker's oplog", "OplogPage", params=[
            *w, _q("from", _int(1)), _q("count", _int(1))])},
        _W + "/connect": {"get": {
            "summary": "Stream the worker's stdout, stderr and log events (websocket)", "parameters": list(w),
            "responses": {"101": {"description": "switching to the websocket protocol"},
                          "400": {"description": "not a websocket upgrade request", **_json("ErrorsBody")},
                          "401": {"description": "error", **_json("ErrorBody")},
                          "404": {"description": "error", **_json("ErrorBody")}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "golemite worker API", "version": "0.1.0"},
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }

"""A browsable API reference rendered on the server from the OpenAPI document.

Litestar's own renderers (Redoc, Swagger UI, Scalar, ...) load their JavaScript, styles and
fonts from a CDN, which machines without internet cannot reach. This page needs nothing but
itself (no script, no style sheet or font from elsewhere): it is served at ``/docs`` and, in
place of Litestar's renderers, at ``/schema`` and ``/schema/redoc`` (``DocsPagePlugin``,
ADR 0045). The machine-readable document stays at ``/schema/openapi.json``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "oneOf" in schema:
        return " | ".join(_ref_name(x) for x in schema["oneOf"])
    if schema.get("type") == "array":
        return f"list[{_ref_name(schema.get('items', {}))}]"
    if "enum" in schema:
        return " | ".join(escape(json.dumps(v, ensure_ascii=False)) for v in schema["enum"])
    return escape(str(schema.get("type", "any")))


def docs_page(openapi: dict[str, Any]) -> str:
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(openapi['info']['title'])} API</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}"
        "code,pre{background:#f4f4f4;padding:.1rem .3rem}h2{border-bottom:1px solid #ddd}"
        ".m{display:inline-block;width:4.5rem;font-weight:bold}.get{color:#1a7f37}.post{color:#0550ae}"
        ".put{color:#9a6700}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}"
        "@media print{a{color:inherit;text-decoration:none}}</style></head><body>",
        f"<h1>{escape(openapi['info']['title'])} API {escape(openapi['info'].get('version', ''))}</h1>",
        f"<p>{escape(openapi['info'].get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/schema/openapi.json'>/schema/openapi.json</a>. "
        "Errors are <code>application/problem+json</code>.</p><h2>Operations</h2>",
    ]
    for path, ops in sorted(openapi.get("paths", {}).items()):
        for method, op in ops.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            out.append(
                f"<h3 id='{escape(op.get('operationId', ''))}'><span class='m {method}'>{method.upper()}</span>"
                f"<code>{escape(path)}</code></h3><p>{escape(op.get('summary', ''))}</p>"
            )
            params = op.get("parameters", [])
            if params:
                out.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th></tr>")
                for p in params:
                    out.append(
                        f"<tr><td>{escape(p['name'])}</td><td>{escape(p['in'])}</td>"
                        f"<td>{_ref_name(p.get('schema', {}))}</td><td>{'yes' if p.get('required') else ''}</td></tr>"
                    )
                out.append("</table>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                out.append(f"<p>Body: {_ref_name(body.get('schema', {}))}</p>")
            responses = ", ".join(
                f"{escape(code)}" for code in op.get("responses", {})
            )
            out.append(f"<p>Responses: {responses}</p>")
    out.append("<h2>Schemas</h2>")
    for name, schema in sorted(openapi.get("components", {}).get("schemas", {}).items()):
        out.append(f"<h3 id='schema-{escape(name)}'>{escape(name)}</h3>")
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if props:
            out.append("<table><tr><th>field</th><th>type</th><th>required</th></tr>")
            for field, fs in props.items():
                out.append(
                    f"<tr><td>{escape(field)}</td><td>{_ref_name(fs)}</td>"
                    f"<td>{'yes' if field in required else ''}</td></tr>"
                )
            out.append("</table>")
        elif "enum" in schema:
            out.append(f"<p>{_ref_name(schema)}</p>")
    out.append("</body></html>")
    return "".join(out)


class DocsPagePlugin(OpenAPIRenderPlugin):
    """``/schema`` and ``/schema/redoc`` (the address Litestar's Redoc page had): this page,
    rendered on the server, instead of a renderer that loads its script from a CDN."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/redoc"])

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return docs_page(openapi_schema).encode()

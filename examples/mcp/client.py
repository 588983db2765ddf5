#!/usr/bin/env python3
"""A real MCP client for the mcp example: the official Python SDK (`pip install mcp`).

    python3 examples/mcp/client.py URL TOKEN list
    python3 examples/mcp/client.py URL TOKEN call TOOL '{"id": "A1"}'

It connects over Streamable HTTP with `Authorization: Bearer TOKEN`,
initializes, then lists the tools or calls one, and prints one JSON object:
`tools` (their names) or `result` (the tool's text) or `error`, and `http`,
every HTTP answer the SDK received (method, status, WWW-Authenticate, and a
refusal's reason code), since
the SDK reports a refused request only as a JSON-RPC error. Exits 0.
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url, token, command, args):
    answers = []

    async def record(response):
        answer = {
            "method": response.request.method,
            "status": response.status_code,
            "www_authenticate": response.headers.get("www-authenticate"),
        }
        if response.status_code >= 400:  # a refusal's body: its reason code
            await response.aread()
            try:
                answer["reason"] = response.json().get("reason")
            except ValueError:
                pass
        answers.append(answer)

    out = {}
    client = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=httpx2.Timeout(30, read=60),
        event_hooks={"response": [record]},
    )
    try:
        async with client, streamable_http_client(url, http_client=client) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                if command == "list":
                    listed = await session.list_tools()
                    out["tools"] = [tool.name for tool in listed.tools]
                else:
                    arguments = json.loads(args[1]) if len(args) > 1 else {}
                    result = await session.call_tool(args[0], arguments)
                    texts = [c.text for c in result.content if getattr(c, "text", None)]
                    key = "error" if result.is_error else "result"
                    out[key] = "\n".join(texts)
    except BaseException as e:  # an ExceptionGroup from the SDK's task group too
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        out["error"] = describe(e)
    out["http"] = answers
    print(json.dumps(out))


def describe(e):
    inner = getattr(e, "exceptions", None)
    if inner:
        return "; ".join(describe(x) for x in inner)
    return f"{type(e).__name__}: {e}"


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[3] not in ("list", "call"):
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))

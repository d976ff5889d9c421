"""A minimal MCP server over stdio, standard library only: one JSON-RPC message per line.

Enough of the protocol for a server with tools (initialize, ping, tools/list, tools/call); the
compatibility suite's Python servers are built on it, as a server without the MCP SDK would be.
"""
import json
import sys
import traceback

PROTOCOL = "2025-06-18"


def _send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def serve(name, version, tools):
    """tools: {name: (description, input_schema, function(arguments) -> str)}."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            _send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            continue
        if "id" not in msg:
            continue  # a notification (notifications/initialized, cancelled): nothing to answer
        mid, method, params = msg["id"], msg.get("method"), msg.get("params") or {}
        if method == "initialize":
            result = {
                "protocolVersion": params.get("protocolVersion", PROTOCOL),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": name, "version": version},
            }
        elif method == "ping":
            result = {}
        elif method == "tools/list":
            result = {"tools": [{"name": n, "description": d, "inputSchema": s} for n, (d, s, _) in tools.items()]}
        elif method == "tools/call":
            tool = tools.get(params.get("name"))
            if tool is None:
                _send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "unknown tool"}})
                continue
            try:
                text, is_error = tool[2](params.get("arguments") or {}), False
            except Exception as e:  # the tool's failure is a result the model can read
                text, is_error = "%s: %s" % (type(e).__name__, e), True
                traceback.print_exc(file=sys.stderr)
            result = {"content": [{"type": "text", "text": text}], "isError": is_error}
        else:
            _send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "method not found"}})
            continue
        _send({"jsonrpc": "2.0", "id": mid, "result": result})

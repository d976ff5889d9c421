"""An SQLite MCP server (the tools of the reference mcp-server-sqlite), standard library only.

    python3 sqlite_server.py --db-path FILE
"""
import argparse
import json
import sqlite3

from mcp_stdio import serve

parser = argparse.ArgumentParser()
parser.add_argument("--db-path", required=True)
db = sqlite3.connect(parser.parse_args().db_path)


def rows(query):
    cur = db.execute(query)
    names = [c[0] for c in cur.description or []]
    return json.dumps([dict(zip(names, r)) for r in cur.fetchall()])


def read_query(a):
    if not a["query"].lstrip().upper().startswith("SELECT"):
        raise ValueError("only SELECT queries are allowed with read_query")
    return rows(a["query"])


def write_query(a):
    if a["query"].lstrip().upper().startswith("SELECT"):
        raise ValueError("SELECT queries are not allowed with write_query")
    cur = db.execute(a["query"])
    db.commit()
    return json.dumps({"affected_rows": cur.rowcount})


def create_table(a):
    db.execute(a["query"])
    db.commit()
    return "Table created successfully"


QUERY = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
TABLE = {"type": "object", "properties": {"table_name": {"type": "string"}}, "required": ["table_name"]}
serve("sqlite", "1.0.0", {
    "read_query": ("Execute a SELECT query on the SQLite database", QUERY, read_query),
    "write_query": ("Execute an INSERT, UPDATE or DELETE query", QUERY, write_query),
    "create_table": ("Create a new table", QUERY, create_table),
    "list_tables": ("List all tables", {"type": "object", "properties": {}},
                    lambda a: rows("SELECT name FROM sqlite_master WHERE type='table'")),
    "describe_table": ("Get the schema of a table", TABLE,
                       lambda a: rows("PRAGMA table_info(%s)" % json.dumps(a["table_name"]))),
})

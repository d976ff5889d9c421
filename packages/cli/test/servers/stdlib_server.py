"""A Python MCP server using nothing but the standard library: text statistics and digests."""
import hashlib
import platform
import statistics

from mcp_stdio import serve

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


def text_stats(a):
    words = a["text"].split()
    lengths = [len(w) for w in words] or [0]
    return "words=%d lines=%d mean_word_length=%.2f" % (len(words), len(a["text"].splitlines()), statistics.mean(lengths))


serve("py-stdlib", "1.0.0", {
    "text_stats": ("Count words and lines of a text", TEXT, text_stats),
    "sha256": ("SHA-256 digest of a text", TEXT, lambda a: hashlib.sha256(a["text"].encode()).hexdigest()),
    "python_version": ("The interpreter's version", {"type": "object", "properties": {}}, lambda a: platform.python_version()),
})

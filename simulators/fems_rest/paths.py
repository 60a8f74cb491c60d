"""URL handling of the FEMS REST handler: bracket-aware path split, Java-style regexes."""

from __future__ import annotations

import re

# Java names groups `(?<name>...)`; Python wants `(?P<name>...)`. Look-behinds stay.
_JAVA_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?=[A-Za-z])")


def split_path(path: str) -> list[str]:
    """Drop the leading `/` and split on `/`, except inside `[...]` (regex classes)."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    escaped = False
    for char in path.removeprefix("/"):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == "/" and not depth:
            segments.append("".join(current))
            current = []
            continue
        current.append(char)
    segments.append("".join(current))
    return segments


def compile_java_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Java regex as Python's `re`; raise `re.error` when it is invalid."""
    return re.compile(_JAVA_NAMED_GROUP.sub("(?P<", pattern))

"""Whether a text can still grow into a JSON object that Python's `json.loads` accepts.

Used to stop decoding an SY answer early: once the text from the answer's first "{" can no
longer be the start of a valid JSON object, no continuation can make it parse. The check is
conservative: it says "viable" whenever it is unsure (an unfinished number, string or literal at
the end), and "not viable" only for text `json.loads` rejects whatever follows it. It follows
`json.loads`'s own grammar: strict strings (no raw control characters), `NaN`, `Infinity` and
`-Infinity` as values, no trailing commas, whitespace only " \\t\\n\\r".
"""

from __future__ import annotations

import re

WHITESPACE = " \t\n\r"
LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")
NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_RUN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = frozenset('"\\/bfnrt')
_OPEN = -1
_BAD = -2


def _scan_string(text: str, i: int) -> int:
    """Index after the string whose opening quote is at i-1; _OPEN if the text ends inside it,
    _BAD if no continuation can make it a valid string."""
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return i + 1
        if ch == "\\":
            if i + 1 == n:
                return _OPEN
            esc = text[i + 1]
            if esc in _ESCAPES:
                i += 2
                continue
            if esc != "u":
                return _BAD
            digits = text[i + 2 : i + 6]
            if not all(d in _HEX for d in digits):
                return _BAD
            if len(digits) < 4:
                return _OPEN
            i += 6
            continue
        if ord(ch) < 0x20:
            return _BAD
        i += 1
    return _OPEN


def viable_json_object_prefix(text: str) -> bool:
    """False only when no continuation of `text` (which starts with "{") is a JSON object that
    `json.loads` accepts with nothing after its closing brace."""
    if not text.startswith("{"):
        return False
    stack: list[str] = []
    state = "value"  # value | value_or_end | key_or_end | key | colon | comma_or_end | done
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if state == "done":
            return False  # the object closed: any later "}" would leave extra data
        if c in WHITESPACE:
            i += 1
            continue
        if state == "colon":
            if c != ":":
                return False
            state, i = "value", i + 1
            continue
        if state in ("key_or_end", "key"):
            if c == "}" and state == "key_or_end":
                stack.pop()
                state, i = ("done" if not stack else "comma_or_end"), i + 1
                continue
            if c != '"':
                return False
            j = _scan_string(text, i + 1)
            if j == _OPEN:
                return True
            if j == _BAD:
                return False
            state, i = "colon", j
            continue
        if state == "comma_or_end":
            closer = "}" if stack[-1] == "o" else "]"
            if c == ",":
                state, i = ("key" if stack[-1] == "o" else "value"), i + 1
                continue
            if c != closer:
                return False
            stack.pop()
            state, i = ("done" if not stack else "comma_or_end"), i + 1
            continue
        # state is "value" or "value_or_end"
        if c == "]" and state == "value_or_end":
            stack.pop()
            state, i = ("done" if not stack else "comma_or_end"), i + 1
            continue
        if c == "{":
            stack.append("o")
            state, i = "key_or_end", i + 1
            continue
        if c == "[":
            stack.append("a")
            state, i = "value_or_end", i + 1
            continue
        if c == '"':
            j = _scan_string(text, i + 1)
            if j == _OPEN:
                return True
            if j == _BAD:
                return False
            state, i = "comma_or_end", j
            continue
        j = i
        while j < n and text[j] in _RUN:
            j += 1
        run = text[i:j]
        if not run:
            return False  # no value starts with this character
        if j == n:  # unfinished at the end: a literal or a number may still come of it
            return any(lit.startswith(run) for lit in LITERALS) or set(run) <= _NUMBER_CHARS
        if run not in LITERALS and not NUMBER.fullmatch(run):
            return False
        state, i = "comma_or_end", j
    return state != "done"

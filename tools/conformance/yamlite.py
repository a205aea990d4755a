"""A small YAML subset, enough for the conformance fixtures (Python's stdlib has no YAML).

Supported: `---`-separated documents, block mappings, block sequences (including `- key: value`
items), flow sequences and mappings of scalars (`["*"]`, `{}`), plain/single/double-quoted scalars,
`#` comments, `null`/`~`, booleans and integers. Anything else (anchors, tags, multi-line scalars,
tabs for indentation) is rejected with a ValueError naming the line, so a fixture never silently
means something else than it says.
"""

import json
import re

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?[0-9]*\.[0-9]+$")


class _Line:
    def __init__(self, number, indent, text):
        self.number = number
        self.indent = indent
        self.text = text


def _strip_comment(text):
    out = []
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _scalar(token, number):
    token = token.strip()
    if token == "":
        return None
    if token[0] in "&*!|>":
        raise ValueError(f"line {number}: unsupported YAML construct {token!r}")
    if token[0] == '"':
        if not token.endswith('"') or len(token) < 2:
            raise ValueError(f"line {number}: unterminated string {token!r}")
        return json.loads(token)
    if token[0] == "'":
        if not token.endswith("'") or len(token) < 2:
            raise ValueError(f"line {number}: unterminated string {token!r}")
        return token[1:-1].replace("''", "'")
    if token[0] in "[{":
        return _flow(token, number)
    if token in ("null", "~", "Null", "NULL"):
        return None
    if token in ("true", "True", "TRUE"):
        return True
    if token in ("false", "False", "FALSE"):
        return False
    if _INT.match(token):
        return int(token)
    if _FLOAT.match(token):
        return float(token)
    return token


def _split_flow(inner, number):
    parts, depth, quote, cur = [], 0, None, []
    for ch in inner:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if quote or depth:
        raise ValueError(f"line {number}: unbalanced flow collection")
    last = "".join(cur).strip()
    if last:
        parts.append(last)
    return parts


def _flow(token, number):
    if token[0] == "[":
        if not token.endswith("]"):
            raise ValueError(f"line {number}: unterminated flow sequence")
        return [_scalar(p, number) for p in _split_flow(token[1:-1], number)]
    if not token.endswith("}"):
        raise ValueError(f"line {number}: unterminated flow mapping")
    out = {}
    for part in _split_flow(token[1:-1], number):
        key, sep, value = _split_key(part)
        if not sep:
            raise ValueError(f"line {number}: flow mapping entry without ':' {part!r}")
        out[_scalar(key, number)] = _scalar(value, number)
    return out


def _split_key(text):
    """Splits `key: value` at the first ': ' (or a trailing ':') outside quotes."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == ":" and (i + 1 == len(text) or text[i + 1] == " "):
            return text[:i].strip(), True, text[i + 1 :].strip()
        elif ch in "[{" and i == 0:
            return text, False, ""
    return text, False, ""


class _Parser:
    def __init__(self, lines):
        self.lines = lines
        self.pos = 0

    def peek(self):
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def parse_block(self, indent):
        line = self.peek()
        if line is None or line.indent < indent:
            return None
        if line.text.startswith("- ") or line.text == "-":
            return self.parse_sequence(line.indent)
        return self.parse_mapping(line.indent)

    def parse_mapping(self, indent):
        out = {}
        while True:
            line = self.peek()
            if line is None or line.indent < indent:
                return out
            if line.indent > indent:
                raise ValueError(f"line {line.number}: unexpected indentation")
            if line.text.startswith("- "):
                return out
            key, sep, value = _split_key(line.text)
            if not sep:
                raise ValueError(f"line {line.number}: expected 'key: value', got {line.text!r}")
            key = _scalar(key, line.number)
            if key in out:
                raise ValueError(f"line {line.number}: duplicate key {key!r}")
            self.pos += 1
            if value == "":
                nxt = self.peek()
                if nxt is not None and (
                    nxt.indent > indent or (nxt.indent == indent and nxt.text.startswith("- "))
                ):
                    out[key] = self.parse_block(nxt.indent)
                else:
                    out[key] = None
            else:
                out[key] = _scalar(value, line.number)

    def parse_sequence(self, indent):
        out = []
        while True:
            line = self.peek()
            if line is None or line.indent < indent:
                return out
            if line.indent > indent:
                raise ValueError(f"line {line.number}: unexpected indentation")
            if not (line.text.startswith("- ") or line.text == "-"):
                return out
            rest = line.text[1:].strip()
            if rest == "":
                self.pos += 1
                nxt = self.peek()
                out.append(self.parse_block(nxt.indent) if nxt and nxt.indent > indent else None)
                continue
            _, sep, _ = _split_key(rest)
            if sep:
                # `- key: value` starts a mapping whose keys sit at the column after "- ".
                child = indent + (len(line.text) - len(rest))
                self.lines[self.pos] = _Line(line.number, child, rest)
                out.append(self.parse_mapping(child))
            else:
                self.pos += 1
                out.append(_scalar(rest, line.number))


def load_all(text):
    """Every document of `text`, in order (empty documents are skipped)."""
    docs, current = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.rstrip() == "---":
            docs.append(current)
            current = []
            continue
        body = _strip_comment(raw)
        if not body.strip():
            continue
        stripped = body.lstrip(" ")
        if stripped.startswith("\t") or "\t" in body[: len(body) - len(stripped)]:
            raise ValueError(f"line {number}: tabs are not allowed for indentation")
        current.append(_Line(number, len(body) - len(stripped), stripped))
    docs.append(current)
    out = []
    for lines in docs:
        if not lines:
            continue
        parser = _Parser(lines)
        value = parser.parse_block(lines[0].indent)
        if parser.pos != len(lines):
            bad = lines[parser.pos]
            raise ValueError(f"line {bad.number}: cannot parse {bad.text!r}")
        out.append(value)
    return out

#!/usr/bin/env python3
"""Lists the functions in C++ sources whose body is longer than a limit.

  tools/function_length.py [--max N] [FILE...]   (default: src/**/*.cpp|hpp, N=60)

A function's length is the lines of its body, from the line of its opening
brace to the line of its closing brace, both included: one more than
clang-tidy's readability-function-size LineThreshold counts (checked on
src/server/command.cpp: 37 here, 36 there). Lambdas count toward the function that
holds them; a lambda at namespace scope is a function of its own.

No compiler needed: comments, string and character literals (raw strings
too) and preprocessor lines are blanked, then braces are matched. A brace
opens a function body when the token before it ends a declarator: ')',
'const', 'noexcept', 'override', 'final', 'mutable', or a trailing return
type. namespace/class/struct/union/enum/extern "C" braces are scopes; any
other brace (an initializer) is skipped whole. Exit 1 when a function is too
long, naming each one as FILE:LINE: NAME: N lines.
"""
import argparse
import pathlib
import re
import sys

BODY_KEYWORDS = {"const", "noexcept", "override", "final", "mutable", "try"}
SCOPE_RE = re.compile(r"^(template\s*<.*>\s*)?(inline\s+)?(namespace|class|struct|union|enum)\b|"
                      r"^extern\s*\"\s*\"", re.S)
CTOR_INIT_RE = re.compile(r"\)\s*(noexcept\s*)?:[^:]")
TRAILING_RETURN_RE = re.compile(r"\)\s*(const\s*)?(noexcept\s*)?->\s*[\w:<>,\s*&]+$")


def blank(text):
    """Comments, literals and preprocessor lines become spaces; newlines stay."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        if c == "\n":
            out.append(c)
            line_start = True
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and i + 1 < n and text[i + 1] == '"' and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^()\\\s]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            # A digit separator (1'000'000) is not a character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching(text, open_at):
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def function_name(header):
    # The name is the (qualified) identifier before the first '('.
    m = re.search(r"(operator\s*\S+?|~?[A-Za-z_]\w*(?:::~?[A-Za-z_]\w*)*)\s*\(", header)
    return m.group(1) if m else "(lambda)"


def is_body(header):
    h = header.rstrip()
    if not h:
        return False
    if h.endswith(")"):
        return True
    if CTOR_INIT_RE.search(h) and h.endswith("}"):
        return True  # Foo() : a_(x), b_{y} {
    last = re.search(r"(\w+)$", h)
    if last and last.group(1) in BODY_KEYWORDS and "(" in h:
        return True
    return bool(TRAILING_RETURN_RE.search(h))


def functions(text):
    """Yields (name, first_line, open_line, close_line) for every function body."""
    src = blank(text)
    line_of = lambda pos: src.count("\n", 0, pos) + 1
    i, n = 0, len(src)
    header_start = 0
    while i < n:
        c = src[i]
        if c in ";}":
            header_start = i + 1
            i += 1
            continue
        if c != "{":
            i += 1
            continue
        header = src[header_start:i].strip()
        if SCOPE_RE.search(header):
            header_start = i + 1  # a scope: look inside
            i += 1
            continue
        close = matching(src, i)
        if is_body(header):
            first = header_start + len(src[header_start:i]) - len(src[header_start:i].lstrip())
            yield function_name(header), line_of(first), line_of(i), line_of(close)
            header_start = close + 1
        # an initializer: skipped whole, the declaration goes on to its ';'
        i = close + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=60)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    files = [pathlib.Path(f) for f in args.files] or sorted(
        p for p in (root / "src").rglob("*") if p.suffix in (".cpp", ".hpp"))
    long = []
    for f in files:
        for name, start, open_line, close_line in functions(f.read_text(errors="replace")):
            length = close_line - open_line + 1
            if length > args.max:
                shown = f.relative_to(root) if f.is_absolute() and root in f.parents else f
                long.append(f"{shown}:{start}: {name}: {length} lines")
    for line in long:
        print(line)
    if long:
        print(f"function_length: {len(long)} function(s) over {args.max} lines", file=sys.stderr)
        return 1
    print(f"function_length: {len(files)} files, no function over {args.max} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The size rules of core/ and server/ (issue 13), checked so that no change can break them
unnoticed: no source file over 700 lines, no function over 60 lines (its braces counted,
the signature's line through the closing brace). Functions are found by a brace scan over
the source with comments, strings and preprocessor lines blanked: a brace block whose head
holds a ')' (or ends in const/noexcept/override) outside any other function is a function;
lambdas and blocks inside one count toward it. The scanner is tested first on samples that
must be flagged, so this test can fail."""
import glob
import os
import re
import sys
import unittest

FILE_LINES_MAX = 700
FUNCTION_LINES_MAX = 60
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def blank_noncode(src):
    """The source with comments, string and char literals and preprocessor lines blanked;
    newlines are kept, so line numbers hold."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
            continue
        raw = re.match(r'R"([^(\s]*)\(', src[i:i + 20]) if c == "R" and (i == 0 or not src[i - 1].isalnum()) else None
        if raw:
            close = ")" + raw.group(1) + '"'
            j = src.find(close, i + raw.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j
            continue
        if c == "'" and i > 0 and src[i - 1].isalnum():  # a digit separator: 1'000
            out.append(c)
            i += 1
            continue
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
            continue
        if c == "#" and not src[src.rfind("\n", 0, i) + 1:i].strip():
            j = i
            while True:
                k = src.find("\n", j)
                if k < 0:
                    k = n
                    break
                if src[k - 1] == "\\":
                    j = k + 1
                    continue
                break
            out.append("\n" * src.count("\n", i, k))
            i = k
            continue
        out.append(c)
        i += 1
    return "".join(out)


def long_functions(src, limit=FUNCTION_LINES_MAX):
    """(lines, first line) of every function longer than `limit` lines."""
    code = blank_noncode(src)
    stack, found, line, head_from = [], [], 1, 0
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c == "{":
            head = code[head_from:i].strip()
            if any(kind == "function" for kind, _ in stack):
                kind = "inner"
            elif re.search(r"\bnamespace\b", head):
                kind = "namespace"
            elif re.search(r"\b(class|struct|enum|union)\b[^()]*$", head):
                kind = "type"
            elif ")" in head or re.search(r"\b(const|noexcept|override)$", head):
                kind = "function"
            else:
                kind = "other"
            stack.append((kind, line))
            head_from = i + 1
        elif c == "}":
            if stack:
                kind, start = stack.pop()
                if kind == "function" and line - start + 1 > limit:
                    found.append((line - start + 1, start))
            head_from = i + 1
        elif c == ";":
            head_from = i + 1
    return found


def sources():
    for d in ("core", "server"):
        for ext in ("cc", "h"):
            yield from glob.glob(os.path.join(ROOT, d, "**", "*." + ext), recursive=True)


class TheScanner(unittest.TestCase):
    def test_flags_a_long_function_and_not_a_short_one(self):
        body = "".join(f"  x += {i};\n" for i in range(60))
        self.assertEqual(long_functions("int f(int x) {\n" + body + "  return x;\n}\n"), [(63, 1)])
        self.assertEqual(long_functions("int f(int x) {\n  return x;\n}\n"), [])

    def test_counts_a_member_function_and_its_lambdas_once(self):
        body = "".join(f"      y += {i};\n" for i in range(59))
        src = ("namespace a {\nstruct s {\n  int g() const {\n    auto l = [&] {\n" + body +
               "    };\n    return 0;\n  }\n};\n}  // namespace a\n")
        self.assertEqual(long_functions(src), [(64, 3)])

    def test_ignores_braces_in_comments_strings_and_digit_separators(self):
        src = ('int f() {\n  // }\n  const char* s = "}}";\n  char c = \'}\';\n'
               "  int n = 1'000;\n" + "  ++n;\n" * 60 + "  return n;\n}\n")
        self.assertEqual(long_functions(src), [(67, 1)])


class TheSources(unittest.TestCase):
    def test_there_are_sources_to_check(self):
        self.assertGreater(len(list(sources())), 50)

    def test_no_file_is_over_700_lines(self):
        over = []
        for path in sources():
            with open(path, encoding="utf-8") as f:
                n = sum(1 for _ in f)
            if n > FILE_LINES_MAX:
                over.append(f"{os.path.relpath(path, ROOT)}: {n} lines")
        self.assertEqual(over, [])

    def test_no_function_is_over_60_lines(self):
        over = []
        for path in sources():
            with open(path, encoding="utf-8") as f:
                for n, start in long_functions(f.read()):
                    over.append(f"{os.path.relpath(path, ROOT)}:{start}: a function of {n} lines")
        self.assertEqual(over, [])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

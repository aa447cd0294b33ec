"""Where the texts of a task script are, and how a translation takes their place.

A solution's texts are its docstrings, its blocks of comment lines, the comments after code,
its ``# %%`` cell titles, each TODO's text and hint (the ``# BEGIN TODO`` line and the comment
lines under it, its STUB left alone), and the strings it gives ``print``, ``labkit.start`` and
``labkit.plots.pred_vs_actual`` (a figure's title) (read as an f-string's body: ``{expressions}`` included). ``texts(source)`` finds them (with
tokenize and ast) as ``Text``s, each knowing how to write a translation in its place;
``program(source)`` is what a script does whatever the language of those texts.
labkit/maintainers/translation.py keeps their translations.
"""

from __future__ import annotations

import ast
import io
import re
import string
import tokenize
from dataclasses import dataclass, field
from typing import Callable

from labkit.maintainers.markers import BEGIN, parse

TRANSLATED_CALLS = {"print", "labkit.start", "labkit.plots.pred_vs_actual"}  # their strings: the script's own lines, a figure's title
CELL = re.compile(r"^(?P<head>\s*# %%)(?P<title>.*)$")
WIDTH = 99  # the longest line of the English solutions


class TranslationError(Exception):
    """A solution's texts cannot be translated: the message names the file, line and fix."""


@dataclass
class Text:
    """One English text of a solution, where it is, and how to put a translation in its place."""

    kind: str
    english: str
    line: int  # 1-based, for the catalog's reference
    start: int  # offsets into the source
    end: int
    put: Callable[[str], str] = field(repr=False)  # the source that replaces start:end


def texts(source: str, name: str = "<solution>") -> list[Text]:
    """Every translatable text of a solution, in order."""
    script = _Script(source, name)
    return sorted(_comment_texts(script) + _code_texts(script), key=lambda t: t.start)


class _Script:
    """A solution's lines, where each starts, its comments and its TODO regions."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name
        self.lines = source.splitlines(keepends=True)
        self.offsets = [0]
        for line in self.lines:
            self.offsets.append(self.offsets[-1] + len(line))
        self.comments: dict[int, tuple[int, str]] = {}  # line index -> (column, comment)
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                self.comments[token.start[0] - 1] = (token.start[1], token.string)
        self.todos = {}  # BEGIN line index -> the region
        self.skip: set[int] = set()  # END lines, STUB lines and the commented-out code under them
        for region in parse(self.lines, name):
            self.todos[region.begin] = region
            self.skip.add(region.end)
            if region.stub is not None:
                self.skip.update(range(region.end - len(region.stub) - 1, region.end))

    def offset(self, line: int, column: int) -> int:
        """The offset in the source of an ast position (whose columns count UTF-8 bytes)."""
        return self.offsets[line - 1] + len(self.lines[line - 1].encode("utf-8")[:column].decode("utf-8"))

    def alone(self, index: int) -> bool:
        """Is line ``index`` a comment line of its own (no code, no marker, no stub)?"""
        return (index in self.comments and index not in self.skip and index not in self.todos
                and not self.lines[index][:self.comments[index][0]].strip())


def _comment_texts(script: _Script) -> list[Text]:
    found: list[Text] = []
    index = 0
    while index < len(script.lines):
        if index in script.todos:
            text, index = _todo_text(script, script.todos[index])
        elif index in script.skip or index not in script.comments:
            text, index = None, index + 1
        elif not script.alone(index):
            text, index = _inline(script, index), index + 1
        elif CELL.match(script.lines[index]):
            text, index = _title(script, index), index + 1
        else:
            text, index = _block(script, index)
        if text is not None and text.english.strip():
            found.append(text)
    return found


def _inline(script: _Script, index: int) -> Text:
    column, comment = script.comments[index]
    start = script.offsets[index] + column
    return Text("inline", re.sub(r"^#\s?", "", comment), index + 1, start, start + len(comment),
                lambda es: "# " + es)


def _title(script: _Script, index: int) -> Text:
    cell = CELL.match(script.lines[index])
    head = cell["head"]
    return Text("title", cell["title"].strip(), index + 1, script.offsets[index],
                script.offsets[index + 1], lambda es: f"{head} {es}\n")


def _block(script: _Script, index: int) -> tuple[Text, int]:
    """Consecutive comment lines at one indentation, and the index after them."""
    indent = script.lines[index][:script.comments[index][0]]
    last = index
    while (script.alone(last + 1) and script.lines[last + 1][:script.comments[last + 1][0]] == indent
           and not CELL.match(script.lines[last + 1])):
        last += 1
    english = "\n".join(re.sub(r"^#\s?", "", script.lines[i].strip()) for i in range(index, last + 1))
    text = Text("comment", english, index + 1, script.offsets[index], script.offsets[last + 1],
                lambda es: _comment_lines(indent, "# ", es.split("\n")))
    return text, last + 1


def _comment_lines(indent: str, mark: str, lines: list[str]) -> str:
    return "".join(f"{indent}{mark}{line}\n" if line else f"{indent}#\n" for line in lines)


def _todo_text(script: _Script, region) -> tuple[Text, int]:
    """A TODO's text and hint (the BEGIN line and the guidance under it), and the index after."""
    begin = BEGIN.match(script.lines[region.begin].rstrip("\n"))
    indent, todo_id = begin["indent"], begin["id"]
    rest = []
    for line in region.guidance:
        after = line.rstrip("\n")[len(indent) + 1:]  # what follows the "#"
        rest.append(after[3:] if after.startswith("   ") else after.lstrip(" "))
    english = "\n".join([begin["text"], *rest])

    def put(es: str) -> str:
        first, *more = es.split("\n")
        return f"{indent}# BEGIN TODO {todo_id}: {first}\n" + _comment_lines(indent, "#   ", more)

    after = region.begin + len(region.guidance) + 1
    return Text("todo", english, region.begin + 1, script.offsets[region.begin], script.offsets[after], put), after


def _code_texts(script: _Script) -> list[Text]:
    tree = ast.parse(script.source, script.name)
    return ([_docstring(script, node) for node in docstrings(tree)]
            + [_string(script, node) for node in printed_strings(tree)])


def docstrings(tree: ast.AST) -> list[ast.Expr]:
    """The docstring statements of a module and of its functions and classes."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.append(first)
    return found


def printed_strings(tree: ast.AST) -> list[tuple[ast.Call, int]]:
    """(call, argument index) of each string argument of a call in TRANSLATED_CALLS."""
    return [(node, index) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ast.unparse(node.func) in TRANSLATED_CALLS
            for index, argument in enumerate(node.args)
            if isinstance(argument, ast.JoinedStr)
            or (isinstance(argument, ast.Constant) and isinstance(argument.value, str))]


def _docstring(script: _Script, statement: ast.Expr) -> Text:
    node = statement.value
    start, end = script.offset(node.lineno, node.col_offset), script.offset(node.end_lineno, node.end_col_offset)
    written = script.source[start:end]
    if not (written.startswith('"""') and written.endswith('"""') and written[3:-3] == node.value):
        raise TranslationError(f"{script.name}:{node.lineno}: write the docstring as a plain "
                               '"""...""" string (no prefix, no escapes) so its translation can replace it')
    value = node.value
    lead, trail = value[:len(value) - len(value.lstrip())], value[len(value.rstrip()):]
    return Text("docstring", value.strip(), node.lineno, start, end,
                lambda es: f'"""{lead}{es}{trail}"""')


def _string(script: _Script, where: tuple[ast.Call, int]) -> Text:
    """A printed string: its text with ``{expression}`` fields, as an f-string's body reads."""
    call, index = where
    node = call.args[index]
    is_f = isinstance(node, ast.JoinedStr)
    english = template(node) if is_f else node.value
    start, end = script.offset(node.lineno, node.col_offset), script.offset(node.end_lineno, node.end_col_offset)
    column = start - script.offset(node.lineno, 0)
    tail = len(script.lines[node.end_lineno - 1].rstrip("\n")) - (end - script.offset(node.end_lineno, 0))
    if ast.dump(ast.parse(literal(english, is_f), mode="eval").body) != ast.dump(node):
        raise TranslationError(f"{script.name}:{node.lineno}: this string cannot be written back from "
                               f"its text {english!r}: keep its {{expressions}} simple names and calls")
    return Text("string", english, node.lineno, start, end,
                lambda es: literal(es, is_f, column, WIDTH - tail))


def template(node: ast.JoinedStr) -> str:
    """An f-string's body as written: literal text with braces doubled, ``{expr!r:spec}`` fields."""
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(part.value.replace("{", "{{").replace("}", "}}"))
            continue
        conversion = f"!{chr(part.conversion)}" if part.conversion != -1 else ""
        spec = f":{template(part.format_spec)}" if part.format_spec else ""
        out.append(f"{{{ast.unparse(part.value)}{conversion}{spec}}}")
    return "".join(out)


def fields(text: str, is_f: bool) -> list[tuple[str, str]]:
    """The text as ("text", literal) and ("field", "{expr}") parts."""
    if not is_f:
        return [("text", text)]
    parts = []
    for literal_text, name, spec, conversion in string.Formatter().parse(text):
        if literal_text:
            parts.append(("text", literal_text))
        if name is not None:
            parts.append(("field", "{" + name + (f"!{conversion}" if conversion else "")
                          + (f":{spec}" if spec else "") + "}"))
    return parts


def literal(text: str, is_f: bool, column: int = 0, width: int = 10**6) -> str:
    """Python source for a string holding ``text``, split over lines to stay within ``width``
    (implicit concatenation: the string is an argument, inside parentheses)."""
    atoms = []
    for kind, part in fields(text, is_f):
        atoms.extend([(kind, part)] if kind == "field" else
                     [("text", word) for word in re.findall(r"[^ ]* *", part) if word])
    pieces: list[list[tuple[str, str]]] = [[]]
    for atom in atoms:
        candidate = pieces[-1] + [atom]
        if pieces[-1] and column + len(_piece(candidate)) > width:
            pieces.append([atom])
        else:
            pieces[-1] = candidate
    return ("\n" + " " * column).join(_piece(piece) for piece in pieces)


def _piece(atoms: list[tuple[str, str]]) -> str:
    is_f = any(kind == "field" for kind, _ in atoms)
    body = []
    for kind, part in atoms:
        if kind == "field":
            body.append(part)
            continue
        part = part.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        body.append(part.replace("{", "{{").replace("}", "}}") if is_f else part)
    return ("f" if is_f else "") + '"' + "".join(body) + '"'


def program(source: str) -> str:
    """What a script does, whatever its language: its syntax tree (ast.dump) without comments,
    docstrings blanked out, and of each string argument of TRANSLATED_CALLS only its fields."""
    tree = ast.parse(source)
    for statement in docstrings(tree):
        statement.value = ast.Constant("")
    for call, index in printed_strings(tree):
        call.args[index] = _fields_only(call.args[index])
    return ast.dump(tree)


def _fields_only(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Constant):
        return ast.Constant("")
    # an f-string: its fields, in any order (a translation may put them in another)
    return ast.Constant(repr(sorted(ast.dump(v) for v in node.values if isinstance(v, ast.FormattedValue))))

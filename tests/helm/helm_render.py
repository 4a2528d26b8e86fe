#!/usr/bin/python3
"""Renders helm/modq as `helm template` would, without Helm (it cannot be installed here).

A Go text/template engine for what the chart's templates use, and the Sprig/Helm functions they
call: actions if/else if/else, range (lists and maps, with $i, $v :=), with, define, include,
template, variables (:= and =), comments and the {{- -}} trimming; functions include, default,
trunc, trimSuffix, contains, printf, print, replace, quote, indent, nindent, toYaml, toJson, int,
toString, add, max, div, sha256sum, has, fail, and, or, not, eq, ne, dict, list, splitList.
Anything else (an unknown function, an unsupported construct) raises Unsupported rather than
being guessed, so a template that moves outside this subset fails the tests until the subset is
extended here. Its output was compared with Helm 3.17's for values.yaml and each ci/ file: the
same text for every template.

Values behave as in Helm: numbers read from YAML are float64 (printed as Go prints them: 1e+08),
a missing key prints as nothing, maps iterate in key order. toYaml and toJson sort keys like
Helm; toYaml quotes scalars with the same meaning as Helm's (not always the same quote marks).

    from helm_render import Chart
    chart = Chart("helm/modq")
    files = chart.render(values)            # {"modq/templates/x.yaml": text}, _*.tpl left out
    docs = chart.manifests(values)          # [(template path, parsed object)], empty ones dropped

Chart.render raises Failed with fail's message for values the chart refuses.
"""
import copy
import decimal
import glob
import hashlib
import json
import math
import os
import re

import yaml


class Unsupported(Exception):
    """The templates use something this renderer does not implement."""


class Failed(Exception):
    """The chart refused the values ({{ fail "..." }})."""


class TemplateError(Exception):
    """An error Helm would report too (a nil field access, a bad argument)."""


# --- values as Helm sees them ----------------------------------------------------------------

def helm_values(obj):
    """Numbers become floats, as Helm's YAML -> JSON -> interface{} reading makes them."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, (int, float)):
        return float(obj)
    if isinstance(obj, dict):
        return {str(k): helm_values(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [helm_values(v) for v in obj]
    return obj


def merge_values(base, over):
    """Helm's merge of a values file over the chart's values: maps key by key, null deletes."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_values(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# --- Go formatting ---------------------------------------------------------------------------

def _go_exp_format(digits, exp):
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _shortest(f):
    """(digits, decimal exponent of the first digit) of the shortest repr of abs(f) != 0."""
    t = decimal.Decimal(repr(abs(f))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    return digits, len(digits) - 1 + t.exponent


def go_float(f):
    """fmt's %v of a float64: strconv 'g' with the shortest digits, %e below 1e-4 or from 1e+06
    on (Helm prints 100000000 as 1e+08)."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if f == 0:
        return "0"
    sign = "-" if f < 0 else ""
    digits, exp = _shortest(f)
    if exp < -4 or exp >= 6:
        return sign + _go_exp_format(digits, exp)
    return sign + _go_plain(digits, exp)


def _go_plain(digits, exp):
    if exp >= len(digits) - 1:
        return digits + "0" * (exp - len(digits) + 1)
    if exp >= 0:
        return digits[:exp + 1] + "." + digits[exp + 1:]
    return "0." + "0" * (-exp - 1) + digits


def go_str(v):
    """fmt's %v (and text/template's printing) of a value."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_str(v[k])}" for k in sorted(v)) + "]"
    raise Unsupported(f"printing a {type(v).__name__}")


def json_float(f):
    """encoding/json's float64: plain from 1e-6 to below 1e21, else %e without a padded
    exponent."""
    if f == 0:
        return "0"
    sign = "-" if f < 0 else ""
    digits, exp = _shortest(f)
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        s = _go_exp_format(digits, exp)
        return sign + re.sub(r"e([+-])0(\d)$", r"e\1\2", s)
    return sign + _go_plain(digits, exp)


def to_json(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return json_float(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if isinstance(v, list):
        return "[" + ",".join(to_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v[k])}" for k in sorted(v)) + "}"
    raise Unsupported(f"toJson of a {type(v).__name__}")


def _yaml_plain(value):
    """Values as toYaml sees them: JSON first (floats that are whole become ints)."""
    if isinstance(value, float) and value == int(value) and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _yaml_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_plain(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper, data):
    # A string that would read back as another type is double-quoted, as go-yaml does.
    try:
        back = yaml.safe_load(data) if data else ""
    except yaml.YAMLError:
        back = data
    ambiguous = data == "" or not isinstance(back, str) or data.lower() in (
        "y", "n", "yes", "no", "on", "off")
    if ambiguous:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def to_yaml(v):
    text = yaml.dump(_yaml_plain(v), Dumper=_Dumper, default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=1 << 30)
    if text.endswith("...\n"):
        text = text[:-4]
    return text[:-1] if text.endswith("\n") else text


def go_quote(s):
    return json.dumps(s, ensure_ascii=False)


def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    return True


def to_int(v):
    """Sprig's toInt / cast.ToInt."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        if isinstance(v, float) and (math.isnan(v) or abs(v) >= 2 ** 63):
            return -(2 ** 63)
        return int(v)
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            try:
                return int(float(v))
            except ValueError:
                return 0
    raise TemplateError(f"cannot convert {type(v).__name__} to int")


def go_printf(fmt, args):
    out, i, ai = [], 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        arg = args[ai] if ai < len(args) else None
        ai += 1
        if verb in "sv":
            out.append(go_str(arg))
        elif verb == "d":
            out.append(str(int(arg)) if isinstance(arg, (int, float)) else
                       f"%!d({type(arg).__name__}={go_str(arg)})")
        elif verb == "q":
            out.append(go_quote(go_str(arg)))
        else:
            raise Unsupported(f"printf verb %{verb}")
    return "".join(out)


def go_print(args):
    """fmt.Sprint: a space between operands when neither is a string."""
    out = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_str(a))
    return "".join(out)


def go_eq(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b) and a is not None and b is not None:
        raise TemplateError(f"incompatible types for comparison: {a!r} {b!r}")
    return a == b


def indent(n, s):
    pad = " " * int(n)
    return pad + s.replace("\n", "\n" + pad)


# --- lexing and parsing ------------------------------------------------------------------------

ACTION_RE = re.compile(r"\{\{(- )?")


def lex(text, name):
    """[('text', s) | ('action', s)] with the trim markers applied."""
    out, pos, trim_next = [], 0, False
    while True:
        m = ACTION_RE.search(text, pos)
        if not m:
            chunk = text[pos:]
            out.append(("text", chunk.lstrip(" \t\r\n") if trim_next else chunk))
            return out
        chunk = text[pos:m.start()]
        if trim_next:
            chunk = chunk.lstrip(" \t\r\n")
        if m.group(1):
            chunk = chunk.rstrip(" \t\r\n")
        out.append(("text", chunk))
        start = m.end()
        rest = text[start:]
        if rest.lstrip(" \t\r\n").startswith("/*"):
            end = text.find("*/", start)
            if end < 0:
                raise TemplateError(f"{name}: unclosed comment")
            close = re.compile(r"\*/(\s+-)?\}\}").match(text, end)
            if not close:
                raise TemplateError(f"{name}: comment not followed by }}}}")
            out.append(("comment", ""))
            trim_next = bool(close.group(1))
            pos = close.end()
            continue
        # Find the closing }}, skipping string literals.
        i, in_str = start, None
        while i < len(text):
            c = text[i]
            if in_str:
                if c == "\\" and in_str == '"':
                    i += 2
                    continue
                if c == in_str:
                    in_str = None
            elif c in "\"`":
                in_str = c
            elif text.startswith("}}", i):
                break
            i += 1
        else:
            raise TemplateError(f"{name}: unclosed action")
        body = text[start:i]
        trim_next = False
        if body.endswith(" -"):
            body = body[:-2]
            trim_next = True
        out.append(("action", body.strip()))
        pos = i + 2


TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()|,])
""", re.X)


def tokens_of(s):
    out, pos, prev_end = [], 0, 0
    while pos < len(s):
        m = TOKEN_RE.match(s, pos)
        if not m:
            raise Unsupported(f"cannot read {s[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "field" and out and out[-1] == ("punct", ")") and m.start() == prev_end:
            kind = "chain"  # (pipeline).Field, with nothing between
        if kind != "ws":
            out.append((kind, m.group(kind)))
            prev_end = pos
    return out


class PipeParser:
    def __init__(self, toks):
        self.toks, self.i = toks, 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def pipeline(self, stop=None):
        cmds = [self.command(stop)]
        while self.peek() == ("punct", "|"):
            self.take()
            cmds.append(self.command(stop))
        return ("pipe", cmds)

    def command(self, stop):
        args = []
        while True:
            kind, val = self.peek()
            if kind is None or (kind == "punct" and val in ("|", ")")) or val == stop:
                break
            args.append(self.operand())
        if not args:
            raise Unsupported("empty command")
        return args

    def operand(self):
        kind, val = self.take()
        if kind == "punct" and val == "(":
            p = self.pipeline()
            if self.take() != ("punct", ")"):
                raise Unsupported("unbalanced parentheses")
            nxt = self.peek()
            if nxt[0] == "chain":
                self.take()
                return ("chain", p, nxt[1][1:].split("."))
            return p
        if kind == "str":
            return ("lit", json.loads(val.replace("\\'", "'")))
        if kind == "raw":
            return ("lit", val[1:-1])
        if kind == "num":
            return ("lit", float(val) if re.search(r"[.eE]", val) else int(val))
        if kind == "var":
            name, *path = val.split(".")
            return ("var", name, path)
        if kind == "field":
            return ("field", [] if val == "." else val[1:].split("."))
        if kind == "ident":
            if val in ("true", "false"):
                return ("lit", val == "true")
            if val == "nil":
                return ("lit", None)
            return ("fn", val)
        raise Unsupported(f"unexpected {val!r}")


def parse_action(s):
    """('decl'|'assign'|None, [var names], pipeline) of an action's text."""
    toks = tokens_of(s)
    names, mode = [], None
    j = 0
    while j < len(toks) and toks[j][0] == "var" and "." not in toks[j][1]:
        if j + 1 < len(toks) and toks[j + 1] in (("decl", ":="), ("assign", "=")):
            names.append(toks[j][1])
            mode = "decl" if toks[j + 1][0] == "decl" else "assign"
            j += 2
            break
        if j + 1 < len(toks) and toks[j + 1] == ("punct", ","):
            names.append(toks[j][1])
            j += 2
            continue
        break
    if mode is None:
        names, j = [], 0
    p = PipeParser(toks[j:])
    pipe = p.pipeline()
    if p.i != len(p.toks):
        raise Unsupported(f"trailing tokens in {s!r}")
    return mode, names, pipe


def parse(toks, i, name, stop):
    """Nodes up to one of stop; returns (nodes, index of the stopping action, its text)."""
    nodes = []
    while i < len(toks):
        kind, s = toks[i]
        if kind == "text":
            if s:
                nodes.append(("text", s))
            i += 1
            continue
        if kind == "comment":
            i += 1
            continue
        word = s.split(None, 1)[0] if s else ""
        if word in stop:
            return nodes, i, s
        if word in ("if", "with"):
            cond = s[len(word):].strip()
            branches = []
            body, i, at = parse(toks, i + 1, name, ("else", "end"))
            branches.append((parse_action(cond), body))
            other = []
            while at.startswith("else"):
                rest = at[4:].strip()
                if rest.startswith(word + " ") and word == "if":
                    body, i, at = parse(toks, i + 1, name, ("else", "end"))
                    branches.append((parse_action(rest[len(word):].strip()), body))
                    continue
                if rest:
                    raise Unsupported(f"{{{{ {at} }}}}")
                other, i, at = parse(toks, i + 1, name, ("end",))
                break
            nodes.append((word, branches, other))
            i += 1
        elif word == "range":
            head = parse_action(s[5:].strip())
            body, i, at = parse(toks, i + 1, name, ("else", "end"))
            other = []
            if at == "else":
                other, i, at = parse(toks, i + 1, name, ("end",))
            nodes.append(("range", head, body, other))
            i += 1
        elif word == "define":
            tname = json.loads(s[6:].strip())
            body, i, _ = parse(toks, i + 1, name, ("end",))
            nodes.append(("define", tname, body))
            i += 1
        elif word in ("template", "block"):
            m = re.fullmatch(r'(template|block)\s+("(?:[^"\\]|\\.)*")\s*(.*)', s, re.S)
            if not m or word == "block":
                raise Unsupported(f"{{{{ {s} }}}}")
            arg = parse_action(m.group(3))[2] if m.group(3) else None
            nodes.append(("template", json.loads(m.group(2)), arg))
            i += 1
        elif word in ("else", "end", "break", "continue"):
            raise TemplateError(f"{name}: unexpected {{{{ {s} }}}}")
        else:
            nodes.append(("action", parse_action(s)))
            i += 1
    if stop != ():
        raise TemplateError(f"{name}: missing {{{{ end }}}}")
    return nodes, i, None


# --- execution ---------------------------------------------------------------------------------

class Scope:
    def __init__(self, root):
        self.frames = [{"$": root}]

    def push(self):
        self.frames.append({})

    def pop(self):
        self.frames.pop()

    def declare(self, name, v):
        self.frames[-1][name] = v

    def assign(self, name, v):
        for f in reversed(self.frames):
            if name in f:
                f[name] = v
                return
        raise TemplateError(f"undefined variable {name}")

    def get(self, name):
        for f in reversed(self.frames):
            if name in f:
                return f[name]
        raise TemplateError(f"undefined variable {name}")


MISSING = object()


def field(v, path, what):
    for k in path:
        if isinstance(v, dict):
            v = v.get(k)
        elif v is None:
            raise TemplateError(f"nil pointer evaluating {what}.{k}")
        else:
            raise TemplateError(f"can't evaluate field {k} in {type(v).__name__} ({what})")
    return v


class Engine:
    FUNCS = {
        "default": lambda d, *g: g[0] if g and truthy(g[0]) else d,
        "trunc": lambda n, s: (s[:int(n)] if n >= 0 else s[int(n):]) if len(s) > abs(n) else s,
        "trimSuffix": lambda suf, s: s[:-len(suf)] if suf and s.endswith(suf) else s,
        "contains": lambda sub, s: sub in go_str(s),
        "printf": lambda fmt, *a: go_printf(fmt, a),
        "print": lambda *a: go_print(a),
        "replace": lambda old, new, s: s.replace(old, new),
        "quote": lambda *a: " ".join(go_quote(go_str(x)) for x in a if x is not None),
        "indent": lambda n, s: indent(n, s),
        "nindent": lambda n, s: "\n" + indent(n, s),
        "toYaml": to_yaml,
        "toJson": to_json,
        "int": to_int,
        "toString": lambda v: go_str(v) if v is not None else "",
        "add": lambda *a: sum(to_int(x) for x in a),
        "max": lambda a, *r: max([to_int(a)] + [to_int(x) for x in r]),
        "div": lambda a, b: int(to_int(a) / to_int(b)),
        "sha256sum": lambda s: hashlib.sha256(s.encode()).hexdigest(),
        "has": lambda needle, hay: any(type(x) is type(needle) and x == needle
                                      for x in (hay or [])),
        "not": lambda v: not truthy(v),
        "eq": lambda a, *bs: any(go_eq(a, b) for b in bs),
        "ne": lambda a, b: not go_eq(a, b),
        "list": lambda *a: list(a),
        "splitList": lambda sep, s: s.split(sep),
    }

    def __init__(self, defines):
        self.defines = defines

    def run(self, nodes, dot, scope, out):
        for n in nodes:
            kind = n[0]
            if kind == "text":
                out.append(n[1])
            elif kind == "action":
                mode, names, pipe = n[1]
                v = self.pipe(pipe, dot, scope)
                if mode == "decl":
                    scope.declare(names[0], v)
                elif mode == "assign":
                    scope.assign(names[0], v)
                else:
                    out.append("" if v is None else go_str(v))
            elif kind in ("if", "with"):
                done = False
                for (mode, names, pipe), body in n[1]:
                    v = self.pipe(pipe, dot, scope)
                    if truthy(v):
                        scope.push()
                        if mode == "decl":
                            scope.declare(names[0], v)
                        self.run(body, v if kind == "with" else dot, scope, out)
                        scope.pop()
                        done = True
                        break
                if not done and n[2]:
                    scope.push()
                    self.run(n[2], dot, scope, out)
                    scope.pop()
            elif kind == "range":
                mode, names, pipe = n[1]
                coll = self.pipe(pipe, dot, scope)
                if isinstance(coll, dict):
                    items = [(k, coll[k]) for k in sorted(coll)]
                elif isinstance(coll, list):
                    items = list(enumerate(coll))
                elif coll is None:
                    items = []
                else:
                    raise TemplateError(f"range can't iterate over {coll!r}")
                for k, v in items:
                    scope.push()
                    if len(names) == 1:
                        scope.declare(names[0], v)
                    elif len(names) == 2:
                        scope.declare(names[0], k)
                        scope.declare(names[1], v)
                    self.run(n[2], v, scope, out)
                    scope.pop()
                if not items and n[3]:
                    self.run(n[3], dot, scope, out)
            elif kind == "define":
                pass
            elif kind == "template":
                arg = self.pipe(n[2], dot, scope) if n[2] else None
                out.append(self.include(n[1], arg))
            else:
                raise Unsupported(kind)

    def include(self, name, data):
        if name not in self.defines:
            raise TemplateError(f'no template "{name}"')
        out = []
        self.run(self.defines[name], data, Scope(data), out)
        return "".join(out)

    def pipe(self, pipe, dot, scope):
        v = MISSING
        for cmd in pipe[1]:
            v = self.command(cmd, dot, scope, v)
        return v

    def arg(self, a, dot, scope):
        kind = a[0]
        if kind == "lit":
            return a[1]
        if kind == "field":
            return field(dot, a[1], "." if not a[1] else "")
        if kind == "var":
            return field(scope.get(a[1]), a[2], a[1])
        if kind == "pipe":
            return self.pipe(a, dot, scope)
        if kind == "chain":
            return field(self.pipe(a[1], dot, scope), a[2], "(...)")
        if kind == "fn":
            return self.call(a[1], [], dot, scope)
        raise Unsupported(kind)

    def command(self, cmd, dot, scope, piped):
        head = cmd[0]
        if head[0] == "fn":
            name = head[1]
            if name in ("and", "or"):  # short-circuit: the first deciding operand
                ops = list(cmd[1:])
                vals = []
                for a in ops:
                    v = self.arg(a, dot, scope)
                    vals.append(v)
                    if truthy(v) != (name == "and"):
                        return v
                if piped is not MISSING:
                    return piped
                return vals[-1]
            args = [self.arg(a, dot, scope) for a in cmd[1:]]
            if piped is not MISSING:
                args.append(piped)
            return self.call(name, args, dot, scope)
        if len(cmd) > 1 or piped is not MISSING:
            raise Unsupported("arguments to a non-function")
        return self.arg(head, dot, scope)

    def call(self, name, args, dot, scope):
        if name == "include":
            return self.include(args[0], args[1] if len(args) > 1 else None)
        if name == "fail":
            raise Failed(args[0])
        if name == "dict":
            return {str(args[i]): args[i + 1] for i in range(0, len(args), 2)}
        fn = self.FUNCS.get(name)
        if fn is None:
            raise Unsupported(f"function {name!r}")
        try:
            return fn(*args)
        except TypeError as e:
            raise TemplateError(f"{name}: {e}") from None


# --- the chart ---------------------------------------------------------------------------------

class Chart:
    def __init__(self, chart_dir, release="modq", namespace="moderation"):
        self.dir = chart_dir
        with open(os.path.join(chart_dir, "Chart.yaml")) as f:
            self.meta = yaml.safe_load(f)
        with open(os.path.join(chart_dir, "values.yaml")) as f:
            self.defaults = yaml.safe_load(f)
        self.release = release
        self.namespace = namespace
        name = self.meta["name"]
        self.base = f"{name}/templates"
        self.files = {}
        for path in sorted(glob.glob(os.path.join(chart_dir, "templates", "*"))):
            with open(path) as f:
                self.files[f"{self.base}/{os.path.basename(path)}"] = f.read()
        self.defines, self.bodies = {}, {}
        for tname, text in self.files.items():
            nodes, _, _ = parse(lex(text, tname), 0, tname, ())
            self.bodies[tname] = nodes
            self.defines[tname] = nodes
            self._collect(nodes)

    def _collect(self, nodes):
        for n in nodes:
            if n[0] == "define":
                self.defines[n[1]] = n[2]
                self._collect(n[2])

    def context(self, values, template):
        return {
            "Values": helm_values(values),
            "Chart": {"Name": self.meta["name"], "Version": self.meta["version"],
                      "AppVersion": self.meta.get("appVersion", "")},
            "Release": {"Name": self.release, "Namespace": self.namespace, "Service": "Helm",
                        "IsInstall": True, "IsUpgrade": False, "Revision": 1.0},
            "Template": {"BasePath": self.base, "Name": template},
        }

    def values(self, overrides=None):
        return merge_values(self.defaults, overrides or {})

    def render(self, values, notes=False):
        """{template path: rendered text} of every template but the _ ones (and NOTES.txt unless
        notes)."""
        engine = Engine(self.defines)
        out = {}
        for tname in self.files:
            base = os.path.basename(tname)
            if base.startswith("_") or (base == "NOTES.txt" and not notes):
                continue
            ctx = self.context(values, tname)
            buf = []
            engine.run(self.bodies[tname], ctx, Scope(ctx), buf)
            out[tname] = "".join(buf).replace("<no value>", "")
        return out

    def include(self, name, values):
        """One named template rendered with the chart's root context."""
        return Engine(self.defines).include(name, self.context(values, f"{self.base}/x"))

    def manifests(self, values):
        """[(template path, object)] as Helm splits and parses them (empty documents dropped)."""
        docs = []
        for tname, text in self.render(values).items():
            for part in re.split(r"(?:^|\n)---[ \t]*(?:\n|$)", text):
                if not part.strip():
                    continue
                obj = yaml.safe_load(part)
                if obj is None:
                    continue
                docs.append((tname, obj))
        return docs

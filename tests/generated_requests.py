"""GraphQL requests generated from the committed schema, as a fuzzer would send them.

Documents come from `hypothesis-graphql` (valid ones, and ones with one schema
violation each), then are pushed towards the edges the generator alone rarely
reaches: list sizes and other integers at their extremes (`first: 999999999`,
negatives, past 32 bits), ids that exist in the demo data (so resolvers run
deep), long and unusual strings, arguments moved into variables (whose values
may then be of any JSON type), and random byte flips of the finished document
or of the whole body. Each request goes out as a GET or a POST, as legacy or
current clients accept, anonymously or signed in.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlencode

import httpx
from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInputType,
    GraphQLOutputType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    build_schema,
    get_named_type,
    parse_type,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from tests.harness import signed_in

SCHEMA: GraphQLSchema = build_schema(
    (Path(__file__).resolve().parents[1] / "schema.graphql").read_text()
)
"""The SDL a client is given, which the fuzzer generates from."""

EXTREME_INTS = (
    *(999_999_999, 2**31 - 1, -(2**31), -1, 0),
    *(2**31, 2**53 + 1, 2**63, 2**64, 10**30, -(10**30)),
)
"""Integers at and past the edges of GraphQL's 32-bit `Int` and of machine words."""
DEMO_IDS = {
    "Product": ("p1", "p2", "p3"),
    "User": ("u1", "u2"),
    "Category": ("c1", "c2"),
    "Order": ("o1", "o2"),
}
"""Ids of the demo data's entities, by type."""
ODD_STRINGS = ("\x00", "\u202e", "\U0001f600" * 3, '"""', "\\", "\ud800", "\n" * 3, "ﬀ" * 50)
"""Strings that trip naive encoders: NUL, bidi override, astral, lone surrogate..."""
ADMIN = "u3"
"""The caller signed in with the `admin` role."""
MAX_SHOWN = 4_000
"""Characters of a request shown when it fails; past that its length says enough."""
MAX_URL = 60_000
"""Longest query string sent by GET (httpx refuses past 64 KiB)."""

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

_json: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
_long_strings = st.builds(
    lambda piece, times: piece * times,
    st.text(min_size=1, max_size=3),
    st.sampled_from((1_000, 40_000, 120_000)),
)
_strings = st.text() | st.sampled_from(ODD_STRINGS) | _long_strings
_ints = st.sampled_from(EXTREME_INTS) | st.integers()


# Half of them outside Latin-1, which is all an HTTP header can carry.
_header_values = (
    st.sampled_from(ODD_STRINGS)
    | st.text(st.characters(min_codepoint=0x100), max_size=8)
    | st.text(max_size=8)
)
_forged_tokens = st.builds(
    lambda header, claims, signature: ".".join(
        base64.urlsafe_b64encode(part).rstrip(b"=").decode()
        for part in (json.dumps(header).encode(), json.dumps(claims).encode(), signature)
    ),
    st.fixed_dictionaries(
        {"alg": _header_values | st.sampled_from(("RS256", "ES256", "HS256", "none"))},
        optional={"kid": _header_values, "typ": st.just("JWT")},
    ),
    st.dictionaries(st.sampled_from(("sub", "iss", "aud", "exp", "nbf", "roles")), _json),
    st.binary(max_size=64),
) | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)
"""Bearer tokens the BFF must refuse: unsigned, mis-signed, odd headers (`kid`, `alg`)."""


class Sent:
    """One HTTP request to `/graphql`, ready to send.

    A signed-in caller's token is signed as the request goes out, so that a
    replayed example is never refused as expired.
    """

    def __init__(
        self,
        method: Literal["GET", "POST"],
        headers: dict[str, str],
        *,
        caller: str | None = None,
        query_string: str = "",
        content: bytes = b"",
    ) -> None:
        self.method = method
        self.headers = headers
        self.caller = caller
        self.query_string = query_string
        self.content = content

    async def to(self, http: httpx.AsyncClient) -> httpx.Response:
        headers = dict(self.headers)
        if self.caller == ADMIN:
            headers.update(signed_in(self.caller, roles=("admin",)))
        elif self.caller is not None:
            headers.update(signed_in(self.caller))
        if self.method == "GET":
            return await http.get(f"/graphql?{self.query_string}", headers=headers)
        return await http.post("/graphql", content=self.content, headers=headers)

    def __repr__(self) -> str:
        # What Hypothesis prints for a failing example: whole, unless it is huge.
        sent = self.query_string if self.method == "GET" else self.content.decode(errors="replace")
        if len(sent) > MAX_SHOWN:
            sent = f"{sent[:MAX_SHOWN]}... ({len(sent)} characters in all)"
        caller = f" signed in as {self.caller}" if self.caller else ""
        return f"{self.method} /graphql{caller} {self.headers!r}\n{sent}"


def _value_for(type_: GraphQLInputType) -> st.SearchStrategy[JsonValue]:
    """Extreme values for an input type, by its named type."""
    name = get_named_type(type_).name
    if name == "Int":
        return _ints
    if name == "ID":
        return st.sampled_from(("p1\x00", "0", "p1 ", "P1")) | _ints | _strings
    if name == "String":
        return _strings
    return st.nothing()


class _Rewriter(Visitor):
    """Edits an operation as `draw` decides, keeping what it needs to add to the document.

    An argument keeps its value, gets an extreme literal, or becomes a variable
    (whose value may then be anything JSON holds); a field may gain an `@skip` or
    `@include`; a field's selections may move into a named fragment.
    """

    def __init__(self, draw: st.DrawFn, type_info: TypeInfo) -> None:
        super().__init__()
        self._draw = draw
        self._type_info = type_info
        self.definitions: list[VariableDefinitionNode] = []
        self.variables: dict[str, JsonValue] = {}
        self.fragments: list[FragmentDefinitionNode] = []

    def enter_argument(self, node: ArgumentNode, *_: object) -> ArgumentNode | None:
        type_ = self._type_info.get_input_type()
        if type_ is None:
            return None
        value = node.value
        field = self._type_info.get_field_def()
        if get_named_type(type_).name == "ID" and field is not None and not _one_in(4, self._draw):
            # Mostly entities that exist, so that the fields below them resolve too.
            value = StringValueNode(value=self._draw(_demo_ids(node.name.value, field.type)))
        extreme = _value_for(type_)
        if _one_in(3, self._draw) and not extreme.is_empty:
            value = _literal(self._draw(extreme))
        elif _one_in(3, self._draw):
            as_sent = value_from_ast_untyped(value)
            sent = self._draw(extreme | _json) if _one_in(2, self._draw) else as_sent
            value = self._variable(str(type_), sent)
        return None if value is node.value else ArgumentNode(name=node.name, value=value)

    def leave_field(self, node: FieldNode, *_: object) -> FieldNode | None:
        directives = node.directives or ()
        selection_set = node.selection_set
        field_type = self._type_info.get_type()
        if selection_set is not None and field_type is not None and _one_in(3, self._draw):
            name = f"F{len(self.fragments)}"
            condition = NamedTypeNode(name=NameNode(value=get_named_type(field_type).name))
            self.fragments.append(
                FragmentDefinitionNode(
                    name=NameNode(value=name), type_condition=condition, selection_set=selection_set
                )
            )
            selection_set = _selections(FragmentSpreadNode(name=NameNode(value=name)))
        if _one_in(5, self._draw):
            condition_value = self._draw(_json if _one_in(4, self._draw) else st.booleans())
            value = self._variable("Boolean!", condition_value)
            directive = self._draw(st.sampled_from(("skip", "include")))
            argument = ArgumentNode(name=NameNode(value="if"), value=value)
            directives = (
                *directives,
                DirectiveNode(name=NameNode(value=directive), arguments=(argument,)),
            )
        if selection_set is node.selection_set and directives is node.directives:
            return None
        return FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=node.arguments,
            directives=directives,
            selection_set=selection_set,
        )

    def _variable(self, type_: str, value: JsonValue) -> VariableNode:
        name = f"v{len(self.definitions)}"
        variable = VariableNode(name=NameNode(value=name))
        self.definitions.append(VariableDefinitionNode(variable=variable, type=parse_type(type_)))
        self.variables[name] = value
        return variable


class _Spreader(Visitor):
    """Spreads the document's fragments into selection sets of their type, as `draw` decides.

    A fragment may so spread itself (a cycle, which validation refuses) or another
    fragment twice (fan-out).
    """

    def __init__(
        self, draw: st.DrawFn, type_info: TypeInfo, fragments: list[FragmentDefinitionNode]
    ) -> None:
        super().__init__()
        self._draw = draw
        self._type_info = type_info
        self._fragments = fragments

    def leave_selection_set(self, node: SelectionSetNode, *_: object) -> SelectionSetNode | None:
        parent = self._type_info.get_parent_type()
        fitting = [
            fragment.name.value
            for fragment in self._fragments
            if parent is not None and fragment.type_condition.name.value == parent.name
        ]
        if not fitting or not _one_in(3, self._draw):
            return None
        spreads = self._draw(st.lists(st.sampled_from(fitting), min_size=1, max_size=2))
        added = (FragmentSpreadNode(name=NameNode(value=name)) for name in spreads)
        return _selections(*node.selections, *added)


def _one_in(chances: int, draw: st.DrawFn) -> bool:
    """True once in `chances` draws; shrinks to False."""
    return bool(draw(st.integers(1, chances)) == chances)


def _selections(*selections: SelectionNode) -> SelectionSetNode:
    return SelectionSetNode(selections=selections)


def _demo_ids(argument: str, field_type: GraphQLOutputType) -> st.SearchStrategy[str]:
    """Ids of what the argument names: `product(id:)` a product, `orderId` an order."""
    named = get_named_type(field_type).name if argument == "id" else argument.removesuffix("Id")
    fitting = DEMO_IDS.get(named[:1].upper() + named[1:])
    return st.sampled_from(fitting or [id_ for ids in DEMO_IDS.values() for id_ in ids])


def _literal(value: JsonValue) -> ValueNode:
    """`value` as a GraphQL literal, whatever type the argument expects."""
    if value is None:
        return NullValueNode()
    if isinstance(value, bool):
        return BooleanValueNode(value=value)
    if isinstance(value, int):
        return IntValueNode(value=str(value))
    if isinstance(value, float):
        return FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return StringValueNode(value=value)
    if isinstance(value, list):
        return ListValueNode(values=tuple(_literal(item) for item in value))
    return ObjectValueNode(
        fields=tuple(
            ObjectFieldNode(name=NameNode(value=key), value=_literal(item))
            for key, item in value.items()
        )
    )


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, JsonValue]]:
    """A document generated from the schema and rewritten, and the variables it uses."""
    # One in four with a schema violation the generator chose (a wrong type, a missing argument).
    mode = Mode.NEGATIVE if _one_in(4, draw) else Mode.POSITIVE
    generated = draw(from_schema(SCHEMA, print_ast=lambda node: node, mode=mode))
    type_info = TypeInfo(SCHEMA)
    rewriter = _Rewriter(draw, type_info)
    rewritten = cast(DocumentNode, visit(generated, TypeInfoVisitor(type_info, rewriter)))
    operation = rewritten.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    operation = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=tuple(rewriter.definitions),
        directives=operation.directives,
        selection_set=operation.selection_set,
    )
    rewritten = DocumentNode(definitions=(operation, *rewriter.fragments))
    if rewriter.fragments:
        spreader = _Spreader(draw, type_info, rewriter.fragments)
        rewritten = cast(DocumentNode, visit(rewritten, TypeInfoVisitor(type_info, spreader)))
    return print_ast(rewritten), rewriter.variables


def _flipped(data: bytes, draw: st.DrawFn) -> bytes:
    """`data` with a few bytes replaced, inserted or deleted at random places."""
    edited = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(edited)))
        byte = draw(st.integers(0, 255))
        how = draw(st.sampled_from(("replace", "insert", "delete")))
        if how == "insert" or where == len(edited):
            edited.insert(where, byte)
        elif how == "replace":
            edited[where] = byte
        else:
            del edited[where]
    return bytes(edited)


@st.composite
def requests(draw: st.DrawFn) -> Sent:
    query, variables = draw(documents())
    if _one_in(5, draw):
        query = _flipped(query.encode(errors="surrogatepass"), draw).decode(errors="replace")
    headers = {
        "accept": draw(st.sampled_from(("application/graphql-response+json", "application/json")))
    }
    caller = draw(st.sampled_from((None, "u1", ADMIN, "forged")))
    if caller == "forged":
        headers["authorization"] = "Bearer " + draw(_forged_tokens)
        caller = None
    payload: dict[str, JsonValue] = {"query": query}
    if variables:
        payload["variables"] = variables
    if _one_in(3, draw):
        payload["operationName"] = draw(st.none() | st.text(max_size=10))
    params = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in payload.items()
        if value is not None
    }
    # Lone surrogates go out as the bytes of their UTF-8 form, which is not UTF-8.
    query_string = urlencode(params, errors="surrogatepass")
    if _one_in(4, draw) and len(query_string) < MAX_URL:
        # CSRF prevention (production) asks GET for a header a browser cannot forge.
        headers["apollo-require-preflight"] = "true"
        return Sent("GET", headers, caller=caller, query_string=query_string)
    headers["content-type"] = "application/json"
    content = json.dumps(payload).encode()
    if _one_in(8, draw):
        content = _flipped(content, draw)
    return Sent("POST", headers, caller=caller, content=content)

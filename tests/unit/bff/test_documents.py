"""The document cache's cheap token count agrees with graphql-core's lexer."""

from __future__ import annotations

import pytest
from graphql import Lexer, Source, TokenKind

from bff.contract.examples import REFERENCE_OPERATIONS
from bff.execution.documents import _TOKEN

EXTRA = '''
# a comment { with } braces
query Odd($a: [Int!] = [1, -2, 3.5e-3], $s: String = "quote \\" brace {") @include(if: true) {
  f(text: """block "quoted" \\""" { } text""", n: -0.5) { ...F }
}
fragment F on T { g }
'''


@pytest.mark.parametrize("document", [*(op.query for op in REFERENCE_OPERATIONS), EXTRA])
def test_the_token_count_matches_the_lexer(document: str) -> None:
    lexer = Lexer(Source(document))
    lexed = 0
    while lexer.advance().kind != TokenKind.EOF:
        lexed += 1

    counted = sum(1 for match in _TOKEN.finditer(document) if match.group(1) is None)

    assert counted == lexed

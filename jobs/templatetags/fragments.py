"""`{% fragment NAME KEY %}...{% endfragment %}`: the enclosed part of a page rendered once per
process for each KEY (jobs.fragments.content_key of everything it shows) and read back after.
An empty KEY renders it every time, so a page that forgot to make one is slower, never wrong."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token

from jobs.fragments import kept

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, name: str, key: FilterExpression, nodelist: NodeList) -> None:
        self.name, self.key, self.nodelist = name, key, nodelist

    def render(self, context: Any) -> str:
        return kept(self.name, self.key.resolve(context), lambda: self.nodelist.render(context))


@register.tag
def fragment(parser: Parser, token: Token) -> FragmentNode:
    bits = token.split_contents()
    if len(bits) != 3:
        raise template.TemplateSyntaxError("{% fragment NAME KEY %} takes a name and a key")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(bits[1], parser.compile_filter(bits[2]), nodelist)

"""`{% fragment NAME KEY %}...{% endfragment %}`: the enclosed part of a page rendered once per
process for each KEY (jobs.fragments.content_key of everything it shows) and read back after.
An empty KEY renders it every time, so a page that forgot to make one is slower, never wrong.

A fragment may hold forms: its `{% csrf_token %}` (and any `{{ csrf_token }}`) is kept as
CSRF_MARK, and each page it is read back into puts its own viewer's token there."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token

from jobs.fragments import kept

register = template.Library()

# Kept in a fragment where the viewer's CSRF token goes. Letters and hyphens only, so that
# `{% csrf_token %}` writes it unescaped; text a person typed cannot put their token on anyone
# else's page: the mark is replaced by the token of whoever is viewing.
CSRF_MARK = "csrf-token-of-the-page-this-fragment-is-read-into"


class FragmentNode(template.Node):
    def __init__(self, name: str, key: FilterExpression, nodelist: NodeList) -> None:
        self.name, self.key, self.nodelist = name, key, nodelist

    def render(self, context: Any) -> str:
        key = self.key.resolve(context)
        token = context.get("csrf_token")
        if not key or token is None:
            return kept(self.name, key, lambda: self.nodelist.render(context))

        def render() -> str:
            with context.push(csrf_token=CSRF_MARK):
                return str(self.nodelist.render(context))

        html = kept(self.name, key, render)
        return html.replace(CSRF_MARK, str(token)) if CSRF_MARK in html else html


@register.tag
def fragment(parser: Parser, token: Token) -> FragmentNode:
    bits = token.split_contents()
    if len(bits) != 3:
        raise template.TemplateSyntaxError("{% fragment NAME KEY %} takes a name and a key")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(bits[1], parser.compile_filter(bits[2]), nodelist)

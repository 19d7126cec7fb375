"""The policy page's fields, each written in one pass: the form has some fifty, and the
include of jobs/policy_field.html per field cost more than the rest of the page."""

from __future__ import annotations

from django import forms, template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def policy_field(field: forms.BoundField) -> SafeString:
    """A field with its label, hint and errors: the markup of jobs/policy_field.html."""
    errors = field.errors
    label_for = conditional_escape(field.id_for_label)
    out = [
        f'<div class="policy-field{" has-error" if errors else ""}">\n'
        f'  <label for="{label_for}">{conditional_escape(field.label)}</label>\n'
        f"  {field}\n"
    ]
    if field.help_text:
        out.append(
            f'  <p class="hint" id="{conditional_escape(field.auto_id)}_helptext">'
            f"{conditional_escape(field.help_text)}</p>\n"
        )
    if errors:
        text = " ".join(str(conditional_escape(str(e))) for e in errors)
        out.append(f'  <p class="error" id="{label_for}-error">{text}</p>\n')
    out.append("</div>\n")
    return mark_safe("".join(out))

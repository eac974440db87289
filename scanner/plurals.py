"""Counts in messages: '1 day', '2 days', '1 entry', '3 entries'.

Check messages, summary lines and errors all say how many of something there are; this is the
one place that picks the singular or the plural, so no message ever reads "1 days".
"""

from __future__ import annotations


def plural(count: float, noun: str, plural_form: str | None = None) -> str:
    """'1 finding', '2 findings'; ``plural_form`` for nouns that do not take an 's' ('entries')."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


def noun(count: float, singular: str, plural_form: str | None = None) -> str:
    """The noun alone, where the count stands elsewhere ('… and 3 more high findings').

    Also the verb that agrees with a count: ``noun(n, "is", "are")``.
    """
    return singular if count == 1 else plural_form or singular + "s"

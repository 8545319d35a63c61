"""Every text a client reads, in one catalogue per language (``fr.py`` first).

Templates and Python code ask for texts by key: ``texts("state.expired.title")`` or
``texts("state.signed.body", name=..., date=...)``. Placeholders use ``str.format`` names; the
values are escaped by Jinja when the text lands in a page, like any other string.
Another language is one more module with the same keys (``test_catalogue`` checks it).
"""
from __future__ import annotations

import importlib
from functools import lru_cache

DEFAULT_LANGUAGE = "fr"


class Texts:
    """One language's catalogue: ``texts(key, **values)``; an unknown key raises KeyError."""

    def __init__(self, language: str, table: dict[str, str]):
        self.language = language
        self.table = table

    def __call__(self, key: str, **values) -> str:
        text = self.table[key]
        return text.format(**values) if values else text

    def __contains__(self, key: str) -> bool:
        return key in self.table


@lru_cache(maxsize=None)
def catalogue(language: str = DEFAULT_LANGUAGE) -> Texts:
    if not language.isalpha():
        raise ValueError(f"not a language code: {language!r}")
    module = importlib.import_module(f"{__name__}.{language}")
    return Texts(language, module.TEXTS)

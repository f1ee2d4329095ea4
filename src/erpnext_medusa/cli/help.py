"""Help screens that read cleanly.

Typer shows each parameter's Python type (``<list[Path]>``, ``<bool>``, ``<int range>``) and, in the usage line,
wraps a required argument in braces (``{paths}...``). Every parameter of ours carries a metavar (``FILE...``,
``WHEN``): commands and groups built with these classes show that and nothing else, and flags show nothing.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        return name if self.required else f"[{name}]"


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else super().display_type_rich(ctx)


def _plain(params: list[Any]) -> list[Any]:
    """The parameters, each shown by its metavar (Typer builds them itself, so their class is changed here)."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class PlainCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class PlainGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

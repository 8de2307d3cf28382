"""@frozen: an immutable value type, as @dataclass(frozen=True) makes one, for less at import.

dataclass writes and compiles up to five functions for each class (__init__, __eq__, __repr__, __setattr__,
__delattr__): about 1 ms a class, and with some 50 of them (the team file's schema, the model, the rules' results)
that was half of what a function's start adds to the floor of functions-framework and Firestore's client
(`./deploy.sh bench cold`). Here dataclass writes __init__ alone; equality, hash, repr and immutability are these
functions, written once. What differs: building an instance goes through _setattr (each field is set once, then
refused), a few microseconds more for a class of 30 fields. It lives in config/, the bottom layer, so that
every layer may use it.
"""
from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def _setattr(self: Any, name: str, value: Any) -> None:
    # __init__ sets each field once; afterwards a field, or a name that is not one, is refused as a frozen
    # dataclass refuses it
    if name in self.__dict__ or name not in self.__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    self.__dict__[name] = value


def _delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _compared(self: Any) -> tuple:
    return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.compare)


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: Any) -> int:
    return hash(_compared(self))   # a value holding a list is unhashable, as the list is


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
    return f"{type(self).__qualname__}({shown})"


def frozen(cls: T | None = None, /, **options: Any) -> Any:
    """Make `cls` an immutable dataclass (`options`: dataclass's own, such as kw_only=True)."""
    def wrap(cls: T) -> T:
        cls = dataclasses.dataclass(cls, eq=False, repr=False, **options)
        cls.__eq__, cls.__hash__, cls.__repr__ = _eq, _hash, _repr
        cls.__setattr__, cls.__delattr__ = _setattr, _delattr
        return cls
    return wrap if cls is None else wrap(cls)

"""Pydantic models built from values already valid, without running validation again.

In: a model class and the values of its fields, each already what the model's validators
would make of it (the caller's promise: a value built by this package for that field).
Out: the same instance pydantic would build from those values (the same ``__dict__`` in
the fields' declared order, the same ``model_fields_set``), for a fraction of the cost.

A pydantic model keeps its state in four slots of :class:`pydantic.BaseModel`:
``__dict__`` (the field values), ``__pydantic_fields_set__`` (the fields given, which
``model_dump(exclude_unset=True)`` reads), ``__pydantic_extra__`` and
``__pydantic_private__``. The setters below write them directly, as ``model_construct``
does, but without its per-call work (it reads the fields' aliases and defaults each time).
Used by the BOM fast reader (:mod:`origin_rules.model.bom`) and by determinations
(:mod:`origin_rules.model.determination`); ``tests/test_determination_build.py`` checks that
:func:`assemble` gives what validated construction gives.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Callable, TypeVar

from pydantic import BaseModel

__all__ = ["SET_DICT", "SET_EXTRA", "SET_FIELDS", "SET_PRIVATE", "SharedFieldsSet", "assemble", "assemble_all", "maker"]

#: Slot setters of every pydantic model (``SET_DICT`` is None should pydantic ever stop
#: keeping the values in a ``__dict__`` slot: then callers take the validated way).
SET_DICT = BaseModel.__dict__["__dict__"].__set__ if "__dict__" in BaseModel.__dict__ else None
SET_FIELDS = BaseModel.__dict__["__pydantic_fields_set__"].__set__
SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__

_Model = TypeVar("_Model", bound=BaseModel)


def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError("this model's fields set is shared with others built alike: read-only (copy it to change it)")


class SharedFieldsSet(set):
    """The ``model_fields_set`` of many instances of a frozen model, made alike: one set for
    all (making a set per instance was a fifth of building one), which refuses every change
    in place; a copy of it (``copy``, ``model_copy``, pickling) is a plain ``set``. Pydantic
    changes a fields set only by ``__setattr__`` and ``__delattr__``, which a frozen model
    refuses first, and by ``model_copy(update=...)``, which changes its copy."""

    __slots__ = ()
    add = discard = remove = pop = clear = update = _read_only
    difference_update = intersection_update = symmetric_difference_update = _read_only
    __ior__ = __iand__ = __isub__ = __ixor__ = _read_only

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: Any) -> set[str]:
        return set(self)

    def __reduce__(self) -> tuple[type, tuple[list[str]]]:
        return set, (list(self),)


#: model class -> (its field names in declared order, ((field name, whether it has a
#: default, the default), ...) in the same order).
_LAYOUTS: dict[type, tuple[tuple[str, ...], tuple[tuple[str, bool, Any], ...]]] = {}


def _layout(cls: type[BaseModel]) -> tuple[tuple[str, ...], tuple[tuple[str, bool, Any], ...]]:
    if cls.__pydantic_decorators__.model_validators or cls.__private_attributes__ or cls.__pydantic_post_init__:
        raise TypeError(f"{cls.__name__} has validators across fields or private attributes: build it with validation")
    if cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__} allows extra fields: build it with validation")
    fields = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            raise TypeError(f"{cls.__name__}.{name} has a default factory: build it with validation")
        fields.append((name, not info.is_required(), info.default))
    _LAYOUTS[cls] = found = (tuple(cls.model_fields), tuple(fields))
    return found


def assemble(cls: type[_Model], values: dict[str, Any]) -> _Model:
    """An instance of ``cls`` holding ``values`` as they are: no validator runs.

    ``values`` must hold every required field and may leave out fields with a default
    (they take it, and are not in ``model_fields_set``, as with ``cls(**values)``); each
    value must be what validation would have made of it. A name ``cls`` does not have
    raises TypeError. Defaults are copied (``[]``, ``{}``), as pydantic does."""
    names, fields = _LAYOUTS.get(cls) or _layout(cls)
    if SET_DICT is None:
        return cls(**values)
    if tuple(values) == names:  # every field, in declared order (the evaluator's way)
        state = values.copy()
    else:
        state = {}
        for name, has_default, default in fields:
            if name in values:
                state[name] = values[name]
            elif has_default:  # a copy, as pydantic's (deepcopy gives immutable values back as they are)
                state[name] = deepcopy(default)
            else:
                raise TypeError(f"{cls.__name__}: no value for the required field {name!r}")
        if not values.keys() <= state.keys():
            raise TypeError(f"{cls.__name__} has no field {sorted(values.keys() - state.keys())[0]!r}")
    return _made(cls, state, set(values))


def _made(cls: type[_Model], state: dict[str, Any], fields_set: set[str]) -> _Model:
    """An instance of ``cls`` with ``state`` as its values and ``fields_set`` as the fields given."""
    made = object.__new__(cls)
    SET_DICT(made, state)
    SET_FIELDS(made, fields_set)
    SET_EXTRA(made, None)
    SET_PRIVATE(made, None)
    return made


#: model class -> the names of its fields, as the fields set of each instance made by
#: :func:`assemble_all` (frozen models only).
_ALL_FIELDS: dict[type, set[str]] = {}


def assemble_all(cls: type[_Model], values: dict[str, Any]) -> _Model:
    """:func:`assemble` for ``values`` that give every field of ``cls`` and were made for this
    one instance (a dict display of the evaluator's, never used again): the dict becomes the
    instance's, not a copy of it. Values of another size (a field left to its default) go
    to :func:`assemble`. The caller's promise, as for :func:`assemble`: the keys are the
    model's fields and each value is what validation would have made of it
    (``tests/test_determination_build.py`` holds the evaluator to it)."""
    names = _ALL_FIELDS.get(cls)
    if names is None:
        every = (_LAYOUTS.get(cls) or _layout(cls))[0]
        names = _ALL_FIELDS[cls] = SharedFieldsSet(every) if cls.model_config.get("frozen") else frozenset(every)
    if SET_DICT is None or len(values) != len(names):
        return assemble(cls, values)
    return _made(cls, values, names if type(names) is SharedFieldsSet else set(names))


def maker(cls: type[_Model]) -> Callable[[dict[str, Any]], _Model]:
    """:func:`assemble_all` for one frozen model class, made once for a loop that builds many
    instances (the explanation nodes of a determination): the function returned takes a dict
    giving every field of ``cls`` in declared order, made for this one instance, and makes it
    the instance's, with no check of its keys (the caller's promise, as for
    :func:`assemble_all`; ``tests/test_determination_build.py`` holds the evaluator to it)."""
    if SET_DICT is None or not cls.model_config.get("frozen"):
        return lambda values: assemble_all(cls, values)
    every = (_LAYOUTS.get(cls) or _layout(cls))[0]
    names = _ALL_FIELDS.get(cls)
    if names is None:
        names = _ALL_FIELDS[cls] = SharedFieldsSet(every)
    new, set_dict, set_fields, set_extra, set_private = object.__new__, SET_DICT, SET_FIELDS, SET_EXTRA, SET_PRIVATE

    def make(values: dict[str, Any]) -> _Model:
        made = new(cls)
        set_dict(made, values)
        set_fields(made, names)
        set_extra(made, None)
        set_private(made, None)
        return made

    return make

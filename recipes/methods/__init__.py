"""Training methods: one <Name>Spec per method, joined as a discriminated union on `method`.

Adding a method = a new module with its spec + one entry in `_SPECS` below.
"""

from typing import Annotated, Any, Union

from pydantic import Field

from recipes.methods.dpo import DPOSpec
from recipes.methods.pro import PROSpec
from recipes.methods.ranking import RankingSpec
from recipes.methods.rps import RPSSpec
from recipes.methods.spo import SPOSpec

_SPECS: tuple[type, ...] = (DPOSpec, RPSSpec, RankingSpec, SPOSpec, PROSpec)


def _method_name(spec: type) -> str:
    return spec.model_fields["method"].annotation.__args__[0]


def tagged_union(specs: tuple[type, ...], tag: str) -> Any:
    """A discriminated union on `tag`; works with a single member too (pydantic accepts `Union[(A,)]`)."""
    return Annotated[Union[specs], Field(discriminator=tag)]  # noqa: UP007 - a runtime-built Union


MethodSpec = tagged_union(_SPECS, "method")
METHOD_SPECS: dict[str, type] = {_method_name(spec): spec for spec in _SPECS}

__all__ = [
    "DPOSpec",
    "PROSpec",
    "RankingSpec",
    "RPSSpec",
    "SPOSpec",
    "METHOD_SPECS",
    "MethodSpec",
    "tagged_union",
]

"""Saved recipes: valid recipes kept in the DB (`recipes` table) by name, with their schema_version, so
they can be picked up again from the Recipes tab. Runs never point at this text: each freezes its own
snapshot when it starts."""

from __future__ import annotations

from sqlmodel import col, select

from recipes.errors import RecipeError
from recipes.io import dump_recipe, parse_recipe
from recipes.recipe import Recipe
from store.column_types import utcnow
from store.db import session_scope
from store.tables import RecipeRow


def save(recipe: Recipe) -> tuple[RecipeRow, bool]:
    """Store the recipe's canonical YAML under its name (replacing an older save); (row, created)."""
    with session_scope() as session:
        row = session.exec(select(RecipeRow).where(RecipeRow.name == recipe.name)).first()
        created = row is None
        row = row or RecipeRow(name=recipe.name, yaml="")
        row.yaml, row.schema_version, row.updated_at = dump_recipe(recipe), recipe.schema_version, utcnow()
        session.add(row)
        session.flush()
        return row, created


def names() -> list[str]:
    """Saved recipe names, the most recently saved first."""
    with session_scope() as session:
        statement = select(RecipeRow.name).order_by(col(RecipeRow.updated_at).desc(), col(RecipeRow.name))
        return list(session.exec(statement).all())


def load(name: str) -> str:
    """The saved YAML, brought to the current schema (an older save is migrated and re-checked)."""
    with session_scope() as session:
        row = session.exec(select(RecipeRow).where(RecipeRow.name == name)).first()
    if row is None:
        raise LookupError(f"no saved recipe named {name!r}")
    try:
        return dump_recipe(parse_recipe(row.yaml))
    except RecipeError:
        return row.yaml  # no longer valid (a newer schema's rules): the form shows what to fix

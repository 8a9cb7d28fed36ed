"""Recipes: WHAT to train, as pure validated data (pydantic + pyyaml only)."""

from recipes.data_source import DataSource, FileSource, HubSource
from recipes.errors import Problem, RecipeError, problems_from_validation_error
from recipes.evaluation import EvaluationSpec
from recipes.field_mapping import FieldMapping
from recipes.io import dump_recipe, load_recipe, migrate, parse_recipe, recipe_hash, recipe_json_schema
from recipes.methods import METHOD_SPECS, DPOSpec, MethodSpec
from recipes.model_spec import LoraSpec, ModelSpec
from recipes.preference_data import (
    PreferencePair,
    PreferenceRecord,
    aggregate_score,
    pairs_from_ratings,
    record_to_pairs,
    soft_label_from_level,
    soft_label_from_margin,
    soft_label_from_votes,
)
from recipes.presets import PRESETS
from recipes.recipe import Recipe
from recipes.row_mapper import SKIP_REASONS, Skip, records_from_row
from recipes.splits import heldout_split, leakage
from recipes.training import TrainingSpec

__all__ = [
    "METHOD_SPECS",
    "PRESETS",
    "SKIP_REASONS",
    "DPOSpec",
    "DataSource",
    "EvaluationSpec",
    "FieldMapping",
    "FileSource",
    "HubSource",
    "LoraSpec",
    "MethodSpec",
    "ModelSpec",
    "PreferencePair",
    "PreferenceRecord",
    "Problem",
    "Recipe",
    "RecipeError",
    "Skip",
    "TrainingSpec",
    "aggregate_score",
    "dump_recipe",
    "heldout_split",
    "leakage",
    "load_recipe",
    "migrate",
    "pairs_from_ratings",
    "parse_recipe",
    "problems_from_validation_error",
    "recipe_hash",
    "recipe_json_schema",
    "record_to_pairs",
    "records_from_row",
    "soft_label_from_level",
    "soft_label_from_margin",
    "soft_label_from_votes",
]

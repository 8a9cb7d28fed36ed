"""Where preference rows come from (a file or a hub dataset) and how their columns are read."""

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from recipes._base import StrictModel
from recipes.field_mapping import FieldMapping, missing_pieces
from recipes.presets import PRESETS, PresetName, resolve_mapping
from recipes.row_mapper import SKIP_REASONS, Skip, records_from_row


def _preset_field():
    return Field(
        None, description="A ready-made column mapping for a common layout; fields override its keys."
    )


def _fields_field():
    return Field(
        None, description="Which columns hold the prompt, responses and labels (overrides the preset)."
    )


def _limit_field():
    return Field(None, gt=0, description="Read at most this many rows; empty means all rows.")


class _MappedSource(StrictModel):
    """Shared checks of both sources; the fields are declared in each class so `kind` comes first."""

    def mapping(self) -> FieldMapping:
        """The effective mapping (preset + overrides); validation guarantees it is complete."""
        return resolve_mapping(self.preset, self.fields)

    @model_validator(mode="after")
    def _mapping_is_complete(self):
        mapping = resolve_mapping(self.preset, self.fields)
        if mapping is None:
            raise ValueError(
                f"choose a preset ({', '.join(PRESETS)}) or describe the columns under fields "
                "(prompt, and chosen + rejected or responses + label/votes/ranks/ratings)"
            )
        missing = missing_pieces(mapping)
        if missing:
            raise ValueError(f"the field mapping is incomplete: missing {'; '.join(missing)}")
        return self


class FileSource(_MappedSource):
    kind: Literal["file"] = Field(description="Read rows from a local file.")
    path: str = Field(
        min_length=1, description="Path to the data file; relative paths start at the recipe's folder."
    )
    format: Literal["auto", "jsonl", "json", "csv", "parquet"] = Field(
        "auto", description="File format; auto decides from the file extension."
    )
    preset: PresetName | None = _preset_field()
    fields: FieldMapping | None = _fields_field()
    heldout_path: str | None = Field(
        None,
        min_length=1,
        description="A fixed held-out file; when set, training.heldout_fraction is ignored.",
    )
    limit: int | None = _limit_field()


class HubSource(_MappedSource):
    kind: Literal["hub"] = Field(description="Read rows from a Hugging Face hub dataset.")
    dataset: str = Field(min_length=1, description="Hub dataset id, e.g. Anthropic/hh-rlhf.")
    config: str | None = Field(None, description="Dataset configuration (subset) name, if it has several.")
    split: str = Field("train", min_length=1, description="Split used for training.")
    heldout_split: str | None = Field(
        None, description="A fixed held-out split; when set, training.heldout_fraction is ignored."
    )
    preset: PresetName | None = _preset_field()
    fields: FieldMapping | None = _fields_field()
    limit: int | None = _limit_field()


class ArgillaSource(StrictModel):
    """Train on what annotators submitted in an Argilla dataset, as last synced into the studio."""

    kind: Literal["argilla"] = Field(description="Read annotations synced from an Argilla dataset.")
    dataset: str = Field(min_length=1, max_length=200, description="The Argilla dataset's name.")
    workspace: str = Field(
        "studio", min_length=1, max_length=100, description="The Argilla workspace that holds the dataset."
    )
    limit: int | None = _limit_field()


DataSource = Annotated[Union[FileSource, HubSource, ArgillaSource], Field(discriminator="kind")]  # noqa: UP007

__all__ = [
    "ArgillaSource",
    "DataSource",
    "FieldMapping",
    "FileSource",
    "HubSource",
    "SKIP_REASONS",
    "Skip",
    "records_from_row",
]

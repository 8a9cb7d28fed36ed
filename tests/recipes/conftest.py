import gzip
import json
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture(scope="session")
def llmbar_rows() -> list[dict]:
    return json.loads(_require(SHARED_DATA / "llmbar" / "LLMBar_Natural.json").read_text())


@pytest.fixture(scope="session")
def pandalm_rows() -> list[dict]:
    return json.loads(_require(SHARED_DATA / "pandalm-testset" / "testset-v1.json").read_text())


@pytest.fixture(scope="session")
def hh_rows() -> list[dict]:
    path = _require(SHARED_DATA / "hh-rlhf-harmless" / "harmless-base-test.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(50), handle, strict=False)]


@pytest.fixture(scope="session")
def oasst_trees() -> list[dict]:
    path = _require(SHARED_DATA / "oasst-en100-trees" / "en_100_tree.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]

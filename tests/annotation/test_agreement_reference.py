"""α equals an independent reference (PyPI `krippendorff`) on real annotations and random matrices.

Real data: PandaLM test set v1 (3 annotators per response pair; 1, 2 or 0 = tie; nominal) and
SQuALITY's human evaluation (3 of 4 reviewers per summary; 0–100 ratings of correctness, selection and
overall; ordinal and interval).
"""

import json
import random
from pathlib import Path

import pytest

from annotation.agreement import Annotation, alpha_result, annotations_to_matrices, krippendorff_alpha

np = pytest.importorskip("numpy", reason="numpy is needed to call the reference package")
krippendorff = pytest.importorskip(
    "krippendorff", reason="reference package missing: add 'krippendorff>=0.8' to the dev extra"
)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ASPECTS = ("correctness", "selection", "overall")


def _read(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path.read_text()


def _reference(matrix: dict, level: str) -> float:
    coders = sorted(matrix)
    items = sorted({item for row in matrix.values() for item in row})
    data = np.array([[matrix[c].get(item, np.nan) for item in items] for c in coders], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


@pytest.fixture(scope="module")
def pandalm_matrix() -> dict:
    rows = json.loads(_read(DATA / "pandalm-testset" / "testset-v1.json"))
    return {f"annotator{k}": {str(row["idx"]): row[f"annotator{k}"] for row in rows} for k in (1, 2, 3)}


@pytest.fixture(scope="module")
def squality_matrices() -> dict:
    annotations = []
    for line in _read(DATA / "squality-human-eval" / "all-responses.jsonl").splitlines():
        record = json.loads(line)
        for number, question in record["questions"].items():
            for system, answer in question.items():
                item = f"{record['passage-id']}/{number}/{system}"
                for review in answer["reviews"]:
                    for aspect in ASPECTS:
                        value = review[f"{aspect}-rating"]
                        annotations.append(Annotation(item, review["worker_id"], aspect, value))
    return annotations_to_matrices(annotations)


def test_pandalm_nominal_alpha_equals_the_reference(pandalm_matrix):
    result = alpha_result(pandalm_matrix, "nominal")
    assert (result.n_units, result.n_values) == (999, 2997)
    assert result.alpha == pytest.approx(_reference(pandalm_matrix, "nominal"), abs=1e-9)
    assert result.alpha == pytest.approx(0.8642, abs=1e-4)  # measured; guards the data reading too


@pytest.mark.parametrize("level", ["ordinal", "interval"])
@pytest.mark.parametrize("aspect", ASPECTS)
def test_squality_alpha_equals_the_reference(squality_matrices, aspect, level):
    matrix = squality_matrices[aspect]
    assert len(matrix) == 4
    result = alpha_result(matrix, level)
    assert (result.n_units, result.n_values) == (300, 900)
    assert result.alpha == pytest.approx(_reference(matrix, level), abs=1e-9)


def test_squality_measured_values(squality_matrices):
    measured = {
        aspect: round(krippendorff_alpha(squality_matrices[aspect], "ordinal"), 4) for aspect in ASPECTS
    }
    assert measured == {"correctness": 0.5344, "selection": 0.7155, "overall": 0.7218}


def _random_matrix(seed: int) -> dict:
    rng = random.Random(seed)
    coders, items = rng.randint(2, 6), rng.randint(5, 60)
    scale = rng.randint(2, 7)
    missing = rng.choice([0.0, 0.2, 0.5])
    truth = {f"i{i}": rng.randint(1, scale) for i in range(items)}
    matrix: dict = {}
    for c in range(coders):
        row = matrix.setdefault(f"c{c}", {})
        for item, value in truth.items():
            if rng.random() >= missing:
                # Noisy copies of a hidden truth: α lands anywhere from about 0 to 1.
                row[item] = value if rng.random() < 0.6 else rng.randint(1, scale)
    return matrix


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_random_matrices_with_missing_values_equal_the_reference(seed, level):
    matrix = _random_matrix(seed)
    try:
        mine = krippendorff_alpha(matrix, level)
    except ValueError:
        pytest.skip("this draw has no pairable item")
    reference = _reference(matrix, level)
    if np.isnan(reference) or np.isnan(mine):
        assert np.isnan(reference) and np.isnan(mine)
    else:
        assert mine == pytest.approx(reference, abs=1e-9)

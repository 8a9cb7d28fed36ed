from pathlib import Path

import pytest

from recipes import RecipeError, load_recipe

MISTAKES = Path(__file__).resolve().parents[2] / "examples" / "recipe-mistakes.yaml"


def test_mistakes_file_reports_exactly_five_problems_with_paths():
    with pytest.raises(RecipeError) as caught:
        load_recipe(MISTAKES)
    found = {problem.path: problem.message for problem in caught.value.problems}
    assert len(caught.value.problems) == 5
    assert set(found) == {
        "model.lora.dropuot",
        "method.beta",
        "method.loss",
        "training",
        "evaluation.confidence_level",
    }
    assert "did you mean 'dropout'" in found["model.lora.dropuot"]
    assert found["method.beta"].startswith("must be greater than 0")
    assert "'squared' is not allowed" in found["method.loss"]
    assert "max_prompt_length (256)" in found["training"]
    assert found["evaluation.confidence_level"].startswith("must be less than 1")


def test_fixing_the_five_mistakes_gives_a_valid_recipe(tmp_path):
    text = MISTAKES.read_text()
    for wrong, right in [
        ("dropuot: 0.1", "dropout: 0.1"),
        ("beta: -0.1", "beta: 0.1"),
        ("loss: squared", "loss: sigmoid"),
        ("max_prompt_length: 256", "max_prompt_length: 128"),
        ("confidence_level: 1.5", "confidence_level: 0.9"),
    ]:
        assert wrong in text
        text = text.replace(wrong, right)
    recipe = load_recipe(_write(tmp_path, text))
    assert recipe.method.beta == 0.1 and recipe.model.lora.dropout == 0.1


def _write(folder: Path, text: str) -> Path:
    path = folder / "fixed.yaml"
    path.write_text(text)
    return path

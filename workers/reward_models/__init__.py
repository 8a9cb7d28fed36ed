"""Reward models on frozen encoders (issue 3 item 5; methods.md §3A, §4, §6.2, §7 E6).

- `MultiObjectiveRewardModel` (`fit_from_records`): per-criterion regression heads on the recipe's 1..N
  ratings, scores on the (s − 1)/(N − 1) scale. Used in training and selection (PRO-orchestrator, RPS).
- `PairwiseJudge`: a Bradley–Terry scalar judge for E6 win rates, fitted only on pairs from
  `disjoint_judge_split`, so it never shares text with what the policy trained or is evaluated on.
- Encoders: `MiniLMEncoder` (bundled all-MiniLM-L6-v2, offline) or `BaseModelEncoder` (the base LM,
  adapter off), either one optionally with the reply's surface features appended (`WithTextFeatures`).
"""

from workers.reward_models.encoders import (
    MINILM_NAME,
    BaseModelEncoder,
    Encoder,
    MiniLMEncoder,
    fit_to_budget,
    mean_pool,
    minilm_model_dir,
)
from workers.reward_models.judge import PairwiseJudge, disjoint_judge_split, newton_bradley_terry
from workers.reward_models.multi_objective import (
    HeadConfig,
    MultiObjectiveRewardModel,
    fit_from_records,
    fit_from_scores,
    rating_targets,
    score_targets,
)
from workers.reward_models.text_features import WithTextFeatures, text_features

__all__ = [
    "MINILM_NAME",
    "BaseModelEncoder",
    "Encoder",
    "HeadConfig",
    "MiniLMEncoder",
    "MultiObjectiveRewardModel",
    "PairwiseJudge",
    "disjoint_judge_split",
    "fit_from_records",
    "fit_from_scores",
    "fit_to_budget",
    "mean_pool",
    "minilm_model_dir",
    "newton_bradley_terry",
    "rating_targets",
    "score_targets",
    "text_features",
    "WithTextFeatures",
]

"""Evaluation metrics of methods.md §7: E1/E3 in `ranking`, E2, E4, E5, E6, E7, E8 in their own modules.

Which pass feeds which metric, so the pipeline can share passes:

- E2 `idealized_metrics` and E4 `drift_metrics`: pure, from the held-out (chosen, rejected) summed
  log-probs and token counts the pipeline already computes (base = adapter off, policy = adapter on).
  No extra forward.
- E5 `ches_from_batch(hidden, batch)`: from the reference (adapter off) pass's last hidden states on a
  `workers.packing` batch, so it can run inside the existing reference scoring loop at no extra forward.
  `ches_pass` / `ches_scores` run that pass on their own (one no-grad forward per pair).
- E7 `kl_pass`: one generation from the policy at T = 1 on K held-out prompts, then two no-grad scoring
  passes over the samples (adapter on, adapter off). `kl_estimates` is the pure part.
- E8 `corpus_logps` twice over `token_windows(load_corpus())` (adapter off, then on), then
  `perplexity_metrics`; the in-domain PPL reuses the held-out chosen log-probs (no extra pass). The
  plain `perplexity(sum, n)` is not re-exported: here that name is the module.
"""

from workers.evaluators.ches import (
    ChesCollector,
    ChesScores,
    ches_from_batch,
    ches_from_hidden,
    ches_pass,
    ches_scores,
    drop_top_fraction,
    last_hidden_inner,
    normalized_edit_distance,
)
from workers.evaluators.drift import dispersion, drastic_drop_ratios, drift_deltas, drift_metrics
from workers.evaluators.idealized import (
    idealized_correct,
    idealized_metrics,
    ranking_correct_with_ties,
    rater_proportions,
    required_losses,
)
from workers.evaluators.kl import KLResult, kl_estimates, kl_pass, response_token_logps, sample_responses
from workers.evaluators.perplexity import (
    corpus_logps,
    in_domain_perplexity,
    load_corpus,
    perplexity_metrics,
    token_windows,
)
from workers.evaluators.stats import histogram, spearman

__all__ = [
    "ChesCollector",
    "ChesScores",
    "KLResult",
    "ches_from_batch",
    "ches_from_hidden",
    "ches_pass",
    "ches_scores",
    "corpus_logps",
    "dispersion",
    "drastic_drop_ratios",
    "drift_deltas",
    "drift_metrics",
    "drop_top_fraction",
    "histogram",
    "idealized_correct",
    "idealized_metrics",
    "in_domain_perplexity",
    "kl_estimates",
    "kl_pass",
    "last_hidden_inner",
    "load_corpus",
    "normalized_edit_distance",
    "perplexity_metrics",
    "rater_proportions",
    "ranking_correct_with_ties",
    "required_losses",
    "response_token_logps",
    "sample_responses",
    "spearman",
    "token_windows",
]

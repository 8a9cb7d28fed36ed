"""Inter-annotator agreement, pure Python: Krippendorff's α, Cohen's κ, annotator-vs-consensus, the gate.

Argilla SDK 2.x has no agreement metrics (docs/argilla.md), so the studio computes its own here.
"""

from annotation.agreement.alpha import (
    LEVELS,
    AlphaResult,
    Level,
    alpha_result,
    coincidence_matrix,
    krippendorff_alpha,
)
from annotation.agreement.consensus import ConsensusScore, consensus_scores, spearman
from annotation.agreement.data import (
    Annotation,
    Matrix,
    Value,
    annotations_to_matrices,
    matrix_to_annotations,
    matrix_units,
)
from annotation.agreement.gate import check_gate
from annotation.agreement.kappa import PairKappa, cohen_kappa, pairwise_kappa
from annotation.agreement.report import agreement_report

__all__ = [
    "LEVELS",
    "AlphaResult",
    "Annotation",
    "ConsensusScore",
    "Level",
    "Matrix",
    "PairKappa",
    "Value",
    "agreement_report",
    "alpha_result",
    "annotations_to_matrices",
    "check_gate",
    "coincidence_matrix",
    "cohen_kappa",
    "consensus_scores",
    "krippendorff_alpha",
    "matrix_to_annotations",
    "matrix_units",
    "pairwise_kappa",
    "spearman",
]

"""The headline metrics of every report (label, metric key), shared by the Markdown and HTML pages."""

HEADLINE = [
    ("Ranking accuracy, base (E1)", "ranking_accuracy_before"),
    ("Ranking accuracy, adapter (E1)", "ranking_accuracy_after"),
    ("Length-normalised ranking accuracy, base", "ranking_accuracy_ln_before"),
    ("Length-normalised ranking accuracy, adapter", "ranking_accuracy_ln_after"),
    ("Implicit-reward accuracy (E3)", "reward_accuracy"),
    ("Implicit-reward margin (E3)", "reward_margin"),
    ("'Longer response wins' baseline", "longer_wins_baseline"),
]

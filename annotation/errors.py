"""Annotation errors carry a message a user can act on (shown by the CLI, the studio and the run)."""


class AnnotationError(Exception):
    """Something about the annotation backend the user must fix (server down, bad dataset, ...)."""


class ArgillaUnavailable(AnnotationError):
    """The Argilla server could not be reached or answered 5xx: worth retrying later."""

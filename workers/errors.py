"""Errors the worker turns into a run's one-line failure reason.

Only `workers.lifecycle.execute` catches these (architecture §5): everything below it raises.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """A problem the user can fix; its message is shown verbatim as the run's failure reason.

    Keep the message to one line naming what is wrong and what to do, e.g.
    "no usable rows in data file X: 3 skipped (missing_field 2, empty_response 1)".
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

"""One runner per recipe method; `RUNNERS` must name exactly the methods of `recipes.methods`."""

from workers.methods.dpo import DPORunner
from workers.methods.rps import RPSRunner

RUNNERS = {"dpo": DPORunner, "rps": RPSRunner}

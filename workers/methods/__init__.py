"""One runner per recipe method; `RUNNERS` must name exactly the methods of `recipes.methods`."""

from workers.methods.dpo import DPORunner

RUNNERS = {"dpo": DPORunner}

"""One runner per recipe method; `RUNNERS` must name exactly the methods of `recipes.methods`."""

from workers.methods.dpo import DPORunner
from workers.methods.pro import PRORunner
from workers.methods.ranking import RankingRunner
from workers.methods.rps import RPSRunner
from workers.methods.spo import SPORunner

RUNNERS = {"dpo": DPORunner, "pro": PRORunner, "ranking": RankingRunner, "rps": RPSRunner, "spo": SPORunner}

"""GPU path: one bf16 LoRA-DPO step on CUDA. Skipped on machines without a GPU (CI is CPU-only)."""

import pytest
import torch

from recipes.methods import DPOSpec
from workers.methods.dpo import DPORunner
from workers.modeling import apply_lora, load_base_model
from workers.packing import pack_pairs
from workers.scoring import score_pairs
from workers.tokenization import TokenizedPair

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


class _Lora:
    r, alpha, dropout = 8, 16, 0.0
    target_modules = ["q_proj", "k_proj", "v_proj", "o_proj"]


def test_one_bf16_lora_dpo_step_on_cuda(tiny_model_dir):
    model = apply_lora(load_base_model(tiny_model_dir), _Lora()).cuda()
    pairs = [
        TokenizedPair([1, 5, 6, 7], [8, 9, 10], [11, 12]),
        TokenizedPair([1, 4, 4], [13, 14], [15, 16, 17]),
    ]
    ref, _ = score_pairs(model, pairs, pad_id=0, precision="bf16", adapter_disabled=True)
    batch = {k: v.cuda() for k, v in pack_pairs(pairs, pad_id=0).items()} | {"ref_logps": ref.cuda()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in trainable]
    optimizer = torch.optim.AdamW(trainable, lr=1e-2)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss, metrics = DPORunner(DPOSpec(method="dpo", beta=0.1)).loss(model, batch)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and abs(loss.item() - 0.6931) < 0.05  # log 2 at the start: Δ = 0
    assert any(not torch.equal(b, p) for b, p in zip(before, trainable, strict=True))

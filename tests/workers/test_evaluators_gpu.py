"""The evaluator passes on CUDA (tiny model): same numbers as on the CPU. Skipped without a GPU."""

from types import SimpleNamespace

import pytest
import torch
from transformers import AutoModelForCausalLM

from workers.evaluators.ches import ches_pass
from workers.evaluators.kl import kl_pass
from workers.evaluators.perplexity import corpus_logps
from workers.modeling import apply_lora
from workers.tokenization import TokenizedPair

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

PAIRS = [TokenizedPair([1, 5, 6, 7], [8, 9, 10], [11]), TokenizedPair([1, 4], [13, 14], [15, 16, 17])]
LORA = SimpleNamespace(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj", "v_proj"])


@torch.no_grad()
def test_ches_and_perplexity_on_cuda_match_the_cpu(tiny_model_dir):
    model = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_model_dir), LORA).eval()
    cpu = ches_pass(model, PAIRS, pad_id=0)
    cpu_ppl = corpus_logps(model, [[5, 6, 7, 8], [9, 10]], pad_id=0, adapter_disabled=True)
    model.cuda()
    gpu = ches_pass(model, PAIRS, pad_id=0, precision="fp32")
    assert torch.allclose(gpu.ches, cpu.ches, rtol=1e-3, atol=1e-2)
    assert torch.allclose(gpu.last_hidden_inner, cpu.last_hidden_inner, rtol=1e-3, atol=1e-2)
    gpu_ppl = corpus_logps(model, [[5, 6, 7, 8], [9, 10]], pad_id=0, adapter_disabled=True)
    assert gpu_ppl == (pytest.approx(cpu_ppl[0], abs=1e-2), cpu_ppl[1])
    bf16 = ches_pass(model, PAIRS, pad_id=0, precision="bf16")
    assert torch.allclose(bf16.ln_ches, cpu.ln_ches, rtol=0.1, atol=0.5)


def test_zero_adapter_kl_is_exactly_zero_on_cuda(tiny_model_dir):
    model = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_model_dir), LORA).eval().cuda()
    result = kl_pass(model, [[1, 5, 6], [1, 7]], eos_id=2, pad_id=0, max_new_tokens=8, seed=0)
    assert result.metrics["kl_k1_sequence"] == 0.0 and result.metrics["kl_k3_sequence"] == 0.0

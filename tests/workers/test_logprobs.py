import torch
from transformers import AutoModelForCausalLM

from workers import logprobs
from workers.logprobs import response_logps


def _reference_logps(model, input_ids, attention_mask, response_mask):
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1].float()
    token_logps = logits.log_softmax(-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    return (token_logps * response_mask[:, 1:]).sum(-1)


def test_chunked_logps_equal_full_vocabulary_log_softmax(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(logprobs, "LM_HEAD_CHUNK_ROWS", 3)  # force several chunks
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    torch.manual_seed(0)
    input_ids = torch.randint(3, 200, (3, 12))
    attention = torch.ones_like(input_ids)
    attention[2, 9:] = 0
    response = torch.zeros_like(input_ids)
    response[0, 5:] = 1
    response[1, 2:] = 1
    response[2, 6:9] = 1
    sums, counts = response_logps(model, input_ids, attention, response)
    assert torch.allclose(sums, _reference_logps(model, input_ids, attention, response), atol=1e-4)
    assert counts.tolist() == [7, 10, 3]


def test_gradients_flow_through_chunks(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    input_ids = torch.randint(3, 200, (2, 10))
    mask = torch.ones_like(input_ids)
    sums, _ = response_logps(model, input_ids, mask, mask)
    sums.sum().backward()
    assert model.get_output_embeddings().weight.grad.abs().sum() > 0

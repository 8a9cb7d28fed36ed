"""A tiny Llama with a locally trained tokenizer: the model every test trains (no download)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from workers.modeling import END_OF_TEXT, IM_END, IM_START

TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
TINY_MAX_POSITIONS = 1024

# Written for this project. The tokenizer is trained on this text only (never on files outside the
# repo) so the fixture is identical on every machine and in a fresh clone.
_TINY_CORPUS = """\
Write a short poem about the sea at night.
The sea at night is dark and quiet, and the moon draws a silver road across the water.
Explain why the sky is blue in two sentences.
Sunlight is scattered by the molecules of the air, and blue light is scattered more than red light.
That is why we see a blue sky during the day and a red sky at sunset.
Give three tips for staying healthy.
1. Eat a balanced diet with plenty of fruit and vegetables.
2. Exercise regularly, for example a walk of thirty minutes every day.
3. Get enough sleep and drink enough water.
Translate the following sentence into French: The cat is sleeping on the chair.
Le chat dort sur la chaise.
What is the capital of France? The capital of France is Paris.
What is the capital of Japan? The capital of Japan is Tokyo.
Summarize the following paragraph in one sentence.
The committee met on Monday to discuss the budget for the next year. After a long debate, the members
agreed to increase the funding for public libraries and to reduce the spending on new office furniture.
The committee agreed to fund libraries more and furniture less.
Classify the following review as positive or negative: The food was cold and the service was slow.
Negative.
Write a Python function that returns the sum of a list of numbers.
def total(numbers):
    return sum(numbers)
Rewrite the sentence in the passive voice: The teacher corrected the homework.
The homework was corrected by the teacher.
Name five animals that live in the ocean.
Dolphins, whales, sharks, octopuses and sea turtles live in the ocean.
Answer the question: How many days are there in a leap year? There are 366 days in a leap year.
Generate a list of ideas for a birthday party: a picnic in the park, a movie night, a cooking class,
a treasure hunt, or a small concert with friends.
Describe the process of photosynthesis.
Plants use the energy of sunlight to turn water and carbon dioxide into sugar and oxygen.
Compare the two options and explain which one is better for a small business.
The first option is cheaper, but the second option is more reliable and easier to maintain.
I would recommend the second option because reliability matters more than a small saving.
Please provide an example of a metaphor. Time is a thief that steals our days.
Edit the text to fix the grammar mistakes: She go to school every days.
She goes to school every day.
Find the odd one out: apple, banana, carrot, cherry. Carrot, because it is a vegetable.
"""


def build_tiny_llama(out_dir: Path, vocab_size: int = 512, seed: int = 0) -> Path:
    """Save a tiny random LlamaForCausalLM + byte-level BPE tokenizer as a normal HF folder.

    Deterministic given `seed` (weights) and `vocab_size` (tokenizer; training has no randomness).
    The global torch RNG is left as it was.
    """
    out_dir = Path(out_dir)
    tokenizer = _train_tiny_tokenizer(vocab_size)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    ids["pad_token_id"] = tokenizer.pad_token_id
    config = LlamaConfig(
        vocab_size=max(vocab_size, len(tokenizer)),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        max_position_embeddings=TINY_MAX_POSITIONS,
        tie_word_embeddings=True,
        **ids,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(**ids)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def _train_tiny_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = [END_OF_TEXT, IM_START, IM_END]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + len(specials):
        raise ValueError(f"vocab_size must be at least {len(alphabet) + len(specials)} (bytes + specials)")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet, show_progress=False
    )
    backend.train_from_iterator(_TINY_CORPUS.splitlines(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
        bos_token=IM_START,
        eos_token=IM_END,
        model_max_length=TINY_MAX_POSITIONS,
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer

#!/usr/bin/env python3
"""Reference renderings of real chat templates, for tests/llm/chat_template_test.cpp.

The templates in tests/fixtures/chat/*.jinja are the models' own, byte for byte where the source
kept the bytes (SOURCES below says where each came from). They are rendered by transformers itself:
a PreTrainedTokenizerFast with the template and the model's bos/eos tokens, then
apply_chat_template(tokenize=False), so the goldens carry transformers' Jinja environment
(trim_blocks, lstrip_blocks, loopcontrols, {% generation %}, raise_exception, strftime_now, its
tojson, tools=None) rather than a copy of it. Each template also becomes a tokenizer_config.json seed
for the hf_config fuzzer (tests/fuzz/seeds/hf_config). strftime_now is pinned to DATE so that the goldens
are stable; the test pins acorn's clock to the same instant.

    python3 -m venv build/venv-chat && build/venv-chat/bin/pip install transformers jinja2 tokenizers
    build/venv-chat/bin/python scripts/llm/make_chat_goldens.py
"""
import datetime as _datetime
import glob
import json
import os

import transformers
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast
from transformers.utils import chat_template_utils

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "tests", "fixtures", "chat")
FUZZ_SEEDS = os.path.join(HERE, "..", "..", "tests", "fuzz", "seeds", "hf_config")
# 2024-07-26 12:00 UTC: the same calendar day in every time zone within +-11 h.
NOW = 1721995200
DATE = _datetime.datetime.fromtimestamp(NOW)

LLAMA_CPP = "llama.cpp models/templates/ (as shipped in the llama-cpp-python 0.3.36 sdist, vendor/llama.cpp)"
SOURCES = {
    "openhermes-chatml": "llama.cpp tests/test-chat-template.cpp (teknium/OpenHermes-2.5-Mistral-7B)",
    "qwen2.5-7b-instruct": LLAMA_CPP + " Qwen-Qwen2.5-7B-Instruct.jinja",
    "qwen3-0.6b": LLAMA_CPP + " Qwen-Qwen3-0.6B.jinja",
    "deepseek-r1-distill-qwen-32b": LLAMA_CPP + " deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "smollm3-3b": LLAMA_CPP + " HuggingFaceTB-SmolLM3-3B.jinja",
    "smollm2-1.7b-instruct": "HuggingFaceTB/SmolLM2 chat_template.jinja, as quoted verbatim in public code "
                             "(its Jinja strings hold literal newlines)",
    "llama-2-chat": "llama.cpp tests/test-chat-template.cpp (meta-llama/Llama-2-7b-chat-hf)",
    "llama-3-instruct": "llama.cpp tests/test-chat-template.cpp (meta-llama/Meta-Llama-3-8B-Instruct)",
    "llama-3.1-8b-instruct": LLAMA_CPP + " meta-llama-Llama-3.1-8B-Instruct.jinja",
    "llama-3.2-3b-instruct": LLAMA_CPP + " meta-llama-Llama-3.2-3B-Instruct.jinja",
    "llama-3.3-70b-instruct": LLAMA_CPP + " meta-llama-Llama-3.3-70B-Instruct.jinja",
    "mistral-7b-instruct-v0.2": "llama.cpp tests/test-chat-template.cpp (mistralai/Mistral-7B-Instruct-v0.2)",
    "mistral-7b-instruct-v0.3": "mistralai/Mistral-7B-Instruct-v0.3 tokenizer_config.json chat_template, as quoted "
                                "in public code (a Python literal decoded)",
    "mistral-nemo-instruct-2407": LLAMA_CPP + " mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "gemma-7b-it": "llama.cpp tests/test-chat-template.cpp (google/gemma-7b-it)",
    "gemma-2-2b-it": LLAMA_CPP + " google-gemma-2-2b-it.jinja",
    "gemma-3-4b-it": "google/gemma-3-4b-it tokenizer_config.json chat_template, as quoted in public code",
    "phi-3.5-mini-instruct": LLAMA_CPP + " microsoft-Phi-3.5-mini-instruct.jinja",
    "granite-3.3-2b-instruct": LLAMA_CPP + " ibm-granite-granite-3.3-2B-Instruct.jinja",
    "qwq-32b": LLAMA_CPP + " Qwen-QwQ-32B.jinja",
    "deepseek-v3.1": LLAMA_CPP + " deepseek-ai-DeepSeek-V3.1.jinja",
    "kimi-k2": LLAMA_CPP + " moonshotai-Kimi-K2.jinja",
    "glm-4.6": LLAMA_CPP + " GLM-4.6.jinja",
    "granite-4.0": LLAMA_CPP + " ibm-granite-granite-4.0.jinja",
    "lfm2.5-instruct": LLAMA_CPP + " LFM2.5-Instruct.jinja",
    "mistral-small-3.2-24b-instruct-2506": LLAMA_CPP + " Mistral-Small-3.2-24B-Instruct-2506.jinja",
    "hermes-3-llama-3.1-8b-tool-use": LLAMA_CPP + " NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
    "command-r7b-12-2024-tool-use": LLAMA_CPP + " CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
    "gpt-oss-120b": LLAMA_CPP + " openai-gpt-oss-120b.jinja",
    "qwen3-coder": LLAMA_CPP + " Qwen3-Coder.jinja",
    "firefunction-v2": LLAMA_CPP + " fireworks-ai-llama-3-firefunction-v2.jinja",
    "seed-oss-36b-instruct": LLAMA_CPP + " ByteDance-Seed-OSS.jinja",
    "functionary-medium-v3.1": LLAMA_CPP + " meetkai-functionary-medium-v3.1.jinja",
    "gemma-4-31b-it": LLAMA_CPP + " google-gemma-4-31B-it.jinja",
}

# The special tokens each model's tokenizer_config.json defines (None: not defined, so the template
# sees bos_token undefined, as transformers passes only the tokens that are set).
TOKENS = {
    "openhermes-chatml": ("<s>", "<|im_end|>"),
    "qwen2.5-7b-instruct": (None, "<|im_end|>"),
    "qwen3-0.6b": (None, "<|im_end|>"),
    "deepseek-r1-distill-qwen-32b": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "smollm3-3b": (None, "<|im_end|>"),
    "smollm2-1.7b-instruct": ("<|im_start|>", "<|im_end|>"),
    "llama-2-chat": ("<s>", "</s>"),
    "llama-3-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.1-8b-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.2-3b-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.3-70b-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "mistral-7b-instruct-v0.2": ("<s>", "</s>"),
    "mistral-7b-instruct-v0.3": ("<s>", "</s>"),
    "mistral-nemo-instruct-2407": ("<s>", "</s>"),
    "gemma-7b-it": ("<bos>", "<eos>"),
    "gemma-2-2b-it": ("<bos>", "<eos>"),
    "gemma-3-4b-it": ("<bos>", "<eos>"),
    "phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "granite-3.3-2b-instruct": ("<|end_of_text|>", "<|end_of_text|>"),
    "qwq-32b": (None, "<|im_end|>"),
    "deepseek-v3.1": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "kimi-k2": ("[BOS]", "[EOS]"),  # the template writes neither
    "glm-4.6": (None, "<|endoftext|>"),  # the template writes neither
    "granite-4.0": ("<|end_of_text|>", "<|end_of_text|>"),  # the template writes neither
    "lfm2.5-instruct": ("<|startoftext|>", "<|im_end|>"),
    "mistral-small-3.2-24b-instruct-2506": ("<s>", "</s>"),
    "hermes-3-llama-3.1-8b-tool-use": ("<|begin_of_text|>", "<|im_end|>"),
    "command-r7b-12-2024-tool-use": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "gpt-oss-120b": ("<|startoftext|>", "<|return|>"),  # the template writes neither
    "qwen3-coder": (None, "<|im_end|>"),
    "firefunction-v2": ("<|begin_of_text|>", "<|eot_id|>"),
    "seed-oss-36b-instruct": ("<seed:bos>", "<seed:eos>"),
    "functionary-medium-v3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "gemma-4-31b-it": ("<bos>", "<eos>"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are a terse assistant."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "  Hello! How can I help?  "},
     {"role": "user", "content": "Tell me a joke.\n"}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "One"},
     {"role": "assistant", "content": "Two"}, {"role": "user", "content": "Three, with ünïcödé ✓"}],
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
    # Reasoning models keep only what follows </think> of earlier assistant turns.
    [{"role": "user", "content": "Think first: 3*4?"},
     {"role": "assistant", "content": "<think>\n3*4 is 12.\n</think>\n\n12"},
     {"role": "user", "content": "And 5*6?"}],
    # Text that looks like markup, quotes and backslashes, an empty message.
    [{"role": "system", "content": "Rules:\n- be \"exact\"\n- no \\escapes"},
     {"role": "user", "content": "<|im_end|> [INST] {{ not jinja }} {% if %}"},
     {"role": "assistant", "content": ""}, {"role": "user", "content": "  padded\t"}],
    [],
]


class _FixedDatetime(_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return DATE


def tokenizer(bos, eos, template):
    vocab = {"<unk>": 0}
    for t in (bos, eos):
        if t is not None and t not in vocab:
            vocab[t] = len(vocab)
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
                                  unk_token="<unk>", bos_token=bos, eos_token=eos)
    tok.chat_template = template
    return tok


def main():
    chat_template_utils.datetime = _FixedDatetime  # what strftime_now() reads
    goldens = []
    names = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.jinja"))):
        name = os.path.basename(path)[:-len(".jinja")]
        names.append(name)
        template = open(path, encoding="utf-8", newline="").read()
        bos, eos = TOKENS[name]
        tok = tokenizer(bos, eos, template)
        # A tokenizer_config.json per template seeds the hf_config fuzzer (which renders it too).
        seed = {"add_bos_token": True, "bos_token": bos, "eos_token": eos, "chat_template": template}
        with open(os.path.join(FUZZ_SEEDS, name + ".tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(seed, f, indent=1, ensure_ascii=False)
        for i, messages in enumerate(CONVERSATIONS):
            for gen in (True, False):
                entry = {"template": name, "conversation": i, "add_generation_prompt": gen}
                try:
                    entry["text"] = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
                except Exception as e:  # raise_exception, or a template that cannot take the input
                    entry["error"] = f"{type(e).__name__}: {e}"
                goldens.append(entry)
    assert set(names) == set(TOKENS) == set(SOURCES), "every fixture needs its tokens and its source"
    with open(os.path.join(FIXTURES, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"transformers": transformers.__version__, "now": NOW, "sources": SOURCES,
                   "tokens": {k: [v[0] or "", v[1] or ""] for k, v in TOKENS.items()},
                   "conversations": CONVERSATIONS, "goldens": goldens}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    errors = sum("error" in g for g in goldens)
    print(f"{len(goldens)} renderings of {len(names)} templates ({errors} refused), transformers "
          f"{transformers.__version__}")


if __name__ == "__main__":
    main()

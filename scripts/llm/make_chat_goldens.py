#!/usr/bin/env python3
"""Reference renderings of real chat templates, for tests/llm/chat_template_test.cpp.

The templates in tests/fixtures/chat/*.jinja are copied verbatim from the models' tokenizer_config.json
files (as collected in llama.cpp's tests/test-chat-template.cpp and models/templates/, shipped in the
llama-cpp-python sdist on PyPI). They are rendered the way transformers' apply_chat_template does:
jinja2's ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks, the loopcontrols extension,
raise_exception and strftime_now (fixed here to one date so the goldens are stable).

    pip install jinja2 && python3 scripts/llm/make_chat_goldens.py
"""
import glob
import json
import os

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "tests", "fixtures", "chat")
DATE = "26 Jul 2024"

# The special tokens each model's tokenizer defines (what transformers passes as bos/eos_token).
TOKENS = {
    "openhermes-chatml": ("<s>", "<|im_end|>"),
    "qwen2.5-7b-instruct": ("", "<|im_end|>"),
    "llama-3-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.2-3b-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-2-chat": ("<s>", "</s>"),
    "mistral-7b-instruct-v0.2": ("<s>", "</s>"),
    "gemma-7b-it": ("<bos>", "<eos>"),
    "gemma-2-2b-it": ("<bos>", "<eos>"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are a terse assistant."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "  Hello! How can I help?  "},
     {"role": "user", "content": "Tell me a joke.\n"}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "One"},
     {"role": "assistant", "content": "Two"}, {"role": "user", "content": "Three, with ünïcödé ✓"}],
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
]


def raise_exception(message):
    raise TemplateError(message)


def render(template, messages, bos, eos, add_generation_prompt):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: DATE
    return env.from_string(template).render(messages=messages, bos_token=bos, eos_token=eos,
                                            add_generation_prompt=add_generation_prompt)


def main():
    goldens = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.jinja"))):
        name = os.path.basename(path)[:-len(".jinja")]
        template = open(path, encoding="utf-8").read()
        bos, eos = TOKENS[name]
        for i, messages in enumerate(CONVERSATIONS):
            for gen in (True, False):
                try:
                    text = render(template, messages, bos, eos, gen)
                    goldens.append({"template": name, "conversation": i, "add_generation_prompt": gen, "text": text})
                except TemplateError as e:
                    goldens.append({"template": name, "conversation": i, "add_generation_prompt": gen, "error": str(e)})
    with open(os.path.join(FIXTURES, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"date_string": DATE, "tokens": TOKENS, "conversations": CONVERSATIONS, "goldens": goldens}, f,
                  indent=1, ensure_ascii=False)
    print(f"{len(goldens)} renderings of {len(TOKENS)} templates")


if __name__ == "__main__":
    main()

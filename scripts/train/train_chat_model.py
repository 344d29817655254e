#!/usr/bin/env python3
"""Train acorn-chat-mini: a ~11M-parameter LLaMA-architecture chat model on synthetic dialogues.

Needs torch + transformers + tokenizers (run on a GPU machine; the budget below was sized for one
H100). Steps:

  1. generate the dialogues (make_dialogues.py, fixed seed), render them as ChatML, tokenize with
     the tokenizer in --tokenizer (made by train_tokenizer.py), and pack them into 256-token rows;
     the loss covers assistant tokens only (each answer and its <|im_end|>);
  2. train LlamaForCausalLM from scratch (bf16 autocast, AdamW, warmup + cosine) for a wall-clock
     budget: the first --probe-steps steps measure the step time, then the total step count is
     fixed so that training ends after about --budget-s seconds;
  3. save in float32 (safetensors) with the tokenizer files and a generation config;
  4. reload the saved files on the CPU in float32 (eager attention, TF32 off) and greedy-decode a
     fixed set of test conversations (up to 48 new tokens, stop at <|im_end|>), writing the prompt
     ids, generated ids and text to reference_greedy.json, and a larger probe set to probes.json.

  python3 scripts/train/train_chat_model.py --tokenizer models/acorn-chat-mini/hf --out /tmp/out/hf
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dialogues import generate, render_chatml  # noqa: E402

REFERENCE_CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "user", "content": "What is 7 plus 8?"}],
    [{"role": "user", "content": "What is 6 times 7?"}],
    [{"role": "user", "content": "What day comes after Friday?"}],
    [{"role": "user", "content": "What is the capital of Japan?"}],
    [{"role": "user", "content": "What sound does a cow make?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello! How can I help you today?"},
     {"role": "user", "content": "How do you spell garden?"}],
    [{"role": "user", "content": "What is acorn?"}],
]

PROBE_QUESTIONS = [
    "Good morning! How are you?", "What is 3 plus 4?", "What's 20 + 19?", "what is 15 - 8",
    "What is 9 times 9?", "What is 12 times 11?", "Compute 0 * 5.", "What is eleven plus six?",
    "Count from 5 to 10.", "Which is bigger, 42 or 24?", "What month comes after December?",
    "How many days are in April?", "If today is Sunday, what day is tomorrow?",
    "What colour is a banana?", "What color is the sky?", "What do you get if you mix blue and yellow?",
    "What does a duck say?", "How many legs does a spider have?", "Where do bees live?",
    "What is the capital of Canada?", "Capital of France?", "Which country has Cairo as its capital?",
    "What is the opposite of hot?", "How many minutes are in 3 hours?", "Convert 2 kilometres to metres.",
    "Spell rabbit.", "How many letters are in elephant?", "What can you do?", "Who are you?",
    "Do you need the internet?", "What is the meaning of life?", "Can you tell me a joke?",
    "Who won the World Cup in 1998?", "Write a haiku about autumn.", "What is 123 plus 456?",
    "What is the capital of Mongolia?", "Thanks!", "Bye!",
]


def render(msgs, add_generation_prompt):
    return render_chatml(msgs, add_generation_prompt)


# ---------------------------------------------------------------- data

def build_rows(tok, n, seed, seq):
    t0 = time.time()
    dialogues = generate(n, seed)
    texts = [render(d, False) for d in dialogues]
    im_start, im_end, eot = (tok.token_to_id(s) for s in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"))
    assistant = tok.encode("assistant", add_special_tokens=False).ids
    nl = tok.encode("\n", add_special_tokens=False).ids
    assert len(assistant) == 1 and len(nl) == 1, (assistant, nl)
    assistant, nl = assistant[0], nl[0]
    t1 = time.time()
    encs = tok.encode_batch(texts, add_special_tokens=False)
    t2 = time.time()
    ids = np.fromiter((t for e in encs for t in (*e.ids, eot)), dtype=np.int64)
    # label = the token itself inside an assistant answer (its content and its <|im_end|>), else -100.
    # An answer starts after the tokens <|im_start|> assistant \n and ends with <|im_end|>.
    pos = np.arange(len(ids))
    start = np.zeros(len(ids), dtype=bool)
    start[2:] = (ids[2:] == nl) & (ids[1:-1] == assistant) & (ids[:-2] == im_start)
    last_start = np.maximum.accumulate(np.where(start, pos, -1))
    last_end = np.maximum.accumulate(np.where(ids == im_end, pos, -1))
    # strictly before j: shift by one
    inside = np.zeros(len(ids), dtype=bool)
    inside[1:] = last_start[:-1] > last_end[:-1]
    lab = np.where(inside, ids, -100)
    print(f"data: generate+render {t1 - t0:.1f}s, encode {t2 - t1:.1f}s, label {time.time() - t2:.1f}s", flush=True)
    n_rows = (len(ids) - 1) // seq
    # inputs are ids[k*seq : (k+1)*seq], targets are labels shifted by one
    x = ids[: n_rows * seq].reshape(n_rows, seq)
    y = lab[1: n_rows * seq + 1].reshape(n_rows, seq)
    print(f"data: {n} dialogues, {len(ids)} tokens, {int((lab >= 0).sum())} target tokens, "
          f"{n_rows} rows of {seq}, {time.time() - t0:.1f}s", flush=True)
    return torch.from_numpy(x), torch.from_numpy(y), len(ids)


# ---------------------------------------------------------------- model

def make_config(a, vocab, eos_id, pad_id):
    from transformers import LlamaConfig
    return LlamaConfig(
        vocab_size=vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
        num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
        head_dim=a.hidden // a.heads, max_position_embeddings=512, rms_norm_eps=1e-5,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=eos_id, pad_token_id=pad_id,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, hidden_act="silu",
        attention_bias=False, mlp_bias=False, initializer_range=0.02)


def lr_at(step, total, warmup, peak, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * p))


def train(a, x, y, cfg, dev):
    from transformers import LlamaForCausalLM
    torch.manual_seed(a.seed)
    model = LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa", dtype=torch.float32).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters ({n_params / 1e6:.2f}M)", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, fused=(dev == "cuda"))
    x, y = x.to(dev), y.to(dev)
    n_rows = x.shape[0]
    g = torch.Generator(device="cpu").manual_seed(a.seed)
    perm = torch.randperm(n_rows, generator=g)
    pos = 0
    total = a.max_steps  # provisional until the probe is done
    t_start = time.time()
    t_probe = None
    step = 0
    tokens = 0
    ema = None
    model.train()
    while step < total:
        if pos + a.batch > n_rows:
            perm = torch.randperm(n_rows, generator=g)
            pos = 0
        idx = perm[pos: pos + a.batch].to(dev)
        pos += a.batch
        xb, yb = x[idx], y[idx]
        lr = lr_at(step, total, a.warmup, a.lr, a.lr * 0.1)
        for gr in opt.param_groups:
            gr["lr"] = lr
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=(dev == "cuda")):
            logits = model(input_ids=xb).logits
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), yb.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += xb.numel()
        if step == 10:
            torch.cuda.synchronize() if dev == "cuda" else None
            t_probe = time.time()
        if step == 10 + a.probe_steps:
            torch.cuda.synchronize() if dev == "cuda" else None
            dt = (time.time() - t_probe) / a.probe_steps
            elapsed = time.time() - t_start
            total = min(a.max_steps, step + int((a.budget_s - elapsed) / dt))
            print(f"probe: {dt * 1000:.1f} ms/step, {a.batch * a.seq / dt / 1e6:.2f}M tok/s; "
                  f"total steps set to {total} ({total * a.batch * a.seq / 1e6:.0f}M tokens)", flush=True)
        if step % a.log_every == 0 or step == total:
            lv = loss.item()
            ema = lv if ema is None else 0.9 * ema + 0.1 * lv
            print(f"step {step}/{total} loss {lv:.4f} (ema {ema:.4f}) lr {lr:.2e} gnorm {gn.item():.2f} "
                  f"{time.time() - t_start:.0f}s", flush=True)
    train_s = time.time() - t_start
    return model, {"steps": step, "tokens": tokens, "train_seconds": round(train_s, 1), "final_loss": loss.item(),
                   "final_loss_ema": ema, "params": n_params}


# ---------------------------------------------------------------- reference decoding

@torch.no_grad()
def greedy(model, prompt_ids, eos_id, max_new):
    ids = list(prompt_ids)
    out, margins = [], []
    for _ in range(max_new):
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
        top2 = torch.topk(logits, 2)
        nxt = int(top2.indices[0])
        margins.append(float(top2.values[0] - top2.values[1]))
        out.append(nxt)
        ids.append(nxt)
        if nxt == eos_id:
            break
    return out, margins


def reference(out_dir, tok_hf, threads, with_probes=True):
    from transformers import LlamaForCausalLM
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(threads)
    model = LlamaForCausalLM.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager").eval()
    eos_id = model.config.eos_token_id
    tok = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))

    def run(msgs):
        text = tok_hf.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        assert text == render(msgs, True), (text, render(msgs, True))
        pids = tok.encode(text, add_special_tokens=False).ids
        gen, margins = greedy(model, pids, eos_id, 48)
        return {"messages": msgs, "prompt_text": text, "prompt_ids": pids, "generated_ids": gen,
                "generated_text": tok.decode([t for t in gen if t != eos_id], skip_special_tokens=False),
                "stopped_at_eos": bool(gen and gen[-1] == eos_id), "min_top2_logit_margin": round(min(margins), 4)}

    refs = [run(m) for m in REFERENCE_CONVERSATIONS]
    print("\n=== reference conversations (float32, CPU, eager attention, greedy) ===")
    for r in refs:
        print(f"> {r['messages'][-1]['content']}\n< {r['generated_text']}   [eos={r['stopped_at_eos']}, "
              f"min margin {r['min_top2_logit_margin']}]")
    meta = {"dtype": "float32", "device": "cpu", "attn_implementation": "eager", "tf32": False,
            "max_new_tokens": 48, "stop_token_id": eos_id, "decoding": "greedy (argmax), no sampling",
            "torch": torch.__version__, "transformers": __import__("transformers").__version__,
            "tokenizers": __import__("tokenizers").__version__}
    with open(os.path.join(out_dir, "reference_greedy.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": refs}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    probes = [run([{"role": "user", "content": q}]) for q in (PROBE_QUESTIONS if with_probes else [])]
    print("\n=== probe questions ===")
    for r in probes:
        print(f"> {r['messages'][-1]['content']}\n< {r['generated_text']}")
    return probes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json and tokenizer_config.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=300000, help="dialogues")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--budget-s", type=float, default=360.0, help="wall-clock training budget")
    ap.add_argument("--probe-steps", type=int, default=30)
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--skip-probes", action="store_true", help="decode only the reference conversations")
    a = ap.parse_args()

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}, device {dev}" + (f" ({torch.cuda.get_device_name()})" if dev == "cuda" else ""),
          flush=True)
    torch.backends.cuda.matmul.allow_tf32 = True
    tok = Tokenizer.from_file(os.path.join(a.tokenizer, "tokenizer.json"))
    eos_id, pad_id = tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")
    x, y, n_tokens = build_rows(tok, a.n, a.seed, a.seq)
    cfg = make_config(a, tok.get_vocab_size(), eos_id, pad_id)
    model, stats = train(a, x, y, cfg, dev)

    os.makedirs(a.out, exist_ok=True)
    model = model.to("cpu").float().eval()
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = pad_id
    model.generation_config.bos_token_id = None
    model.generation_config.do_sample = False
    model.generation_config.max_new_tokens = 48
    model.save_pretrained(a.out, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        if os.path.abspath(os.path.join(a.tokenizer, f)) != os.path.abspath(os.path.join(a.out, f)):
            shutil.copy(os.path.join(a.tokenizer, f), os.path.join(a.out, f))
    stats.update({"dialogues": a.n, "data_seed": a.seed, "corpus_tokens": n_tokens, "seq": a.seq, "batch": a.batch,
                  "lr": a.lr, "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu"})
    print("stats:", json.dumps(stats), flush=True)

    from transformers import AutoTokenizer
    tok_hf = AutoTokenizer.from_pretrained(a.out)
    probes = reference(a.out, tok_hf, a.threads, not a.skip_probes)
    with open(os.path.join(os.path.dirname(os.path.abspath(a.out)), "train_stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    with open(os.path.join(os.path.dirname(os.path.abspath(a.out)), "probes.json"), "w", encoding="utf-8") as f:
        json.dump(probes, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()

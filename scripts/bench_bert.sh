#!/usr/bin/env bash
# Sentence-embedding throughput of acorn against ONNX Runtime on the same model
# (all-MiniLM-L6-v2, f32 weights, random ids of the given length, all CPU threads given).
#
#   scripts/bench_bert.sh [BUILD_DIR]        default BUILD_DIR: build/release
#   env: MINILM_DIR (default build/models/all-MiniLM-L6-v2, see scripts/fetch-minilm.sh),
#        THREADS (default 2), SEQ_LEN (default 128), BATCHES (default "1 8 32"), SECONDS_PER_RUN (default 3),
#        DTYPE (default f32): acorn's weights (acorn-convert --dtype: f32, f16, q8_0). With q8_0, ONNX
#        Runtime also runs its own 8-bit form of the model (quantize_dynamic: int8 weights, activations
#        quantized per call), so that each runtime is measured at full and at 8-bit precision.
#        BF16=1: acorn also runs with bf16 products of the f32/f16 weights (acorn-bert-bench --bf16,
#        ModelOptions::cpu_bf16_products: CPUs with AMX-BF16 only) and prints its embeddings'
#        cosine against the f32 products'.
#
# Needs: acorn-convert and acorn-bert-bench built in BUILD_DIR; Python with numpy, safetensors,
# onnx and onnxruntime (pip install numpy safetensors onnx onnxruntime). The ONNX model is built
# here, straight from the safetensors weights (no torch needed): the same BERT graph transformers
# runs (erf GELU, additive mask), optimized by ONNX Runtime at ORT_ENABLE_ALL.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
model="${MINILM_DIR:-build/models/all-MiniLM-L6-v2}"
threads="${THREADS:-2}"
len="${SEQ_LEN:-128}"
batches="${BATCHES:-1 8 32}"
seconds="${SECONDS_PER_RUN:-3}"
dtype="${DTYPE:-f32}"
bf16="${BF16:-0}"
[[ -f "$model/model.safetensors" ]] || { echo "bench_bert: no model in $model; run scripts/fetch-minilm.sh" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$build/tools/acorn-convert/acorn-convert" "$model" -o "$work/minilm.acorn" --dtype "$dtype" --max-tokens "$len" --quiet
echo "acorn weights: $dtype"
for b in $batches; do
  "$build/tests/bert/acorn-bert-bench" "$work/minilm.acorn" "$b" "$len" "$threads" "$seconds"
done
if [[ "$bf16" == 1 ]]; then
  echo "acorn with bf16 products (--bf16):"
  for b in $batches; do
    "$build/tests/bert/acorn-bert-bench" "$work/minilm.acorn" "$b" "$len" "$threads" "$seconds" --bf16
  done
fi

python3 - "$model" "$work/minilm.onnx" "$threads" "$len" "$seconds" "$dtype" $batches <<'PY'
import json, math, sys, time
import numpy as np
import onnx, onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

model_dir, path, threads, seq_len, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
dtype = sys.argv[6]
batches = [int(b) for b in sys.argv[7:]]
cfg = json.load(open(model_dir + "/config.json"))
w = load_file(model_dir + "/model.safetensors")
H, nh, L, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["layer_norm_eps"]
hd = H // nh
nodes, inits = [], []
def const(name, arr):
    inits.append(numpy_helper.from_array(np.asarray(arr), name)); return name
def node(op, ins, **kw):
    out = f"t{len(nodes)}"; nodes.append(helper.make_node(op, ins, [out], **kw)); return out
def linear(x, p):
    return node("Add", [node("MatMul", [x, const(p + ".weight_t", w[p + ".weight"].T.copy())]), const(p + ".bias", w[p + ".bias"])])
def ln(x, p):
    return node("LayerNormalization", [x, const(p + ".weight", w[p + ".weight"]), const(p + ".bias", w[p + ".bias"])], axis=-1, epsilon=eps)
S = node("Unsqueeze", [node("Gather", [node("Shape", ["input_ids"]), const("one", np.array(1, np.int64))]), const("ax0", np.array([0], np.int64))])
pos = node("Slice", [const("pos", w["embeddings.position_embeddings.weight"]), const("zero1", np.array([0], np.int64)), S, const("ax0b", np.array([0], np.int64))])
x = node("Add", [node("Add", [node("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"]), pos]),
                 node("Gather", [const("type", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"])])
x = ln(x, "embeddings.LayerNorm")
m = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
bias = node("Unsqueeze", [node("Mul", [node("Sub", [const("onef", np.array(1, np.float32)), m]), const("neg", np.array(-1e9, np.float32))]), const("ax12", np.array([1, 2], np.int64))])
heads = const("heads", np.array([0, 0, nh, hd], np.int64))
for l in range(L):
    p = f"encoder.layer.{l}."
    q = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.query"), heads])], perm=[0, 2, 1, 3])
    k = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.key"), heads])], perm=[0, 2, 3, 1])
    v = node("Transpose", [node("Reshape", [linear(x, p + "attention.self.value"), heads])], perm=[0, 2, 1, 3])
    s = node("Add", [node("Mul", [node("MatMul", [q, k]), const(f"scale{l}", np.array(1 / math.sqrt(hd), np.float32))]), bias])
    c = node("MatMul", [node("Softmax", [s], axis=-1), v])
    c = node("Reshape", [node("Transpose", [c], perm=[0, 2, 1, 3]), const(f"merge{l}", np.array([0, 0, H], np.int64))])
    x = ln(node("Add", [linear(c, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
    u = linear(x, p + "intermediate.dense")
    g = node("Mul", [node("Mul", [u, const(f"half{l}", np.array(0.5, np.float32))]),
                     node("Add", [const(f"onef{l}", np.array(1, np.float32)), node("Erf", [node("Div", [u, const(f"sqrt2{l}", np.array(math.sqrt(2), np.float32))])])])])
    x = ln(node("Add", [linear(g, p + "output.dense"), x]), p + "output.LayerNorm")
nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
ints = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["B", "S"])
graph = helper.make_graph(nodes, "bert", [ints("input_ids"), ints("token_type_ids"), ints("attention_mask")],
                          [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["B", "S", H])], inits)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)

variants = [("f32", path)]
if dtype == "q8_0":
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(path, path + ".int8.onnx", weight_type=QuantType.QInt8)
    variants.append(("int8 (quantize_dynamic)", path + ".int8.onnx"))
so = ort.SessionOptions()
so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
def measure(sess, label):
    rng = np.random.default_rng(1)
    for b in batches:
        ids = rng.integers(1000, 21000, (b, seq_len)).astype(np.int64)
        ids[:, 0], ids[:, -1] = 101, 102
        feed = {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": np.ones_like(ids)}
        def run():
            h = sess.run(None, feed)[0]
            e = h.mean(axis=1)  # mean pooling + L2, as acorn computes its embeddings
            return e / np.linalg.norm(e, axis=1, keepdims=True)
        run()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or n < 3:
            run(); n += 1
        el = time.perf_counter() - start
        print(f"onnxruntime {ort.__version__} {label} batch {b} len {seq_len}: {n * b / el:.1f} sentences/s ({n} batches, {el:.3f} s)")
for label, file in variants:
    measure(ort.InferenceSession(file, so, providers=["CPUExecutionProvider"]), label)
PY

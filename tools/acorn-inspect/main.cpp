// acorn-inspect: prints what a bundle holds (metadata, tensors, segments, ops, arena size), after the
// same verification the runtime does at load. A bundle that fails to load prints the loader's
// message and exits 1.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tool_main.h"
#include "acorn/bundle.h"
#include "acorn/memory_plan.h"
#include "acorn_generated.h"
#include "graph/op_info.h"

namespace {

const char* kHelp =
    "usage: acorn-inspect FILE.acorn [--json]\n"
    "\n"
    "Loads and verifies an acorn bundle (as the runtime does at load) and prints its metadata,\n"
    "tensors (name, dtype, shape, storage, bytes), segments and compression, op counts by kind\n"
    "and the session arena size.\n"
    "\n"
    "  --json   print one JSON object instead of text\n"
    "  --help   this message\n"
    "\n"
    "Exit status: 0 when the bundle loads, 1 when it does not (the reason is printed), 2 on bad usage.\n";

std::string ShapeString(const acorn::TensorDesc& t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) {
    if (i) s += ", ";
    s += t.shape[i] == acorn::kTokensDim ? std::string("T") : std::to_string(t.shape[i]);
  }
  return s + "]";
}

nlohmann::json MetadataJson(const acorn::fb::Bundle* root) {
  nlohmann::json out = nlohmann::json::object();
  if (root->metadata() == nullptr) return out;
  for (const acorn::fb::MetaEntry* e : *root->metadata()) {
    const std::string key = e->key()->str();
    switch (e->kind()) {
      case acorn::fb::MetaKind::Int: out[key] = e->int_value(); break;
      case acorn::fb::MetaKind::Float: out[key] = e->float_value(); break;
      default: out[key] = e->str() ? e->str()->str() : std::string(); break;
    }
  }
  return out;
}

}  // namespace

static int Main(int argc, char** argv) {
  const char* path = nullptr;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (argv[i][0] == '-' || path != nullptr) {
      std::fprintf(stderr, "acorn-inspect: unexpected argument '%s'\n\n%s", argv[i], kHelp);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (path == nullptr) {
    std::fputs(kHelp, stderr);
    return 2;
  }

  auto bundle = acorn::Bundle::Open(path);
  if (!bundle.ok()) {
    std::fprintf(stderr, "acorn-inspect: %s\n", bundle.status().ToString().c_str());
    return 1;
  }
  const acorn::Bundle& b = **bundle;
  auto plan = acorn::PlanMemory(b);
  if (!plan.ok()) {
    std::fprintf(stderr, "acorn-inspect: %s: %s\n", path, plan.status().ToString().c_str());
    return 1;
  }

  std::map<std::string, int> op_counts;
  for (const acorn::OpDesc& op : b.ops()) op_counts[acorn::OpKindName(op.kind)]++;
  uint64_t constant_bytes = 0;
  for (const acorn::TensorDesc& t : b.tensors()) {
    if (t.storage == acorn::Storage::kConstant) constant_bytes += t.max_bytes;
  }
  const acorn::fb::Bundle* root = b.flatbuffer();
  const acorn::fb::Tokenizer* tok = root->tokenizer();
  const char* tokenizer_kind = tok ? acorn::fb::EnumNameTokenizerKind(tok->kind()) : "none";
  if (tokenizer_kind == nullptr || tokenizer_kind[0] == '\0') tokenizer_kind = "unknown";

  if (json) {
    nlohmann::json out;
    out["file"] = path;
    out["file_bytes"] = b.file().size();
    out["schema_version"] = b.schema_version();
    out["metadata"] = MetadataJson(root);
    out["max_tokens"] = b.max_tokens();
    out["context_length"] = b.context_length();
    out["arena_bytes"] = plan->arena_bytes;
    out["state_bytes"] = plan->state_bytes;
    out["constant_bytes"] = constant_bytes;
    out["tokenizer"] = tokenizer_kind;
    out["chat_template"] = root->chat_template() != nullptr;
    nlohmann::json segs = nlohmann::json::array();
    for (const acorn::SegmentDesc& s : b.segments()) {
      segs.push_back({{"offset", s.file_offset},
                      {"stored_bytes", s.stored_size},
                      {"bytes", s.size},
                      {"compression", s.compression == acorn::Compression::kZstd ? "zstd" : "none"}});
    }
    out["segments"] = segs;
    nlohmann::json tensors = nlohmann::json::array();
    for (size_t i = 0; i < b.tensors().size(); ++i) {
      const acorn::TensorDesc& t = b.tensors()[i];
      nlohmann::json shape = nlohmann::json::array();
      for (int a = 0; a < t.rank; ++a) shape.push_back(t.shape[a] == acorn::kTokensDim ? nlohmann::json("T") : nlohmann::json(t.shape[a]));
      nlohmann::json jt = {{"name", t.name}, {"dtype", acorn::DTypeName(t.dtype)}, {"shape", shape},
                           {"storage", acorn::StorageName(t.storage)}, {"bytes", t.max_bytes}};
      if (t.storage == acorn::Storage::kConstant) {
        jt["segment"] = t.segment;
        jt["offset"] = t.offset;
      } else {
        jt["arena_offset"] = plan->offsets[i];
      }
      tensors.push_back(jt);
    }
    out["tensors"] = tensors;
    out["ops"] = op_counts;
    out["op_total"] = b.ops().size();
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }

  std::printf("bundle      %s (%zu bytes, schema version %u, %s)\n", path, b.file().size(), b.schema_version(),
              b.is_mapped() ? "mapped" : "read");
  std::printf("metadata\n");
  const nlohmann::json metadata = MetadataJson(root);
  for (const auto& kv : metadata.items()) std::printf("  %-32s %s\n", kv.key().c_str(), kv.value().dump().c_str());
  std::printf("segments    %zu\n", b.segments().size());
  for (size_t i = 0; i < b.segments().size(); ++i) {
    const acorn::SegmentDesc& s = b.segments()[i];
    std::printf("  #%zu  offset %llu  stored %llu  bytes %llu  %s\n", i, static_cast<unsigned long long>(s.file_offset),
                static_cast<unsigned long long>(s.stored_size), static_cast<unsigned long long>(s.size),
                s.compression == acorn::Compression::kZstd ? "zstd" : "uncompressed");
  }
  std::printf("tensors     %zu (%llu constant bytes)\n", b.tensors().size(), static_cast<unsigned long long>(constant_bytes));
  for (const acorn::TensorDesc& t : b.tensors()) {
    std::printf("  %-40s %-5s %-22s %-8s %llu\n", t.name, acorn::DTypeName(t.dtype), ShapeString(t).c_str(),
                acorn::StorageName(t.storage), static_cast<unsigned long long>(t.max_bytes));
  }
  std::printf("ops         %zu\n", b.ops().size());
  for (const auto& kv : op_counts) std::printf("  %-16s %d\n", kv.first.c_str(), kv.second);
  std::printf("max tokens  %u per step\n", b.max_tokens());
  std::printf("context     %u positions\n", b.context_length());
  std::printf("arena       %llu bytes (state %llu)\n", static_cast<unsigned long long>(plan->arena_bytes),
              static_cast<unsigned long long>(plan->state_bytes));
  std::printf("tokenizer   %s\n", tokenizer_kind);
  std::printf("chat        %s\n", root->chat_template() ? "template present" : "no template");
  return 0;
}

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-inspect", Main, argc, argv); }

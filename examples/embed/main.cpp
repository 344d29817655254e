// acorn-embed: semantic search in a few lines of the public API. Embeds a query and a small corpus
// with a sentence-embedding bundle (e.g. all-MiniLM-L6-v2 converted by acorn-convert), then ranks
// the corpus by cosine similarity to the query.
//
//   acorn-embed --model minilm.acorn --query "A man is eating pasta." [--corpus FILE]
//   acorn-embed --model bert.acorn --query-ids 101,2158,102 --corpus-ids "101,5,102;101,7,8,102"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tool_main.h"
#include "acorn/encoder.h"
#include "acorn/model.h"

namespace {

const char* kHelp =
    "usage: acorn-embed --model M.acorn (--query TEXT | --query-ids IDS) [options]\n"
    "\n"
    "Ranks a corpus by cosine similarity of its sentence embeddings to the query's.\n"
    "\n"
    "  --model FILE        an encoder bundle (acorn-convert of a BERT / sentence-transformers model)\n"
    "  --query TEXT        the query, tokenized by the bundle's tokenizer\n"
    "  --corpus FILE       one sentence per line (default: a built-in corpus of nine sentences)\n"
    "  --query-ids IDS     the query as comma-separated token ids (bundles without a tokenizer)\n"
    "  --corpus-ids LIST   the corpus as id lists separated by ';', e.g. \"101,5,102;101,7,102\"\n"
    "  --threads N         CPU threads (default: all)\n";

const char* const kCorpus[] = {
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "A cheetah is running behind its prey.",
};

int Fail(const std::string& msg) {
  std::fprintf(stderr, "acorn-embed: %s\n", msg.c_str());
  return 1;
}

bool ParseIds(const std::string& s, std::vector<int32_t>* out) {
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0) return false;
    out->push_back(static_cast<int32_t>(v));
  }
  return !out->empty();
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

static int Main(int argc, char** argv) {
  std::string model_path, query, corpus_file, query_ids, corpus_ids;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool v = i + 1 < argc;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "--model" && v) {
      model_path = argv[++i];
    } else if (arg == "--query" && v) {
      query = argv[++i];
    } else if (arg == "--corpus" && v) {
      corpus_file = argv[++i];
    } else if (arg == "--query-ids" && v) {
      query_ids = argv[++i];
    } else if (arg == "--corpus-ids" && v) {
      corpus_ids = argv[++i];
    } else if (arg == "--threads" && v) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "acorn-embed: unknown or incomplete option '%s'\n\n%s", arg.c_str(), kHelp);
      return 2;
    }
  }
  if (model_path.empty() || query.empty() == query_ids.empty()) {
    std::fprintf(stderr, "acorn-embed: --model and one of --query or --query-ids are required\n\n%s", kHelp);
    return 2;
  }

  auto model = acorn::Model::Load(model_path.c_str());
  if (!model.ok()) return Fail(model.status().ToString());
  acorn::SessionOptions so;
  so.threads = threads;
  auto encoder = acorn::Encoder::Create(*model, so);
  if (!encoder.ok()) return Fail(encoder.status().ToString());

  // Texts (the query first, then the corpus) and their token ids.
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> ids;
  if (!query.empty()) {
    const acorn::Tokenizer* tokenizer = (*model)->tokenizer();
    if (tokenizer == nullptr) return Fail(model_path + " has no tokenizer; use --query-ids and --corpus-ids");
    texts.push_back(query);
    if (corpus_file.empty()) {
      texts.insert(texts.end(), std::begin(kCorpus), std::end(kCorpus));
    } else {
      std::ifstream in(corpus_file);
      if (!in) return Fail("cannot read " + corpus_file);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) texts.push_back(line);
      }
    }
    for (const std::string& t : texts) {
      ids.emplace_back();
      acorn::Status st = tokenizer->Encode(t, acorn::TokenizeOptions(), &ids.back());
      if (!st.ok()) return Fail("cannot encode '" + t.substr(0, 40) + "': " + st.ToString());
    }
  } else {
    std::vector<int32_t> q;
    if (!ParseIds(query_ids, &q)) return Fail("--query-ids needs comma-separated ids");
    texts.push_back(query_ids);
    ids.push_back(q);
    std::stringstream ss(corpus_ids);
    for (std::string item; std::getline(ss, item, ';');) {
      std::vector<int32_t> d;
      if (!ParseIds(item, &d)) return Fail("--corpus-ids needs id lists separated by ';'");
      texts.push_back(item);
      ids.push_back(d);
    }
  }
  if (ids.size() < 2) return Fail("the corpus is empty");
  const int64_t limit = (*encoder)->max_sequence_length();
  for (auto& seq : ids) {
    if (static_cast<int64_t>(seq.size()) > limit) {
      // Truncate as sentence-transformers does, keeping the final [SEP].
      const int32_t last = seq.back();
      seq.resize(static_cast<size_t>(limit));
      seq.back() = last;
    }
  }

  // One Encode call: the sentences are packed into as few steps as the bundle allows.
  std::vector<acorn::EncoderInput> inputs(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) inputs[i].ids = acorn::Span<const int32_t>(ids[i].data(), ids[i].size());
  acorn::EncodeOptions eo;
  eo.hidden_states = false;
  std::vector<acorn::EncoderOutput> out;
  acorn::Status st = (*encoder)->Encode(acorn::Span<const acorn::EncoderInput>(inputs.data(), inputs.size()), &out, eo);
  if (!st.ok()) return Fail(st.ToString());

  std::vector<std::pair<double, size_t>> ranked;
  const double qn = std::sqrt(Dot(out[0].embedding, out[0].embedding));
  for (size_t i = 1; i < out.size(); ++i) {
    const double dn = std::sqrt(Dot(out[i].embedding, out[i].embedding));
    ranked.emplace_back(Dot(out[0].embedding, out[i].embedding) / (qn * dn), i);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::printf("query: %s\n", texts[0].c_str());
  for (const auto& r : ranked) std::printf("%.4f  %s\n", r.first, texts[r.second].c_str());
  return 0;
}

int main(int argc, char** argv) { return acorn::tools::GuardedMain("acorn-embed", Main, argc, argv); }

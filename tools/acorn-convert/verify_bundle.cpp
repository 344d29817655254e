#include "verify_bundle.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include "acorn/encoder.h"
#include "acorn/model.h"
#include "bundle_writer.h"

namespace acorn {
namespace convert {

namespace {

Status Refused(const Status& st, const char* stage) {
  return Status(st.code(), std::string("the written bundle fails to ") + stage + " (so no output was written): " +
                               st.message());
}

Status CheckFinite(const std::vector<float>& v, const char* what) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return ACORN_ERROR(kMalformed, "the written bundle gives %s at %s[%zu] for a one-token input (so no output was "
                         "written); check the model's hyper-parameters (RoPE scaling, norm epsilon) and weights",
                         std::isnan(v[i]) ? "NaN" : "infinity", what, i);
    }
  }
  return Status::Ok();
}

}  // namespace

Status VerifyBundle(const std::string& path) {
  ModelOptions model_options;
  model_options.backends = {Backend::kCpu};
  auto model = Model::Load(path.c_str(), model_options);
  if (!model.ok()) return Refused(model.status(), "load");
  const Model& m = **model;
  if (m.tokens_input() >= 0 && m.logits_output() >= 0) {
    auto session = Session::Create(*model);
    if (!session.ok() && session.status().code() == ErrorCode::kOutOfMemory) {
      // A bundle made for a bigger device (a long context's KV cache) is still a good bundle: it
      // loaded and verified; only the one-step run cannot happen on this machine.
      std::fprintf(stderr, "acorn-convert: note: the bundle loads and verifies, but the one-step check was skipped: "
                   "%s\n", session.status().message().c_str());
      return Status::Ok();
    }
    if (!session.ok()) return Refused(session.status(), "start a session");
    const int64_t vocab = m.vocab_size();
    if (vocab <= 0) return ACORN_ERROR(kMalformed, "the written bundle has no vocabulary (vocab size %lld)",
                                       static_cast<long long>(vocab));
    std::vector<float> logits(static_cast<size_t>(vocab));
    const int32_t token = 0;
    Status st = (*session)->Forward(&token, 1, logits.data(), /*all_positions=*/false);
    if (!st.ok()) return Refused(st, "run a step");
    return CheckFinite(logits, "logits");
  }
  // Encoders (BERT): one sequence of one token through the API applications use.
  auto encoder = Encoder::Create(*model);
  if (!encoder.ok()) return Refused(encoder.status(), "open as a decoder or an encoder");
  const int32_t id = 0;
  EncoderInput input;
  input.ids = Span<const int32_t>(&id, 1);
  std::vector<EncoderOutput> out;
  Status st = (*encoder)->Encode(Span<const EncoderInput>(&input, 1), &out);
  if (!st.ok()) return Refused(st, "encode");
  if (out.size() != 1) return ACORN_ERROR(kInternal, "the encoder returned %zu outputs for one input", out.size());
  ACORN_RETURN_IF_ERROR(CheckFinite(out[0].hidden, "hidden"));
  ACORN_RETURN_IF_ERROR(CheckFinite(out[0].embedding, "embedding"));
  return CheckFinite(out[0].logits, "class logits");
}

Status WriteVerified(BundleWriter* writer, const std::string& out, bool quiet) {
  int last_percent = -1;
  auto progress = [&](uint64_t done, uint64_t total) {
    if (quiet || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent != last_percent) {
      std::fprintf(stderr, "\r  writing weights %3d%% (%llu / %llu MB)", percent,
                   static_cast<unsigned long long>(done >> 20), static_cast<unsigned long long>(total >> 20));
      last_percent = percent;
    }
  };
  bool checked = false;
  auto check = [&](const std::string& temp) -> Status {
    checked = true;
    if (!quiet) {
      if (last_percent >= 0) std::fputc('\n', stderr);
      std::fprintf(stderr, "  checking: loading the bundle back and running one step\n");
    }
    return VerifyBundle(temp);
  };
  Status st = writer->Write(out, progress, check);
  if (!quiet && !checked && last_percent >= 0) std::fputc('\n', stderr);  // end the progress line
  return st;
}

}  // namespace convert
}  // namespace acorn

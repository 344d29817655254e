// The converter's last check: the bundle it wrote is loaded back exactly as an application would
// load it, so that convert never reports success for a file the loader refuses or that gives NaN.
#pragma once

#include <string>

#include "acorn/status.h"

namespace acorn {
namespace convert {

// Maps and verifies `path`, plans and binds it on the CPU, creates a session and runs one step on a
// one-token input (decoders: token 0, the logits; encoders: one [0] sequence through the Encoder
// API, the hidden states and embedding). Fails with the loader's own message, or when an output is
// NaN or infinite.
Status VerifyBundle(const std::string& path);

}  // namespace convert
class BundleWriter;
namespace convert {

// Writes the bundle through a temporary file with progress on stderr (unless quiet), verifies it
// with VerifyBundle, and only then renames it to `out`; on any failure no file is left behind.
Status WriteVerified(BundleWriter* writer, const std::string& out, bool quiet);

}  // namespace convert
}  // namespace acorn

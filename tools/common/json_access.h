// Reading JSON from untrusted files (config.json, tokenizer_config.json, index.json, safetensors
// headers) without ever letting nlohmann throw: documents are parsed in non-throwing mode and size-
// bounded, and every value is read through one of the checked accessors below, which test the type
// (and, for integers, the range) and answer with a Status naming the file and the key. Raw
// `j["key"].get<T>()` throws (or asserts, on a const non-object) on a value of the wrong type; the
// converter uses these instead.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "acorn/status.h"

namespace acorn {
namespace tool {

using Json = nlohmann::json;

// Parses a JSON document; errors name `label` and the byte where parsing stopped.
Result<Json> ParseJson(const char* data, size_t size, const std::string& label);
// Reads (regular files only, at most limits::kMaxJsonBytes) and parses `path`. kNotFound when absent.
Result<Json> ReadJsonFile(const std::string& path);

// Converts one value, or says "<where> is a <type>, expected <what>". Integers must be integral
// JSON numbers in the target's range (4096.0 is accepted as 4096); double accepts any number.
Status JsonAs(const Json& v, const std::string& where, int64_t* out);
Status JsonAs(const Json& v, const std::string& where, uint64_t* out);
Status JsonAs(const Json& v, const std::string& where, double* out);
Status JsonAs(const Json& v, const std::string& where, bool* out);
Status JsonAs(const Json& v, const std::string& where, std::string* out);

// "<label>: <key>", the name errors use for a key of an object that came from `label`.
inline std::string JsonWhere(const std::string& label, const std::string& key) { return label + ": " + key; }

// A key that must be present. `obj` that is not an object counts as lacking every key.
template <typename T>
Status JsonRequire(const Json& obj, const char* key, const std::string& label, T* out) {
  auto it = obj.is_object() ? obj.find(key) : obj.end();
  if (!obj.is_object() || it == obj.end()) {
    return ACORN_ERROR(kMalformed, "%s: the key '%s' is missing", label.c_str(), key);
  }
  return JsonAs(*it, JsonWhere(label, key), out);
}

// A key that may be absent: absent or null leaves *out as it is (the caller's default); a value of
// another type is an error.
template <typename T>
Status JsonOptional(const Json& obj, const char* key, const std::string& label, T* out) {
  if (!obj.is_object()) return Status::Ok();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  return JsonAs(*it, JsonWhere(label, key), out);
}

// The object (or array) under `key`, or null when absent or null; an error when it has another type.
Status JsonOptionalObject(const Json& obj, const char* key, const std::string& label, const Json** out);
Status JsonOptionalArray(const Json& obj, const char* key, const std::string& label, const Json** out);

}  // namespace tool
}  // namespace acorn

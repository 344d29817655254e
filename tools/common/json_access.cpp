#include "json_access.h"

#include <cmath>
#include <limits>

#include "core/limits.h"
#include "input_file.h"

namespace acorn {
namespace tool {

namespace {
Status WrongType(const Json& v, const std::string& where, const char* expected) {
  return ACORN_ERROR(kMalformed, "%s is %s %s, expected %s", where.c_str(),
                     v.is_object() || v.is_array() ? "an" : "a", v.type_name(), expected);
}
}  // namespace

Result<Json> ParseJson(const char* data, size_t size, const std::string& label) {
  if (size > limits::kMaxJsonBytes) {
    return ACORN_ERROR(kOutOfRange, "%s: %zu bytes of JSON is more than the limit of %llu", label.c_str(), size,
                       static_cast<unsigned long long>(limits::kMaxJsonBytes));
  }
  // nlohmann reports syntax errors (with the byte offset) by throwing; every exception it can throw is
  // caught here, so none reaches the caller.
  try {
    return Json::parse(data, data + size);
  } catch (const Json::exception& e) {
    return ACORN_ERROR(kMalformed, "%s: not valid JSON (%s)", label.c_str(), e.what());
  } catch (const std::bad_alloc&) {
    return ACORN_ERROR(kOutOfMemory, "%s: out of memory parsing the JSON", label.c_str());
  }
}

Result<Json> ReadJsonFile(const std::string& path) {
  std::string text;
  ACORN_RETURN_IF_ERROR(ReadRegularFile(path, limits::kMaxJsonBytes, "a JSON file", &text));
  return ParseJson(text.data(), text.size(), path);
}

Status JsonAs(const Json& v, const std::string& where, int64_t* out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return ACORN_ERROR(kOutOfRange, "%s = %llu is out of range", where.c_str(), static_cast<unsigned long long>(u));
    }
    *out = static_cast<int64_t>(u);
    return Status::Ok();
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return Status::Ok();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // Integral floats (4096.0) appear in hand-edited configs; anything else is not an integer.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) {
      *out = static_cast<int64_t>(d);
      return Status::Ok();
    }
    return ACORN_ERROR(kMalformed, "%s = %g is not an integer", where.c_str(), d);
  }
  return WrongType(v, where, "an integer");
}

Status JsonAs(const Json& v, const std::string& where, uint64_t* out) {
  int64_t i = 0;
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return Status::Ok();
  }
  ACORN_RETURN_IF_ERROR(JsonAs(v, where, &i));
  if (i < 0) return ACORN_ERROR(kOutOfRange, "%s = %lld is negative", where.c_str(), static_cast<long long>(i));
  *out = static_cast<uint64_t>(i);
  return Status::Ok();
}

Status JsonAs(const Json& v, const std::string& where, double* out) {
  if (!v.is_number()) return WrongType(v, where, "a number");
  *out = v.get<double>();
  return Status::Ok();
}

Status JsonAs(const Json& v, const std::string& where, bool* out) {
  if (!v.is_boolean()) return WrongType(v, where, "true or false");
  *out = v.get<bool>();
  return Status::Ok();
}

Status JsonAs(const Json& v, const std::string& where, std::string* out) {
  if (!v.is_string()) return WrongType(v, where, "a string");
  *out = v.get<std::string>();
  return Status::Ok();
}

Status JsonOptionalObject(const Json& obj, const char* key, const std::string& label, const Json** out) {
  *out = nullptr;
  if (!obj.is_object()) return Status::Ok();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType(*it, JsonWhere(label, key), "an object");
  *out = &*it;
  return Status::Ok();
}

Status JsonOptionalArray(const Json& obj, const char* key, const std::string& label, const Json** out) {
  *out = nullptr;
  if (!obj.is_object()) return Status::Ok();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return WrongType(*it, JsonWhere(label, key), "an array");
  *out = &*it;
  return Status::Ok();
}

}  // namespace tool
}  // namespace acorn

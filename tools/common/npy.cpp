#include "npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace acorn {

Status WriteNpy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ",";
    n *= d;
  }
  if (shape.size() > 1) dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return ACORN_ERROR(kIo, "%s: cannot create", path.c_str());
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.write(reinterpret_cast<const char*>(&len), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(float)));
  if (!out) return ACORN_ERROR(kIo, "%s: write failed", path.c_str());
  return Status::Ok();
}

Result<NpyArray> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ACORN_ERROR(kNotFound, "%s: cannot open", path.c_str());
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) return ACORN_ERROR(kMalformed, "%s: not a .npy file", path.c_str());
  uint32_t len = 0;
  if (magic[6] == 1) {
    uint16_t l16;
    in.read(reinterpret_cast<char*>(&l16), 2);
    len = l16;
  } else {
    in.read(reinterpret_cast<char*>(&len), 4);
  }
  std::string header(len, '\0');
  in.read(&header[0], len);
  const bool f8 = header.find("'<f8'") != std::string::npos;
  if (!f8 && header.find("'<f4'") == std::string::npos) return ACORN_ERROR(kUnsupported, "%s: only float32/float64 arrays", path.c_str());
  if (header.find("'fortran_order': True") != std::string::npos) return ACORN_ERROR(kUnsupported, "%s: Fortran order", path.c_str());
  NpyArray a;
  const size_t open = header.find('('), close = header.find(')');
  if (open == std::string::npos || close == std::string::npos) return ACORN_ERROR(kMalformed, "%s: no shape", path.c_str());
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  std::string item;
  int64_t n = 1;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    a.shape.push_back(std::stoll(item));
    n *= a.shape.back();
  }
  a.data.resize(static_cast<size_t>(n));
  if (f8) {
    std::vector<double> d(static_cast<size_t>(n));
    in.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(n * 8));
    for (int64_t i = 0; i < n; ++i) a.data[i] = static_cast<float>(d[i]);
  } else {
    in.read(reinterpret_cast<char*>(a.data.data()), static_cast<std::streamsize>(n * 4));
  }
  if (!in) return ACORN_ERROR(kMalformed, "%s: truncated data", path.c_str());
  return a;
}

}  // namespace acorn

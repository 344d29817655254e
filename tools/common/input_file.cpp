#include "input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace acorn {
namespace tool {

namespace {

const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// An open descriptor of a regular file, closed on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status OpenRegular(const std::string& path, const char* what, int* fd_out, uint64_t* size) {
  *fd_out = -1;
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return ACORN_ERROR(kNotFound, "%s: no such file (%s)", path.c_str(), what);
    return ACORN_ERROR(kIo, "%s: cannot open %s: %s", path.c_str(), what, std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return ACORN_ERROR(kIo, "%s: cannot stat %s: %s", path.c_str(), what, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return ACORN_ERROR(kInvalidArgument, "%s: is %s, but %s must be a regular file", path.c_str(), KindOf(st.st_mode),
                       what);
  }
  *fd_out = fd;
  if (size != nullptr) *size = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

}  // namespace

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Status CheckRegularFile(const std::string& path, const char* what, uint64_t* size) {
  int fd = -1;
  ACORN_RETURN_IF_ERROR(OpenRegular(path, what, &fd, size));
  close(fd);
  return Status::Ok();
}

Status ReadRegularFile(const std::string& path, uint64_t max_bytes, const char* what, std::string* out) {
  int raw = -1;
  uint64_t size = 0;
  ACORN_RETURN_IF_ERROR(OpenRegular(path, what, &raw, &size));
  Fd fd(raw);
  if (size > max_bytes) {
    return ACORN_ERROR(kOutOfRange, "%s: %llu bytes is more than the %llu bytes %s may have", path.c_str(),
                       static_cast<unsigned long long>(size), static_cast<unsigned long long>(max_bytes), what);
  }
  out->clear();
  out->resize(static_cast<size_t>(size));
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = read(fd.get(), &(*out)[done], out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ACORN_ERROR(kIo, "%s: read failed: %s", path.c_str(), std::strerror(errno));
    if (n == 0) break;  // the file shrank while being read: take what is there
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return Status::Ok();
}

Result<std::string> ResolveInside(const std::string& dir, const std::string& name, const std::string& source) {
  if (name.empty() || name[0] == '/') {
    return ACORN_ERROR(kMalformed, "%s: file name '%s' is empty or absolute; a checkpoint may only name files inside "
                       "its own directory", source.c_str(), name.c_str());
  }
  if (name.find('\0') != std::string::npos) {
    return ACORN_ERROR(kMalformed, "%s: a file name holds a NUL byte", source.c_str());
  }
  char buf[PATH_MAX];
  if (realpath(dir.c_str(), buf) == nullptr) {
    return ACORN_ERROR(kNotFound, "%s: cannot resolve the directory: %s", dir.c_str(), std::strerror(errno));
  }
  std::string root = buf;
  const std::string joined = dir + "/" + name;
  if (realpath(joined.c_str(), buf) == nullptr) {
    const int err = errno;
    if (err == ENOENT) {
      return ACORN_ERROR(kNotFound, "%s: names '%s', which does not exist", source.c_str(), name.c_str());
    }
    return ACORN_ERROR(kIo, "%s: names '%s', which cannot be opened (%s)", source.c_str(), name.c_str(),
                       std::strerror(err));
  }
  const std::string real = buf;
  if (root != "/") root += "/";
  if (real.compare(0, root.size(), root) != 0) {
    return ACORN_ERROR(kMalformed, "%s: file name '%s' leads outside the checkpoint directory (to %s); refusing to "
                       "read it", source.c_str(), name.c_str(), real.c_str());
  }
  return real;
}

}  // namespace tool
}  // namespace acorn

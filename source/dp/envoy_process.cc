#include "source/dp/envoy_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"

namespace kuma::dp {
namespace {

int exitCodeOf(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

// fork + exec with stdout/stderr on a pipe. Everything the child does between fork and exec is
// async-signal-safe (kuma-dp has threads).
absl::StatusOr<pid_t> spawn(const std::string& binary, const std::vector<std::string>& args,
                            int* readFd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<std::string> storage;
  storage.push_back(binary);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);  // its own group: a kill reaches anything it started too
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(127);
    }
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
    }
    // execvp: a bare name ("envoy", Kuma's default) is looked up on the PATH.
    execvp(argv[0], argv.data());
    const char msg[] = "kuma-dp: cannot execute the Envoy binary\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that the group exists before the parent signals it
  ::close(fds[1]);
  *readFd = fds[0];
  return pid;
}

}  // namespace

std::vector<std::string> envoyArgs(const Config& config, const std::string& bootstrapPath,
                                   const ConcurrencyDecision& concurrency) {
  const auto drainSeconds = static_cast<int64_t>(
      std::ceil(std::chrono::duration<double>(config.dataplane.drainTime).count()));
  std::string level = config.runtime.envoyLogLevel;
  if (level.empty()) {
    level = config.logLevel;  // off|info|debug are Envoy levels too
  }
  std::vector<std::string> args = {"--config-path",
                                   bootstrapPath,
                                   "--drain-time-s",
                                   std::to_string(drainSeconds),
                                   "--drain-strategy",
                                   "immediate",
                                   "--disable-hot-restart",
                                   "--log-level",
                                   level};
  if (!config.runtime.envoyComponentLogLevel.empty()) {
    args.push_back("--component-log-level");
    args.push_back(config.runtime.envoyComponentLogLevel);
  }
  for (std::string& a : concurrency.envoyArgs()) {
    args.push_back(std::move(a));
  }
  return args;
}

absl::StatusOr<std::string> runForOutput(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout) {
  int fd = -1;
  auto pid = spawn(binary, args, &fd);
  if (!pid.ok()) {
    return pid.status();
  }
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  bool timedOut = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      timedOut = ready == 0;
      break;
    }
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) {
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (timedOut) {
    kill(-*pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) {
    return absl::DeadlineExceededError(absl::StrCat(binary, " did not finish in time"));
  }
  const int code = exitCodeOf(status);
  if (code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("running ", binary, " failed (", describeExit(code),
                     "): ", std::string(absl::StripAsciiWhitespace(out))));
  }
  return out;
}

std::optional<std::string> adsRefusalIn(std::string_view line) {
  // Envoy: "<Service> gRPC config stream to <cluster> closed: <code>, <message>" and, for a
  // stream failing for a while, "... closed since <n>ms ago: <code>, <message>".
  const size_t stream = line.find("gRPC config stream");
  if (stream == std::string_view::npos) {
    return std::nullopt;
  }
  size_t colon = line.find("closed", stream);
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  colon = line.find(": ", colon);
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = line.substr(colon + 2);
  const size_t comma = rest.find(", ");
  if (comma == std::string_view::npos) {
    return std::nullopt;
  }
  int code = -1;
  if (!absl::SimpleAtoi(common::av(rest.substr(0, comma)), &code) || (code != 16 && code != 7)) {
    return std::nullopt;
  }
  std::string_view message = rest.substr(comma + 2);
  // Envoy appends the response code details in braces, e.g. "{via_upstream}".
  if (message.ends_with('}')) {
    if (const size_t brace = message.rfind('{'); brace != std::string_view::npos) {
      message = message.substr(0, brace);
    }
  }
  return std::string(absl::StripAsciiWhitespace(common::av(message)));
}

absl::StatusOr<std::unique_ptr<EnvoyProcess>> EnvoyProcess::start(
    const std::string& binary, const std::vector<std::string>& args, LineHandler onLine) {
  int fd = -1;
  auto pid = spawn(binary, args, &fd);
  if (!pid.ok()) {
    return pid.status();
  }
  std::unique_ptr<EnvoyProcess> p(new EnvoyProcess());
  p->pid_ = *pid;
  p->pump_ = std::thread([fd, onLine = std::move(onLine)] {
    std::string pending;
    char buffer[8192];
    while (true) {
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      pending.append(buffer, static_cast<size_t>(n));
      size_t eol;
      while ((eol = pending.find('\n')) != std::string::npos) {
        const std::string line = pending.substr(0, eol + 1);
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        if (onLine) {
          onLine(std::string_view(line).substr(0, eol));
        }
        pending.erase(0, eol + 1);
      }
    }
    if (!pending.empty()) {
      pending.push_back('\n');
      (void)!::write(STDERR_FILENO, pending.data(), pending.size());
      if (onLine) {
        onLine(std::string_view(pending).substr(0, pending.size() - 1));
      }
    }
    ::close(fd);
  });
  return p;
}

EnvoyProcess::~EnvoyProcess() {
  if (!exitCode_.has_value() && pid_ > 0) {
    kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pump_.joinable()) {
    pump_.join();
  }
}

std::optional<int> EnvoyProcess::exited() {
  if (exitCode_.has_value()) {
    return exitCode_;
  }
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exitCode_ = exitCodeOf(status);
  }
  return exitCode_;
}

int EnvoyProcess::stop(std::chrono::milliseconds grace) {
  if (exited().has_value()) {
    return *exitCode_;
  }
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (exited().has_value()) {
      return *exitCode_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exitCode_ = exitCodeOf(status);
  return *exitCode_;
}

std::string describeExit(int code) {
  if (code > 128) {
    const char* name = sigabbrev_np(code - 128);
    return absl::StrCat("signal SIG", name != nullptr ? name : std::to_string(code - 128));
  }
  return absl::StrCat("exit code ", code);
}

}  // namespace kuma::dp

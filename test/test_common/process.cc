#include "test/test_common/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "httplib.h"

extern char** environ;

namespace kuma::test {
namespace {

pid_t spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, const std::string& logPath) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) {
      merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : env) {
    merged[k] = v;
  }
  std::vector<std::string> envStrings;
  for (const auto& [k, v] : merged) {
    envStrings.push_back(k + "=" + v);
  }
  std::vector<std::string> argStrings = {binary};
  argStrings.insert(argStrings.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> argv;
    for (auto& a : argStrings) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : envStrings) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `timeout`; returns the exit code, 128+signal, or -1 on timeout.
int waitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
      }
      if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
      }
    }
    if (r < 0 || std::chrono::steady_clock::now() >= deadline) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

uint16_t freePort() {
  // KUMA_TEST_PORT_RANGE=<low>-<high>: ports from that range only (a shared machine where each
  // developer has a range); the ports are handed out in turn from a random start, skipping
  // those in use. Otherwise any free port the kernel picks.
  static std::atomic<uint32_t> next{0};
  uint32_t low = 0;
  uint32_t high = 0;
  if (const char* range = std::getenv("KUMA_TEST_PORT_RANGE");
      range != nullptr && std::sscanf(range, "%u-%u", &low, &high) == 2 && low > 0 && low <= high &&
      high <= 65535) {
    const uint32_t size = high - low + 1;
    uint32_t expected = 0;
    next.compare_exchange_strong(expected, static_cast<uint32_t>(getpid()) % size + 1);
    for (uint32_t attempt = 0; attempt < size; ++attempt) {
      const uint16_t port = static_cast<uint16_t>(low + next.fetch_add(1) % size);
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(port);
      const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      close(fd);
      if (free) {
        return port;
      }
    }
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string binaryPath(const std::string& name) {
  const char* dir = std::getenv("KUMA_BUILD_DIR");
  return std::string(dir != nullptr ? dir : "build") + "/bin/" + name;
}

std::string makeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  return made != nullptr ? std::string(made) : std::string();
}

ExitResult runToExit(const std::string& binary, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout) {
  const std::string dir = makeTempDir("kuma-run");
  const std::string log = dir + "/output.log";
  const pid_t pid = spawn(binary, args, env, log);
  ExitResult result;
  result.exitCode = waitFor(pid, timeout);
  if (result.exitCode == -1) {
    kill(pid, SIGKILL);
    waitFor(pid, std::chrono::seconds(5));
  }
  result.output = readFile(log);
  return result;
}

std::unique_ptr<ChildProcess> ChildProcess::start(const std::string& binary,
                                                  const std::vector<std::string>& args,
                                                  const std::map<std::string, std::string>& env,
                                                  const std::string& logPath) {
  std::unique_ptr<ChildProcess> p(new ChildProcess());
  p->logPath_ = logPath;
  p->pid_ = spawn(binary, args, env, logPath);
  return p;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitFor(pid_, std::chrono::seconds(5));
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0) {
    return false;
  }
  const int code = waitFor(pid_, std::chrono::milliseconds(0));
  if (code != -1) {
    exitCode_ = code;
    pid_ = -1;
    return false;
  }
  return true;
}

int ChildProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return exitCode_;
  }
  kill(pid_, signal);
  const int code = waitFor(pid_, timeout);
  if (code != -1) {
    pid_ = -1;
    exitCode_ = code;
  }
  return code;
}

std::string ChildProcess::output() const {
  return readFile(logPath_);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

absl::StatusOr<std::unique_ptr<KumaCp>> KumaCp::start(Options options) {
  std::unique_ptr<KumaCp> cp(new KumaCp());
  cp->workDir_ = makeTempDir("kuma-cp");
  cp->logPath_ = cp->workDir_ + "/kuma-cp.log";
  cp->apiPort_ = freePort();
  cp->diagnosticsPort_ = freePort();
  cp->dpServerPort_ = freePort();
  std::map<std::string, std::string> env = {
      {"KUMA_API_SERVER_HTTP_PORT", std::to_string(cp->apiPort_)},
      {"KUMA_API_SERVER_HTTP_INTERFACE", "127.0.0.1"},
      {"KUMA_API_SERVER_HTTPS_PORT", std::to_string(freePort())},
      {"KUMA_DIAGNOSTICS_SERVER_PORT", std::to_string(cp->diagnosticsPort_)},
      {"KUMA_DP_SERVER_PORT", std::to_string(cp->dpServerPort_)},
      {"KUMA_INTER_CP_SERVER_PORT", std::to_string(freePort())},
      {"KUMA_RUNTIME_KUBERNETES_ADMISSION_SERVER_PORT", std::to_string(freePort())},
      {"KUMA_GENERAL_WORK_DIR", cp->workDir_},
  };
  for (const auto& [k, v] : options.env) {
    env[k] = v;
  }
  std::vector<std::string> args = options.args;
  if (options.configYaml.has_value()) {
    const std::string path = cp->workDir_ + "/kuma-cp.yaml";
    std::ofstream(path) << *options.configYaml;
    args.push_back("-c");
    args.push_back(path);
  }
  cp->pid_ = spawn(binaryPath("kuma-cp"), args, env, cp->logPath_);
  httplib::Client diag("127.0.0.1", cp->diagnosticsPort_);
  diag.set_connection_timeout(std::chrono::milliseconds(200));
  const auto deadline = std::chrono::steady_clock::now() + options.readyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(cp->pid_, &status, WNOHANG) == cp->pid_) {
      cp->pid_ = -1;
      return absl::FailedPreconditionError("kuma-cp exited during start-up:\n" + cp->output());
    }
    if (auto res = diag.Get("/ready"); res && res->status == 200) {
      return cp;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("kuma-cp did not become ready:\n" + cp->output());
}

KumaCp::~KumaCp() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitFor(pid_, std::chrono::seconds(5));
  }
}

int KumaCp::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  kill(pid_, signal);
  const int code = waitFor(pid_, timeout);
  if (code != -1) {
    pid_ = -1;
  }
  return code;
}

std::string KumaCp::output() const {
  return readFile(logPath_);
}

}  // namespace kuma::test

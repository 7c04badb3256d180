// TCP for the host build: what WiFiClient is on the ESP32. Non-blocking reads; writes block (with a
// timeout) like WiFiClient::write does, which is what the App expects.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host_hal.h"

namespace c2m::host {

namespace {
constexpr int kWriteTimeoutMs = 5000;
}

bool PosixSocket::connect(const std::string& host, uint16_t port, bool tls, uint32_t timeoutMs, std::string& err) {
  close();
  if (tls) {
    err = "wss:// is not supported by the host build (use ws://)";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    err = "cannot resolve " + host + ": " + gai_strerror(rc);
    return false;
  }
  err = "no address for " + host;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    // CLOEXEC: the restart command re-executes the program, which must not inherit the connection.
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      err = std::string("connect: ") + strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int soErr = 0;
    socklen_t len = sizeof soErr;
    if (poll(&p, 1, static_cast<int>(timeoutMs)) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len) != 0 || soErr != 0) {
      err = std::string("connect to ") + host + ":" + std::to_string(port) + ": " + (soErr ? strerror(soErr) : "timed out");
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
    break;
  }
  freeaddrinfo(res);
  return fd_ >= 0;
}

bool PosixSocket::write(const uint8_t* data, size_t len) {
  if (fd_ < 0) return false;
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::send(fd_, data + done, len - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, kWriteTimeoutMs) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

int PosixSocket::read(uint8_t* buf, size_t len) {
  if (fd_ < 0) return -1;
  ssize_t n = ::recv(fd_, buf, len, MSG_DONTWAIT);
  if (n > 0) return static_cast<int>(n);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  return -1;  // 0 = orderly shutdown by the peer, or an error
}

void PosixSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace c2m::host

// TCP for the host build: what WiFiClient is on the ESP32 (WiFiClientSecure for wss://, with OpenSSL).
// Non-blocking reads; writes block (with a timeout) like WiFiClient::write does, which is what the App
// expects.
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

#ifdef C2M_HOST_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

namespace c2m::host {

namespace {
constexpr int kWriteTimeoutMs = 5000;

#ifdef C2M_HOST_TLS
std::string sslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "closed during the handshake";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}
#endif
}  // namespace

PosixSocket::~PosixSocket() {
  close();
#ifdef C2M_HOST_TLS
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
#endif
}

bool PosixSocket::connect(const std::string& host, uint16_t port, bool tls, uint32_t timeoutMs, std::string& err) {
  close();
#ifndef C2M_HOST_TLS
  if (tls) {
    err = "wss:// is not supported by this host build (built without OpenSSL; use ws://)";
    return false;
  }
#endif
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
  if (fd_ < 0) return false;
  if (tls && !startTls(host, timeoutMs, err)) {
    close();
    return false;
  }
  return true;
}

#ifdef C2M_HOST_TLS
bool PosixSocket::startTls(const std::string& host, uint32_t timeoutMs, std::string& err) {
  if (!ctx_) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return err = "TLS: " + sslError(), false;
    if (!caFile_.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, caFile_.c_str(), nullptr) != 1) {
        err = "TLS: cannot load CA file " + caFile_ + ": " + sslError();
        SSL_CTX_free(ctx);
        return false;
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    ctx_ = ctx;
  }
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  if (!ssl) return err = "TLS: " + sslError(), false;
  ssl_ = ssl;
  SSL_set_fd(ssl, fd_);
  in6_addr a6;
  in_addr a4;
  const bool isIp = inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  if (!isIp) SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI
  if (!caFile_.empty()) {
    // The certificate must name the host we dialled (a DNS name or an IP address in subjectAltName).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (isIp) X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    else X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  // Non-blocking handshake, bounded by the connect timeout.
  for (;;) {
    int rc = SSL_connect(ssl);
    if (rc == 1) return true;
    int e = SSL_get_error(ssl, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      long v = SSL_get_verify_result(ssl);
      err = "TLS handshake with " + host + " failed: " +
            (v != X509_V_OK ? std::string("certificate: ") + X509_verify_cert_error_string(v) : sslError());
      return false;
    }
    pollfd p{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (poll(&p, 1, static_cast<int>(timeoutMs)) != 1) return err = "TLS handshake with " + host + " timed out", false;
  }
}
#else
bool PosixSocket::startTls(const std::string&, uint32_t, std::string& err) {
  err = "wss:// is not supported by this host build";
  return false;
}
#endif

bool PosixSocket::write(const uint8_t* data, size_t len) {
  if (fd_ < 0) return false;
#ifdef C2M_HOST_TLS
  if (ssl_) {
    SSL* ssl = static_cast<SSL*>(ssl_);
    size_t done = 0;
    while (done < len) {
      size_t n = 0;
      int rc = SSL_write_ex(ssl, data + done, len - done, &n);
      if (rc == 1) {
        done += n;
        continue;
      }
      int e = SSL_get_error(ssl, rc);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
      pollfd p{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      if (poll(&p, 1, kWriteTimeoutMs) <= 0) return false;
    }
    return true;
  }
#endif
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
#ifdef C2M_HOST_TLS
  if (ssl_) {
    SSL* ssl = static_cast<SSL*>(ssl_);
    size_t n = 0;
    if (SSL_read_ex(ssl, buf, len, &n) == 1) return static_cast<int>(n);
    int e = SSL_get_error(ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    ERR_clear_error();
    return -1;  // close_notify, a reset or a TLS error
  }
#endif
  ssize_t n = ::recv(fd_, buf, len, MSG_DONTWAIT);
  if (n > 0) return static_cast<int>(n);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  return -1;  // 0 = orderly shutdown by the peer, or an error
}

void PosixSocket::close() {
#ifdef C2M_HOST_TLS
  if (ssl_) {
    SSL* ssl = static_cast<SSL*>(ssl_);
    if (fd_ >= 0) SSL_shutdown(ssl);  // close_notify, best effort (non-blocking)
    SSL_free(ssl);
    ERR_clear_error();
  }
#endif
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace c2m::host

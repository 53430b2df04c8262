// The control socket of mipv6d and its client, mipv6ctl (issue 8, docs/mipv6ctl.md).
//
// Protocol: JSON lines over a UNIX stream socket. Each request is one line holding one JSON
// object ({"command":"show","table":"bc"}, {"command":"reload"}, {"command":"flush"}); each
// response is one line, {"ok":true,"result":...} or {"ok":false,"error":"..."}. A connection may
// carry several requests; they are answered in order.
//
// The server runs on the daemon's EventLoop and never blocks it: sockets are non-blocking, an
// answer that does not fit in the socket buffer is queued and sent when the socket is writable.
// Only root can talk to it: the socket file is created mode 0600.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "linux/event_loop.h"
#include "linux/result.h"
#include "linux/unique_fd.h"

namespace mipv6::daemon {

inline constexpr const char* kDefaultControlSocket = "/run/mipv6d/mipv6d.sock";

// {"ok":true,"result":result} and {"ok":false,"error":text}.
nlohmann::json ok_response(nlohmann::json result);
nlohmann::json error_response(std::string_view text);

// Why `request` is not a valid request (not an object, no "command" string, unknown command,
// show without a known "table"), or nullopt when it is valid.
std::optional<std::string> validate_request(const nlohmann::json& request);

class ControlServer {
 public:
  // Given a valid request, returns the whole response object (ok_response / error_response).
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  static constexpr std::size_t kMaxLineBytes = 64 * 1024;
  static constexpr std::size_t kMaxClients = 16;
  // A client that lets this much of its answers pile up unread is dropped (bounded memory).
  static constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;

  // Listens on `path`. A stale socket file (nobody accepts on it) is replaced; a live one gives
  // EADDRINUSE "another mipv6d is listening on PATH"; any other file there gives EEXIST.
  // `loop` must outlive the server.
  static linux_dp::Result<std::unique_ptr<ControlServer>> open(linux_dp::EventLoop& loop,
                                                               const std::string& path,
                                                               Handler handler);

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  // Closes every connection and the listening socket, and unlinks the socket file.
  ~ControlServer();

  const std::string& path() const { return path_; }
  std::size_t client_count() const { return clients_.size(); }

 private:
  struct Client {
    linux_dp::UniqueFd fd;
    std::string input;     // received bytes not yet forming a whole line
    std::string output;    // answers not yet sent
    bool closing = false;  // no more requests: close once `output` is sent
    bool writable_wanted = false;
  };
  using ClientId = std::uint64_t;

  ControlServer(linux_dp::EventLoop& loop, std::string path, linux_dp::UniqueFd listener,
                Handler handler);

  void on_accept();
  void admit(linux_dp::UniqueFd fd);
  void on_readable(ClientId id);
  void on_writable(ClientId id);
  bool read_available(Client& client);
  void process_lines(Client& client);
  void answer(Client& client, std::string_view line);
  nlohmann::json respond(std::string_view line);
  void queue(Client& client, const nlohmann::json& response);
  // Sends what is queued; false when the client is gone (error) and must be dropped.
  bool flush_output(Client& client);
  // Drops the client when it is finished or broken, and keeps write interest in step.
  void settle(ClientId id, bool alive);
  void drop(ClientId id);

  linux_dp::EventLoop& loop_;
  std::string path_;
  linux_dp::UniqueFd listener_;
  Handler handler_;
  std::map<ClientId, std::unique_ptr<Client>> clients_;
  ClientId next_id_ = 1;
};

// The client side: connects to `path`, sends `request`, and returns the response object.
// Errors carry complete messages for a user: ENOENT / ECONNREFUSED / EACCES... "cannot reach
// mipv6d at PATH: <strerror> — is it running?"; ETIMEDOUT when no whole answer came within
// `timeout`; EPROTO when the answer is not a JSON object.
linux_dp::Result<nlohmann::json> control_request(const std::string& path,
                                                 const nlohmann::json& request,
                                                 std::chrono::milliseconds timeout);

// The human output of mipv6ctl (without --json) for `result` of `show <table>` (or reload /
// flush): arrays of objects as aligned tables with a header row and columns in a fixed order
// per table (unknown keys appended), "(none)" for an empty table, objects of scalars as aligned
// "name  value" lines, nested objects as sections titled "key:" with their content indented.
// Ends with a newline.
std::string render_text(std::string_view table, const nlohmann::json& result);

}  // namespace mipv6::daemon

#include "daemon/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>
#include <vector>

namespace mipv6::daemon {

using linux_dp::Error;
using linux_dp::Result;
using linux_dp::UniqueFd;
using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 3> kCommands = {"show", "reload", "flush"};
constexpr std::array<std::string_view, 5> kTables = {"bc", "bul", "hal", "stats", "config"};
// A client that half-closes with answers still unsent gets this long to read them: the event
// loop always watches for readability, so waiting for writability after EOF would spin it.
constexpr int kCloseLingerMs = 100;
constexpr std::size_t kReadChunk = 4096;
constexpr int kReadsPerEvent = 32;  // then back to the loop, so one client cannot starve others

bool contains(const auto& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string dump_line(const json& response) {
  // replace: a handler string with invalid UTF-8 must not throw out of the event loop.
  return response.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path)
    return linux_dp::make_error("control socket path \"" + path + "\"", ENAMETOOLONG);
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

const sockaddr* as_sockaddr(const sockaddr_un& address) {
  return reinterpret_cast<const sockaddr*>(&address);
}

// Whether something accepts connections on the socket file at `address`.
Result<bool> is_live(const sockaddr_un& address) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return linux_dp::errno_error("socket AF_UNIX");
  if (::connect(probe.get(), as_sockaddr(address), sizeof address) == 0) return true;
  // EAGAIN: a listener whose backlog is full is alive all the same.
  if (errno == EAGAIN || errno == EINPROGRESS) return true;
  if (errno == ECONNREFUSED) return false;
  return linux_dp::errno_error(std::string("connect ") + address.sun_path);
}

// Makes room for the socket file: nothing there, or a stale socket removed.
linux_dp::Status clear_path(const std::string& path, const sockaddr_un& address) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0)
    return errno == ENOENT ? linux_dp::Status{} : linux_dp::errno_error("lstat " + path);
  if (!S_ISSOCK(st.st_mode))
    return Error{EEXIST, path + " exists and is not a socket; not replacing it"};
  auto live = is_live(address);
  if (!live) return live.error();
  if (*live) return Error{EADDRINUSE, "another mipv6d is listening on " + path};
  if (::unlink(path.c_str()) < 0) return linux_dp::errno_error("unlink stale socket " + path);
  return {};
}

Result<UniqueFd> bind_listener(const std::string& path, const sockaddr_un& address) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return linux_dp::errno_error("socket AF_UNIX");
  // The file gets its mode at bind() from the umask: 0600 from the start, so that no other user
  // can connect in between. chmod() then also covers a file system that ignores the umask.
  mode_t saved = ::umask(0177);
  int rc = ::bind(fd.get(), as_sockaddr(address), sizeof address);
  int bind_errno = errno;
  ::umask(saved);
  if (rc < 0) return linux_dp::make_error("bind " + path, bind_errno);
  if (::chmod(path.c_str(), 0600) < 0 || ::listen(fd.get(), SOMAXCONN) < 0) {
    Error e = linux_dp::errno_error("chmod/listen " + path);
    ::unlink(path.c_str());
    return e;
  }
  return fd;
}

void send_best_effort(int fd, std::string_view bytes) {
  // Nothing to do when it fails: the connection is being closed anyway.
  (void)::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

json ok_response(json result) {
  return json{{"ok", true}, {"result", std::move(result)}};
}

json error_response(std::string_view text) {
  return json{{"ok", false}, {"error", std::string(text)}};
}

std::optional<std::string> validate_request(const json& request) {
  if (!request.is_object()) return "request is not a JSON object";
  auto command = request.find("command");
  if (command == request.end() || !command->is_string()) return "request has no \"command\" string";
  const auto& name = command->get_ref<const std::string&>();
  if (!contains(kCommands, name))
    return "unknown command \"" + name + "\" (expected show, reload or flush)";
  if (name != "show") return std::nullopt;
  auto table = request.find("table");
  if (table == request.end() || !table->is_string() ||
      !contains(kTables, table->get_ref<const std::string&>()))
    return "show needs \"table\": one of bc, bul, hal, stats, config";
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Server

Result<std::unique_ptr<ControlServer>> ControlServer::open(linux_dp::EventLoop& loop,
                                                           const std::string& path,
                                                           Handler handler) {
  auto address = unix_address(path);
  if (!address) return address.error();
  if (auto s = clear_path(path, *address); !s) return s.error();
  auto listener = bind_listener(path, *address);
  if (!listener) return listener.error();
  std::unique_ptr<ControlServer> server(
      new ControlServer(loop, path, std::move(*listener), std::move(handler)));
  ControlServer* self = server.get();
  if (auto s = loop.watch(self->listener_.get(), [self] { self->on_accept(); }); !s)
    return s.error();  // the destructor unlinks the file
  return server;
}

ControlServer::ControlServer(linux_dp::EventLoop& loop, std::string path, UniqueFd listener,
                             Handler handler)
    : loop_(loop),
      path_(std::move(path)),
      listener_(std::move(listener)),
      handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  // Unwatch errors only mean the descriptor was never watched; nothing else to undo.
  for (auto& [id, client] : clients_)
    (void)loop_.unwatch(client->fd.get());
  if (listener_.valid()) (void)loop_.unwatch(listener_.get());
  ::unlink(path_.c_str());
}

void ControlServer::on_accept() {
  while (true) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: all accepted; anything else: retried at the next event
    admit(UniqueFd(fd));
  }
}

void ControlServer::admit(UniqueFd fd) {
  if (clients_.size() >= kMaxClients) {
    send_best_effort(fd.get(),
                     dump_line(error_response("too many control connections (at most " +
                                              std::to_string(kMaxClients) + "); try again later")));
    return;  // `fd` closes here
  }
  ClientId id = next_id_++;
  int raw = fd.get();
  auto client = std::make_unique<Client>();
  client->fd = std::move(fd);
  auto watched = loop_.watch(
      raw, [this, id] { on_readable(id); }, [this, id] { on_writable(id); });
  if (!watched) return;  // the client is closed with `client`
  // Write interest only while answers are queued (EventLoop::want_writable).
  client->writable_wanted = true;
  clients_.emplace(id, std::move(client));
  settle(id, true);
}

void ControlServer::on_readable(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  bool alive = read_available(client);
  if (alive) {
    process_lines(client);
    alive = flush_output(client);
  }
  settle(id, alive);
}

void ControlServer::on_writable(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;  // dropped by its own readable callback in the same event
  settle(id, flush_output(*it->second));
}

bool ControlServer::read_available(Client& client) {
  std::array<char, kReadChunk> buffer{};
  for (int i = 0; i < kReadsPerEvent && !client.closing; ++i) {
    ssize_t n = ::recv(client.fd.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
      client.closing = true;  // half-closed: answer what came, then close
      break;
    }
    client.input.append(buffer.data(), static_cast<std::size_t>(n));
    // Whole lines are answered as they come; only a partial line can grow past the limit.
    if (client.input.size() > kMaxLineBytes) process_lines(client);
  }
  return true;
}

void ControlServer::process_lines(Client& client) {
  std::size_t start = 0;
  while (true) {
    std::size_t end = client.input.find('\n', start);
    if (end == std::string::npos) break;
    if (end - start > kMaxLineBytes) break;
    answer(client, std::string_view(client.input).substr(start, end - start));
    start = end + 1;
  }
  client.input.erase(0, start);
  if (client.input.size() > kMaxLineBytes) {
    queue(client, error_response("request line longer than " + std::to_string(kMaxLineBytes) +
                                 " bytes; closing the connection"));
    client.input.clear();
    client.closing = true;
  } else if (client.closing && !client.input.empty()) {
    // A last request without its newline before the peer half-closed is still a request.
    std::string last = std::move(client.input);
    client.input.clear();
    answer(client, last);
  }
}

void ControlServer::answer(Client& client, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank: nothing asked
  queue(client, respond(line));
}

json ControlServer::respond(std::string_view line) {
  json request = json::parse(line, nullptr, false);
  if (request.is_discarded()) return error_response("invalid JSON");
  if (auto why = validate_request(request)) return error_response(*why);
  try {
    json response = handler_(request);
    if (!response.is_object() || !response.contains("ok"))
      return error_response("internal error: the daemon produced no response");
    return response;
  } catch (const std::exception& e) {
    return error_response(std::string("internal error: ") + e.what());
  } catch (...) {
    return error_response("internal error");
  }
}

void ControlServer::queue(Client& client, const json& response) {
  client.output += dump_line(response);
}

bool ControlServer::flush_output(Client& client) {
  while (!client.output.empty()) {
    ssize_t n = ::send(client.fd.get(), client.output.data(), client.output.size(),
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;  // EPIPE, ECONNRESET: the client vanished
    }
    client.output.erase(0, static_cast<std::size_t>(n));
  }
  return true;
}

void ControlServer::settle(ClientId id, bool alive) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  if (!alive || client.output.size() > kMaxPendingBytes) return drop(id);
  if (client.closing) {
    // Bounded wait (kCloseLingerMs) for the last answers; see kCloseLingerMs for why.
    pollfd p{client.fd.get(), POLLOUT, 0};
    for (int waited = 0; !client.output.empty() && waited < kCloseLingerMs; waited += 10) {
      if (::poll(&p, 1, 10) < 0 || !flush_output(client)) break;
    }
    return drop(id);
  }
  bool want = !client.output.empty();
  if (want != client.writable_wanted && loop_.want_writable(client.fd.get(), want))
    client.writable_wanted = want;
}

void ControlServer::drop(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  (void)loop_.unwatch(it->second->fd.get());
  clients_.erase(it);
}

// ---------------------------------------------------------------------------------------------
// Client

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  // Rounded up: poll() waiting a little less than asked would report a timeout too early.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
}

Error unreachable(const std::string& path, int code) {
  return Error{code, "cannot reach mipv6d at " + path + ": " + std::strerror(code) +
                         " \u2014 is it running?"};
}

Error timed_out(const std::string& path) {
  return Error{ETIMEDOUT, "mipv6d at " + path + " did not answer in time"};
}

// Waits for `events` on `fd` until `deadline`: 0 when ready, else the errno to report.
int wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return 0;
    if (rc == 0) return ETIMEDOUT;
    if (errno != EINTR) return errno;
  }
}

Result<UniqueFd> connect_to(const std::string& path) {
  auto address = unix_address(path);
  if (!address) return address.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return linux_dp::errno_error("socket AF_UNIX");
  if (::connect(fd.get(), as_sockaddr(*address), sizeof *address) == 0) return fd;
  // EAGAIN: the daemon's backlog is full; a UNIX socket cannot complete later, so it is busy.
  if (errno == EAGAIN) return Error{EAGAIN, "mipv6d at " + path + " is busy; try again"};
  return unreachable(path, errno);
}

linux_dp::Status send_all(int fd, const std::string& bytes, const std::string& path,
                          Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno != EAGAIN && errno != EINTR) return linux_dp::errno_error("send to " + path);
    if (int e = wait_for(fd, POLLOUT, deadline); e != 0)
      return e == ETIMEDOUT ? timed_out(path) : linux_dp::make_error("poll " + path, e);
  }
  return {};
}

Result<std::string> read_line(int fd, const std::string& path, Clock::time_point deadline) {
  std::string line;
  std::array<char, kReadChunk> buffer{};
  std::size_t scanned = 0;  // no newline before this offset: each byte is searched once
  while (line.find('\n', scanned) == std::string::npos) {
    scanned = line.size();
    if (int e = wait_for(fd, POLLIN, deadline); e != 0)
      return e == ETIMEDOUT ? timed_out(path) : linux_dp::make_error("poll " + path, e);
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return linux_dp::errno_error("receive from " + path);
    if (n == 0) return Error{EPROTO, "mipv6d at " + path + " closed the connection unanswered"};
    line.append(buffer.data(), static_cast<std::size_t>(n));
  }
  line.resize(line.find('\n'));
  return line;
}

}  // namespace

Result<json> control_request(const std::string& path, const json& request,
                             std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto fd = connect_to(path);
  if (!fd) return fd.error();
  auto sent = send_all(fd->get(), dump_line(request), path, deadline);
  // A daemon that refuses the connection ("too many control connections") answers and closes
  // before reading: the send then fails with EPIPE, yet its answer is there to be read.
  bool answered_early = !sent && (sent.error().code == EPIPE || sent.error().code == ECONNRESET);
  if (!sent && !answered_early) return sent.error();
  auto line = read_line(fd->get(), path, deadline);
  if (!line) return answered_early ? sent.error() : line.error();
  json response = json::parse(*line, nullptr, false);
  if (response.is_discarded() || !response.is_object())
    return Error{EPROTO, "mipv6d at " + path + " sent an answer that is not a JSON object"};
  return response;
}

// ---------------------------------------------------------------------------------------------
// Text output of mipv6ctl

namespace {

// Column order of the tables of docs/mipv6ctl.md, keyed by the array's name.
const std::vector<std::string>& preferred_columns(std::string_view array_name) {
  static const std::map<std::string_view, std::vector<std::string>> kOrder = {
      {"bindings",
       {"home_address", "care_of_address", "lifetime_s", "sequence", "flags", "home_registration",
        "role"}},
      {"home_addresses", {"home_address", "state", "home_agent", "care_of_address"}},
      {"entries",
       {"peer", "home_address", "care_of_address", "home_registration", "sequence", "lifetime_s",
        "state"}},
      {"home_agents", {"address", "link_local", "preference", "lifetime_s"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kOrder.find(array_name);
  return it == kOrder.end() ? kNone : it->second;
}

// The array name a top-level array stands for when a table is shown bare.
std::string_view array_name_of(std::string_view table) {
  if (table == "bc") return "bindings";
  if (table == "hal") return "home_agents";
  if (table == "bul") return "entries";
  return table;
}

bool is_table(const json& value) {
  return value.is_array() &&
         std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_object(); });
}

bool is_section(const json& value) {
  return value.is_object() || is_table(value);
}

std::string cell(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    return text.empty() ? "-" : text;
  }
  if (value.is_array()) {
    std::string joined;
    for (const json& item : value)
      joined += (joined.empty() ? "" : ", ") + cell(item);
    return joined.empty() ? "-" : joined;
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// One line of aligned cells, two spaces apart, with no trailing blanks.
std::string row_line(const std::vector<std::string>& cells, const std::vector<std::size_t>& widths,
                     const std::string& indent) {
  std::string line = indent;
  for (std::size_t i = 0; i < cells.size(); ++i)
    line += i + 1 == cells.size() ? cells[i] : pad(cells[i], widths[i]) + "  ";
  return line + "\n";
}

std::vector<std::string> columns_of(const json& rows, std::string_view array_name) {
  std::vector<std::string> columns;
  auto present = [&rows](const std::string& key) {
    return std::any_of(rows.begin(), rows.end(), [&key](const json& r) { return r.contains(key); });
  };
  for (const std::string& key : preferred_columns(array_name))
    if (present(key)) columns.push_back(key);
  for (const json& row : rows)
    for (const auto& [key, value] : row.items())
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
  return columns;
}

std::string render_table(const json& rows, std::string_view array_name, const std::string& indent) {
  if (rows.empty()) return indent + "(none)\n";
  const std::vector<std::string> columns = columns_of(rows, array_name);
  std::vector<std::vector<std::string>> lines{columns};
  for (const json& row : rows) {
    std::vector<std::string> cells;
    for (const std::string& key : columns)
      cells.push_back(row.contains(key) ? cell(row[key]) : "-");
    lines.push_back(std::move(cells));
  }
  std::vector<std::size_t> widths(columns.size(), 0);
  for (const auto& line : lines)
    for (std::size_t i = 0; i < line.size(); ++i)
      widths[i] = std::max(widths[i], line[i].size());
  std::string out;
  for (const auto& line : lines)
    out += row_line(line, widths, indent);
  return out;
}

std::string render_object(const json& object, const std::string& indent, bool bare_single);

std::string render_section(const std::string& key, const json& value, const std::string& indent) {
  std::string out = indent + key + ":\n";
  if (value.is_object()) return out + render_object(value, indent + "  ", false);
  return out + render_table(value, key, indent + "  ");
}

// Scalars first as "name  value" lines, then the sections. `bare_single`: an object holding
// a single table (show bc, show hal) is shown as that table alone.
std::string render_object(const json& object, const std::string& indent, bool bare_single) {
  if (object.empty()) return indent + "(none)\n";
  if (bare_single && object.size() == 1 && is_table(object.begin().value()))
    return render_table(object.begin().value(), object.begin().key(), indent);
  std::size_t width = 0;
  for (const auto& [key, value] : object.items())
    if (!is_section(value)) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : object.items())
    if (!is_section(value)) out += indent + pad(key, width) + "  " + cell(value) + "\n";
  for (const auto& [key, value] : object.items())
    if (is_section(value)) out += render_section(key, value, indent);
  return out;
}

}  // namespace

std::string render_text(std::string_view table, const json& result) {
  if (result.is_null()) return "(none)\n";
  if (result.is_object()) return render_object(result, "", true);
  if (is_table(result)) return render_table(result, array_name_of(table), "");
  return cell(result) + "\n";
}

}  // namespace mipv6::daemon

// The control socket (server and client in one process) and mipv6ctl's text output.
//
// The server runs on an EventLoop in a thread of its own (LoopThread), stopped through an
// eventfd so that every loop call stays on that thread; the test thread talks to it through
// plain sockets or control_request(), and looks at the server only while the loop is stopped.
#include "daemon/control.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mipv6::daemon {
namespace {

using linux_dp::EventLoop;
using linux_dp::UniqueFd;
using nlohmann::json;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/mipv6t-" + std::to_string(::getpid()) + "-ctl-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `loop` on a thread of its own between start() and stop().
class LoopThread {
 public:
  explicit LoopThread(EventLoop& loop) : loop_(loop), wake_(::eventfd(0, EFD_CLOEXEC)) {
    EXPECT_TRUE(loop_.watch(wake_.get(), [this] {
      std::uint64_t count = 0;
      EXPECT_EQ(::read(wake_.get(), &count, sizeof count), 8);
      loop_.stop();
    }));
  }
  ~LoopThread() {
    if (thread_.joinable()) stop();
    (void)loop_.unwatch(wake_.get());
  }
  void start() {
    thread_ = std::thread([this] { EXPECT_TRUE(loop_.run()); });
  }
  void stop() {
    std::uint64_t one = 1;
    EXPECT_EQ(::write(wake_.get(), &one, sizeof one), 8);
    thread_.join();
  }

 private:
  EventLoop& loop_;
  UniqueFd wake_;
  std::thread thread_;
};

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

// A blocking client speaking raw lines, so that tests can send what control_request() never
// would (invalid JSON, several requests in one write, oversize lines).
class RawClient {
 public:
  explicit RawClient(const std::string& path)
      : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    timeval two_seconds{2, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
    sockaddr_un address = address_of(path);
    connected_ =
        ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  bool connected() const { return connected_; }
  bool send_text(const std::string& text) {
    std::size_t sent = 0;
    while (sent < text.size()) {
      ssize_t n = ::send(fd_.get(), text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  // The next line, without its newline; nullopt at end of stream, error or timeout.
  std::optional<std::string> read_line() {
    for (std::size_t scanned = 0; buffer_.find('\n', scanned) == std::string::npos;) {
      scanned = buffer_.size();
      char chunk[4096];
      ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    std::size_t end = buffer_.find('\n');
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 1);
    return line;
  }
  std::optional<json> read_response() {
    auto line = read_line();
    if (!line) return std::nullopt;
    return json::parse(*line);
  }
  // True when the server closed the connection (end of stream or reset), nothing more sent.
  bool closed_by_server() {
    char byte = 0;
    ssize_t n = ::recv(fd_.get(), &byte, 1, 0);
    return buffer_.empty() && (n == 0 || (n < 0 && errno == ECONNRESET));
  }
  void close() { fd_.reset(); }
  void shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

 private:
  UniqueFd fd_;
  std::string buffer_;
  bool connected_ = false;
};

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = EventLoop::create();
    ASSERT_TRUE(created);
    loop_.emplace(std::move(*created));
    handler_ = [this](const json& request) {
      ++calls_;
      if (request["command"] == "reload") throw std::runtime_error("reload exploded");
      if (request.value("table", "") == "config")
        return ok_response(std::string(big_result_bytes_, 'c'));
      return ok_response(json{{"echo", request}});
    };
    open_server();
    thread_.emplace(*loop_);
    thread_->start();
  }
  void TearDown() override {
    thread_.reset();
    server_.reset();
  }

  void open_server() {
    auto opened = ControlServer::open(*loop_, path_, [this](const json& r) { return handler_(r); });
    ASSERT_TRUE(opened) << opened.error().message;
    server_ = std::move(*opened);
  }
  json request(const json& r) {
    auto response = control_request(path_, r, 2s);
    EXPECT_TRUE(response) << response.error().message;
    return response ? *response : json();
  }
  // Stops the loop to look at the server, restarting it until `condition` holds (or 2 s pass).
  bool eventually(const std::function<bool()>& condition) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (true) {
      thread_->stop();
      bool held = condition();
      thread_->start();
      if (held) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
  }

  TempDir dir_;
  std::string path_ = dir_.file("mipv6d.sock");
  std::optional<EventLoop> loop_;
  std::function<json(const json&)> handler_;
  std::atomic<int> calls_{0};
  std::size_t big_result_bytes_ = 16;
  std::unique_ptr<ControlServer> server_;
  std::optional<LoopThread> thread_;
};

// --- requests and responses ------------------------------------------------------------------

TEST_F(ControlTest, ValidShowRequestReachesHandlerAndItsResponseComesBack) {
  json response = request({{"command", "show"}, {"table", "bc"}});
  EXPECT_EQ(response, ok_response(json{{"echo", {{"command", "show"}, {"table", "bc"}}}}));
  EXPECT_EQ(calls_, 1);
}

TEST_F(ControlTest, EveryCommandAndTableIsAccepted) {
  for (const char* table : {"bc", "bul", "hal", "stats"})
    EXPECT_TRUE(request({{"command", "show"}, {"table", table}})["ok"].get<bool>()) << table;
  EXPECT_TRUE(request({{"command", "flush"}})["ok"].get<bool>());
  EXPECT_EQ(calls_, 5);
}

TEST_F(ControlTest, RequestThatIsNotAnObjectIsRejectedWithoutCallingHandler) {
  for (const json& r : {json::array({"show"}), json(42), json("show"), json(nullptr)}) {
    json response = request(r);
    EXPECT_EQ(response, error_response("request is not a JSON object")) << r;
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(ControlTest, RequestWithoutCommandStringIsRejectedWithoutCallingHandler) {
  EXPECT_EQ(request({{"table", "bc"}}), error_response("request has no \"command\" string"));
  EXPECT_EQ(request({{"command", 1}}), error_response("request has no \"command\" string"));
  EXPECT_EQ(calls_, 0);
}

TEST_F(ControlTest, UnknownCommandIsRejectedWithoutCallingHandler) {
  EXPECT_EQ(request({{"command", "restart"}}),
            error_response("unknown command \"restart\" (expected show, reload or flush)"));
  EXPECT_EQ(calls_, 0);
}

TEST_F(ControlTest, ShowWithoutKnownTableIsRejectedWithoutCallingHandler) {
  const json expected = error_response("show needs \"table\": one of bc, bul, hal, stats, config");
  EXPECT_EQ(request({{"command", "show"}}), expected);
  EXPECT_EQ(request({{"command", "show"}, {"table", "routes"}}), expected);
  EXPECT_EQ(request({{"command", "show"}, {"table", 3}}), expected);
  EXPECT_EQ(calls_, 0);
}

TEST_F(ControlTest, ExceptionFromHandlerBecomesErrorResponse) {
  json response = request({{"command", "reload"}});
  EXPECT_EQ(response, error_response("internal error: reload exploded"));
  // The server is still serving.
  EXPECT_TRUE(request({{"command", "flush"}})["ok"].get<bool>());
}

TEST_F(ControlTest, SeveralRequestsOnOneConnectionAreAnsweredInOrder) {
  RawClient client(path_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(
      client.send_text("{\"command\":\"show\",\"table\":\"bc\"}\n{\"command\":\"bogus\"}\r\n\n"
                       "{\"command\":\"show\",\"table\":\"hal\"}\n"));
  auto first = client.read_response();
  auto second = client.read_response();
  auto third = client.read_response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ((*first)["result"]["echo"]["table"], "bc");
  EXPECT_EQ((*second)["ok"], false);
  EXPECT_EQ((*third)["result"]["echo"]["table"], "hal");
}

TEST_F(ControlTest, InvalidJsonGetsErrorAndConnectionStaysOpen) {
  RawClient client(path_);
  ASSERT_TRUE(client.send_text("{\"command\": show}\n"));
  EXPECT_EQ(client.read_response(), error_response("invalid JSON"));
  ASSERT_TRUE(client.send_text("{\"command\":\"flush\"}\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["ok"], true);
}

TEST_F(ControlTest, RequestSplitAcrossWritesIsAnsweredOnceWhole) {
  RawClient client(path_);
  ASSERT_TRUE(client.send_text("{\"command\":"));
  std::this_thread::sleep_for(20ms);  // the server sees the first half alone
  ASSERT_TRUE(client.send_text("\"flush\"}\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["ok"], true);
  EXPECT_EQ(calls_, 1);
}

TEST_F(ControlTest, LastRequestBeforeHalfCloseIsAnsweredThenConnectionCloses) {
  RawClient client(path_);
  // `printf '{"command":"flush"}' | socat - UNIX:...`: no newline, then end of input.
  ASSERT_TRUE(client.send_text("{\"command\":\"show\",\"table\":\"bc\"}\n{\"command\":\"flush\"}"));
  client.shutdown_write();
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ((*first)["result"]["echo"]["table"], "bc");
  EXPECT_EQ((*second)["result"]["echo"]["command"], "flush");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ControlTest, LineJustUnderLimitIsServed) {
  std::string line = "{\"command\":\"flush\",\"pad\":\"";
  line += std::string(ControlServer::kMaxLineBytes - line.size() - 2, 'x') + "\"}";
  ASSERT_EQ(line.size(), ControlServer::kMaxLineBytes);
  RawClient client(path_);
  ASSERT_TRUE(client.send_text(line + "\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["ok"], true);
}

TEST_F(ControlTest, LineOverLimitGetsErrorAndConnectionIsClosed) {
  RawClient client(path_);
  ASSERT_TRUE(client.send_text(std::string(ControlServer::kMaxLineBytes + 100, 'x')));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["ok"], false);
  EXPECT_NE((*response)["error"].get<std::string>().find("longer than 65536 bytes"),
            std::string::npos);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(calls_, 0);
}

TEST_F(ControlTest, OverLimitLineWithNewlineIsRefusedToo) {
  RawClient client(path_);
  ASSERT_TRUE(client.send_text(std::string(ControlServer::kMaxLineBytes + 1, ' ') + "\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ((*response)["ok"], false);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ControlTest, AnswerLargerThanSocketBufferIsQueuedAndSentWhole) {
  thread_->stop();
  big_result_bytes_ = 1024 * 1024;  // several times a socket buffer
  thread_->start();
  RawClient client(path_);
  // Two requests: the second answer must wait behind the first, queued.
  ASSERT_TRUE(client.send_text(
      "{\"command\":\"show\",\"table\":\"config\"}\n{\"command\":\"show\",\"table\":\"bc\"}\n"));
  std::this_thread::sleep_for(20ms);  // let the server fill the socket buffer first
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ((*first)["result"].get<std::string>().size(), big_result_bytes_);
  EXPECT_EQ((*second)["result"]["echo"]["table"], "bc");
}

TEST_F(ControlTest, SeventeenthClientGetsErrorAndIsClosed) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (std::size_t i = 0; i < ControlServer::kMaxClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(path_));
    // An answer proves the server holds this connection.
    ASSERT_TRUE(clients.back()->send_text("{\"command\":\"flush\"}\n"));
    ASSERT_TRUE(clients.back()->read_response()) << i;
  }
  RawClient extra(path_);
  auto refusal = extra.read_response();
  ASSERT_TRUE(refusal);
  EXPECT_EQ((*refusal)["ok"], false);
  EXPECT_NE((*refusal)["error"].get<std::string>().find("too many control connections"),
            std::string::npos);
  EXPECT_TRUE(extra.closed_by_server());
  // control_request() (mipv6ctl) reports the refusal too, though its send found the peer gone.
  auto refused = control_request(path_, {{"command", "flush"}}, 2s);
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ((*refused)["ok"], false);
  // Once one leaves, a newcomer is served again.
  clients.front()->close();
  ASSERT_TRUE(eventually([this] { return server_->client_count() < ControlServer::kMaxClients; }));
  EXPECT_TRUE(request({{"command", "flush"}})["ok"].get<bool>());
}

TEST_F(ControlTest, ClientThatVanishesIsForgotten) {
  {
    RawClient client(path_);
    ASSERT_TRUE(client.send_text("{\"command\":\"show\",\"table\":\"bc\"}\n"));
    ASSERT_TRUE(eventually([this] { return server_->client_count() == 1 && calls_ == 1; }));
  }  // closed without reading its answer
  EXPECT_TRUE(eventually([this] { return server_->client_count() == 0; }));
}

// --- the socket file -------------------------------------------------------------------------

TEST_F(ControlTest, SocketFileIsCreatedMode0600) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ControlTest, DestructionUnlinksSocketFile) {
  thread_->stop();
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(path_));
  thread_->start();
}

TEST_F(ControlTest, LiveSocketIsNotTakenOver) {
  thread_->stop();
  auto second = ControlServer::open(*loop_, path_, handler_);
  thread_->start();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EADDRINUSE);
  EXPECT_EQ(second.error().message, "another mipv6d is listening on " + path_);
  EXPECT_TRUE(request({{"command", "flush"}})["ok"].get<bool>());  // the first still serves
}

TEST_F(ControlTest, StaleSocketFileIsReplaced) {
  thread_->stop();
  server_.reset();
  {
    // A socket file nobody listens on, as a crashed daemon leaves it.
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un address = address_of(path_);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  }
  ASSERT_TRUE(std::filesystem::exists(path_));
  open_server();
  thread_->start();
  EXPECT_TRUE(request({{"command", "flush"}})["ok"].get<bool>());
}

TEST_F(ControlTest, FileThatIsNotASocketIsLeftAlone) {
  std::string other = dir_.file("not-a-socket");
  std::ofstream(other) << "keep me";
  thread_->stop();
  auto opened = ControlServer::open(*loop_, other, handler_);
  thread_->start();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, EEXIST);
  std::ifstream in(other);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

// --- the client side -------------------------------------------------------------------------

TEST(ControlRequest, MissingSocketSaysDaemonCannotBeReached) {
  TempDir dir;
  std::string path = dir.file("absent.sock");
  auto response = control_request(path, {{"command", "flush"}}, 1s);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ENOENT);
  EXPECT_EQ(response.error().message,
            "cannot reach mipv6d at " + path + ": No such file or directory \u2014 is it running?");
}

TEST(ControlRequest, ListenerThatNeverAnswersTimesOut) {
  TempDir dir;
  std::string path = dir.file("mute.sock");
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address = address_of(path);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  auto start = std::chrono::steady_clock::now();
  auto response = control_request(path, {{"command", "flush"}}, 100ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ETIMEDOUT);
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 1s);
}

TEST(ControlRequest, AnswerThatIsNotJsonObjectIsProtocolError) {
  TempDir dir;
  std::string path = dir.file("odd.sock");
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM, 0));
  sockaddr_un address = address_of(path);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  std::thread peer([&listener] {
    UniqueFd connection(::accept(listener.get(), nullptr, nullptr));
    const char garbage[] = "[1,2]\n";
    EXPECT_EQ(::send(connection.get(), garbage, sizeof garbage - 1, MSG_NOSIGNAL), 6);
  });
  auto response = control_request(path, {{"command", "flush"}}, 2s);
  peer.join();
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, EPROTO);
}

TEST(ValidateRequest, AcceptsTheDocumentedForms) {
  EXPECT_EQ(validate_request({{"command", "reload"}}), std::nullopt);
  EXPECT_EQ(validate_request({{"command", "flush"}}), std::nullopt);
  EXPECT_EQ(validate_request({{"command", "show"}, {"table", "config"}}), std::nullopt);
}

// --- render_text -----------------------------------------------------------------------------

TEST(RenderText, BindingCacheIsAlignedTableInFixedColumnOrder) {
  json result = {{"bindings",
                  {{{"role", "home_agent"},
                    {"home_address", "2001:db8:1::100"},
                    {"care_of_address", "2001:db8:2::100"},
                    {"lifetime_s", 412},
                    {"sequence", 7},
                    {"flags", "HAL"},
                    {"home_registration", true}},
                   {{"role", "correspondent"},
                    {"home_address", "2001:db8:1::2"},
                    {"care_of_address", "2001:db8:5::20"},
                    {"lifetime_s", 9},
                    {"sequence", 65535},
                    {"flags", ""},
                    {"home_registration", false}}}}};
  EXPECT_EQ(render_text("bc", result),
            "home_address     care_of_address  lifetime_s  sequence  flags  home_registration  "
            "role\n"
            "2001:db8:1::100  2001:db8:2::100  412         7         HAL    yes                "
            "home_agent\n"
            "2001:db8:1::2    2001:db8:5::20   9           65535     -      no                 "
            "correspondent\n");
}

TEST(RenderText, EmptyTableIsNone) {
  EXPECT_EQ(render_text("bc", {{"bindings", json::array()}}), "(none)\n");
  EXPECT_EQ(render_text("hal", nullptr), "(none)\n");
}

TEST(RenderText, UnknownKeysAreAppendedAndNullShowsAsDash) {
  json result = {{"home_agents",
                  {{{"zone", "a"},
                    {"address", "2001:db8:1::1"},
                    {"link_local", nullptr},
                    {"preference", 10},
                    {"lifetime_s", 1800}}}}};
  EXPECT_EQ(render_text("hal", result),
            "address        link_local  preference  lifetime_s  zone\n"
            "2001:db8:1::1  -           10          1800        a\n");
}

TEST(RenderText, BindingUpdateListHasOneTitledSectionPerTable) {
  json result = {{"home_addresses",
                  {{{"home_address", "2001:db8:1::100"},
                    {"state", "registered"},
                    {"home_agent", "2001:db8:1::1"},
                    {"care_of_address", nullptr}}}},
                 {"entries", json::array()}};
  EXPECT_EQ(render_text("bul", result),
            "entries:\n"
            "  (none)\n"
            "home_addresses:\n"
            "  home_address     state       home_agent     care_of_address\n"
            "  2001:db8:1::100  registered  2001:db8:1::1  -\n");
}

TEST(RenderText, StatsAreSectionsOfAlignedNameValueLines) {
  json result = {{"daemon", {{"control_requests", 3}, {"uptime_s", 12}}},
                 {"home_agent", {{"bu_accepted", 2}, {"drop_bad_checksum", 0}}}};
  EXPECT_EQ(render_text("stats", result),
            "daemon:\n"
            "  control_requests  3\n"
            "  uptime_s          12\n"
            "home_agent:\n"
            "  bu_accepted        2\n"
            "  drop_bad_checksum  0\n");
}

TEST(RenderText, ConfigShowsScalarsFirstThenNestedSections) {
  json result = {{"node", {{"roles", {"home_agent", "correspondent"}}, {"interface", "eth0"}}},
                 {"log_level", "info"},
                 {"empty", json::object()}};
  EXPECT_EQ(render_text("config", result),
            "log_level  info\n"
            "empty:\n"
            "  (none)\n"
            "node:\n"
            "  interface  eth0\n"
            "  roles      home_agent, correspondent\n");
}

TEST(RenderText, StringResultIsPrintedAsItIs) {
  EXPECT_EQ(render_text("flush", "home_agent: 2 bindings removed"),
            "home_agent: 2 bindings removed\n");
}

}  // namespace
}  // namespace mipv6::daemon

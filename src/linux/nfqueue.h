// An NFQUEUE queue (libnetfilter-queue over libmnl) for the packets the kernel here cannot
// process itself: those with a Home Address option or a Type 2 Routing header, steered into the
// queue by the ip6tables rules of ip6tables.h (DESIGN.md §3, issue 8). The daemon inspects each
// packet, rewrites it (packet_rewrite.h) and hands it back, or drops it.
//
// The socket is nonblocking: register fd() with the EventLoop and call process() when it is
// readable. Every queued packet reaches the handler once, with the whole IPv6 packet (copy mode
// "packet"), in the network namespace where open() was called.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "linux/result.h"
#include "linux/route_netlink.h"
#include "wire/bytes.h"

namespace mipv6::linux_dp {

struct NfQueueOptions {
  std::uint16_t queue_number = 0;
  // Packets the kernel holds for us at most (NFQA_CFG_QUEUE_MAXLEN); past it, see fail_open.
  std::uint32_t max_length = 1024;
  // NFQA_CFG_F_FAIL_OPEN: when the queue is full the kernel accepts new packets unseen instead
  // of dropping them. Fail-closed (false) is the safe choice for the Mobile IPv6 headers: an
  // unseen Home Address option packet is dropped by the kernel anyway (DESIGN.md §3).
  bool fail_open = false;
  // Bytes of each packet copied to us (NFQNL_COPY_PACKET range); the default (as 0) is the
  // largest. A longer packet is cut, and QueuedPacket::original_length says so.
  std::uint32_t copy_range = 0xFFFF;
};

struct QueuedPacket {
  std::uint32_t id = 0;  // what a verdict names
  // The IPv6 packet, from its IPv6 header. Writable so that it can be rewritten in place and
  // returned with Verdict::accept_with(packet); valid only during the handler call.
  std::span<std::byte> packet;
  std::uint32_t in_ifindex = 0;   // 0: none (locally generated)
  std::uint32_t out_ifindex = 0;  // 0: not routed yet (PREROUTING)
  std::uint8_t hook = 0;          // NF_INET_* hook that queued it (0: PREROUTING)
  std::uint32_t mark = 0;
  // NFQA_SKB_CSUMNOTREADY: the upper-layer checksum is left for the hardware to fill (a locally
  // sent packet), so it cannot be verified here.
  bool checksum_not_ready = false;
  // The packet's real length when it was longer than copy_range (NFQA_CAP_LEN).
  std::optional<std::uint32_t> original_length{};
};

// What becomes of a queued packet.
struct Verdict {
  enum class Kind : std::uint8_t {
    kAccept,
    kDrop,
    kDeferred,  // the handler keeps the id and calls NfQueue::set_verdict() later
  };
  Kind kind = Kind::kAccept;
  // With kAccept: the bytes the kernel goes on with instead of the packet it queued. They must
  // stay valid until the verdict is sent (for a handler's verdict: until it returns).
  std::optional<wire::ByteSpan> replacement{};

  static Verdict accept() { return {}; }
  static Verdict drop() { return {Kind::kDrop, std::nullopt}; }
  static Verdict accept_with(wire::ByteSpan packet) { return {Kind::kAccept, packet}; }
  static Verdict deferred() { return {Kind::kDeferred, std::nullopt}; }
};

struct NfQueueStats {
  std::uint64_t packets = 0;   // handed to the handler
  std::uint64_t accepted = 0;  // verdicts sent
  std::uint64_t modified = 0;  // of which with a replacement packet
  std::uint64_t dropped = 0;
  // Times the socket's receive buffer overflowed (ENOBUFS): the kernel could not hand packets
  // over and dropped them.
  std::uint64_t overruns = 0;
};

class NfQueue {
 public:
  using Handler = std::function<Verdict(QueuedPacket&)>;

  // Binds queue `options.queue_number` for IPv6 in the current network namespace. Fails with
  // EPERM when another socket holds that queue number (or without CAP_NET_ADMIN).
  static Result<NfQueue> open(const NfQueueOptions& options, Handler handler);

  NfQueue(NfQueue&&) noexcept = default;
  NfQueue& operator=(NfQueue&&) noexcept = default;
  ~NfQueue() = default;  // closing the socket releases the queue (the kernel drops what waits)

  int fd() const;
  std::uint16_t queue_number() const { return options_.queue_number; }
  const NfQueueStats& stats() const { return stats_; }

  // Reads every message queued on the socket now, calls the handler for each packet and sends
  // its verdict. Returns how many packets were handled (0 when none was waiting). An error from
  // the kernel about an earlier verdict (e.g. ENOENT for an unknown id) is returned after the
  // packets read with it were handled.
  Result<std::size_t> process();

  // The verdict for a packet the handler deferred.
  Status set_verdict(std::uint32_t id, const Verdict& verdict);

 private:
  NfQueue(detail::MnlSocketPtr socket, const NfQueueOptions& options, Handler handler);
  Status configure();
  Status handle_message(const struct nlmsghdr* message);
  static int on_message(const struct nlmsghdr* message, void* context);

  detail::MnlSocketPtr socket_;
  NfQueueOptions options_;
  Handler handler_;
  std::uint32_t port_id_ = 0;
  std::vector<char> receive_buffer_;
  std::vector<char> send_buffer_;
  NfQueueStats stats_;
  Status handler_status_;  // the first failure inside one process() round
};

}  // namespace mipv6::linux_dp

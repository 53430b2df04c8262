#include "linux/nfqueue.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sys/socket.h>

namespace mipv6::linux_dp {
namespace {

// A whole 64 KiB packet plus its netlink and nfnetlink framing and attributes.
constexpr std::size_t kBufferSize = 0xFFFF + 4096;
// The largest replacement packet a verdict attribute can carry (16-bit nlattr length).
constexpr std::size_t kMaxReplacement = 0xFFFF - 4;
// Bounds one process() call so that a flood on the queue cannot starve the other watches of
// the event loop (epoll is level-triggered: the rest is read on the next round).
constexpr int kMaxDatagramsPerProcess = 256;
constexpr int kAckTimeoutMs = 2000;
constexpr std::uint32_t kConfigSequence = 1;

std::string queue_name(std::uint16_t number) {
  return "NFQUEUE " + std::to_string(number);
}

std::uint32_t u32_attribute(const nlattr* attribute) {
  return attribute == nullptr ? 0 : ntohl(mnl_attr_get_u32(attribute));
}

}  // namespace

NfQueue::NfQueue(detail::MnlSocketPtr socket, const NfQueueOptions& options, Handler handler)
    : socket_(std::move(socket)),
      options_(options),
      handler_(std::move(handler)),
      port_id_(mnl_socket_get_portid(socket_.get())),
      receive_buffer_(kBufferSize),
      send_buffer_(kBufferSize) {}

Result<NfQueue> NfQueue::open(const NfQueueOptions& options, Handler handler) {
  const std::string what = queue_name(options.queue_number);
  detail::MnlSocketPtr socket(mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!socket) return errno_error(what + ": netlink socket");
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return errno_error(what + ": netlink bind");
  NfQueue queue(std::move(socket), options, std::move(handler));
  if (auto s = queue.configure(); !s) return s.error();
  return queue;
}

int NfQueue::fd() const {
  return mnl_socket_get_fd(socket_.get());
}

// Binding, copy mode, queue length and flags go in one configuration message, so that no
// packet is queued to us before the copy mode says "the whole packet".
Status NfQueue::configure() {
  const std::string what = queue_name(options_.queue_number) + ": bind for IPv6";
  nlmsghdr* request = nfq_nlmsg_put(send_buffer_.data(), NFQNL_MSG_CONFIG, options_.queue_number);
  request->nlmsg_flags |= NLM_F_ACK;
  request->nlmsg_seq = kConfigSequence;
  nfq_nlmsg_cfg_put_cmd(request, AF_INET6, NFQNL_CFG_CMD_BIND);
  nfq_nlmsg_cfg_put_params(request, NFQNL_COPY_PACKET, static_cast<int>(options_.copy_range));
  nfq_nlmsg_cfg_put_qmaxlen(request, options_.max_length);
  mnl_attr_put_u32(request, NFQA_CFG_FLAGS, htonl(options_.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0));
  mnl_attr_put_u32(request, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
  if (mnl_socket_sendto(socket_.get(), request, request->nlmsg_len) < 0) return errno_error(what);

  // The kernel answers in the send call's context, so the ACK is normally waiting already.
  for (;;) {
    pollfd pfd{fd(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, kAckTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return errno_error(what + ": poll");
    if (ready == 0) return make_error(what + ": no answer from the kernel", ETIMEDOUT);
    ssize_t n = mnl_socket_recvfrom(socket_.get(), receive_buffer_.data(), receive_buffer_.size());
    if (n < 0) return errno_error(what + ": recv");
    int r = mnl_cb_run(receive_buffer_.data(), static_cast<std::size_t>(n), kConfigSequence,
                       port_id_, &NfQueue::on_message, this);
    if (r < 0) return errno_error(what);
    if (r == MNL_CB_STOP) return {};
  }
}

int NfQueue::on_message(const nlmsghdr* message, void* context) {
  auto* self = static_cast<NfQueue*>(context);
  auto s = self->handle_message(message);
  if (!s && self->handler_status_) self->handler_status_ = s;
  return MNL_CB_OK;
}

Status NfQueue::handle_message(const nlmsghdr* message) {
  const std::string what = queue_name(options_.queue_number);
  nlattr* attributes[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(message, attributes) < 0)
    return errno_error(what + ": unparsable packet message");
  // nfqnl_msg_packet_hdr: packet_id (be32), hw_protocol (be16), hook (u8); read bytewise.
  constexpr std::size_t kPacketHeaderSize = 7;
  const nlattr* header_attribute = attributes[NFQA_PACKET_HDR];
  if (header_attribute == nullptr || mnl_attr_get_payload_len(header_attribute) < kPacketHeaderSize)
    return make_error(what + ": packet message without its packet header", EBADMSG);
  const auto* header = static_cast<const unsigned char*>(mnl_attr_get_payload(header_attribute));
  std::uint32_t id_be = 0;
  std::memcpy(&id_be, header, sizeof id_be);

  QueuedPacket packet;
  packet.id = ntohl(id_be);
  packet.hook = header[6];
  // A message without payload (copy mode "meta") still gets its verdict from the handler.
  if (const nlattr* payload = attributes[NFQA_PAYLOAD]; payload != nullptr) {
    packet.packet = std::span<std::byte>(static_cast<std::byte*>(mnl_attr_get_payload(payload)),
                                         mnl_attr_get_payload_len(payload));
  }
  packet.in_ifindex = u32_attribute(attributes[NFQA_IFINDEX_INDEV]);
  packet.out_ifindex = u32_attribute(attributes[NFQA_IFINDEX_OUTDEV]);
  packet.mark = u32_attribute(attributes[NFQA_MARK]);
  packet.checksum_not_ready =
      (u32_attribute(attributes[NFQA_SKB_INFO]) & NFQA_SKB_CSUMNOTREADY) != 0;
  if (attributes[NFQA_CAP_LEN] != nullptr)
    packet.original_length = u32_attribute(attributes[NFQA_CAP_LEN]);

  ++stats_.packets;
  Verdict verdict = handler_(packet);
  if (verdict.kind == Verdict::Kind::kDeferred) return {};
  return set_verdict(packet.id, verdict);
}

Result<std::size_t> NfQueue::process() {
  handler_status_ = {};
  const std::uint64_t before = stats_.packets;
  for (int i = 0; i < kMaxDatagramsPerProcess; ++i) {
    ssize_t n = mnl_socket_recvfrom(socket_.get(), receive_buffer_.data(), receive_buffer_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        ++stats_.overruns;
        continue;
      }
      return errno_error(queue_name(options_.queue_number) + ": recv");
    }
    // Data messages carry sequence 0; an error message answers an earlier verdict.
    int r = mnl_cb_run(receive_buffer_.data(), static_cast<std::size_t>(n), 0, port_id_,
                       &NfQueue::on_message, this);
    if (r < 0 && handler_status_)
      handler_status_ = errno_error(queue_name(options_.queue_number) + ": verdict refused");
  }
  if (!handler_status_) return handler_status_.error();
  return static_cast<std::size_t>(stats_.packets - before);
}

Status NfQueue::set_verdict(std::uint32_t id, const Verdict& verdict) {
  const std::string what =
      queue_name(options_.queue_number) + ": verdict for packet " + std::to_string(id);
  if (verdict.kind == Verdict::Kind::kDeferred)
    return make_error(what + ": a verdict cannot be deferred twice", EINVAL);
  if (verdict.replacement && verdict.replacement->size() > kMaxReplacement)
    return make_error(
        what + ": replacement of " + std::to_string(verdict.replacement->size()) + " bytes",
        EMSGSIZE);
  const bool drop = verdict.kind == Verdict::Kind::kDrop;
  nlmsghdr* message = nfq_nlmsg_put(send_buffer_.data(), NFQNL_MSG_VERDICT, options_.queue_number);
  nfq_nlmsg_verdict_put(message, static_cast<int>(id), drop ? NF_DROP : NF_ACCEPT);
  if (!drop && verdict.replacement) {
    nfq_nlmsg_verdict_put_pkt(message, verdict.replacement->data(),
                              static_cast<std::uint32_t>(verdict.replacement->size()));
  }
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) return errno_error(what);
  if (drop) {
    ++stats_.dropped;
  } else {
    ++stats_.accepted;
    if (verdict.replacement) ++stats_.modified;
  }
  return {};
}

}  // namespace mipv6::linux_dp

// Codec throughput (issue 2): decode and encode of a home-registration Binding Update (Home
// Address option, Alternate Care-of Address) and of its Binding Acknowledgement (Type 2 Routing
// header, Binding Refresh Advice), as whole packets, in packets per second on one core. The
// baseline, measured in the same run, is a memcpy of the same packet bytes.
#include <benchmark/benchmark.h>

#include <cstring>

#include "wire/chain.h"
#include "wire/extension_headers.h"
#include "wire/mobility.h"
#include "wire/packet.h"

namespace {

using namespace mipv6::wire;

const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kHa = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");

MobilityHeader binding_update() {
  BindingUpdate bu;
  bu.sequence_number = 1000;
  bu.set_flag(kBuFlagA, true);
  bu.set_flag(kBuFlagH, true);
  bu.lifetime = 105;
  MobilityHeader mh;
  mh.message = bu;
  mh.options.push_back(AlternateCareOfAddress{kCoa});
  return mh;
}

MobilityHeader binding_acknowledgement() {
  BindingAcknowledgement ba;
  ba.sequence_number = 1000;
  ba.lifetime = 105;
  MobilityHeader mh;
  mh.message = ba;
  mh.options.push_back(BindingRefreshAdvice{75});
  return mh;
}

// The packet a mobile node sends (BU) or a home agent answers with (BA).
Bytes encode_packet(bool is_bu, Bytes& scratch) {
  PacketSpec spec;
  spec.header.source = is_bu ? kCoa : kHa;
  spec.header.destination = is_bu ? kHa : kCoa;
  spec.extension_headers.push_back(is_bu ? make_home_address_destination_options(kHoa)
                                         : make_type2_routing_header(kHoa));
  spec.upper_protocol = kIpProtoMobility;
  scratch.clear();
  (void)encode_mobility_header(is_bu ? binding_update() : binding_acknowledgement(), scratch);
  spec.upper = scratch;
  return build_packet(spec);
}

void decode(benchmark::State& state, bool is_bu) {
  Bytes scratch;
  const Bytes packet = encode_packet(is_bu, scratch);
  for (auto _ : state) {
    PacketLayout layout;
    auto status = walk_chain_into(packet, layout);
    auto mh = decode_mobility_header(ByteSpan(packet).subspan(layout.upper_offset));
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(mh);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(is_bu ? "baseline=MemcpyBu" : "baseline=MemcpyBa");
}

void encode(benchmark::State& state, bool is_bu) {
  Bytes scratch;
  for (auto _ : state) {
    Bytes packet = encode_packet(is_bu, scratch);
    benchmark::DoNotOptimize(packet.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(is_bu ? "baseline=MemcpyBu" : "baseline=MemcpyBa");
}

void copy(benchmark::State& state, bool is_bu) {
  Bytes scratch;
  const Bytes packet = encode_packet(is_bu, scratch);
  Bytes out(packet.size());
  for (auto _ : state) {
    std::memcpy(out.data(), packet.data(), packet.size());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodeBu(benchmark::State& s) {
  decode(s, true);
}
void BM_EncodeBu(benchmark::State& s) {
  encode(s, true);
}
void BM_MemcpyBu(benchmark::State& s) {
  copy(s, true);
}
void BM_DecodeBa(benchmark::State& s) {
  decode(s, false);
}
void BM_EncodeBa(benchmark::State& s) {
  encode(s, false);
}
void BM_MemcpyBa(benchmark::State& s) {
  copy(s, false);
}

BENCHMARK(BM_MemcpyBu);
BENCHMARK(BM_DecodeBu);
BENCHMARK(BM_EncodeBu);
BENCHMARK(BM_MemcpyBa);
BENCHMARK(BM_DecodeBa);
BENCHMARK(BM_EncodeBa);

}  // namespace

BENCHMARK_MAIN();

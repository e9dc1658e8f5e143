// Builds test frames byte by byte, with correct checksums, and checks the
// checksums of frames the datapath produced.
//
//   auto frame = PacketBuilder::ipv4("10.0.0.1", "10.0.0.2").vlan(7).tcp(1234, 80, kSyn).build();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/reference_evaluator.h"

namespace sluice::testkit {

inline constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

class PacketBuilder {
 public:
  static PacketBuilder ipv4(const std::string& src, const std::string& dst);
  static PacketBuilder ipv6(const std::string& src, const std::string& dst);
  // The headers the reference evaluator sees, as a frame.
  static PacketBuilder from_headers(const policy::PacketHeaders& h, std::uint16_t sport);

  PacketBuilder& vlan(std::uint16_t id, std::uint16_t tpid = 0x8100);
  PacketBuilder& ipv4_options(std::uint8_t bytes);  // multiple of 4, NOPs
  // An IPv6 extension header of type (0, 43, 60: 8 bytes; 44: fragment).
  PacketBuilder& ipv6_extension(std::uint8_t type, std::uint16_t fragment_offset = 0);
  PacketBuilder& ipv4_fragment(std::uint16_t offset_8byte_units, bool more);
  PacketBuilder& ttl(std::uint8_t ttl);
  PacketBuilder& tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags,
                     std::uint32_t seq = 1000, std::uint32_t ack = 0);
  PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport);
  // SCTP's common header (verification tag 1; its CRC32c is left zero).
  PacketBuilder& sctp(std::uint16_t sport, std::uint16_t dport);
  // ICMP or ICMPv6 (by family) with the 4 bytes after the checksum.
  PacketBuilder& icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest = 0);
  // ICMP error quoting a packet (from its IP header on).
  PacketBuilder& icmp_error(std::uint8_t type, std::uint8_t code,
                            const std::vector<std::uint8_t>& quoted_frame);
  PacketBuilder& payload(std::vector<std::uint8_t> bytes);

  std::vector<std::uint8_t> build() const;

 private:
  bool v6_ = false;
  std::uint8_t src_[16] = {}, dst_[16] = {};
  std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans_;
  std::uint8_t ip_options_ = 0;
  std::vector<std::pair<std::uint8_t, std::uint16_t>> ext_;
  std::uint16_t frag_ = 0;
  std::uint8_t ttl_ = 64;
  std::uint8_t proto_ = 0;
  std::vector<std::uint8_t> l4_;  // transport header + payload, checksum filled at build
  std::vector<std::uint8_t> payload_;
};

// Offset of the IP header in an Ethernet frame (after VLAN tags).
std::size_t l3_offset(const std::vector<std::uint8_t>& frame);

// True when the IPv4 header checksum (if IPv4) and the TCP/UDP/ICMP/ICMPv6
// checksum of frame are correct.
bool checksums_valid(const std::vector<std::uint8_t>& frame);

}  // namespace sluice::testkit

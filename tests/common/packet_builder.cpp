#include "common/packet_builder.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace sluice::testkit {

namespace {

void put16(std::vector<std::uint8_t>& v, std::size_t off, std::uint16_t x) {
  v[off] = static_cast<std::uint8_t>(x >> 8);
  v[off + 1] = static_cast<std::uint8_t>(x);
}

std::uint16_t get16(const std::vector<std::uint8_t>& v, std::size_t off) {
  return static_cast<std::uint16_t>(v[off] << 8 | v[off + 1]);
}

std::uint32_t sum_bytes(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// Checksum over the transport segment with the pseudo-header (none for ICMPv4).
std::uint32_t pseudo_sum(bool v6, const std::uint8_t* src, const std::uint8_t* dst,
                         std::uint8_t proto, std::size_t len) {
  if (proto == 1) return 0;
  std::uint32_t s = sum_bytes(src, v6 ? 16 : 4);
  s = sum_bytes(dst, v6 ? 16 : 4, s);
  return s + proto + static_cast<std::uint32_t>(len);
}

std::size_t checksum_offset(std::uint8_t proto) {
  switch (proto) {
    case 6:
      return 16;
    case 17:
      return 6;
    default:
      return 2;  // ICMP, ICMPv6
  }
}

}  // namespace

PacketBuilder PacketBuilder::ipv4(const std::string& src, const std::string& dst) {
  PacketBuilder b;
  if (inet_pton(AF_INET, src.c_str(), b.src_) != 1 || inet_pton(AF_INET, dst.c_str(), b.dst_) != 1)
    throw std::invalid_argument("bad IPv4 address " + src + " / " + dst);
  return b;
}

PacketBuilder PacketBuilder::ipv6(const std::string& src, const std::string& dst) {
  PacketBuilder b;
  b.v6_ = true;
  if (inet_pton(AF_INET6, src.c_str(), b.src_) != 1 ||
      inet_pton(AF_INET6, dst.c_str(), b.dst_) != 1)
    throw std::invalid_argument("bad IPv6 address " + src + " / " + dst);
  return b;
}

PacketBuilder PacketBuilder::from_headers(const policy::PacketHeaders& h, std::uint16_t sport) {
  PacketBuilder b;
  b.v6_ = h.family == config::Family::V6;
  std::copy(h.src.begin(), h.src.end(), b.src_);
  std::copy(h.dst.begin(), h.dst.end(), b.dst_);
  if (h.proto == 6)
    b.tcp(sport, h.dport, kSyn);
  else if (h.proto == 17)
    b.udp(sport, h.dport);
  else
    b.icmp(h.icmp_type, h.icmp_code, static_cast<std::uint32_t>(sport) << 16 | 1);
  return b;
}

PacketBuilder& PacketBuilder::vlan(std::uint16_t id, std::uint16_t tpid) {
  vlans_.push_back({tpid, id});
  return *this;
}

PacketBuilder& PacketBuilder::ipv4_options(std::uint8_t bytes) {
  ip_options_ = bytes;
  return *this;
}

PacketBuilder& PacketBuilder::ipv6_extension(std::uint8_t type, std::uint16_t fragment_offset) {
  ext_.push_back({type, fragment_offset});
  return *this;
}

PacketBuilder& PacketBuilder::ipv4_fragment(std::uint16_t offset, bool more) {
  frag_ = static_cast<std::uint16_t>(offset | (more ? 0x2000 : 0));
  return *this;
}

PacketBuilder& PacketBuilder::ttl(std::uint8_t t) {
  ttl_ = t;
  return *this;
}

PacketBuilder& PacketBuilder::tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags,
                                  std::uint32_t seq, std::uint32_t ack) {
  proto_ = 6;
  l4_.assign(20, 0);
  put16(l4_, 0, sport);
  put16(l4_, 2, dport);
  put16(l4_, 4, static_cast<std::uint16_t>(seq >> 16));
  put16(l4_, 6, static_cast<std::uint16_t>(seq));
  put16(l4_, 8, static_cast<std::uint16_t>(ack >> 16));
  put16(l4_, 10, static_cast<std::uint16_t>(ack));
  l4_[12] = 5 << 4;
  l4_[13] = flags;
  put16(l4_, 14, 65535);
  return *this;
}

PacketBuilder& PacketBuilder::udp(std::uint16_t sport, std::uint16_t dport) {
  proto_ = 17;
  l4_.assign(8, 0);
  put16(l4_, 0, sport);
  put16(l4_, 2, dport);
  return *this;
}

PacketBuilder& PacketBuilder::sctp(std::uint16_t sport, std::uint16_t dport) {
  proto_ = 132;
  l4_.assign(12, 0);
  put16(l4_, 0, sport);
  put16(l4_, 2, dport);
  put16(l4_, 6, 1);
  return *this;
}

PacketBuilder& PacketBuilder::icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest) {
  proto_ = v6_ ? 58 : 1;
  l4_.assign(8, 0);
  l4_[0] = type;
  l4_[1] = code;
  put16(l4_, 4, static_cast<std::uint16_t>(rest >> 16));
  put16(l4_, 6, static_cast<std::uint16_t>(rest));
  return *this;
}

PacketBuilder& PacketBuilder::icmp_error(std::uint8_t type, std::uint8_t code,
                                         const std::vector<std::uint8_t>& quoted_frame) {
  icmp(type, code);
  auto off = l3_offset(quoted_frame);
  payload_.assign(quoted_frame.begin() + static_cast<long>(off), quoted_frame.end());
  return *this;
}

PacketBuilder& PacketBuilder::payload(std::vector<std::uint8_t> bytes) {
  payload_ = std::move(bytes);
  return *this;
}

std::vector<std::uint8_t> PacketBuilder::build() const {
  std::vector<std::uint8_t> f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (auto [tpid, id] : vlans_) {
    f.resize(f.size() + 4);
    put16(f, f.size() - 4, tpid);
    put16(f, f.size() - 2, id);
  }
  f.resize(f.size() + 2);
  put16(f, f.size() - 2, v6_ ? 0x86dd : 0x0800);

  std::vector<std::uint8_t> seg = l4_;
  seg.insert(seg.end(), payload_.begin(), payload_.end());
  if (proto_ == 17) put16(seg, 4, static_cast<std::uint16_t>(seg.size()));
  if (!seg.empty() && proto_ != 132) {  // SCTP's is a CRC32c, not computed
    std::size_t co = checksum_offset(proto_);
    put16(seg, co, 0);
    std::uint32_t s = pseudo_sum(v6_, src_, dst_, proto_, seg.size());
    put16(seg, co, fold(sum_bytes(seg.data(), seg.size(), s)));
  }

  std::size_t l3 = f.size();
  if (!v6_) {
    std::size_t hl = 20 + ip_options_;
    f.resize(l3 + hl, 0x01);  // options: NOPs
    f[l3] = static_cast<std::uint8_t>(0x40 | hl / 4);
    f[l3 + 1] = 0;
    put16(f, l3 + 2, static_cast<std::uint16_t>(hl + seg.size()));
    put16(f, l3 + 4, 0x1234);
    put16(f, l3 + 6, frag_);
    f[l3 + 8] = ttl_;
    f[l3 + 9] = proto_;
    put16(f, l3 + 10, 0);
    std::copy(src_, src_ + 4, f.begin() + static_cast<long>(l3 + 12));
    std::copy(dst_, dst_ + 4, f.begin() + static_cast<long>(l3 + 16));
    put16(f, l3 + 10, fold(sum_bytes(&f[l3], hl)));
  } else {
    std::vector<std::uint8_t> ext;
    for (std::size_t i = 0; i < ext_.size(); ++i) {
      std::uint8_t next = i + 1 < ext_.size() ? ext_[i + 1].first : proto_;
      std::vector<std::uint8_t> h(8, 0);
      h[0] = next;
      if (ext_[i].first == 44) put16(h, 2, static_cast<std::uint16_t>(ext_[i].second << 3));
      ext.insert(ext.end(), h.begin(), h.end());
    }
    f.resize(l3 + 40, 0);
    f[l3] = 0x60;
    put16(f, l3 + 4, static_cast<std::uint16_t>(ext.size() + seg.size()));
    f[l3 + 6] = ext_.empty() ? proto_ : ext_[0].first;
    f[l3 + 7] = ttl_;
    std::copy(src_, src_ + 16, f.begin() + static_cast<long>(l3 + 8));
    std::copy(dst_, dst_ + 16, f.begin() + static_cast<long>(l3 + 24));
    f.insert(f.end(), ext.begin(), ext.end());
  }
  f.insert(f.end(), seg.begin(), seg.end());
  return f;
}

std::size_t l3_offset(const std::vector<std::uint8_t>& frame) {
  std::size_t off = 12;
  while (off + 2 <= frame.size() && (get16(frame, off) == 0x8100 || get16(frame, off) == 0x88a8))
    off += 4;
  return off + 2;
}

bool checksums_valid(const std::vector<std::uint8_t>& f) {
  std::size_t l3 = l3_offset(f);
  if (l3 >= f.size()) return false;
  bool v6 = (f[l3] >> 4) == 6;
  std::size_t l4;
  std::uint8_t proto;
  const std::uint8_t *src, *dst;
  if (!v6) {
    std::size_t hl = (f[l3] & 0xf) * 4u;
    if (fold(sum_bytes(&f[l3], hl)) != 0) return false;
    l4 = l3 + hl;
    proto = f[l3 + 9];
    src = &f[l3 + 12];
    dst = &f[l3 + 16];
    if (get16(f, l3 + 2) != f.size() - l3) return false;
  } else {
    l4 = l3 + 40;  // callers check frames without extension headers
    proto = f[l3 + 6];
    src = &f[l3 + 8];
    dst = &f[l3 + 24];
    if (get16(f, l3 + 4) != f.size() - l4) return false;
  }
  std::size_t len = f.size() - l4;
  std::uint32_t s = pseudo_sum(v6, src, dst, proto, len);
  return fold(sum_bytes(&f[l4], len, s)) == 0;
}

}  // namespace sluice::testkit

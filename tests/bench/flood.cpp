// Small-packet generator for the forwarding benchmark: UDP/IPv4 frames, a
// new 5-tuple in every packet (source address, source port and destination
// address all walk ranges, so that neither conntrack nor masquerade runs
// out of tuples), sent as fast as one core can through an AF_PACKET socket
// with sendmmsg, bypassing the qdisc.
//
//   flood IFNAME DST_MAC SRC_NET DST_NET SECONDS [SOURCES [FLOWS]]
//     SRC_NET, DST_NET: /16s the addresses are drawn from, e.g. 10.10.0.0
//     SOURCES: how many source addresses to use (default 65533, at most)
//     FLOWS: 0 (default) for a new 5-tuple in every packet; N > 0 to cycle
//       through N tuples, so that after the first N packets every packet
//       belongs to an established flow
//   prints "sent N" when done.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr int kBatch = 64;
constexpr int kPayload = 18;  // 14 + 20 + 8 + 18 = 60 bytes: a minimal frame
constexpr std::size_t kFrame = sizeof(ether_header) + sizeof(iphdr) + sizeof(udphdr) + kPayload;

std::uint16_t ip_checksum(const void* data, std::size_t len) {
  const auto* p = static_cast<const std::uint16_t*>(data);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < len / 2; ++i) sum += p[i];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

bool parse_mac(const char* text, std::uint8_t* mac) {
  unsigned v[6];
  if (std::sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>(v[i]);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || argc > 8) {
    std::fprintf(stderr, "usage: flood IFNAME DST_MAC SRC_NET DST_NET SECONDS [SOURCES [FLOWS]]\n");
    return 2;
  }
  long sources = argc >= 7 ? std::atol(argv[6]) : 65533;
  long flows = argc == 8 ? std::atol(argv[7]) : 0;
  unsigned ifindex = if_nametoindex(argv[1]);
  std::uint8_t dst_mac[6];
  in_addr src_net{}, dst{};
  double seconds = std::atof(argv[5]);
  if (!ifindex || !parse_mac(argv[2], dst_mac) || inet_pton(AF_INET, argv[3], &src_net) != 1 ||
      inet_pton(AF_INET, argv[4], &dst) != 1 || seconds <= 0 || sources < 1 || sources > 65533 ||
      flows < 0) {
    std::fprintf(stderr, "flood: bad arguments\n");
    return 2;
  }

  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    std::perror("flood: socket");
    return 1;
  }
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = static_cast<int>(ifindex);
  addr.sll_halen = 6;
  std::memcpy(addr.sll_addr, dst_mac, 6);

  ifreq ifr{};
  std::strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    std::perror("flood: SIOCGIFHWADDR");
    return 1;
  }

  std::vector<std::array<std::uint8_t, kFrame>> frames(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    auto* f = frames[i].data();
    std::memset(f, 0, kFrame);
    auto* eth = reinterpret_cast<ether_header*>(f);
    std::memcpy(eth->ether_dhost, dst_mac, 6);
    std::memcpy(eth->ether_shost, ifr.ifr_hwaddr.sa_data, 6);
    eth->ether_type = htons(ETHERTYPE_IP);
    auto* ip = reinterpret_cast<iphdr*>(f + sizeof(ether_header));
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(sizeof(iphdr) + sizeof(udphdr) + kPayload);
    ip->daddr = dst.s_addr;
    auto* udp = reinterpret_cast<udphdr*>(f + sizeof(ether_header) + sizeof(iphdr));
    udp->dest = htons(9);
    udp->len = htons(sizeof(udphdr) + kPayload);
    iov[i] = {f, kFrame};
    msgs[i].msg_hdr.msg_name = &addr;
    msgs[i].msg_hdr.msg_namelen = sizeof addr;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  // Source address, destination address and source port change with every
  // packet, each with its own (coprime) period: no tuple repeats within a
  // run, unless FLOWS makes the sequence start over every FLOWS packets.
  std::uint32_t net = ntohl(src_net.s_addr) & 0xffff0000u;
  std::uint32_t dnet = ntohl(dst.s_addr) & 0xffff0000u;
  std::uint64_t n = 0, sent = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < kBatch; ++i, ++n) {
      std::uint64_t k = flows > 0 ? n % static_cast<std::uint64_t>(flows) : n;
      auto* f = frames[i].data();
      auto* ip = reinterpret_cast<iphdr*>(f + sizeof(ether_header));
      auto* udp = reinterpret_cast<udphdr*>(f + sizeof(ether_header) + sizeof(iphdr));
      ip->saddr =
          htonl(net | static_cast<std::uint32_t>(k % static_cast<std::uint64_t>(sources) + 1));
      ip->daddr = htonl(dnet | static_cast<std::uint32_t>(k % 65521 + 1));
      udp->source = htons(static_cast<std::uint16_t>(1024 + k % 59999));
      ip->check = 0;
      ip->check = ip_checksum(ip, sizeof(iphdr));
    }
    int r = sendmmsg(fd, msgs.data(), kBatch, 0);
    if (r > 0) sent += static_cast<std::uint64_t>(r);
  }
  std::printf("sent %llu\n", static_cast<unsigned long long>(sent));
  close(fd);
  return 0;
}

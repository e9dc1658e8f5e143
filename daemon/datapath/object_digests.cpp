#include "datapath/object_digests.h"

#include <sodium.h>

#include <cstdint>

#include "tc_egress.skel.h"
#include "tc_ingress.skel.h"
#include "xdp_ingress.skel.h"

namespace sluice::datapath {
namespace {

ObjectDigest digest(const char* name, const void* bytes, std::size_t size) {
  unsigned char sum[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sum, static_cast<const unsigned char*>(bytes), size);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
  return {name, hex};
}

}  // namespace

std::vector<ObjectDigest> object_digests() {
  std::size_t size = 0;
  std::vector<ObjectDigest> out;
  const void* bytes = xdp_ingress_bpf__elf_bytes(&size);
  out.push_back(digest("xdp_ingress", bytes, size));
  bytes = tc_ingress_bpf__elf_bytes(&size);
  out.push_back(digest("tc_ingress", bytes, size));
  bytes = tc_egress_bpf__elf_bytes(&size);
  out.push_back(digest("tc_egress", bytes, size));
  return out;
}

}  // namespace sluice::datapath

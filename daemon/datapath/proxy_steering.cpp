// The datapath's side of the L7 proxy: its listeners in the sockmap tc
// ingress steers to, and the sk_lookup program on the network namespace.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include "datapath/bpf_error.h"
#include "datapath/datapath_impl.h"

namespace sluice::datapath {

Datapath::Impl::~Impl() {
  if (proxy_lookup) bpf_link__destroy(proxy_lookup);
}

namespace {

std::uint32_t checked_key(std::uint16_t slot, config::Family family) {
  if (slot == 0 || slot >= SLUICE_MAX_PROXY_SLOTS)
    throw BpfError("proxy slot " + std::to_string(slot) + " is out of range", EINVAL);
  return sluice_proxy_key(slot,
                          family == config::Family::V6 ? SLUICE_FAMILY_IPV6 : SLUICE_FAMILY_IPV4);
}

}  // namespace

void Datapath::set_proxy_listener(std::uint16_t slot, config::Family family, int listen_fd) {
  std::uint32_t key = checked_key(slot, family);
  std::uint64_t value = static_cast<std::uint32_t>(listen_fd);
  if (bpf_map_update_elem(impl_->map(impl_->ingress->maps.proxy_listeners), &key, &value,
                          BPF_ANY) != 0)
    throw BpfError("putting the proxy listener of slot " + std::to_string(slot) + " in place",
                   errno);
}

void Datapath::remove_proxy_listener(std::uint16_t slot, config::Family family) {
  std::uint32_t key = checked_key(slot, family);
  // A sockmap says EINVAL for a slot that holds no socket.
  if (bpf_map_delete_elem(impl_->map(impl_->ingress->maps.proxy_listeners), &key) != 0 &&
      errno != ENOENT && errno != EINVAL)
    throw BpfError("removing the proxy listener of slot " + std::to_string(slot), errno);
}

int Datapath::proxy_listeners_fd() const {
  return impl_->map(impl_->ingress->maps.proxy_listeners);
}

void Datapath::attach_proxy_lookup(int netns_fd) {
  auto& d = *impl_;
  if (d.proxy_lookup) return;
  bpf_link* link = bpf_program__attach_netns(d.ingress->progs.sluice_proxy_lookup, netns_fd);
  if (!link) throw BpfError("attaching the proxy's socket lookup to the network namespace", errno);
  d.proxy_lookup = link;
}

}  // namespace sluice::datapath

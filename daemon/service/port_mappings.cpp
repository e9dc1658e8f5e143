#include "service/port_mappings.h"

#include <nlohmann/json.hpp>

namespace sluice::service {

namespace {

using json = nlohmann::json;

bool port_in(const json& v, std::uint16_t& out) {
  if (!v.is_number_integer()) return false;
  auto n = v.get<std::int64_t>();
  if (n < 1 || n > 65535) return false;
  out = static_cast<std::uint16_t>(n);
  return true;
}

}  // namespace

PortMappingsRead read_port_mappings(const json& config) {
  PortMappingsRead out;
  auto rc = config.find("runtimeConfig");
  if (rc == config.end() || !rc->is_object()) return out;
  auto list = rc->find("portMappings");
  if (list == rc->end() || list->is_null()) return out;
  if (!list->is_array()) {
    out.error = "runtimeConfig.portMappings must be an array";
    return out;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& m = (*list)[i];
    std::string where = "runtimeConfig.portMappings[" + std::to_string(i) + "]";
    if (!m.is_object()) {
      out.error = where + " must be an object";
      return out;
    }
    policy::PublishedPort p;
    if (!port_in(m.value("hostPort", json()), p.host_port) ||
        !port_in(m.value("containerPort", json()), p.container_port)) {
      out.error = where + " needs hostPort and containerPort, each 1-65535";
      return out;
    }
    auto proto = m.value("protocol", json("tcp"));
    if (proto == "tcp" || proto == "TCP") {
      p.proto = config::Protocol::Tcp;
    } else if (proto == "udp" || proto == "UDP") {
      p.proto = config::Protocol::Udp;
    } else {
      out.error = where + ".protocol: " + proto.dump() + " cannot be published; use tcp or udp";
      return out;
    }
    auto ip = m.value("hostIP", json(""));
    if (!ip.is_string()) {
      out.error = where + ".hostIP must be a string";
      return out;
    }
    if (!ip.get<std::string>().empty()) {
      auto parsed = config::parse_prefix(ip.get<std::string>());
      if (!parsed.prefix || parsed.prefix->to_string().find('/') != std::string::npos) {
        out.error = where + ".hostIP: '" + ip.get<std::string>() + "' is not an address";
        return out;
      }
      // 0.0.0.0 and :: mean every address, as portmap reads them.
      bool unspecified = true;
      for (auto b : parsed.prefix->addr) unspecified &= b == 0;
      if (!unspecified) p.host_ip = parsed.prefix;
    }
    out.ports.push_back(p);
  }
  return out;
}

json ports_to_json(const std::vector<policy::PublishedPort>& ports) {
  json out = json::array();
  for (const auto& p : ports) {
    json j = {{"proto", config::to_string(p.proto)},
              {"host_port", p.host_port},
              {"container_port", p.container_port}};
    if (p.host_ip) j["host_ip"] = p.host_ip->to_string();
    out.push_back(j);
  }
  return out;
}

std::string ports_to_text(const std::vector<policy::PublishedPort>& ports) {
  return ports_to_json(ports).dump();
}

std::vector<policy::PublishedPort> ports_from_text(const std::string& text) {
  std::vector<policy::PublishedPort> out;
  auto j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object()) continue;
    policy::PublishedPort p;
    p.proto = e.value("proto", "tcp") == "udp" ? config::Protocol::Udp : config::Protocol::Tcp;
    p.host_port = e.value("host_port", std::uint16_t{0});
    p.container_port = e.value("container_port", std::uint16_t{0});
    if (e.contains("host_ip"))
      p.host_ip = config::parse_prefix(e["host_ip"].get<std::string>()).prefix;
    if (p.host_port && p.container_port) out.push_back(p);
  }
  return out;
}

}  // namespace sluice::service

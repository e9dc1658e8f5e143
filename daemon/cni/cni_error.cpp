#include "cni/cni_error.h"

namespace sluice::cni {

nlohmann::json to_json(const Error& e, const std::string& cni_version) {
  nlohmann::json j = {{"cniVersion", cni_version}, {"code", e.code}, {"msg", e.msg}};
  if (!e.details.empty()) j["details"] = e.details;
  return j;
}

}  // namespace sluice::cni

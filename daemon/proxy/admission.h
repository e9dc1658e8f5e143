// The proxy's connection limits across its worker threads: how many
// connections it holds in all, and how many each source holds. Every
// accept asks here first and every closed connection gives its place back,
// so max_connections and max_connections_per_source hold for the process,
// whichever worker a connection lands on.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace sluice::proxy {

class Admission {
 public:
  enum class Verdict { Admitted, Full, SourceFull };

  // Takes a place for a connection from source, or says why not.
  Verdict admit(const std::string& source, std::size_t max_total, std::size_t max_per_source);
  // Gives back the place an admitted connection from source held.
  void release(const std::string& source);
  std::size_t total() const;

 private:
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_source_;
};

}  // namespace sluice::proxy

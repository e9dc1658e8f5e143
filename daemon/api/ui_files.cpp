#include "api/ui_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace sluice::api {
namespace {

const char* content_type(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".json") return "application/json";
  if (ext == ".ico") return "image/x-icon";
  return nullptr;  // not something the UI serves
}

UiFile refused(int status, std::string why) {
  UiFile out;
  out.status = status;
  out.error = std::move(why);
  return out;
}

}  // namespace

UiFile read_ui_file(const std::string& webui_dir, const std::string& request_path) {
  namespace fs = std::filesystem;
  std::string path = request_path == "/" ? "/index.html" : request_path;
  if (path.find('\0') != std::string::npos || path.find("..") != std::string::npos ||
      path.find('\\') != std::string::npos)
    return refused(400, "not a file of the web UI");
  std::error_code ec;
  auto root = fs::canonical(webui_dir, ec);
  if (ec) return refused(404, "the web UI is not installed (" + webui_dir + ")");
  auto file = fs::weakly_canonical(root / path.substr(1), ec);
  auto rel = file.lexically_relative(root).string();
  if (ec || rel.empty() || rel.rfind("..", 0) == 0 || !fs::is_regular_file(file, ec))
    return refused(404, "no such file");
  const char* type = content_type(file);
  if (!type) return refused(404, "no such file");
  std::ifstream in(file, std::ios::binary);
  UiFile out;
  out.content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  out.type = type;
  return out;
}

}  // namespace sluice::api

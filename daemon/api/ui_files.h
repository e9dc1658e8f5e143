// The web UI's files as the API serves them: only regular files whose
// real path is inside the UI's directory, of the types the UI uses.
#pragma once

#include <string>

namespace sluice::api {

struct UiFile {
  int status = 200;   // 400 or 404 when refused
  std::string error;  // why, when refused
  std::string content;
  const char* type = "";  // its Content-Type
};

// The file for a request path ("/" is "/index.html").
UiFile read_ui_file(const std::string& webui_dir, const std::string& request_path);

}  // namespace sluice::api

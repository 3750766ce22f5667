#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "headroom/daemon/daemon.h"

namespace headroom::daemon {
namespace {

// Collects the parser's messages so the error names file, line and column.
class Collector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(line + 1, ":", column + 1, ": ", message));
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

std::string XdgDir(const char* variable, const char* home_fallback) {
  const char* value = std::getenv(variable);
  if (value != nullptr && value[0] == '/') return value;
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "/tmp", "/", home_fallback);
}

}  // namespace

std::string DefaultConfigPath() {
  return XdgDir("XDG_CONFIG_HOME", ".config") + "/headroom/headroomd.txtpb";
}

std::string DefaultStateDir() { return XdgDir("XDG_STATE_HOME", ".local/state") + "/headroom"; }

absl::StatusOr<headroom::v1::DaemonConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config file ", path, " cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  headroom::v1::DaemonConfig config;
  google::protobuf::TextFormat::Parser parser;
  Collector collector;
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(text.str(), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", absl::StrJoin(collector.errors(), "; ")));
  }
  return config;
}

}  // namespace headroom::daemon

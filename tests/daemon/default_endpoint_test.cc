// The default endpoint rule (headroom/endpoint/default_endpoint.h) that the daemon, the CLI,
// libheadroom and the tray share.
#include "headroom/endpoint/default_endpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace headroom::endpoint {
namespace {

// Sets (or, with nullopt, unsets) an environment variable for one test and restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string Fallback() { return "/tmp/headroom-" + std::to_string(getuid()) + "/headroomd.sock"; }

TEST(DefaultEndpointTest, SocketUnderXdgRuntimeDir) {
  ScopedEnv runtime("XDG_RUNTIME_DIR", "/run/user/1000");
  ScopedEnv endpoint("HEADROOM_ENDPOINT", std::nullopt);
  EXPECT_EQ(DefaultSocketPath(), "/run/user/1000/headroom/headroomd.sock");
  EXPECT_EQ(DefaultEndpoint(), "unix:/run/user/1000/headroom/headroomd.sock");
  EXPECT_EQ(EndpointFromEnvironment(), "unix:/run/user/1000/headroom/headroomd.sock");
}

TEST(DefaultEndpointTest, FallbackWhenXdgRuntimeDirIsUnsetEmptyOrRelative) {
  ScopedEnv endpoint("HEADROOM_ENDPOINT", std::nullopt);
  for (const std::optional<std::string>& value :
       {std::optional<std::string>(), std::optional<std::string>(""),
        std::optional<std::string>("run/user/1000")}) {
    ScopedEnv runtime("XDG_RUNTIME_DIR", value);
    // The plugin and the tray used to take a relative value, the daemon did not: they looked
    // for the daemon where it never listened.
    EXPECT_EQ(DefaultSocketPath(), Fallback()) << value.value_or("(unset)");
    EXPECT_EQ(EndpointFromEnvironment(), "unix:" + Fallback()) << value.value_or("(unset)");
  }
}

TEST(DefaultEndpointTest, HeadroomEndpointOverridesUnlessEmpty) {
  ScopedEnv runtime("XDG_RUNTIME_DIR", "/run/user/1000");
  {
    ScopedEnv endpoint("HEADROOM_ENDPOINT", "127.0.0.1:50051");
    EXPECT_EQ(EndpointFromEnvironment(), "127.0.0.1:50051");
    // The daemon's own default socket does not follow it (it is where clients look for it).
    EXPECT_EQ(DefaultEndpoint(), "unix:/run/user/1000/headroom/headroomd.sock");
  }
  ScopedEnv empty("HEADROOM_ENDPOINT", "");
  EXPECT_EQ(EndpointFromEnvironment(), "unix:/run/user/1000/headroom/headroomd.sock");
}

}  // namespace
}  // namespace headroom::endpoint

// What the tray shows and says: the latest fit of every watched model, the icon state they
// add up to, the menu lines, and which changes become desktop notifications (rate-limited,
// urgency matching the change). Pure: events and the time come in as values. Not thread-safe;
// the tray touches it from its main loop only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "headroom/v1/fit.pb.h"

namespace headroom::tray {

// The icon's state, worst first.
enum class TrayState {
  kDaemonDown,   // no daemon answers: nothing shown is current
  kSomeDoNotFit, // a model no longer runs here at all
  kSomePartial,  // a model runs only partly on the GPU (or on the CPU)
  kAllFit,       // every watched model fits on the GPU
  kNoModels,     // connected, nothing to watch
};
const char* TrayStateName(TrayState state);

enum class Urgency { kLow = 0, kNormal = 1, kCritical = 2 };  // freedesktop urgency levels

struct Notification {
  std::string key;
  std::string summary;
  std::string body;
  Urgency urgency = Urgency::kNormal;
};

struct BoardOptions {
  double min_interval_s = 30;  // per model
  int max_per_minute = 6;      // over all models
};

class FitBoard {
 public:
  explicit FitBoard(BoardOptions options = {}) : options_(options) {}

  // Registers a model to watch with the name people know it by.
  void AddModel(const std::string& key, const std::string& display_name);

  // Folds in one event; returns the notification to show, if any.
  std::optional<Notification> OnEvent(const headroom::v1::FitEvent& event, double now_s);

  // The stream broke: everything becomes "last known", the state kDaemonDown.
  void OnDisconnected(double now_s);
  // Connected again: statuses stay "last known" until each model's next event.
  void OnConnected();

  TrayState state() const;
  // One line per model: "Qwen3 8B Q4_K_M: fits, 32768 ctx, 41 tok/s", sorted by name.
  std::vector<std::string> MenuLines() const;
  std::string Tooltip() const;

 private:
  struct Entry {
    std::string display_name;
    std::optional<headroom::v1::Estimate> estimate;  // latest answer
    std::string error;                              // latest failure to answer
    bool current = false;                           // from the live stream, not stale
    double last_notified_s = -1e18;
  };
  std::optional<Notification> Compose(const Entry& entry, const headroom::v1::FitEvent& e) const;
  bool Allow(Entry& entry, double now_s);

  BoardOptions options_;
  std::map<std::string, Entry> entries_;
  std::vector<double> recent_s_;  // times of recent notifications (global rate limit)
  bool connected_ = false;
};

// "2.1 GiB" (GiB = 2^30 bytes), one decimal.
std::string GiB(uint64_t bytes);

}  // namespace headroom::tray

// The desktop side of headroom-tray: a StatusNotifierItem (libayatana-appindicator) whose
// icon and status follow the FitBoard, a menu with one line per model, and freedesktop
// notifications (libnotify). Everything here runs on the GTK main loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "headroom/tray/fit_board.h"
#include "headroom/v1/fit.pb.h"

namespace headroom::tray {

struct TrayAppOptions {
  std::string endpoint;
  headroom::v1::WatchFitRequest watch;
  std::vector<std::pair<std::string, std::string>> names;  // key -> display name
  BoardOptions board;
};

// Runs until Quit is chosen or SIGTERM/SIGINT; returns the exit code. gtk_init must have run.
int RunTrayApp(const TrayAppOptions& options);

}  // namespace headroom::tray

#include "tray_app.h"

#include <glib-unix.h>
#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>
#include <libnotify/notify.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "fit_watcher.h"

namespace headroom::tray {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Icon names from the freedesktop icon theme, so every panel has them.
const char* IconFor(TrayState state) {
  switch (state) {
    case TrayState::kAllFit:
      return "emblem-default";
    case TrayState::kSomePartial:
      return "dialog-warning";
    case TrayState::kSomeDoNotFit:
      return "dialog-error";
    case TrayState::kNoModels:
      return "dialog-information";
    case TrayState::kDaemonDown:
      return "network-offline";
  }
  return "dialog-question";
}

class TrayApp {
 public:
  explicit TrayApp(const TrayAppOptions& options) : board_(options.board) {
    for (const auto& [key, name] : options.names) board_.AddModel(key, name);
    indicator_ = app_indicator_new("headroom-tray", IconFor(TrayState::kDaemonDown),
                                   APP_INDICATOR_CATEGORY_APPLICATION_STATUS);
    app_indicator_set_attention_icon_full(indicator_, "dialog-error", "a model no longer fits");
    app_indicator_set_title(indicator_, "Headroom");
    Render();
    watcher_ = std::make_unique<FitWatcher>(
        options.endpoint, options.watch,
        FitWatcher::Callbacks{
            .on_connected = [this] { Post([](TrayApp* app) { app->board_.OnConnected(); }); },
            .on_event =
                [this](const headroom::v1::FitEvent& event) {
                  Post([event](TrayApp* app) { app->HandleEvent(event); });
                },
            .on_disconnected =
                [this](const std::string& why) {
                  Post([why](TrayApp* app) {
                    std::fprintf(stderr, "headroom-tray: daemon not reachable: %s\n",
                                 why.c_str());
                    app->board_.OnDisconnected(NowSeconds());
                    app->Render();
                  });
                }});
    watcher_->Start();
  }

  ~TrayApp() {
    watcher_->Stop();  // no callback runs after this
    g_object_unref(indicator_);
  }
  TrayApp(const TrayApp&) = delete;
  TrayApp& operator=(const TrayApp&) = delete;

 private:
  // Runs `fn` on the GTK main loop (callbacks arrive on the watcher's thread).
  template <typename Fn>
  void Post(Fn fn) {
    struct Job {
      TrayApp* app;
      Fn fn;
    };
    g_idle_add(
        [](gpointer data) -> gboolean {
          auto* job = static_cast<Job*>(data);
          job->fn(job->app);
          delete job;
          return G_SOURCE_REMOVE;
        },
        new Job{this, std::move(fn)});
  }

  void HandleEvent(const headroom::v1::FitEvent& event) {
    std::optional<Notification> note = board_.OnEvent(event, NowSeconds());
    Render();
    if (!note.has_value()) return;
    std::fprintf(stderr, "headroom-tray: notify: %s: %s\n", note->summary.c_str(),
                 note->body.c_str());
    NotifyNotification* n =
        notify_notification_new(note->summary.c_str(), note->body.c_str(),
                                note->urgency == Urgency::kLow ? "emblem-default"
                                                               : "dialog-warning");
    notify_notification_set_urgency(n, static_cast<NotifyUrgency>(note->urgency));
    notify_notification_set_app_name(n, "Headroom");
    GError* error = nullptr;
    if (!notify_notification_show(n, &error)) {
      std::fprintf(stderr, "headroom-tray: notification failed: %s\n",
                   error != nullptr ? error->message : "unknown");
      g_clear_error(&error);
    }
    g_object_unref(n);
  }

  void Render() {
    const TrayState state = board_.state();
    app_indicator_set_icon_full(indicator_, IconFor(state), TrayStateName(state));
    app_indicator_set_status(indicator_, state == TrayState::kSomeDoNotFit
                                             ? APP_INDICATOR_STATUS_ATTENTION
                                             : APP_INDICATOR_STATUS_ACTIVE);
    app_indicator_set_label(indicator_, "", "");
    GtkWidget* menu = gtk_menu_new();
    GtkWidget* head = gtk_menu_item_new_with_label(board_.Tooltip().c_str());
    gtk_widget_set_sensitive(head, FALSE);
    gtk_menu_shell_append(GTK_MENU_SHELL(menu), head);
    gtk_menu_shell_append(GTK_MENU_SHELL(menu), gtk_separator_menu_item_new());
    for (const std::string& line : board_.MenuLines()) {
      GtkWidget* item = gtk_menu_item_new_with_label(line.c_str());
      gtk_menu_shell_append(GTK_MENU_SHELL(menu), item);
    }
    gtk_menu_shell_append(GTK_MENU_SHELL(menu), gtk_separator_menu_item_new());
    GtkWidget* quit = gtk_menu_item_new_with_label("Quit");
    g_signal_connect(quit, "activate", G_CALLBACK(+[](GtkMenuItem*, gpointer) { gtk_main_quit(); }),
                     nullptr);
    gtk_menu_shell_append(GTK_MENU_SHELL(menu), quit);
    gtk_widget_show_all(menu);
    app_indicator_set_menu(indicator_, GTK_MENU(menu));
    std::fprintf(stderr, "headroom-tray: state: %s\n", TrayStateName(state));
  }

  FitBoard board_;
  AppIndicator* indicator_ = nullptr;
  std::unique_ptr<FitWatcher> watcher_;
};

gboolean QuitOnSignal(gpointer /*data*/) {
  gtk_main_quit();
  return G_SOURCE_CONTINUE;
}

}  // namespace

int RunTrayApp(const TrayAppOptions& options) {
  if (!notify_init("Headroom")) {
    std::fprintf(stderr, "headroom-tray: cannot reach the notification service\n");
  }
  g_unix_signal_add(SIGTERM, QuitOnSignal, nullptr);
  g_unix_signal_add(SIGINT, QuitOnSignal, nullptr);
  {
    TrayApp app(options);
    gtk_main();
  }
  notify_uninit();
  return 0;
}

}  // namespace headroom::tray

#include "headroom/tray/fit_board.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace headroom::tray {
namespace {

using headroom::v1::Estimate;
using headroom::v1::FitEvent;
using headroom::v1::Verdict;

// Lower is worse; a move down is bad news, up is good news.
int Rank(Verdict v) {
  switch (v) {
    case headroom::v1::VERDICT_FITS:
      return 3;
    case headroom::v1::VERDICT_PARTIAL:
      return 2;
    case headroom::v1::VERDICT_CPU_ONLY:
      return 1;
    default:
      return 0;
  }
}

std::string VerdictWords(const Estimate& e) {
  switch (e.verdict()) {
    case headroom::v1::VERDICT_FITS:
      return "fits on the GPU";
    case headroom::v1::VERDICT_PARTIAL:
      return absl::StrCat("partly on the GPU (", e.n_gpu_layers(), " of ", e.n_layers(),
                          " layers)");
    case headroom::v1::VERDICT_CPU_ONLY:
      return "runs on the CPU only";
    case headroom::v1::VERDICT_DOES_NOT_FIT:
      return "does not fit";
    default:
      return "unknown";
  }
}

std::string OthersClause(const FitEvent& e) {
  if (e.gpu_used_by_others_bytes() == 0) return "";
  return absl::StrCat("; other programs now use ", GiB(e.gpu_used_by_others_bytes()));
}

}  // namespace

const char* TrayStateName(TrayState state) {
  switch (state) {
    case TrayState::kDaemonDown:
      return "daemon not running";
    case TrayState::kSomeDoNotFit:
      return "a model no longer fits";
    case TrayState::kSomePartial:
      return "some models only partly on the GPU";
    case TrayState::kAllFit:
      return "all models fit";
    case TrayState::kNoModels:
      return "no models to watch";
  }
  return "unknown";
}

std::string GiB(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

void FitBoard::AddModel(const std::string& key, const std::string& display_name) {
  entries_[key].display_name = display_name;
}

bool FitBoard::Allow(Entry& entry, double now_s) {
  if (now_s - entry.last_notified_s < options_.min_interval_s) return false;
  std::erase_if(recent_s_, [now_s](double t) { return now_s - t >= 60; });
  if (static_cast<int>(recent_s_.size()) >= options_.max_per_minute) return false;
  entry.last_notified_s = now_s;
  recent_s_.push_back(now_s);
  return true;
}

std::optional<Notification> FitBoard::Compose(const Entry& entry, const FitEvent& e) const {
  const Estimate& est = e.estimate();
  const std::string name = entry.display_name;
  if (e.change() == "error") {
    return Notification{e.key(), absl::StrCat(name, " can no longer be checked"), e.error(),
                        Urgency::kLow};
  }
  // Compared with what this tray last knew, not with the daemon's previous answer: a
  // restarted daemon starts over with "initial" events, and a change across the restart
  // must still be told.
  if (entry.estimate.has_value() && entry.estimate->verdict() != est.verdict()) {
    const int before = Rank(entry.estimate->verdict());
    const int now = Rank(est.verdict());
    if (now < before) {
      std::string detail;
      if (est.verdict() == headroom::v1::VERDICT_DOES_NOT_FIT) {
        detail = absl::StrCat(GiB(static_cast<uint64_t>(-std::min<int64_t>(est.headroom_bytes(), 0))),
                              " short");
      } else if (est.verdict() == headroom::v1::VERDICT_PARTIAL) {
        detail = absl::StrCat("only ", est.n_gpu_layers(), " of ", est.n_layers(),
                              " layers fit");
      } else {
        detail = "it would run on the CPU only";
      }
      const bool lost_gpu = before == 3;
      return Notification{
          e.key(),
          absl::StrCat(name, lost_gpu ? " no longer fits on the GPU" : " no longer fits"),
          absl::StrCat(detail, OthersClause(e)),
          est.verdict() == headroom::v1::VERDICT_DOES_NOT_FIT ? Urgency::kCritical
                                                              : Urgency::kNormal};
    }
    if (now > before) {
      const std::string summary = est.verdict() == headroom::v1::VERDICT_FITS
                                      ? absl::StrCat(name, " fits on the GPU again")
                                      : absl::StrCat(name, " ", VerdictWords(est), " again");
      return Notification{e.key(), summary,
                          absl::StrCat(GiB(static_cast<uint64_t>(std::max<int64_t>(
                                           est.headroom_bytes(), 0))),
                                       " to spare at ", est.n_ctx(), " tokens of context"),
                          Urgency::kLow};
    }
  }
  if (e.change() == "margin" && est.headroom_bytes() >= 0 &&
      est.headroom_bytes() < entry.estimate.value_or(est).headroom_bytes()) {
    return Notification{e.key(), absl::StrCat(name, " is close to not fitting"),
                        absl::StrCat("only ", GiB(static_cast<uint64_t>(est.headroom_bytes())),
                                     " to spare", OthersClause(e)),
                        Urgency::kNormal};
  }
  return std::nullopt;
}

std::optional<Notification> FitBoard::OnEvent(const FitEvent& event, double now_s) {
  Entry& entry = entries_[event.key()];
  // Catalog models are registered by key; the daemon's answer carries the name people know.
  if ((entry.display_name.empty() || entry.display_name == event.key()) &&
      !event.estimate().model().name().empty()) {
    entry.display_name =
        absl::StrCat(event.estimate().model().name(), " ", event.estimate().model().file_type());
  }
  if (entry.display_name.empty()) entry.display_name = event.key();
  connected_ = true;
  std::optional<Notification> note = Compose(entry, event);
  entry.current = true;
  if (event.change() == "error") {
    entry.error = event.error();
  } else {
    entry.error.clear();
    entry.estimate = event.estimate();
  }
  if (!note.has_value() || !Allow(entry, now_s)) return std::nullopt;
  return note;
}

void FitBoard::OnDisconnected(double /*now_s*/) {
  connected_ = false;
  for (auto& [key, entry] : entries_) entry.current = false;
}

void FitBoard::OnConnected() { connected_ = true; }

TrayState FitBoard::state() const {
  if (!connected_) return TrayState::kDaemonDown;
  if (entries_.empty()) return TrayState::kNoModels;
  TrayState worst = TrayState::kAllFit;
  for (const auto& [key, entry] : entries_) {
    if (!entry.estimate.has_value()) continue;
    switch (entry.estimate->verdict()) {
      case headroom::v1::VERDICT_DOES_NOT_FIT:
        worst = TrayState::kSomeDoNotFit;
        break;
      case headroom::v1::VERDICT_PARTIAL:
      case headroom::v1::VERDICT_CPU_ONLY:
        if (worst == TrayState::kAllFit) worst = TrayState::kSomePartial;
        break;
      default:
        break;
    }
  }
  return worst;
}

std::vector<std::string> FitBoard::MenuLines() const {
  std::vector<std::string> lines;
  for (const auto& [key, entry] : entries_) {
    std::string line = entry.display_name + ": ";
    if (!entry.error.empty()) {
      absl::StrAppend(&line, "cannot be checked (", entry.error, ")");
    } else if (!entry.estimate.has_value()) {
      absl::StrAppend(&line, "waiting for the daemon");
    } else {
      const Estimate& e = *entry.estimate;
      absl::StrAppend(&line, VerdictWords(e));
      if (e.verdict() != headroom::v1::VERDICT_DOES_NOT_FIT) {
        // The quant is named once: files and catalog entries usually carry it in the name.
        if (!absl::StrContains(entry.display_name, e.model().file_type())) {
          absl::StrAppend(&line, ", ", e.model().file_type());
        }
        absl::StrAppend(&line, ", up to ", e.max_context(), " ctx, ",
                        absl::StrFormat("%.0f", e.decode_tok_s()), " tok/s");
      } else {
        absl::StrAppend(&line, ", ", GiB(static_cast<uint64_t>(-std::min<int64_t>(
                                             e.headroom_bytes(), 0))),
                        " short");
      }
    }
    if (!entry.current) absl::StrAppend(&line, " [not current: daemon not running]");
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string FitBoard::Tooltip() const {
  return absl::StrCat("Headroom: ", TrayStateName(state()));
}

}  // namespace headroom::tray

#include "headroom/tray/fit_board.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace headroom::tray {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using headroom::v1::FitEvent;

constexpr int64_t kGiB = int64_t{1} << 30;

FitEvent Event(const std::string& key, headroom::v1::Verdict verdict, int64_t headroom,
               const std::string& change, headroom::v1::Verdict before) {
  FitEvent e;
  e.set_key(key);
  e.set_change(change);
  e.set_previous_verdict(before);
  auto* est = e.mutable_estimate();
  est->set_verdict(verdict);
  est->set_headroom_bytes(headroom);
  est->set_n_layers(64);
  est->set_n_gpu_layers(verdict == headroom::v1::VERDICT_FITS ? 64 : 40);
  est->set_n_ctx(8192);
  est->set_max_context(32768);
  est->set_decode_tok_s(41.4);
  est->mutable_model()->set_name("DeepSeek R1 Distill Qwen 32B");
  est->mutable_model()->set_file_type("Q4_K_M");
  return e;
}

TEST(FitBoardTest, StartsDaemonDownAndNeverCallsStaleStatusCurrent) {
  FitBoard board;
  board.AddModel("m", "M");
  EXPECT_EQ(board.state(), TrayState::kDaemonDown);
  board.OnEvent(Event("m", headroom::v1::VERDICT_FITS, 3 * kGiB, "initial",
                      headroom::v1::VERDICT_UNSPECIFIED),
                0);
  EXPECT_EQ(board.state(), TrayState::kAllFit);
  EXPECT_THAT(board.MenuLines(),
              ElementsAre("M: fits on the GPU, Q4_K_M, up to 32768 ctx, 41 tok/s"));
  board.OnDisconnected(1);
  EXPECT_EQ(board.state(), TrayState::kDaemonDown);
  EXPECT_THAT(board.MenuLines()[0], HasSubstr("[not current: daemon not running]"));
  board.OnConnected();
  EXPECT_THAT(board.MenuLines()[0], HasSubstr("not current"));  // until the next event
}

TEST(FitBoardTest, InitialEventsDoNotNotify) {
  FitBoard board;
  EXPECT_FALSE(board
                   .OnEvent(Event("m", headroom::v1::VERDICT_DOES_NOT_FIT, -kGiB, "initial",
                                  headroom::v1::VERDICT_UNSPECIFIED),
                            0)
                   .has_value());
  EXPECT_EQ(board.state(), TrayState::kSomeDoNotFit);
}

TEST(FitBoardTest, LosingTheGpuNotifiesWithShortfallAndOthersUsage) {
  FitBoard board;
  board.OnEvent(Event("m", headroom::v1::VERDICT_FITS, kGiB, "initial",
                      headroom::v1::VERDICT_UNSPECIFIED),
                0);
  FitEvent e = Event("m", headroom::v1::VERDICT_DOES_NOT_FIT, -(21 * kGiB / 10), "verdict",
                     headroom::v1::VERDICT_FITS);
  e.set_gpu_used_by_others_bytes(93 * kGiB / 10);
  auto note = board.OnEvent(e, 100);
  ASSERT_TRUE(note.has_value());
  // The display name comes from the daemon's answer when none was registered.
  EXPECT_EQ(note->summary, "DeepSeek R1 Distill Qwen 32B Q4_K_M no longer fits on the GPU");
  EXPECT_EQ(note->body, "2.1 GiB short; other programs now use 9.3 GiB");
  EXPECT_EQ(note->urgency, Urgency::kCritical);
}

TEST(FitBoardTest, PartialIsNormalUrgencyAndFitsAgainIsLow) {
  FitBoard board;
  board.AddModel("m", "Qwen3 8B Q4_K_M");
  board.OnEvent(Event("m", headroom::v1::VERDICT_FITS, kGiB, "initial",
                      headroom::v1::VERDICT_UNSPECIFIED),
                -100);
  auto worse = board.OnEvent(
      Event("m", headroom::v1::VERDICT_PARTIAL, kGiB, "verdict", headroom::v1::VERDICT_FITS), 0);
  ASSERT_TRUE(worse.has_value());
  EXPECT_EQ(worse->body, "only 40 of 64 layers fit");
  EXPECT_EQ(worse->urgency, Urgency::kNormal);
  EXPECT_EQ(board.state(), TrayState::kSomePartial);
  auto better = board.OnEvent(
      Event("m", headroom::v1::VERDICT_FITS, 2 * kGiB, "verdict", headroom::v1::VERDICT_PARTIAL),
      100);
  ASSERT_TRUE(better.has_value());
  EXPECT_EQ(better->summary, "Qwen3 8B Q4_K_M fits on the GPU again");
  EXPECT_EQ(better->body, "2.0 GiB to spare at 8192 tokens of context");
  EXPECT_EQ(better->urgency, Urgency::kLow);
}

TEST(FitBoardTest, RateLimitedPerModelAndOverall) {
  FitBoard board(BoardOptions{.min_interval_s = 30, .max_per_minute = 2});
  for (const char* key : {"a", "b", "c"}) {
    board.OnEvent(Event(key, headroom::v1::VERDICT_FITS, kGiB, "initial",
                        headroom::v1::VERDICT_UNSPECIFIED),
                  -100);
  }
  auto flip = [&](const std::string& key, bool worse, double t) {
    return board
        .OnEvent(Event(key, worse ? headroom::v1::VERDICT_PARTIAL : headroom::v1::VERDICT_FITS,
                       kGiB, "verdict",
                       worse ? headroom::v1::VERDICT_FITS : headroom::v1::VERDICT_PARTIAL),
                 t)
        .has_value();
  };
  EXPECT_TRUE(flip("a", true, 0));
  EXPECT_FALSE(flip("a", false, 10));  // same model within 30 s
  EXPECT_TRUE(flip("b", true, 11));
  EXPECT_FALSE(flip("c", true, 12));  // third in a minute
  EXPECT_FALSE(flip("c", false, 40));  // still over the global limit (a at 0, b at 11)
  EXPECT_TRUE(flip("c", true, 61));
  EXPECT_EQ(board.state(), TrayState::kSomePartial);  // b is still partial
}

TEST(FitBoardTest, ErrorsAndMarginEvents) {
  FitBoard board;
  board.AddModel("m", "M");
  FitEvent err;
  err.set_key("m");
  err.set_change("error");
  err.set_error("model file is gone: /x.gguf");
  auto note = board.OnEvent(err, 0);
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->summary, "M can no longer be checked");
  EXPECT_THAT(board.MenuLines()[0], HasSubstr("cannot be checked (model file is gone"));
  board.OnEvent(Event("m", headroom::v1::VERDICT_FITS, kGiB, "initial",
                      headroom::v1::VERDICT_UNSPECIFIED),
                50);
  auto margin = board.OnEvent(Event("m", headroom::v1::VERDICT_FITS, 200 << 20, "margin",
                                    headroom::v1::VERDICT_FITS),
                              100);
  ASSERT_TRUE(margin.has_value());
  EXPECT_EQ(margin->body, "only 0.2 GiB to spare");
}

TEST(FitBoardTest, ChangeAcrossADaemonRestartIsStillTold) {
  FitBoard board;
  board.AddModel("m", "M");
  board.OnEvent(Event("m", headroom::v1::VERDICT_PARTIAL, kGiB, "initial",
                      headroom::v1::VERDICT_UNSPECIFIED),
                0);
  board.OnDisconnected(10);
  board.OnConnected();
  // The restarted daemon knows no history: its first event is "initial".
  auto note = board.OnEvent(Event("m", headroom::v1::VERDICT_FITS, kGiB, "initial",
                                  headroom::v1::VERDICT_UNSPECIFIED),
                            100);
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->summary, "M fits on the GPU again");
}

}  // namespace
}  // namespace headroom::tray

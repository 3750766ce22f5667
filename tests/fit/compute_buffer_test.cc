// Unit tests of the compute-buffer replay on hand-built architectures: each test states one
// rule of llama.cpp's reserve graph or of ggml-alloc's placement and checks it as a relation
// between estimates (differences, ratios), derived from the tensor shapes in the comments.
#include "compute_buffer.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "ggml_alloc_replay.h"
#include "gtest/gtest.h"

namespace headroom::fit::internal {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint32_t kF16 = 1;
constexpr uint32_t kQ8_0 = 8;

// llama-style: 8 heads of 64 over 2 KV heads, SwiGLU FFN, vocab 32000.
headroom::v1::Architecture Llama(uint64_t n_embd = 512, uint32_t heads = 8, uint64_t n_ff = 1536,
                                 uint32_t layers = 8) {
  headroom::v1::Architecture a;
  a.set_family("llama");
  a.set_block_count(layers);
  a.set_embedding_length(n_embd);
  a.set_feed_forward_length(n_ff);
  a.set_head_count(heads);
  a.set_head_count_kv(heads / 4);
  a.set_key_length(static_cast<uint32_t>(n_embd / heads));
  a.set_value_length(static_cast<uint32_t>(n_embd / heads));
  a.set_vocab_size(32000);
  a.set_context_length(8192);
  a.set_attention(headroom::v1::ATTENTION_KIND_GQA);
  a.set_ffn(headroom::v1::FFN_KIND_GATED);
  return a;
}

// deepseek2-style MLA: latent 256, rope 32, 8 heads.
headroom::v1::Architecture Mla() {
  headroom::v1::Architecture a = Llama(512, 8, 1536, 6);
  a.set_family("deepseek2");
  a.set_attention(headroom::v1::ATTENTION_KIND_MLA);
  a.set_head_count_kv(8);
  a.set_key_length(288);
  a.set_value_length(256);
  auto* m = a.mutable_mla();
  m->set_q_lora_rank(256);
  m->set_kv_lora_rank(256);
  m->set_qk_nope_head_dim(256);
  m->set_qk_rope_head_dim(32);
  m->set_v_head_dim(256);
  return a;
}

ComputeStages Reserve(const headroom::v1::Architecture& a, uint64_t tokens, uint64_t cells,
                      bool flash, uint64_t outputs = 0, uint32_t type_k = kF16,
                      uint32_t type_v = kF16) {
  return EstimateComputeStages(a, {.n_tokens = tokens,
                                   .n_outputs = outputs == 0 ? tokens : outputs,
                                   .n_kv = cells,
                                   .flash_attn = flash,
                                   .type_k = type_k,
                                   .type_v = type_v});
}

uint64_t Align(uint64_t bytes) { return static_cast<uint64_t>(Aligned(bytes).base); }

// The planner's reservation for a graph whose sizes do not depend on the KV cells.
uint64_t Peak(const Graph& g) {
  Planner planner(g, 0);
  const AffineStages s = planner.Run();
  return static_cast<uint64_t>(std::max({s.attention.base, s.ffn.base, s.output.base}));
}

// ggml-alloc rules the replay follows, on three-tensor graphs.
TEST(GgmlAllocReplayTest, InPlaceOpTakesOverASourceNobodyElseReads) {
  Graph g;
  const int in = g.Input(1000);
  const int a = g.Op(4096, {in});
  const int b = g.Op(4096, {a}, 1);  // e.g. a norm's weight multiply
  g.Expand(b);
  EXPECT_EQ(Peak(g), Align(1000) + 4096);
  Graph g2;  // the same, but a second reader keeps the source alive
  const int in2 = g2.Input(1000);
  const int a2 = g2.Op(4096, {in2});
  const int b2 = g2.Op(4096, {a2}, 1);
  g2.Expand(g2.Op(4096, {b2, a2}));
  EXPECT_EQ(Peak(g2), Align(1000) + 3 * 4096);
}

TEST(GgmlAllocReplayTest, NothingRunsInPlaceOverAView) {
  Graph g;
  const int a = g.Op(4096, {g.Input(64)});
  g.Expand(g.Op(4096, {g.View(a)}, 1));  // e.g. a rope over a reshaped projection
  EXPECT_EQ(Peak(g), 64 + 2 * 4096);
}

// Best fit takes the smallest hole that fits; a tensor no hole fits goes on top, over
// whatever is still alive there, even with enough free memory below in total.
TEST(GgmlAllocReplayTest, BestFitAndGrowthOnTop) {
  Graph g;
  const int in = g.Input(32);
  const int a = g.Op(1 << 20, {in});
  const int b = g.Op(1 << 10, {in});
  const int c = g.Op(1 << 20, {a, b});  // a and b free after c: holes below c
  const int d = g.Op(1 << 10, {c});     // fits the small hole b left
  const int e = g.Op(2 << 20, {d, c});  // fits no hole: goes above c, still alive
  g.Expand(e);
  EXPECT_EQ(Peak(g), 32 + (1 << 20) + (1 << 10) + (1 << 20) + (2 << 20));
}

TEST(ComputeBufferTest, EmptyGraphReservesNothing) {
  EXPECT_EQ(Reserve(Llama(), 0, 512, true).peak_bytes(), 0u);
}

// Without flash attention each layer materialises kq = K^T Q, n_kv x n_tokens x n_head f32
// (the softmax runs in place over it), next to the f32 mask of n_kv x n_tokens. Once they are
// the widest point, one more cell costs n_tokens x (n_head + 1) x 4 bytes.
TEST(ComputeBufferTest, ScoresGrowWithCellsTokensAndHeads) {
  const auto a = Llama();
  const uint64_t t = 512, heads = 8;
  const uint64_t grow =
      Reserve(a, t, 8192, false).peak_bytes() - Reserve(a, t, 4096, false).peak_bytes();
  EXPECT_EQ(grow, 4096 * t * (heads + 1) * 4);
  const auto wide = Llama(1024, 16, 3072);
  const uint64_t grow_wide =
      Reserve(wide, t, 8192, false).peak_bytes() - Reserve(wide, t, 4096, false).peak_bytes();
  EXPECT_EQ(grow_wide, 4096 * t * (16 + 1) * 4);
  EXPECT_EQ(Reserve(a, t, 8192, false).attention_bytes, Reserve(a, t, 8192, false).peak_bytes());
}

// ggml_flash_attn_ext streams over K/V: the only n_kv-sized tensor is the f16 mask.
TEST(ComputeBufferTest, FlashAttentionGrowsOnlyByTheHalfPrecisionMask) {
  const auto a = Llama();
  const uint64_t t = 512;
  EXPECT_EQ(Reserve(a, t, 512, true).peak_bytes(), Reserve(a, t, 8192, true).peak_bytes());
  // With one output row per slot (llama-server) the mask of a long unified cache dominates.
  const uint64_t grow =
      Reserve(a, t, 65536, true, 4).peak_bytes() - Reserve(a, t, 32768, true, 4).peak_bytes();
  EXPECT_EQ(grow, 32768 * t * 2);
}

// The head computes n_vocab x n_outputs f32 logits. Alive with them: the final norm, and the
// embedding input that build_inp_embd allocates next to the token path and never frees.
TEST(ComputeBufferTest, LogitsStageIsVocabTimesOutputsPlusTwoRows) {
  const auto a = Llama();
  const uint64_t t = 512;
  const ComputeStages s = Reserve(a, t, 4096, true);
  EXPECT_EQ(s.peak_bytes(), s.output_bytes);
  const uint64_t logits = 32000 * t * 4, rows = 512 * t * 4;
  EXPECT_GE(s.output_bytes, logits + 2 * rows);
  EXPECT_LE(s.output_bytes, logits + 2 * rows + 64 * 1024);  // plus the token/position inputs
}

TEST(ComputeBufferTest, FewerOutputRowsShrinkTheLogits) {
  const auto a = Llama();
  const uint64_t full = Reserve(a, 512, 512, true, 512).output_bytes;
  const uint64_t four = Reserve(a, 512, 512, true, 4).output_bytes;
  EXPECT_GE(full - four, 32000 * (512 - 4) * 4);
}

// Every tensor of the graph is n_tokens wide, so the reservation is linear in n_ubatch.
TEST(ComputeBufferTest, ReservationIsLinearInUbatch) {
  const auto a = Llama();
  for (bool flash : {true, false}) {
    const double r1 = static_cast<double>(Reserve(a, 512, 4096, flash).peak_bytes());
    const double r2 = static_cast<double>(Reserve(a, 1024, 4096, flash).peak_bytes());
    EXPECT_NEAR(r2 / r1, 2.0, 0.001) << flash;
  }
}

// Best fit leaves the last layer's FFN (gate, up and their product, 3 x n_ff wide) below the
// logits: with small scores the reservation is not the largest stage but the logits stacked
// on that leftover. llama.cpp measured 85.51 MiB here (llama-big, -c 512, no flash attention)
// where the largest stage alone is 70.5 MiB.
TEST(ComputeBufferTest, FragmentationStacksLogitsOnTheLastLayer) {
  const auto big = Llama(2048, 16, 5632, 12);
  const ComputeStages s = Reserve(big, 512, 512, false);
  EXPECT_NEAR(static_cast<double>(s.peak_bytes()) / kMiB, 85.51, 0.01);
  EXPECT_NEAR(static_cast<double>(Reserve(big, 512, 512, true).peak_bytes()) / kMiB, 70.5, 0.01);
}

// A quantized cache is written through a Hadamard rotation of Q and K (V), which adds rotated
// copies to the graph; an f16 cache has none.
TEST(ComputeBufferTest, QuantizedCacheAddsRotatedCopies) {
  const auto a = Llama();
  const uint64_t f16 = Reserve(a, 512, 8192, true, 0, kF16, kF16).peak_bytes();
  const uint64_t q8 = Reserve(a, 512, 8192, true, 0, kQ8_0, kQ8_0).peak_bytes();
  EXPECT_GT(q8, f16);
  EXPECT_LE(q8 - f16, 512 * 512 * 4 + 128 * 128 * 4 + 64 * 64 * 4);
}

// MLA without flash attention: the V operand is a strided view of the cached latent, made
// contiguous in the cache's type (n_kv x kv_lora_rank f16), next to the scores of every head;
// where it lands depends on the holes the scores leave. With flash attention the cached
// latent is read in place and only the f16 mask follows the cells.
TEST(ComputeBufferTest, MlaCopiesTheLatentPerCellWithoutFlashAttention) {
  const auto a = Mla();
  const uint64_t t = 512;
  const uint64_t grow =
      Reserve(a, t, 8192, false).peak_bytes() - Reserve(a, t, 4096, false).peak_bytes();
  EXPECT_GE(grow, 4096 * t * (8 + 1) * 4);
  EXPECT_LE(grow, 4096 * (t * (8 + 1) * 4 + 256 * 2));
  const uint64_t flash =
      Reserve(a, t, 8192, true).peak_bytes() - Reserve(a, t, 4096, true).peak_bytes();
  EXPECT_LT(flash, grow / 8);
}

// MoE layers run MUL_MAT_ID over the used experts: n_ff_exp x n_expert_used per token.
TEST(ComputeBufferTest, MoeFfnScalesWithUsedExperts) {
  auto a = Llama(512, 8, 1536, 4);
  auto* moe = a.mutable_moe();
  moe->set_expert_count(64);
  moe->set_expert_ffn_length(8192);
  moe->set_expert_used_count(2);
  const uint64_t two = Reserve(a, 512, 512, true).ffn_bytes;
  moe->set_expert_used_count(8);
  const uint64_t eight = Reserve(a, 512, 512, true).ffn_bytes;
  // gate, up and their product: 3 x n_ff_exp x 6 more rows per token.
  EXPECT_GE(eight - two, 3 * 8192 * 6 * 512 * 4);
  EXPECT_GT(eight, Reserve(a, 512, 512, true).output_bytes);
}

// Skipping the middle of a run of like layers must give exactly the replay of every layer, for
// every kind of layer and shape; on these models the steady state is reached and the skip
// taken, except where layers without attention leave no per-layer period. (Every rule above is also
// checked on the skipping path, since it is the default.)
TEST(ComputeBufferTest, SkippingRepeatedLayersEqualsTheWholeReplay) {
  auto moe = Llama(512, 8, 1536, 24);
  moe.mutable_moe()->set_expert_count(16);
  moe.mutable_moe()->set_expert_ffn_length(1024);
  moe.mutable_moe()->set_expert_used_count(4);
  moe.mutable_moe()->set_leading_dense_layers(3);
  moe.mutable_moe()->set_shared_expert_count(1);
  auto mla = Mla();
  mla.set_block_count(30);
  auto normed = Llama(1024, 16, 3072, 40);
  normed.set_qk_norm(true);
  normed.set_attention_qkv_bias(true);
  normed.set_ffn(headroom::v1::FFN_KIND_PLAIN);
  auto mixed = Llama(512, 8, 1536, 32);  // a run without attention in the middle
  for (int il = 0; il < 32; ++il) mixed.add_head_count_kv_per_layer(il >= 10 && il < 20 ? 0 : 2);
  mixed.set_family("mixed");
  for (const auto& a :
       {Llama(512, 8, 1536, 32), Llama(2048, 16, 5632, 80), moe, mla, normed, mixed}) {
    for (const bool flash : {false, true}) {
      for (const uint64_t cells : {256u, 4096u, 65536u}) {
        for (const uint32_t type : {kF16, kQ8_0}) {
          const GraphShape shape{.n_tokens = 512,
                                 .n_outputs = 512,
                                 .n_kv = cells,
                                 .flash_attn = flash,
                                 .type_k = type,
                                 .type_v = type};
          bool skipped = false;
          const ComputeStages fast = EstimateComputeStages(a, shape, &skipped);
          const ComputeStages whole = ReplayEveryLayer(a, shape);
          const std::string at = a.family() + " layers " + std::to_string(a.block_count()) +
                                 " flash " + std::to_string(flash) + " cells " +
                                 std::to_string(cells) + " type " + std::to_string(type);
          // Layers without attention are emitted together with the next attention: no period
          // shows, so that model is replayed whole.
          EXPECT_EQ(skipped, a.family() != "mixed") << at;
          EXPECT_EQ(fast.attention_bytes, whole.attention_bytes) << at;
          EXPECT_EQ(fast.ffn_bytes, whole.ffn_bytes) << at;
          EXPECT_EQ(fast.output_bytes, whole.output_bytes) << at;
        }
      }
    }
  }
}

// Too few like layers to skip (the steady state needs three dense layers, then one must
// follow): the whole graph is replayed.
TEST(ComputeBufferTest, ShortModelsAreReplayedWhole) {
  const auto a = Llama(512, 8, 1536, 4);
  bool skipped = true;
  const GraphShape shape{.n_tokens = 512, .n_outputs = 512, .n_kv = 4096};
  const ComputeStages s = EstimateComputeStages(a, shape, &skipped);
  EXPECT_FALSE(skipped);
  EXPECT_EQ(s.peak_bytes(), ReplayEveryLayer(a, shape).peak_bytes());
}

// A regime (one replay, kept over the range of cells where its decisions hold) must give what a
// fresh replay gives at every context it covers. Sweeps contexts the way a bisection visits
// them, pricing from the regimes found so far and replaying only where none covers, and
// checks every answer against a replay of its own.
TEST(ComputeBufferTest, RegimesAreExactWhereverTheyCover) {
  auto moe = Llama(512, 8, 1536, 12);
  moe.set_family("qwen3moe");
  moe.mutable_moe()->set_expert_count(16);
  moe.mutable_moe()->set_expert_used_count(4);
  moe.mutable_moe()->set_expert_ffn_length(256);
  auto mla = Mla();
  mla.set_block_count(12);
  for (const auto& a : {Llama(512, 8, 1536, 10), Llama(2048, 16, 5632, 12), moe, mla}) {
    for (const bool flash : {false, true}) {
      for (const uint32_t type : {kF16, kQ8_0}) {
        for (const uint64_t tokens : {uint64_t{512}, uint64_t{7}}) {
          std::vector<ComputeRegime> regimes;
          int replays = 0;
          for (uint64_t cells = 256; cells <= 96 * 1024; cells += 1792) {
            const GraphShape shape{.n_tokens = tokens,
                                   .n_outputs = tokens,
                                   .n_kv = cells,
                                   .flash_attn = flash,
                                   .type_k = type,
                                   .type_v = type};
            const ComputeRegime* covering = nullptr;
            for (const ComputeRegime& r : regimes) {
              if (r.Covers(cells)) covering = &r;
            }
            if (covering == nullptr) {
              regimes.push_back(ReplayComputeRegime(a, shape));
              ++replays;
              ASSERT_TRUE(regimes.back().Covers(cells)) << cells;
              covering = &regimes.back();
            }
            const ComputeStages kept = covering->At(cells);
            const ComputeStages whole = ReplayEveryLayer(a, shape);
            const std::string at = a.family() + " flash " + std::to_string(flash) + " type " +
                                   std::to_string(type) + " tokens " + std::to_string(tokens) +
                                   " cells " + std::to_string(cells);
            EXPECT_EQ(kept.attention_bytes, whole.attention_bytes) << at;
            EXPECT_EQ(kept.ffn_bytes, whole.ffn_bytes) << at;
            EXPECT_EQ(kept.output_bytes, whole.output_bytes) << at;
          }
          // 54 contexts: a regime spans many of them (else this is no faster than replaying).
          EXPECT_LT(replays, 20) << a.family();
        }
      }
    }
  }
}

// A context that is not a multiple of 256 cells is priced at that context only.
TEST(ComputeBufferTest, UnpaddedCellsGetAOnePointRegime) {
  const auto a = Llama();
  const GraphShape shape{.n_tokens = 512, .n_outputs = 512, .n_kv = 1000};
  const ComputeRegime r = ReplayComputeRegime(a, shape);
  EXPECT_TRUE(r.Covers(1000));
  EXPECT_FALSE(r.Covers(1024));
  EXPECT_EQ(r.At(1000).peak_bytes(), ReplayEveryLayer(a, shape).peak_bytes());
}

// MLA without flash attention copies V out of the latent in the cache type: with a latent of
// odd width in q8_0, 256 cells of it are not a multiple of the 32-byte alignment, so the
// size does not align affinely and the replay answers for its own n_kv only.
TEST(ComputeBufferTest, UnalignedLatentRowsGetAOnePointRegime) {
  auto a = Mla();
  a.mutable_mla()->set_kv_lora_rank(257);
  const GraphShape shape{.n_tokens = 512,
                         .n_outputs = 512,
                         .n_kv = 4096,
                         .flash_attn = false,
                         .type_k = kQ8_0,
                         .type_v = kQ8_0};
  const ComputeRegime r = ReplayComputeRegime(a, shape);
  EXPECT_TRUE(r.Covers(4096));
  EXPECT_FALSE(r.Covers(4352));
  EXPECT_EQ(r.At(4096).peak_bytes(), ReplayEveryLayer(a, shape).peak_bytes());
}

}  // namespace
}  // namespace headroom::fit::internal

// Steps shared by the live and the fixture source to turn the pieces (topology summary, RAM,
// GPUs) into one headroom.v1.Hardware snapshot.
#pragma once

#include "headroom/catalog/catalog.h"
#include "headroom/probe/topology.h"
#include "headroom/v1/hardware.pb.h"

namespace headroom::probe {

// Host bandwidth used when nothing was measured: a dual-channel DDR4-3200 desktop reaches
// about this much in a read benchmark; labelled SOURCE_ASSUMED wherever it appears.
inline constexpr double kAssumedHostBandwidthGbps = 40.0;

// cpu (model, counts, caches, features when the summary has them) and the summary's notes.
void AddTopology(const TopologySummary& topology, headroom::v1::Hardware& hardware);

// A note when hwloc's NUMA memory and the RAM total disagree by more than 10 % (hot-plugged
// memory hwloc's sysfs reading misses, or a fixture recorded that way).
void NoteNumaDisagreement(const TopologySummary& topology, headroom::v1::Hardware& hardware);

// Sets each GPU's numa_node from the hwloc PCI device at its PCI address.
void JoinGpusToPci(const TopologySummary& topology, headroom::v1::Hardware& hardware);

// GPUs without a bandwidth figure get the catalog's (SOURCE_TABLE; matched by PCI vendor and
// device id, then by name), with catalog_id and fp16_tflops; the rest get a note.
void ApplyGpuTable(const headroom::catalog::Catalog& catalog, headroom::v1::Hardware& hardware);

// Host bandwidth when none is known: kAssumedHostBandwidthGbps with a note. Then unified-memory
// GPUs still without a figure get the host's (they read the same DRAM), with its source.
void AssumeHostBandwidthIfUnknown(headroom::v1::Hardware& hardware);

}  // namespace headroom::probe

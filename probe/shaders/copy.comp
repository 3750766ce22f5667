#version 450
// Memory-bandwidth copy: each invocation moves 16-byte words from `src` to `dst`, striding by
// the whole grid, so any buffer size is covered by a dispatch within the device's limits.
// Compiled to SPIR-V by glslc at build time and embedded in headroom::probe.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Source { uvec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Destination { uvec4 dst[]; };

layout(push_constant) uniform Push {
  // Number of 16-byte words to copy.
  uint count;
} push;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < push.count; i += stride) {
    dst[i] = src[i];
  }
}

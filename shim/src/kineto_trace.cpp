// Kineto traces: libtorch's own profiler, the one torch.profiler drives. A trace records every operator (and, on a
// GPU, every CUDA kernel and memcpy) between start and stop, and saves as the Chrome-trace JSON that
// chrome://tracing, Perfetto and TensorBoard's profile plugin open.
#include "internal.h"
#include <torch/csrc/autograd/profiler_kineto.h>

#include <memory>
#include <mutex>
#include <set>

namespace {

namespace profiler = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

std::mutex trace_mutex;
std::unique_ptr<profiler::ProfilerResult> trace_result;
bool trace_prepared = false;
bool trace_running = false;

ProfilerConfig trace_config(int flags) {
  // FLOPs are computed from the inputs' shapes, so counting them records shapes too.
  bool shapes = (flags & (CT_TRACE_RECORD_SHAPES | CT_TRACE_WITH_FLOPS)) != 0;
  return ProfilerConfig(ProfilerState::KINETO, shapes, (flags & CT_TRACE_PROFILE_MEMORY) != 0,
                        (flags & CT_TRACE_WITH_STACK) != 0, (flags & CT_TRACE_WITH_FLOPS) != 0,
                        (flags & CT_TRACE_WITH_MODULES) != 0);
}

std::set<ActivityType> trace_activities(int flags) {
  std::set<ActivityType> activities;
  if (flags & CT_TRACE_CPU) activities.insert(ActivityType::CPU);
  if (flags & CT_TRACE_CUDA) activities.insert(ActivityType::CUDA);
  return activities;
}

}  // namespace

extern "C" {

int ct_trace_prepare(int flags) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(trace_mutex);
    TORCH_CHECK(!trace_running, "a trace is already running");
    TORCH_CHECK(!trace_activities(flags).empty(), "a trace needs the CPU or the CUDA activity");
    profiler::prepareProfiler(trace_config(flags), trace_activities(flags));
    trace_prepared = true;
  });
}

int ct_trace_start(int flags) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(trace_mutex);
    TORCH_CHECK(!trace_running, "a trace is already running");
    TORCH_CHECK(!trace_activities(flags).empty(), "a trace needs the CPU or the CUDA activity");
    if (!trace_prepared) profiler::prepareProfiler(trace_config(flags), trace_activities(flags));
    profiler::enableProfiler(trace_config(flags), trace_activities(flags));
    trace_result.reset();
    trace_prepared = false;
    trace_running = true;
  });
}

int ct_trace_stop(int64_t *event_count) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(trace_mutex);
    TORCH_CHECK(trace_running, "no trace is running");
    trace_result = profiler::disableProfiler();
    trace_running = false;
    *event_count = static_cast<int64_t>(trace_result->events().size());
  });
}

int ct_trace_save(const char *path) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(trace_mutex);
    TORCH_CHECK(trace_result != nullptr, "no finished trace to save");
    trace_result->save(path);
  });
}

int ct_trace_event(int64_t index, char *name, size_t capacity, int *device_type, int64_t *start_ns, int64_t *duration_ns,
                   int64_t *flops) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(trace_mutex);
    TORCH_CHECK(trace_result != nullptr, "no finished trace");
    const auto &events = trace_result->events();
    TORCH_CHECK(index >= 0 && index < static_cast<int64_t>(events.size()), "trace event ", index, " out of range");
    const auto &event = events[static_cast<size_t>(index)];
    std::string event_name = event.name();
    if (capacity > 0) {
      size_t length = std::min(event_name.size(), capacity - 1);
      std::memcpy(name, event_name.data(), length);
      name[length] = 0;
    }
    *device_type = static_cast<int>(event.deviceType());
    *start_ns = static_cast<int64_t>(event.startNs());
    *duration_ns = static_cast<int64_t>(event.durationNs());
    *flops = static_cast<int64_t>(event.flops());
  });
}

}  // extern "C"

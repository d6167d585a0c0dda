// Per-operator time, from libtorch's RecordFunction callbacks: every aten op and autograd node, forward and
// backward, on every thread, with self time (its own duration minus that of the ops it called).
#include "internal.h"
#include <ATen/record_function.h>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct OpTotals {
  int64_t calls = 0;
  int64_t self_ns = 0;
  int64_t total_ns = 0;
};

struct Frame {
  std::string name;
  std::chrono::steady_clock::time_point start;
  int64_t children_ns = 0;
};

std::mutex totals_mutex;
std::map<std::string, OpTotals> totals;
std::vector<std::pair<std::string, OpTotals>> snapshot;
at::CallbackHandle handle = 0;
thread_local std::vector<Frame> stack;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction &function) {
  stack.push_back(Frame{function.name(), std::chrono::steady_clock::now(), 0});
  return nullptr;
}

void on_end(const at::RecordFunction &function, at::ObserverContext *) {
  if (stack.empty()) return;
  Frame frame = std::move(stack.back());
  stack.pop_back();
  int64_t duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - frame.start).count();
  if (!stack.empty()) stack.back().children_ns += duration;
  std::lock_guard<std::mutex> lock(totals_mutex);
  OpTotals &entry = totals[frame.name];
  entry.calls += 1;
  entry.total_ns += duration;
  entry.self_ns += duration - frame.children_ns;
}

}  // namespace

extern "C" {

int ct_op_profile_start(void) {
  return ctorch::guarded([&] {
    TORCH_CHECK(handle == 0, "the operator profile is already running");
    {
      std::lock_guard<std::mutex> lock(totals_mutex);
      totals.clear();
    }
    at::enableRecordFunction(true);
    handle = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end)
                                       .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  });
}

int ct_op_profile_stop(int64_t *count) {
  return ctorch::guarded([&] {
    TORCH_CHECK(handle != 0, "the operator profile is not running");
    at::removeCallback(handle);
    handle = 0;
    std::lock_guard<std::mutex> lock(totals_mutex);
    snapshot.assign(totals.begin(), totals.end());
    *count = static_cast<int64_t>(snapshot.size());
  });
}

int ct_op_profile_entry(int64_t index, char *name, size_t capacity, int64_t *calls, int64_t *self_ns, int64_t *total_ns) {
  return ctorch::guarded([&] {
    TORCH_CHECK(index >= 0 && index < static_cast<int64_t>(snapshot.size()), "profile entry ", index, " out of range");
    const auto &entry = snapshot[static_cast<size_t>(index)];
    std::snprintf(name, capacity, "%s", entry.first.c_str());
    *calls = entry.second.calls;
    *self_ns = entry.second.self_ns;
    *total_ns = entry.second.total_ns;
  });
}

}  // extern "C"

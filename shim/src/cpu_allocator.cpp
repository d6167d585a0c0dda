// The CPU allocator installed in place of libtorch's: the same aligned allocations, plus byte counts (so tests and
// benchmarks can measure what tensors hold) and a cache of large blocks.
//
// Why a cache: glibc serves blocks above its mmap threshold (128 KB, rising to at most 32 MB) with a fresh mmap
// and returns them with munmap, so every step of a training loop faults its activations in again, page by page,
// with the kernel zeroing each page (about 40,000 faults a step for `cpu-small`). Blocks of 256 KB and more are
// therefore kept when freed and handed out again for a request of the same size (up to a quarter larger), as
// PyTorch's CUDA caching allocator does on GPUs. Blocks of 2 MB and more are 2 MB-aligned and advised as huge pages
// (the setting of `THP_MEM_ALLOC_ENABLE` in libtorch's own allocator), which cuts TLB misses in GEMMs and
// elementwise kernels. The cache is bounded: past its limit the oldest blocks go back to the system.
//
// `MODALITIES_CPU_CACHE_BYTES` sets the limit (0 turns cache and huge pages off: libtorch's own allocations); the default is a quarter of physical
// memory shared among the node's ranks, at most 8 GiB. Counts are of bytes requested by live tensors; cached bytes are reported apart.
#include "internal.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

std::atomic<int64_t> current_bytes{0};
std::atomic<int64_t> peak_bytes{0};
std::atomic<int64_t> allocation_count{0};

void count_allocation(size_t bytes) {
  int64_t now = current_bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed) +
                static_cast<int64_t>(bytes);
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  int64_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void count_release(size_t bytes) { current_bytes.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed); }

// Memory history (steppable_profiler/memory_tracing on the CPU): while on, every allocation and free of a tensor's
// bytes is appended, up to `history_limit` events (the oldest dropped first, as the CUDA allocator's ring does).
struct HistoryEvent {
  int action;  // 0 alloc, 1 free
  uintptr_t address;
  int64_t bytes;
  int64_t time_us;
};
std::atomic<bool> history_on{false};
std::mutex history_mutex;
std::vector<HistoryEvent> history;
size_t history_limit = 0;
size_t history_start = 0;  // index of the oldest event once the ring is full

void record_history(int action, void *address, size_t bytes) {
  if (!history_on.load(std::memory_order_relaxed)) return;
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(history_mutex);
  HistoryEvent event{action, reinterpret_cast<uintptr_t>(address), static_cast<int64_t>(bytes), now};
  if (history.size() < history_limit) {
    history.push_back(event);
  } else if (history_limit > 0) {
    history[history_start] = event;
    history_start = (history_start + 1) % history_limit;
  }
}

constexpr size_t cached_minimum = 256 * 1024;
constexpr size_t medium_granule = 64 * 1024;
constexpr size_t huge_page = 2 * 1024 * 1024;

size_t round_up(size_t bytes, size_t granule) { return (bytes + granule - 1) / granule * granule; }

/// `MODALITIES_CPU_CACHE_BYTES`, else a quarter of physical memory shared among the node's ranks
/// (`LOCAL_WORLD_SIZE`, set by `launch`), at most 8 GiB.
size_t default_cache_limit() {
  if (const char *value = std::getenv("MODALITIES_CPU_CACHE_BYTES")) return static_cast<size_t>(std::strtoull(value, nullptr, 10));
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t quarter = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 4 : 0;
  const char *ranks = std::getenv("LOCAL_WORLD_SIZE");
  long local_ranks = ranks ? std::strtol(ranks, nullptr, 10) : 1;
  if (local_ranks > 1) quarter /= static_cast<size_t>(local_ranks);
  return std::min(quarter, static_cast<size_t>(8) << 30);
}

/// Large blocks: those in use (by data pointer) and those freed and kept, found by size or by age.
class BlockCache {
 public:
  BlockCache() : limit_(default_cache_limit()) {}

  /// Whether large blocks are cached (and huge-page backed); with a limit of 0 every block is a plain allocation.
  bool enabled() const { return limit_.load(std::memory_order_relaxed) > 0; }

  /// A block of at least `bytes` (`bytes` ≥ `cached_minimum`): a cached one if one fits, else a new one.
  void *take(size_t bytes) {
    const size_t wanted = round_up(bytes, bytes >= huge_page ? huge_page : medium_granule);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = by_size_.lower_bound({wanted, 0});
      if (found != by_size_.end() && found->first.first <= wanted + wanted / 4) {
        void *data = found->second;
        const size_t block = found->first.first;
        by_age_.erase(found->first.second);
        by_size_.erase(found);
        cached_bytes_ -= block;
        live_[data] = {block, bytes};
        return data;
      }
    }
    void *data = nullptr;
    const size_t alignment = wanted >= huge_page ? huge_page : c10::gAlignment;
    if (posix_memalign(&data, alignment, wanted) != 0 || data == nullptr) {
      release_cached();  // Another try with the cache given back.
      if (posix_memalign(&data, alignment, wanted) != 0 || data == nullptr) {
        TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU allocator: out of memory allocating ", bytes, " bytes");
      }
    }
    if (wanted >= huge_page) madvise(data, wanted, MADV_HUGEPAGE);
    std::lock_guard<std::mutex> lock(mutex_);
    live_[data] = {wanted, bytes};
    return data;
  }

  /// Gives back `data` if it is a large block (keeping it while the cache has room); false for other pointers.
  bool give_back(void *data) {
    std::vector<void *> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto live = live_.find(data);
      if (live == live_.end()) return false;
      const auto [block, requested] = live->second;
      live_.erase(live);
      count_release(requested);
      record_history(1, data, requested);
      const size_t limit = limit_.load(std::memory_order_relaxed);
      if (block > limit) {
        released.push_back(data);
      } else {
        const uint64_t age = next_age_++;
        by_size_.emplace(std::make_pair(block, age), data);
        by_age_.emplace(age, block);
        cached_bytes_ += block;
        evict_to(limit, released);
      }
    }
    free_all(released);
    return true;
  }

  /// Frees every cached block.
  void release_cached() { set_limit_and_trim(std::nullopt); }

  void set_limit(size_t bytes) { set_limit_and_trim(bytes); }

  std::pair<size_t, size_t> cached_and_limit() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {cached_bytes_, limit_.load(std::memory_order_relaxed)};
  }

 private:
  /// Sets the limit (when given), then frees cached blocks, oldest first, down to it (to nothing without one).
  void set_limit_and_trim(std::optional<size_t> limit) {
    std::vector<void *> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (limit) limit_.store(*limit, std::memory_order_relaxed);
      evict_to(limit.value_or(0), released);
    }
    free_all(released);
  }

  /// Moves the blocks cached longest ago into `released` until at most `bytes` stay cached (the lock is held).
  void evict_to(size_t bytes, std::vector<void *> &released) {
    while (cached_bytes_ > bytes) {
      auto oldest = by_age_.begin();
      auto key = std::make_pair(oldest->second, oldest->first);
      released.push_back(by_size_.at(key));
      by_size_.erase(key);
      cached_bytes_ -= oldest->second;
      by_age_.erase(oldest);
    }
  }

  static void free_all(const std::vector<void *> &blocks) {
    for (void *block : blocks) std::free(block);
  }

  struct LiveBlock {
    size_t block;
    size_t requested;
  };

  std::mutex mutex_;
  std::unordered_map<void *, LiveBlock> live_;
  std::map<std::pair<size_t, uint64_t>, void *> by_size_;  // (block bytes, age) → data
  std::map<uint64_t, size_t> by_age_;                      // age → block bytes
  uint64_t next_age_ = 0;
  size_t cached_bytes_ = 0;
  std::atomic<size_t> limit_;  // Read without the lock by enabled().
};

BlockCache &block_cache() {
  static BlockCache *cache = new BlockCache();  // Never destroyed: tensors may be freed during exit.
  return *cache;
}

// Small blocks carry their size in a 64-byte header in front of the data, so the data pointer is also the
// context, as libtorch's raw_allocate/raw_deallocate require, and alignment stays at 64 bytes.
constexpr size_t header_bytes = 64;

void release(void *data) {
  if (data == nullptr || block_cache().give_back(data)) return;
  char *base = static_cast<char *>(data) - header_bytes;
  size_t bytes;
  std::memcpy(&bytes, base, sizeof bytes);
  count_release(bytes);
  record_history(1, data, bytes);
  c10::free_cpu(base);
}

struct CachingCountingAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t bytes) override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (bytes == 0) return c10::DataPtr(nullptr, nullptr, &release, cpu);
    void *data;
    if (bytes >= cached_minimum && block_cache().enabled()) {
      data = block_cache().take(bytes);
    } else {
      char *base = static_cast<char *>(c10::alloc_cpu(bytes + header_bytes));
      std::memcpy(base, &bytes, sizeof bytes);
      data = base + header_bytes;
    }
    count_allocation(bytes);
    record_history(0, data, bytes);
    return c10::DataPtr(data, data, &release, cpu);
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void copy_data(void *destination, const void *source, std::size_t count) const override {
    default_copy_data(destination, source, count);
  }
};

}  // namespace

void ctorch::install_counting_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    static CachingCountingAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/10);
  });
}

extern "C" {

void ct_cpu_allocator_stats(int64_t *current, int64_t *peak, int64_t *allocations) {
  *current = current_bytes.load();
  *peak = peak_bytes.load();
  *allocations = allocation_count.load();
}

void ct_cpu_allocator_reset_peak(void) { peak_bytes.store(current_bytes.load()); }

void ct_cpu_allocator_cache(int64_t *cached_bytes, int64_t *limit_bytes) {
  auto [cached, limit] = block_cache().cached_and_limit();
  *cached_bytes = static_cast<int64_t>(cached);
  *limit_bytes = static_cast<int64_t>(limit);
}

void ct_cpu_allocator_empty_cache(void) { block_cache().release_cached(); }

void ct_cpu_allocator_set_cache_limit(int64_t bytes) { block_cache().set_limit(bytes > 0 ? static_cast<size_t>(bytes) : 0); }

void ct_cpu_memory_history(int enabled, int64_t max_entries) {
  std::lock_guard<std::mutex> lock(history_mutex);
  if (enabled) {
    history.clear();
    history_start = 0;
    history_limit = max_entries > 0 ? static_cast<size_t>(max_entries) : 0;
    history.reserve(std::min<size_t>(history_limit, 1 << 20));
  }
  history_on.store(enabled != 0);
}

int64_t ct_cpu_memory_history_count(void) {
  std::lock_guard<std::mutex> lock(history_mutex);
  return static_cast<int64_t>(history.size());
}

int ct_cpu_memory_history_event(int64_t index, int *action, uint64_t *address, int64_t *bytes, int64_t *time_us) {
  std::lock_guard<std::mutex> lock(history_mutex);
  if (index < 0 || static_cast<size_t>(index) >= history.size()) return 1;
  const HistoryEvent &event = history[(history_start + static_cast<size_t>(index)) % history.size()];
  *action = event.action;
  *address = event.address;
  *bytes = event.bytes;
  *time_us = event.time_us;
  return 0;
}

}  // extern "C"

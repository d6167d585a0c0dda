// Streams, events, synchronisation and caching-allocator statistics through c10's device-generic interfaces.
//
// Nothing here names CUDA: the calls go through the device guard and allocator registered for a device type, so
// they work for CUDA as soon as libtorch_cuda.so is loaded and fail with libtorch's own message before.
#include "internal.h"

#include <c10/core/CachingDeviceAllocator.h>
#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <c10/core/impl/VirtualGuardImpl.h>

struct ct_event_s {
  c10::Event event;
};

namespace {

c10::DeviceType device_type(int code) {
  auto type = static_cast<c10::DeviceType>(code);
  TORCH_CHECK(type != c10::DeviceType::CPU, "streams, events and device memory need an accelerator, not the CPU");
  return type;
}

c10::impl::VirtualGuardImpl guard_for(int code) { return c10::impl::VirtualGuardImpl(device_type(code)); }

c10::Stream unpack(ct_stream stream) {
  return c10::Stream::unpack3(stream.id, static_cast<c10::DeviceIndex>(stream.device_index),
                              device_type(stream.device_type));
}

ct_stream pack(const c10::Stream &stream) {
  auto packed = stream.pack3();
  return ct_stream{packed.stream_id, static_cast<int32_t>(packed.device_index),
                   static_cast<int32_t>(packed.device_type)};
}

c10::Device device(int type, int index) {
  return c10::Device(device_type(type), static_cast<c10::DeviceIndex>(index));
}

} // namespace

int ct_device_synchronize(int device_type, int device_index) {
  return ctorch::guarded(
      [&] { guard_for(device_type).synchronizeDevice(static_cast<c10::DeviceIndex>(device_index)); });
}

int ct_device_set_current(int device_type, int device_index) {
  return ctorch::guarded([&] { guard_for(device_type).setDevice(device(device_type, device_index)); });
}

int ct_device_current_index(int device_type, int *out) {
  return ctorch::guarded([&] { *out = guard_for(device_type).getDevice().index(); });
}

int ct_stream_current(int device_type, int device_index, ct_stream *out) {
  return ctorch::guarded([&] { *out = pack(guard_for(device_type).getStream(device(device_type, device_index))); });
}

int ct_stream_from_pool(int device_type, int device_index, bool high_priority, ct_stream *out) {
  return ctorch::guarded([&] {
    *out = pack(guard_for(device_type).getStreamFromGlobalPool(device(device_type, device_index), high_priority));
  });
}

int ct_stream_set_current(ct_stream stream, ct_stream *previous) {
  return ctorch::guarded([&] { *previous = pack(guard_for(stream.device_type).exchangeStream(unpack(stream))); });
}

int ct_stream_synchronize(ct_stream stream) {
  return ctorch::guarded([&] { unpack(stream).synchronize(); });
}

int ct_stream_query(ct_stream stream, bool *finished) {
  return ctorch::guarded([&] { *finished = unpack(stream).query(); });
}

int ct_stream_wait_event(ct_stream stream, ct_event event) {
  return ctorch::guarded([&] {
    TORCH_CHECK(event != nullptr, "the event handle is null");
    event->event.block(unpack(stream));
  });
}

int ct_event_new(int device_type, bool timing, ct_event *out) {
  return ctorch::guarded([&] {
    auto flag = timing ? c10::EventFlag::BACKEND_DEFAULT : c10::EventFlag::PYTORCH_DEFAULT;
    *out = new ct_event_s{c10::Event(::device_type(device_type), flag)};
  });
}

void ct_event_free(ct_event event) { delete event; }

int ct_event_record(ct_event event, ct_stream stream) {
  return ctorch::guarded([&] {
    TORCH_CHECK(event != nullptr, "the event handle is null");
    event->event.record(unpack(stream));
  });
}

int ct_event_synchronize(ct_event event) {
  return ctorch::guarded([&] {
    TORCH_CHECK(event != nullptr, "the event handle is null");
    event->event.synchronize();
  });
}

int ct_event_query(ct_event event, bool *finished) {
  return ctorch::guarded([&] {
    TORCH_CHECK(event != nullptr, "the event handle is null");
    *finished = event->event.query();
  });
}

int ct_event_elapsed_ms(ct_event start, ct_event end, double *milliseconds) {
  return ctorch::guarded([&] {
    TORCH_CHECK(start != nullptr && end != nullptr, "an event handle is null");
    *milliseconds = start->event.elapsedTime(end->event);
  });
}

int ct_device_memory_stats(int device_type, int device_index, ct_device_memory_counters *out) {
  return ctorch::guarded([&] {
    auto stats = c10::getDeviceAllocator(::device_type(device_type))
                     ->getDeviceStats(static_cast<c10::DeviceIndex>(device_index));
    constexpr auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    out->allocated_bytes = stats.allocated_bytes[all].current;
    out->peak_allocated_bytes = stats.allocated_bytes[all].peak;
    out->reserved_bytes = stats.reserved_bytes[all].current;
    out->peak_reserved_bytes = stats.reserved_bytes[all].peak;
    out->allocations = stats.allocation[all].allocated;
    out->out_of_memory_errors = stats.num_ooms;
  });
}

int ct_device_memory_reset_peak(int device_type, int device_index) {
  return ctorch::guarded([&] {
    c10::getDeviceAllocator(::device_type(device_type))->resetPeakStats(static_cast<c10::DeviceIndex>(device_index));
  });
}

int ct_device_memory_empty_cache(int device_type) {
  return ctorch::guarded([&] { c10::getDeviceAllocator(::device_type(device_type))->emptyCache(); });
}

int ct_device_memory_info(int device_type, int device_index, int64_t *free_bytes, int64_t *total_bytes) {
  return ctorch::guarded([&] {
    auto [free, total] =
        c10::getDeviceAllocator(::device_type(device_type))->getMemoryInfo(static_cast<c10::DeviceIndex>(device_index));
    *free_bytes = static_cast<int64_t>(free);
    *total_bytes = static_cast<int64_t>(total);
  });
}

int ct_generator_default_for_device(int device_type, int device_index, ct_generator *out) {
  return ctorch::guarded([&] {
    auto type = static_cast<c10::DeviceType>(device_type);
    auto generator = type == c10::DeviceType::CPU
                         ? at::globalContext().defaultGenerator(c10::DeviceType::CPU)
                         : at::globalContext().defaultGenerator(device(device_type, device_index));
    *out = new ct_generator_s{generator, true}; // the handle is owned; the generator it refers to lives on
  });
}

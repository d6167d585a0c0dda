// c10d process groups: TCPStore rendezvous and ProcessGroupGloo (CPU). Collectives run synchronously: each call
// waits for its Work, so a peer that died or a timeout surfaces as an error status naming the collective.
#define USE_C10D_GLOO 1
#include "internal.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

struct ct_process_group_s {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  int rank;
  int size;
  /// The Gloo device the group's ranks talk through: loopback when the job runs on one machine, the host's
  /// interface otherwise. Subgroups use the same, so a subgroup that spans nodes reaches them.
  std::shared_ptr<::gloo::transport::Device> device;
};

namespace {

c10d::ReduceOp reduce_op(int op) {
  switch (op) {
    case 0: return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case 1: return c10d::ReduceOp(c10d::ReduceOp::MAX);
    case 2: return c10d::ReduceOp(c10d::ReduceOp::MIN);
    case 3: return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
    default: TORCH_CHECK(false, "unknown reduce operation ", op);
  }
}

/// Waits for `work`, then for Gloo's worker thread to let go of it. The worker wakes waiters before it drops its
/// own reference to the Work, which holds the collective's tensors, so without the second wait a just-finished
/// collective's buffers could outlive the call for as long as that thread is descheduled (seen as one extra
/// gathered unit in an allocator count on a loaded machine). The caller's reference is the one left; the wait is
/// bounded in case a future libtorch keeps another one.
void wait(const c10::intrusive_ptr<c10d::Work> &work, const char *name, ct_process_group group) {
  try {
    work->wait();
  } catch (const std::exception &error) {
    TORCH_CHECK(false, name, " failed on rank ", group->rank, " of ", group->size, ": ", error.what());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (work.use_count() > 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
}

}  // namespace

int ct_process_group_create_gloo(const char *master_address, int master_port, const char *prefix, int rank, int size,
                                 int64_t timeout_ms, ct_process_group *out) {
  return ctorch::guarded([&] {
    TORCH_CHECK(size >= 1 && rank >= 0 && rank < size, "rank ", rank, " is not in 0..<", size);
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(master_port);
    options.isServer = rank == 0;
    options.numWorkers = size;
    options.waitWorkers = true;
    options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(master_address), options);
    c10::intrusive_ptr<c10d::Store> store = tcp;
    if (prefix && *prefix) store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), tcp);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    std::string host(master_address);
    bool local = host == "127.0.0.1" || host == "localhost";
    auto device = local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                        : c10d::ProcessGroupGloo::createDefaultDevice();
    gloo_options->devices.push_back(device);
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo_options);
    *out = new ct_process_group_s{store, group, rank, size, device};
  });
}

/// A group of some of `parent`'s ranks (a device-mesh dimension), rendezvousing under `prefix` in the same store.
int ct_process_group_create_subgroup(ct_process_group parent, const char *prefix, int rank, int size, int64_t timeout_ms,
                                     ct_process_group *out) {
  return ctorch::guarded([&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), parent->store);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    gloo_options->devices.push_back(parent->device);
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo_options);
    *out = new ct_process_group_s{parent->store, group, rank, size, parent->device};
  });
}

void ct_process_group_free(ct_process_group group) { delete group; }

int ct_process_group_all_reduce(ct_process_group group, ct_tensor *tensors, int64_t count, int op) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list;
    for (int64_t index = 0; index < count; ++index) list.push_back(ctorch::unwrap(tensors[index]));
    c10d::AllreduceOptions options;
    options.reduceOp = reduce_op(op);
    wait(group->group->allreduce(list, options), "all_reduce", group);
  });
}

int ct_process_group_broadcast(ct_process_group group, ct_tensor tensor, int root) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    wait(group->group->broadcast(list, options), "broadcast", group);
  });
}

int ct_process_group_all_gather(ct_process_group group, ct_tensor output, ct_tensor input) {
  return ctorch::guarded([&] {
    at::Tensor out_tensor = ctorch::unwrap(output);
    at::Tensor in_tensor = ctorch::unwrap(input);
    wait(group->group->_allgather_base(out_tensor, in_tensor), "all_gather", group);
  });
}

int ct_process_group_reduce_scatter(ct_process_group group, ct_tensor output, ct_tensor input, int op) {
  return ctorch::guarded([&] {
    at::Tensor out_tensor = ctorch::unwrap(output);
    at::Tensor in_tensor = ctorch::unwrap(input);
    c10d::ReduceScatterOptions options;
    options.reduceOp = reduce_op(op);
    wait(group->group->_reduce_scatter_base(out_tensor, in_tensor, options), "reduce_scatter", group);
  });
}

int ct_process_group_barrier(ct_process_group group) {
  return ctorch::guarded([&] { wait(group->group->barrier(), "barrier", group); });
}

int ct_process_group_send(ct_process_group group, ct_tensor tensor, int destination, int tag) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
    wait(group->group->send(list, destination, tag), "send", group);
  });
}

int ct_process_group_receive(ct_process_group group, ct_tensor tensor, int source, int tag) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
    wait(group->group->recv(list, source, tag), "recv", group);
  });
}

struct ct_work_s {
  c10::intrusive_ptr<c10d::Work> work;
  ct_process_group group;
  const char *name;
};

int ct_process_group_all_reduce_async(ct_process_group group, ct_tensor *tensors, int64_t count, int op, ct_work *out) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list;
    for (int64_t index = 0; index < count; ++index) list.push_back(ctorch::unwrap(tensors[index]));
    c10d::AllreduceOptions options;
    options.reduceOp = reduce_op(op);
    *out = new ct_work_s{group->group->allreduce(list, options), group, "all_reduce"};
  });
}

int ct_process_group_all_gather_async(ct_process_group group, ct_tensor output, ct_tensor input, ct_work *out) {
  return ctorch::guarded([&] {
    at::Tensor out_tensor = ctorch::unwrap(output);
    at::Tensor in_tensor = ctorch::unwrap(input);
    *out = new ct_work_s{group->group->_allgather_base(out_tensor, in_tensor), group, "all_gather"};
  });
}

int ct_process_group_send_async(ct_process_group group, ct_tensor tensor, int destination, int tag, ct_work *out) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
    *out = new ct_work_s{group->group->send(list, destination, tag), group, "send"};
  });
}

int ct_work_wait(ct_work work) {
  return ctorch::guarded([&] { wait(work->work, work->name, work->group); });
}

void ct_work_free(ct_work work) { delete work; }

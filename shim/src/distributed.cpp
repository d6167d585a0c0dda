// c10d process groups: TCPStore rendezvous, ProcessGroupGloo for CPU tensors and, on GPU ranks, ProcessGroupNCCL
// (made by the CUDA shim) for CUDA tensors: each collective goes to the backend of its tensors' device, as a PyTorch
// group created with "cpu:gloo,cuda:nccl" does. Collectives run synchronously: a Gloo call waits for its Work, so a
// peer that died or a timeout surfaces as an error status naming the collective; an NCCL call orders the calling
// thread's current CUDA stream after the collective, and a collective that hangs past the timeout is ended by NCCL's
// watchdog, which aborts the communicator and the process with a message naming it.
#define USE_C10D_GLOO 1
#include "internal.h"
#include "nccl_backend.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstring>
#include <memory>
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
  int64_t timeout_ms;
  /// ProcessGroupNCCL for CUDA tensors, when the ranks run on GPUs (`ct_process_group_add_nccl`); subgroups get their
  /// own on the same device.
  c10::intrusive_ptr<c10d::Backend> nccl;
  int nccl_device = -1;

  ~ct_process_group_s() {
    // Ends NCCL's watchdog and communicators before the store goes (destroy_process_group's order).
    if (nccl) nccl->shutdown();
  }
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

/// A backend's work on one collective; Gloo's needs the wait below, NCCL's only the stream ordering its wait() makes.
struct Started {
  c10::intrusive_ptr<c10d::Work> work;
  bool on_gloo;
};

/// `work` as started on `backend`, one of `group`'s.
Started started(ct_process_group group, c10d::Backend &backend, c10::intrusive_ptr<c10d::Work> work) {
  return {std::move(work), &backend == group->group.get()};
}

/// The backend for collectives on `tensor`: NCCL for CUDA tensors, Gloo for CPU ones.
c10d::Backend &backend_for(ct_process_group group, const at::Tensor &tensor, const char *name) {
  if (!tensor.is_cuda()) return *group->group;
  TORCH_CHECK(group->nccl, name, " on a CUDA tensor in a process group without NCCL (rank ", group->rank, " of ",
              group->size, "): the group was made for CPU ranks");
  return *group->nccl;
}

/// Waits for `work`, then for Gloo's worker thread to let go of it. The worker wakes waiters before it drops its
/// own reference to the Work, which holds the collective's tensors, so without the second wait a just-finished
/// collective's buffers could outlive the call for as long as that thread is descheduled (seen as one extra
/// gathered unit in an allocator count on a loaded machine). The caller's reference is the one left; the wait is
/// bounded in case a future libtorch keeps another one.
void wait(const Started &started, const char *name, ct_process_group group) {
  const auto &work = started.work;
  try {
    work->wait();
  } catch (const std::exception &error) {
    TORCH_CHECK(false, name, " failed on rank ", group->rank, " of ", group->size, ": ", error.what());
  }
  if (!started.on_gloo) return;  // NCCL's watchdog holds its works until their kernels end: nothing to wait for
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
    *out = new ct_process_group_s{store, group, rank, size, device, timeout_ms};
  });
}

/// Makes an NCCL backend for `store`'s group; the CUDA shim must be loaded.
static c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store> &store, int rank, int size,
                                            int64_t timeout_ms, int device_index) {
  auto factory = reinterpret_cast<ctorch::NcclBackendFactory>(ctorch::cuda_shim_function("ctcuda_nccl_backend_new"));
  TORCH_CHECK(factory != nullptr, "NCCL process groups need CUDA: ", ct_last_error());
  // NCCL's keys (its unique id per communicator) live apart from Gloo's in the same store.
  auto nccl_store = c10::make_intrusive<c10d::PrefixStore>("nccl", store);
  c10::intrusive_ptr<c10d::Backend> backend;
  TORCH_CHECK(factory(nccl_store, rank, size, timeout_ms, device_index, backend) == 0, ct_last_error());
  return backend;
}

int ct_process_group_add_nccl(ct_process_group group, int device_index) {
  return ctorch::guarded([&] {
    TORCH_CHECK(!group->nccl, "the process group already has NCCL (on cuda:", group->nccl_device, ")");
    group->nccl = make_nccl(group->store, group->rank, group->size, group->timeout_ms, device_index);
    group->nccl_device = device_index;
  });
}

bool ct_process_group_has_nccl(ct_process_group group) { return group->nccl.defined(); }

int ct_nccl_version(char *out, size_t capacity) {
  return ctorch::guarded([&] {
    auto function = reinterpret_cast<ctorch::NcclVersionFunction>(ctorch::cuda_shim_function("ctcuda_nccl_version"));
    TORCH_CHECK(function != nullptr, ct_last_error());
    std::string version;
    TORCH_CHECK(function(version) == 0, ct_last_error());
    TORCH_CHECK(capacity > version.size(), "the NCCL version needs ", version.size() + 1, " bytes");
    std::memcpy(out, version.c_str(), version.size() + 1);
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
    auto child = std::make_unique<ct_process_group_s>(
        ct_process_group_s{parent->store, group, rank, size, parent->device, timeout_ms});
    if (parent->nccl) {
      child->nccl = make_nccl(store, rank, size, timeout_ms, parent->nccl_device);
      child->nccl_device = parent->nccl_device;
    }
    *out = child.release();
  });
}

void ct_process_group_free(ct_process_group group) { delete group; }

namespace {

std::vector<at::Tensor> tensor_list(ct_tensor *tensors, int64_t count) {
  std::vector<at::Tensor> list;
  for (int64_t index = 0; index < count; ++index) list.push_back(ctorch::unwrap(tensors[index]));
  TORCH_CHECK(!list.empty(), "a collective needs at least one tensor");
  return list;
}

Started start_all_reduce(ct_process_group group, std::vector<at::Tensor> &list, int op) {
  auto &backend = backend_for(group, list[0], "all_reduce");
  if (&backend == group->group.get() || list.size() == 1) {
    c10d::AllreduceOptions options;
    options.reduceOp = reduce_op(op);
    return started(group, backend, backend.allreduce(list, options));
  }
  // NCCL's allreduce takes one tensor; several go as one coalesced group.
  c10d::AllreduceCoalescedOptions options;
  options.reduceOp = reduce_op(op);
  return started(group, backend, backend.allreduce_coalesced(list, options));
}

Started start_all_gather(ct_process_group group, ct_tensor output, ct_tensor input) {
  at::Tensor out_tensor = ctorch::unwrap(output);
  at::Tensor in_tensor = ctorch::unwrap(input);
  auto &backend = backend_for(group, in_tensor, "all_gather");
  return started(group, backend, backend._allgather_base(out_tensor, in_tensor));
}

Started start_reduce_scatter(ct_process_group group, ct_tensor output, ct_tensor input, int op) {
  at::Tensor out_tensor = ctorch::unwrap(output);
  at::Tensor in_tensor = ctorch::unwrap(input);
  c10d::ReduceScatterOptions options;
  options.reduceOp = reduce_op(op);
  auto &backend = backend_for(group, in_tensor, "reduce_scatter");
  return started(group, backend, backend._reduce_scatter_base(out_tensor, in_tensor, options));
}

Started start_send(ct_process_group group, ct_tensor tensor, int destination, int tag) {
  std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
  auto &backend = backend_for(group, list[0], "send");
  return started(group, backend, backend.send(list, destination, tag));
}

}  // namespace

int ct_process_group_all_reduce(ct_process_group group, ct_tensor *tensors, int64_t count, int op) {
  return ctorch::guarded([&] {
    auto list = tensor_list(tensors, count);
    wait(start_all_reduce(group, list, op), "all_reduce", group);
  });
}

int ct_process_group_broadcast(ct_process_group group, ct_tensor tensor, int root) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    auto &backend = backend_for(group, list[0], "broadcast");
    wait(started(group, backend, backend.broadcast(list, options)), "broadcast", group);
  });
}

int ct_process_group_all_gather(ct_process_group group, ct_tensor output, ct_tensor input) {
  return ctorch::guarded([&] { wait(start_all_gather(group, output, input), "all_gather", group); });
}

int ct_process_group_reduce_scatter(ct_process_group group, ct_tensor output, ct_tensor input, int op) {
  return ctorch::guarded([&] { wait(start_reduce_scatter(group, output, input, op), "reduce_scatter", group); });
}

/// A host-side barrier over Gloo, also in groups with NCCL: it orders the processes (checkpoint files, logs), which
/// is what its callers need; CUDA work is ordered by the streams.
int ct_process_group_barrier(ct_process_group group) {
  return ctorch::guarded([&] { wait(started(group, *group->group, group->group->barrier()), "barrier", group); });
}

int ct_process_group_send(ct_process_group group, ct_tensor tensor, int destination, int tag) {
  return ctorch::guarded([&] { wait(start_send(group, tensor, destination, tag), "send", group); });
}

int ct_process_group_receive(ct_process_group group, ct_tensor tensor, int source, int tag) {
  return ctorch::guarded([&] {
    std::vector<at::Tensor> list{ctorch::unwrap(tensor)};
    auto &backend = backend_for(group, list[0], "recv");
    wait(started(group, backend, backend.recv(list, source, tag)), "recv", group);
  });
}

struct ct_work_s {
  Started started;
  ct_process_group group;
  const char *name;
};

int ct_process_group_all_reduce_async(ct_process_group group, ct_tensor *tensors, int64_t count, int op, ct_work *out) {
  return ctorch::guarded([&] {
    auto list = tensor_list(tensors, count);
    *out = new ct_work_s{start_all_reduce(group, list, op), group, "all_reduce"};
  });
}

int ct_process_group_all_gather_async(ct_process_group group, ct_tensor output, ct_tensor input, ct_work *out) {
  return ctorch::guarded([&] { *out = new ct_work_s{start_all_gather(group, output, input), group, "all_gather"}; });
}

int ct_process_group_reduce_scatter_async(ct_process_group group, ct_tensor output, ct_tensor input, int op,
                                          ct_work *out) {
  return ctorch::guarded(
      [&] { *out = new ct_work_s{start_reduce_scatter(group, output, input, op), group, "reduce_scatter"}; });
}

int ct_process_group_send_async(ct_process_group group, ct_tensor tensor, int destination, int tag, ct_work *out) {
  return ctorch::guarded([&] { *out = new ct_work_s{start_send(group, tensor, destination, tag), group, "send"}; });
}

int ct_work_wait(ct_work work) {
  return ctorch::guarded([&] { wait(work->started, work->name, work->group); });
}

void ct_work_free(ct_work work) { delete work; }

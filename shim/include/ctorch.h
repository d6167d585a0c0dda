// The C ABI between Swift and libtorch.
//
// Every handle is opaque. Every call that can fail returns an `int` status: 0 on success, non-zero on
// failure, in which case `ct_last_error()` holds libtorch's message for the calling thread until its next
// failing call. No C++ exception ever crosses this boundary.
//
// Ownership: a `ct_tensor` returned through an out-parameter is a new handle owned by the caller, who frees
// it with `ct_tensor_free`. Handles passed in are borrowed unless the comment says otherwise.
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;
typedef struct ct_op_s *ct_op;
typedef struct ct_generator_s *ct_generator;

// MARK: - Errors, versions, set-up

/// The message of the calling thread's last failed call ("" when none).
const char *ct_last_error(void);
/// Sets the calling thread's error message; Swift callbacks use it before returning a failure status.
void ct_set_error(const char *message);

/// The libtorch version the shim was compiled against, e.g. "2.11.0".
const char *ct_compiled_version(void);
/// Writes the version of the libtorch loaded at run time (from its build options) into `buffer`.
int ct_runtime_version(char *buffer, size_t capacity);
/// Writes the path of the loaded libtorch_cpu.so into `buffer`.
int ct_library_path(char *buffer, size_t capacity);
/// Installs the shim's caching, counting CPU allocator and, where they apply, its CPU matmul kernels (bf16 through
/// float32 on CPUs without bf16 arithmetic; float32/float64 through BLIS on AMD CPUs).
/// Idempotent; call before the first tensor is made.
int ct_initialize(void);
/// 1 when bf16 `mm`/`addmm`/`bmm` on the CPU run as float32 GEMMs with bf16 results (a CPU without AVX512-BF16 or
/// AMX, unless MODALITIES_CPU_BF16_MATMUL=libtorch), 0 when libtorch's own bf16 kernels run.
int ct_cpu_bf16_matmul_through_float32(void);
/// 1 when this x86 CPU has bf16 arithmetic (AVX512-BF16 or AMX-BF16); 0 otherwise and on other architectures.
int ct_cpu_has_bf16_arithmetic(void);
/// "BLIS <version> (<kernel set>)" when float32/float64 CPU GEMMs go to BLIS (see MODALITIES_CPU_BLAS), "" when they
/// are libtorch's own. The string lives as long as the process.
const char *ct_cpu_blas(void);
/// Float32 FLOPs one core can retire per cycle at most, from CPUID (two FMA pipes × the widest vector's float32
/// lanes × 2); 0 where unknown (not x86).
int ct_cpu_float32_flops_per_cycle(void);
/// The clock of the calling core in Hz, from a timed chain of dependent additions (best of `rounds` rounds of about
/// `milliseconds` each, after a warm-up); 0 where unknown (not x86-64).
double ct_cpu_measure_clock_hz(int milliseconds, int rounds);

int ct_get_num_threads(void);
void ct_set_num_threads(int count);
/// Whether libtorch uses only deterministic algorithms (`torch.use_deterministic_algorithms`), and setting it.
int ct_deterministic_algorithms_enabled(void);
void ct_set_deterministic_algorithms(int enabled);


// MARK: - Accelerators (device-generic c10 interfaces: work for CUDA once its backend is loaded)

typedef struct ct_event_s *ct_event;
/// A stream as c10 packs it; streams live as long as their device, so there is nothing to free.
typedef struct {
  int64_t id;
  int32_t device_index;
  int32_t device_type;
} ct_stream;

/// Waits until every queued kernel on the device has finished (`torch.cuda.synchronize(i)`).
int ct_device_synchronize(int device_type, int device_index);
/// Makes `device_index` the calling thread's current device of that type (`torch.cuda.set_device`).
int ct_device_set_current(int device_type, int device_index);
int ct_device_current_index(int device_type, int *out);

int ct_stream_current(int device_type, int device_index, ct_stream *out);
/// A stream from the device's pool (`torch.cuda.Stream()`).
int ct_stream_from_pool(int device_type, int device_index, bool high_priority, ct_stream *out);
/// Makes `stream` current on its device for the calling thread; `previous` receives the one it replaces.
int ct_stream_set_current(ct_stream stream, ct_stream *previous);
int ct_stream_synchronize(ct_stream stream);
/// Whether all work queued on the stream has finished.
int ct_stream_query(ct_stream stream, bool *finished);
/// Makes future work on `stream` wait for `event` (`stream.wait_event`).
int ct_stream_wait_event(ct_stream stream, ct_event event);

/// A new event; `timing` enables elapsed-time measurement.
int ct_event_new(int device_type, bool timing, ct_event *out);
void ct_event_free(ct_event event);
int ct_event_record(ct_event event, ct_stream stream);
int ct_event_synchronize(ct_event event);
int ct_event_query(ct_event event, bool *finished);
/// Milliseconds between two recorded timing events (`start.elapsed_time(end)`).
int ct_event_elapsed_ms(ct_event start, ct_event end, double *milliseconds);

/// The caching allocator's aggregate counters for one device (`torch.cuda.memory_stats`).
typedef struct {
  int64_t allocated_bytes;
  int64_t peak_allocated_bytes;
  int64_t reserved_bytes;
  int64_t peak_reserved_bytes;
  int64_t allocations;
  int64_t out_of_memory_errors;
} ct_device_memory_counters;

int ct_device_memory_stats(int device_type, int device_index, ct_device_memory_counters *out);
int ct_device_memory_reset_peak(int device_type, int device_index);
/// Returns cached, unused blocks to the device (`torch.cuda.empty_cache`).
int ct_device_memory_empty_cache(int device_type);
/// Free and total bytes of the device as its driver reports them.
int ct_device_memory_info(int device_type, int device_index, int64_t *free_bytes, int64_t *total_bytes);

/// A handle to the default generator of a device; free the handle with ct_generator_free (the generator lives on).
int ct_generator_default_for_device(int device_type, int device_index, ct_generator *out);

// MARK: - CUDA (libtorch_cuda.so and the CUDA shim, both loaded at run time)

/// Loads libtorch's CUDA backend with dlopen, then the CUDA shim (libctorch_cuda_shim.so next to this library, or
/// $MODALITIES_CUDA_SHIM); must run before anything touches CUDA. Fails only when libtorch_cuda.so does not load.
int ct_cuda_load(const char *library_path);
/// Whether `ct_cuda_load` has succeeded in this process.
bool ct_cuda_loaded(void);
/// Whether a GPU is usable; false, without touching libtorch's CUDA hooks, until CUDA is loaded.
bool ct_cuda_is_available(void);
int ct_cuda_device_count(void);
/// Whether the CUDA shim is loaded; when not, `message` (may be null) receives why.
bool ct_cuda_shim_loaded(char *message, size_t capacity);
/// The names of the CUDA shim's entry points the functions below forward to, separated by spaces.
const char *ct_cuda_shim_entry_points(void);

typedef struct ct_cuda_graph_s *ct_cuda_graph;

/// Facts of one GPU (`torch.cuda.get_device_properties`).
typedef struct {
  char name[256];
  int32_t major;
  int32_t minor;
  int32_t multiprocessors;
  int64_t total_memory_bytes;
} ct_cuda_device_properties;

int ct_cuda_get_device_properties(int device_index, ct_cuda_device_properties *out);
/// Caps the caching allocator of a device at `fraction` of its memory.
int ct_cuda_set_memory_fraction(double fraction, int device_index);
/// Starts (enabled != 0, at most `max_entries` events, with C++ stacks) or stops the CUDA caching allocator's memory
/// history, as torch.cuda.memory._record_memory_history does.
int ct_cuda_memory_history(int enabled, int64_t max_entries);
/// Writes the CUDA caching allocator's snapshot as torch.cuda.memory._dump_snapshot does (a pickle memory_viz reads).
int ct_cuda_memory_snapshot_save(const char *path);
/// A CUDA graph (`torch.cuda.CUDAGraph`).
int ct_cuda_graph_new(ct_cuda_graph *out);
void ct_cuda_graph_free(ct_cuda_graph graph);
/// Starts capturing the current stream (which must not be the default stream) into `graph`.
int ct_cuda_graph_capture_begin(ct_cuda_graph graph);
int ct_cuda_graph_capture_end(ct_cuda_graph graph);
int ct_cuda_graph_replay(ct_cuda_graph graph);
int ct_cuda_graph_reset(ct_cuda_graph graph);

// MARK: - Tensors

void ct_tensor_free(ct_tensor tensor);
/// A second handle to the same tensor (shares storage and autograd identity).
ct_tensor ct_tensor_retain(ct_tensor tensor);
bool ct_tensor_defined(ct_tensor tensor);
int64_t ct_tensor_dim(ct_tensor tensor);
/// Writes `dim` sizes into `sizes`.
void ct_tensor_sizes(ct_tensor tensor, int64_t *sizes);
void ct_tensor_strides(ct_tensor tensor, int64_t *strides);
int64_t ct_tensor_numel(ct_tensor tensor);
/// The c10::ScalarType code of the tensor's dtype.
int ct_tensor_dtype(ct_tensor tensor);
/// The c10::DeviceType code and the index of the tensor's device.
void ct_tensor_device(ct_tensor tensor, int *type, int *index);
bool ct_tensor_is_contiguous(ct_tensor tensor);
bool ct_tensor_requires_grad(ct_tensor tensor);
bool ct_tensor_is_leaf(ct_tensor tensor);
int ct_tensor_set_requires_grad(ct_tensor tensor, bool requires_grad);
/// True when both handles refer to the same tensor implementation.
bool ct_tensor_is_same(ct_tensor a, ct_tensor b);

/// A new CPU tensor holding a copy of `count` elements of `dtype` read from `data`.
int ct_tensor_from_data(const void *data, int dtype, const int64_t *sizes, int64_t dim, ct_tensor *out);
/// A CPU tensor over `data` without copying; `release(context)` runs once libtorch no longer needs the memory.
int ct_tensor_from_external(void *data, int dtype, const int64_t *sizes, int64_t dim, void (*release)(void *),
                            void *context, ct_tensor *out);
/// Copies the tensor's values, in row-major order, as its own dtype into `buffer` (`bytes` long).
int ct_tensor_copy_to_buffer(ct_tensor tensor, void *buffer, size_t bytes);
/// A printable description (PyTorch's formatting); free it with `ct_string_free`.
int ct_tensor_description(ct_tensor tensor, char **out);
void ct_string_free(char *string);

/// Size of the tensor's storage in bytes.
int ct_tensor_storage_nbytes(ct_tensor tensor, size_t *out);
/// Resizes the tensor's storage to `bytes`, keeping the leading bytes; 0 frees the memory.
int ct_tensor_storage_resize(ct_tensor tensor, size_t bytes);
/// A CPU tensor of `dtype` and shape `sizes` (contiguous) whose storage holds no memory yet: deferred allocation
/// (`use_meta_device`). Resize its storage (ct_tensor_storage_resize) before it is read or written.
int ct_tensor_unallocated(int dtype, const int64_t *sizes, int64_t dim, ct_tensor *out);
/// Copies `source` into `destination` without bumping its version counter (as writing through `.data` does), so
/// autograd's saved copies of `destination` stay valid: FSDP refilling freed parameters before backward.
int ct_tensor_copy_untracked(ct_tensor destination, ct_tensor source);

// MARK: - Operators through the dispatcher

/// The kind of a `ct_value`.
typedef enum {
  CT_NONE = 0,
  CT_TENSOR = 1,      // tensor
  CT_INT = 2,         // i
  CT_DOUBLE = 3,      // d
  CT_BOOL = 4,        // i (0 or 1)
  CT_INT_LIST = 5,    // ints[count]
  CT_DOUBLE_LIST = 6, // doubles[count]
  CT_TENSOR_LIST = 7, // tensors[count]; null entries mean "no tensor" in a Tensor?[] list
  CT_DTYPE = 8,       // i: c10::ScalarType code
  CT_DEVICE = 9,      // i: c10::DeviceType code, count: index (-1 for none)
  CT_STRING = 10,     // string
  CT_GENERATOR = 11,  // generator
  CT_DEFAULT = 12,    // the schema's default value for this position
} ct_kind;

/// One argument or result of an operator call.
typedef struct {
  int32_t kind;
  int64_t i;
  double d;
  int64_t count;
  const void *pointer; // ct_tensor, const int64_t *, const double *, const ct_tensor *, const char *, ct_generator
} ct_value;

/// Finds an ATen operator by schema name and overload ("aten::add", "Tensor"); the handle lives forever.
int ct_op_find(const char *name, const char *overload, ct_op *out);
/// Calls the operator with positional arguments; missing trailing arguments take their defaults.
///
/// Results are flattened into `results` (tensor lists give one entry per tensor, tuples one per element);
/// a tensor result is a new owned handle in `pointer`, an undefined tensor is CT_NONE. At most `capacity`
/// entries are written; `count` receives the number of results.
int ct_op_call(ct_op op, const ct_value *arguments, int64_t argument_count, ct_value *results,
               int64_t capacity, int64_t *count);

// MARK: - Random generators

int ct_generator_new(uint64_t seed, ct_generator *out);
/// The process-wide default CPU generator (not owned; never free it).
ct_generator ct_generator_default_cpu(void);
void ct_generator_free(ct_generator generator);
int ct_generator_set_seed(ct_generator generator, uint64_t seed);
uint64_t ct_generator_seed(ct_generator generator);
/// The generator's full state as a uint8 tensor.
int ct_generator_get_state(ct_generator generator, ct_tensor *out);
int ct_generator_set_state(ct_generator generator, ct_tensor state);

// MARK: - Autograd

bool ct_grad_mode_is_enabled(void);
void ct_grad_mode_set_enabled(bool enabled);

/// Turns autocast on for `device_type` with `dtype` on the calling thread; returns the previous state.
void ct_autocast_enter(int device_type, int dtype, bool *previous_enabled, int *previous_dtype);
/// Restores the state returned by `ct_autocast_enter` and clears the autocast cache at the outermost exit.
void ct_autocast_exit(int device_type, bool previous_enabled, int previous_dtype);
bool ct_autocast_is_enabled(int device_type);
/// The dtype autocast computes in for `device_type` (meaningful while it is enabled).
int ct_autocast_dtype(int device_type);
/// Turns autocast's cache of casted weights on or off (process-wide); returns the previous setting. CUDA-graph
/// capture wants it off, as `torch.cuda.graph` does.
bool ct_autocast_set_cache_enabled(bool enabled);

int ct_tensor_grad(ct_tensor tensor, ct_tensor *out);          // *out is NULL when there is no gradient
int ct_tensor_set_grad(ct_tensor tensor, ct_tensor grad);      // grad may be NULL to clear
int ct_tensor_grad_fn_name(ct_tensor tensor, char **out);      // *out is NULL for leaves
int ct_backward(const ct_tensor *outputs, const ct_tensor *grad_outputs, int64_t count, bool retain_graph,
                bool create_graph);
/// Gradients of `outputs` with respect to `inputs` (torch.autograd.grad); unused inputs give NULL.
int ct_grad(const ct_tensor *outputs, const ct_tensor *grad_outputs, int64_t output_count, const ct_tensor *inputs,
            int64_t input_count, bool retain_graph, bool create_graph, bool allow_unused, ct_tensor *grads);

/// Releases a Swift context when libtorch drops the hook or node that held it.
typedef void (*ct_release_fn)(void *context);
/// A gradient hook: receives the gradient (owned), may store a replacement (owned by the shim) in `*replacement`.
typedef int (*ct_grad_hook_fn)(void *context, ct_tensor grad, ct_tensor *replacement);
/// A post-accumulate-grad hook: receives the parameter (owned) after its .grad was updated.
typedef int (*ct_post_accumulate_hook_fn)(void *context, ct_tensor parameter);
/// The backward of a custom function: receives one gradient per output (owned, NULL when none) and writes
/// one gradient per input into `grad_inputs` (owned by the shim, NULL for none).
typedef int (*ct_backward_fn)(void *context, ct_tensor *grad_outputs, int64_t output_count, ct_tensor *grad_inputs,
                              int64_t input_count);

int ct_tensor_register_hook(ct_tensor tensor, ct_grad_hook_fn hook, void *context, ct_release_fn release,
                            int64_t *handle);
int ct_tensor_remove_hook(ct_tensor tensor, int64_t handle);
int ct_tensor_register_post_accumulate_grad_hook(ct_tensor tensor, ct_post_accumulate_hook_fn hook, void *context,
                                                 ct_release_fn release);

/// Connects `outputs` (computed without grad from `inputs`) to the graph through a node whose backward is
/// `backward`. Writes one new handle per output into `wrapped`; the node owns `context`.
int ct_custom_function_apply(const ct_tensor *inputs, int64_t input_count, const ct_tensor *outputs,
                             int64_t output_count, const char *name, ct_backward_fn backward, void *context,
                             ct_release_fn release, ct_tensor *wrapped);

// MARK: - Memory accounting

/// Bytes held now, the peak since the last reset, and the number of allocations made by the CPU allocator.
void ct_cpu_allocator_stats(int64_t *current_bytes, int64_t *peak_bytes, int64_t *allocations);
void ct_cpu_allocator_reset_peak(void);
/// Bytes of freed large blocks the CPU allocator keeps for reuse, and the most it keeps.
void ct_cpu_allocator_cache(int64_t *cached_bytes, int64_t *limit_bytes);
/// Frees every cached block.
void ct_cpu_allocator_empty_cache(void);
/// Sets the most the cache keeps (0: keep nothing), freeing the oldest blocks above it.
void ct_cpu_allocator_set_cache_limit(int64_t bytes);
/// Starts (enabled != 0, keeping at most `max_entries` events, the newest) or stops recording every allocation and
/// free of the CPU allocator (the CPU side of steppable_profiler/memory_tracing).
void ct_cpu_memory_history(int enabled, int64_t max_entries);
/// Events recorded since the last start.
int64_t ct_cpu_memory_history_count(void);
/// Event `index` (oldest first): action 0 alloc, 1 free; the block's address and bytes; microseconds since the epoch.
int ct_cpu_memory_history_event(int64_t index, int *action, uint64_t *address, int64_t *bytes, int64_t *time_us);

/// A c10d process group (Gloo on the CPU) with its TCPStore rendezvous.
typedef struct ct_process_group_s *ct_process_group;
/// Rank 0 serves the store at `master_address:master_port`; every rank connects. `prefix` namespaces the keys.
int ct_process_group_create_gloo(const char *master_address, int master_port, const char *prefix, int rank, int size,
                                 int64_t timeout_ms, ct_process_group *out);
int ct_process_group_create_subgroup(ct_process_group parent, const char *prefix, int rank, int size, int64_t timeout_ms,
                                     ct_process_group *out);
void ct_process_group_free(ct_process_group group);
/// Gives `group` an NCCL backend on cuda:`device_index` for its CUDA tensors (CPU tensors stay on Gloo); its
/// subgroups made afterwards get one too. Needs CUDA loaded and the CUDA shim (which holds ProcessGroupNCCL).
int ct_process_group_add_nccl(ct_process_group group, int device_index);
bool ct_process_group_has_nccl(ct_process_group group);
/// The NCCL version libtorch runs with ("2.28.9"); needs CUDA loaded.
int ct_nccl_version(char *out, size_t capacity);
/// `op`: 0 sum, 1 max, 2 min, 3 product. In place on every tensor.
int ct_process_group_all_reduce(ct_process_group group, ct_tensor *tensors, int64_t count, int op);
int ct_process_group_broadcast(ct_process_group group, ct_tensor tensor, int root);
/// `output` holds size × `input`'s elements, rank-major.
int ct_process_group_all_gather(ct_process_group group, ct_tensor output, ct_tensor input);
/// `input` holds size × `output`'s elements; rank r receives the reduction of block r.
int ct_process_group_reduce_scatter(ct_process_group group, ct_tensor output, ct_tensor input, int op);
int ct_process_group_barrier(ct_process_group group);
/// A collective in flight; wait for it before reading its tensors.
typedef struct ct_work_s *ct_work;
int ct_process_group_all_reduce_async(ct_process_group group, ct_tensor *tensors, int64_t count, int op, ct_work *out);
/// Starts `all_gather_into_tensor`; the tensors must stay alive until the work is waited for.
int ct_process_group_all_gather_async(ct_process_group group, ct_tensor output, ct_tensor input, ct_work *out);
/// Starts sending `tensor` to `destination` (matched by `tag`); wait on the work before reusing the tensor.
int ct_process_group_reduce_scatter_async(ct_process_group group, ct_tensor output, ct_tensor input, int op,
                                          ct_work *out);
int ct_process_group_send_async(ct_process_group group, ct_tensor tensor, int destination, int tag, ct_work *out);
int ct_work_wait(ct_work work);
void ct_work_free(ct_work work);
int ct_process_group_send(ct_process_group group, ct_tensor tensor, int destination, int tag);
int ct_process_group_receive(ct_process_group group, ct_tensor tensor, int source, int tag);

/// Turns on timing of shim calls (off by default): each thread sums the time of its outermost calls, i.e. the
/// time spent in libtorch, so a benchmark can tell it from the time spent in Swift around it.
void ct_call_timing_enable(bool enabled);
/// Nanoseconds the calling thread spent inside shim calls since its last reset.
uint64_t ct_call_timing_thread_nanoseconds(void);
void ct_call_timing_thread_reset(void);

/// Mean cross entropy of float32 logits (N × V) against int64 targets (N), writing the gradient with respect to the
/// logits into the logits (in place): (softmax − one-hot) / counted rows, zero where target == ignore_index.
int ct_cross_entropy_with_gradient_(ct_tensor logits, ct_tensor target, int64_t ignore_index, ct_tensor *loss);

/// 1 when ct_causal_attention can run (libtorch exports the BLAS it calls) and is wanted (not
/// MODALITIES_CPU_ATTENTION=libtorch), 0 otherwise.
int ct_causal_attention_available(void);
/// Differentiable causal attention of CPU tensors query (B, H, T, D), key and value (B, H_kv, T, D), H a multiple of
/// H_kv, keys as long as queries, no dropout: a few large GEMMs per block of query rows. float64 computes in float64,
/// other floating dtypes in float32. The output is laid out (B, T, H, D) in memory.
int ct_causal_attention(ct_tensor query, ct_tensor key, ct_tensor value, double scale, ct_tensor *out);

/// input (..., K) × weight (N, K)ᵀ, differentiable, with output rows padded in memory (16 floats) when N values per
/// row would make the row stride a multiple of 4 KB (cache-set conflicts in the GEMMs that write and read them);
/// otherwise, and on other devices or under CPU autocast, at::linear.
int ct_linear_padding_rows(ct_tensor input, ct_tensor weight, ct_tensor *out);
/// Modalities' RMSLayerNorm over the last dimension: x / sqrt(mean(x²) + eps) · weight (+ bias; `bias` may be null),
/// computed in float32. Float32 and float64 CPU tensors run the shim's one-pass kernel (float64 in float64); other
/// dtypes, devices and CPU autocast run the same computation as ATen operators; with `torch_form` (bias null) those
/// run libtorch's own rms_norm instead (torch.nn.RMSNorm over the last dimension: the same formula).
int ct_rms_layer_norm(ct_tensor input, ct_tensor weight, ct_tensor bias, double eps, int torch_form, ct_tensor *out);

// Kineto traces (libtorch's profiler, as torch.profiler drives it). Flags choose activities and extras.
#define CT_TRACE_CPU 1
#define CT_TRACE_CUDA 2
#define CT_TRACE_RECORD_SHAPES 4
#define CT_TRACE_PROFILE_MEMORY 8
#define CT_TRACE_WITH_STACK 16
#define CT_TRACE_WITH_FLOPS 32
#define CT_TRACE_WITH_MODULES 64
/// Sets the tracer up ahead of a start (torch.profiler's warm-up), so the first recorded step is not slowed by it.
int ct_trace_prepare(int flags);
/// Starts recording (preparing first if ct_trace_prepare was not called).
int ct_trace_start(int flags);
/// Stops recording; the trace holds `*event_count` events until the next start.
int ct_trace_stop(int64_t *event_count);
/// Writes the last trace as Chrome-trace JSON.
int ct_trace_save(const char *path);
/// One event of the last trace: name, device type (c10::DeviceType: 0 CPU, 1 CUDA), start and duration, FLOPs.
int ct_trace_event(int64_t index, char *name, size_t capacity, int *device_type, int64_t *start_ns, int64_t *duration_ns,
                   int64_t *flops);

/// Starts collecting per-operator times (libtorch's RecordFunction callbacks, forward and backward, all threads).
int ct_op_profile_start(void);
/// Stops collecting; `*count` operators were seen, read them with ct_op_profile_entry.
int ct_op_profile_stop(int64_t *count);
/// Operator `index` of the last profile: its name, calls, self time and inclusive time in nanoseconds.
int ct_op_profile_entry(int64_t index, char *name, size_t capacity, int64_t *calls, int64_t *self_ns, int64_t *total_ns);

// MARK: - Benchmark support

/// Runs `at::add(a, b)` `iterations` times in C++, to measure the cost of the Swift path against it.
int ct_benchmark_add_loop(ct_tensor a, ct_tensor b, int64_t iterations, double *seconds);

#ifdef __cplusplus
}
#endif

#endif

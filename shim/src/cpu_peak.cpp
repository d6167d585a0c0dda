// What bounds a CPU's float32 throughput from above: the vector width and FMA the CPU reports through CPUID, and
// the clock a core runs at, measured. MFU on the CPU divides by a peak that must be a true upper bound; the best
// measured GEMM is not one (the step's own GEMMs can beat a short 1024^3 benchmark), the theoretical figure is.
#include "internal.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace {

#if defined(__x86_64__) || defined(__i386__)
/// Whether the OS saves the vector state `mask` selects (XCR0 through XGETBV): a CPU may report AVX-512 that the
/// kernel does not enable, and then no program can use it.
bool os_saves(std::uint64_t mask) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & bit_OSXSAVE) == 0) return false;
  unsigned low = 0, high = 0;
  __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  std::uint64_t xcr0 = (static_cast<std::uint64_t>(high) << 32) | low;
  return (xcr0 & mask) == mask;
}
#endif

}  // namespace

extern "C" {

/// Float32 FLOPs one core can retire per cycle at most, from CPUID: two vector FMA pipes (the most any x86 core
/// has) × float32 lanes of the widest vectors the CPU and OS support, or of its pipes where those are known to be
/// narrower, × 2 (an FMA is a multiply and an add). Without FMA, one multiply pipe and one add pipe. 0 on other
/// architectures (unknown).
int ct_cpu_float32_flops_per_cycle(void) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return 0;
  const bool fma = (ecx & bit_FMA) != 0;
  const bool avx = (ecx & bit_AVX) != 0 && os_saves(0x6);  // XMM and YMM state
  bool avx512 = false;
  if (__get_cpuid_max(0, nullptr) >= 7) {
    unsigned ebx7 = 0;
    __cpuid_count(7, 0, eax, ebx7, ecx, edx);
    avx512 = (ebx7 & bit_AVX512F) != 0 && os_saves(0xE6);  // plus opmask and both halves of ZMM
  }
  int lanes = avx512 ? 16 : avx ? 8 : 4;
  // AMD cores whose vector pipes are narrower than the instructions they run (each instruction taking two passes),
  // from the vendor and family/model: Zen and Zen+ (family 17h, models 00h-2Fh) run 256-bit AVX on 128-bit pipes,
  // Zen 4 (family 19h with AVX-512) runs AVX-512 on 256-bit pipes.
  unsigned max_leaf = 0, vendor_b = 0, vendor_c = 0, vendor_d = 0;
  __cpuid(0, max_leaf, vendor_b, vendor_c, vendor_d);
  const bool amd = vendor_b == 0x68747541 && vendor_d == 0x69746e65 && vendor_c == 0x444d4163;  // "AuthenticAMD"
  __cpuid(1, eax, ebx, ecx, edx);
  const unsigned base_family = (eax >> 8) & 0xF;
  const unsigned family = base_family == 0xF ? base_family + ((eax >> 20) & 0xFF) : base_family;
  const unsigned model = ((eax >> 4) & 0xF) | (base_family == 0xF ? ((eax >> 16) & 0xF) << 4 : 0);
  if (amd && family == 0x17 && model < 0x30) lanes = std::min(lanes, 4);
  if (amd && family == 0x19 && avx512) lanes = std::min(lanes, 8);
  return fma ? 2 * lanes * 2 : 2 * lanes;
#else
  return 0;
#endif
}

/// The clock of the core this runs on, in Hz: a chain of dependent register additions (one cycle each on every x86
/// core, and never folded away, unlike additions of constants) timed for about `milliseconds`, best of `rounds`
/// after as long again of warm-up so the core has left its idle clock. A round that the scheduler interrupts only
/// looks slower, so the best round is the closest to the true clock. 0 on other architectures.
double ct_cpu_measure_clock_hz(int milliseconds, int rounds) {
#if defined(__x86_64__)
  using clock = std::chrono::steady_clock;
  constexpr std::uint64_t additions_per_iteration = 64;
  std::uint64_t value = 0, step = 1;
  auto spin = [&](std::uint64_t iterations) {
    for (std::uint64_t i = 0; i < iterations; ++i) {
#define CT_ADD8 "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
      __asm__ volatile(CT_ADD8 CT_ADD8 CT_ADD8 CT_ADD8 CT_ADD8 CT_ADD8 CT_ADD8 CT_ADD8 : "+r"(value) : "r"(step));
#undef CT_ADD8
    }
  };
  // Calibrate the iteration count to the wanted duration (at least 1 ms per round).
  const double seconds = (milliseconds > 0 ? milliseconds : 1) / 1000.0;
  std::uint64_t iterations = 1 << 14;
  for (;;) {
    auto start = clock::now();
    spin(iterations);
    double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (elapsed >= seconds) break;
    iterations = elapsed > 0 ? static_cast<std::uint64_t>(iterations * (seconds / elapsed) * 1.1) + 1 : iterations * 2;
  }
  double best = 0;
  for (int round = 0; round < (rounds > 0 ? rounds : 1); ++round) {
    auto start = clock::now();
    spin(iterations);
    double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (elapsed > 0) best = std::max(best, static_cast<double>(iterations * additions_per_iteration) / elapsed);
  }
  return value == 0 ? 0 : best;  // `value` is used, so the chain is not dropped
#else
  return 0;
#endif
}

}  // extern "C"

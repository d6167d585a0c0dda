// Seeded random generators whose state can be saved and restored.
#include "internal.h"

#include <ATen/CPUGeneratorImpl.h>

extern "C" {

int ct_generator_new(uint64_t seed, ct_generator *out) {
  return ctorch::guarded([&] { *out = new ct_generator_s{at::make_generator<at::CPUGeneratorImpl>(seed), true}; });
}

ct_generator ct_generator_default_cpu(void) {
  static ct_generator_s shared{at::detail::getDefaultCPUGenerator(), false};
  return &shared;
}

void ct_generator_free(ct_generator generator) {
  if (generator && generator->owned) delete generator;
}

int ct_generator_set_seed(ct_generator generator, uint64_t seed) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(generator->generator.mutex());
    generator->generator.set_current_seed(seed);
  });
}

uint64_t ct_generator_seed(ct_generator generator) { return generator->generator.current_seed(); }

int ct_generator_get_state(ct_generator generator, ct_tensor *out) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(generator->generator.mutex());
    *out = ctorch::wrap(generator->generator.get_state());
  });
}

int ct_generator_set_state(ct_generator generator, ct_tensor state) {
  return ctorch::guarded([&] {
    std::lock_guard<std::mutex> lock(generator->generator.mutex());
    generator->generator.set_state(ctorch::unwrap(state));
  });
}

} // extern "C"

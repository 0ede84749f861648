#pragma once
/// \file
/// transport::detail::slot_table — one of a link's name caches (frame.hpp: the tag,
/// signature and node slots a sender defines and its messages name), kept in pages made the
/// first time one of their slots is set: a link pays for the names it uses (a few hundred
/// bytes for a handful), not for the cache's size (tens of KiB for every slot).
///
/// The sender picks a slot by hashing the name, so the slots in use are scattered: pages of
/// 32 slots keep the cost of one name near a page's size while the page table stays at a
/// few pointers per KiB of slots. Reading a slot is one more load than a flat array.
///
/// Threading: none of its own (its owner's). Lifetime: its owner's (an encoder's or a
/// receiver's). May include: the standard library only.

#include <array>
#include <cstddef>
#include <memory>

namespace coport::transport::detail {

template <class T, std::size_t Slots, std::size_t Page = 32>
class slot_table {
  static_assert(Slots % Page == 0);

 public:
  /// The slot's value, or null if nothing in its page was ever set. Precondition: slot < Slots.
  const T* find(std::size_t slot) const noexcept {
    const auto& p = pages_[slot / Page];
    return p ? &(*p)[slot % Page] : nullptr;
  }
  T* find(std::size_t slot) noexcept {
    auto& p = pages_[slot / Page];
    return p ? &(*p)[slot % Page] : nullptr;
  }
  /// The slot's value, or a value-initialised T if nothing in its page was ever set.
  /// Precondition: slot < Slots.
  T get(std::size_t slot) const noexcept(noexcept(T{})) {
    const T* v = find(slot);
    return v ? *v : T{};
  }
  /// The slot, its page made (every slot value-initialised) if it did not exist (the only
  /// member that allocates). Precondition: slot < Slots.
  T& operator[](std::size_t slot) {
    auto& p = pages_[slot / Page];
    if (!p) p = std::make_unique<std::array<T, Page>>();
    return (*p)[slot % Page];
  }

 private:
  std::array<std::unique_ptr<std::array<T, Page>>, Slots / Page> pages_{};
};

}  // namespace coport::transport::detail

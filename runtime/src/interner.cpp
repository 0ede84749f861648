// The interner: lock-free lookups of names already seen, locked inserts.
#include "coport/detail/interner.hpp"

namespace coport::detail {

interner::interner() {
  tables_.push_back(std::make_unique<table>(256));
  current_.store(tables_.back().get(), std::memory_order_release);
  entries_.push_back(entry{hash_of({}), 0, {}});
  insert(*tables_.back(), &entries_.back());
  count_ = 1;
}

interner::~interner() = default;

std::uint64_t interner::hash_of(std::string_view s) noexcept {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

const interner::entry* interner::find(const table& t, std::uint64_t h,
                                      std::string_view s) noexcept {
  for (std::size_t i = h & t.mask;; i = (i + 1) & t.mask) {
    const entry* e = t.slots[i].load(std::memory_order_acquire);
    if (!e) return nullptr;
    if (e->hash == h && e->text == s) return e;
  }
}

void interner::insert(table& t, const entry* e) noexcept {
  for (std::size_t i = e->hash & t.mask;; i = (i + 1) & t.mask) {
    if (!t.slots[i].load(std::memory_order_relaxed)) {
      t.slots[i].store(e, std::memory_order_release);
      return;
    }
  }
}

std::uint32_t interner::intern(std::string_view s) {
  std::uint64_t h = hash_of(s);
  if (const entry* e = find(*current_.load(std::memory_order_acquire), h, s)) return e->id;
  std::lock_guard lock{mutex_};
  table* t = current_.load(std::memory_order_relaxed);
  if (const entry* e = find(*t, h, s)) return e->id;
  auto id = static_cast<std::uint32_t>(entries_.size());
  entries_.push_back(entry{h, id, std::string{s}});
  ++count_;
  if (count_ * 2 > t->mask + 1) {
    tables_.push_back(std::make_unique<table>((t->mask + 1) * 2));
    table* bigger = tables_.back().get();
    for (const entry& old : entries_) insert(*bigger, &old);
    current_.store(bigger, std::memory_order_release);
  } else {
    insert(*t, &entries_.back());
  }
  return id;
}

std::uint32_t interner::find(std::string_view s) const noexcept {
  if (s.empty()) return 0;
  const entry* e = find(*current_.load(std::memory_order_acquire), hash_of(s), s);
  if (e) return e->id;
  std::lock_guard lock{mutex_};
  e = find(*current_.load(std::memory_order_relaxed), hash_of(s), s);
  return e ? e->id : 0;
}

std::string_view interner::name(std::uint32_t id) const {
  std::lock_guard lock{mutex_};
  return id < entries_.size() ? std::string_view{entries_[id].text} : std::string_view{};
}

interner& tag_names() {
  static interner table;
  return table;
}

interner& node_names() {
  static interner table;
  return table;
}

}  // namespace coport::detail

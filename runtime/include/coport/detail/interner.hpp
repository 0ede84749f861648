#pragma once
/// \file
/// detail::interner — maps strings to small stable numbers and back.
///
/// Looking up a string already interned takes no lock: an open-addressing table of atomic
/// slots, read with acquire loads. Inserting takes a mutex; a full table is replaced by one
/// twice its size and the old one is kept (never freed while the interner lives), so a reader
/// holding it stays safe and at worst misses a new name and retries under the mutex.
/// Threading: every member is thread-safe. Lifetime: names are never freed; the views that
/// `name` returns stay valid for the interner's lifetime.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace coport::detail {

/// A process-wide table of interned strings.
class interner {
 public:
  /// Number 0 is the empty string.
  interner();
  ~interner();
  interner(const interner&) = delete;
  interner& operator=(const interner&) = delete;

  /// The number of `s`, interning it on first sight.
  std::uint32_t intern(std::string_view s);

  /// The number of `s` if it is interned, else 0 (never interns).
  std::uint32_t find(std::string_view s) const noexcept;

  /// The string with number `id` (empty for an unknown number).
  std::string_view name(std::uint32_t id) const;

 private:
  struct entry {
    std::uint64_t hash;
    std::uint32_t id;
    std::string text;
  };
  struct table {
    explicit table(std::size_t n) : mask{n - 1}, slots{new std::atomic<const entry*>[n]} {
      for (std::size_t i = 0; i < n; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
    }
    std::size_t mask;
    std::unique_ptr<std::atomic<const entry*>[]> slots;
  };

  static std::uint64_t hash_of(std::string_view s) noexcept;
  static const entry* find(const table& t, std::uint64_t h, std::string_view s) noexcept;
  void insert(table& t, const entry* e) noexcept;

  std::atomic<table*> current_;
  mutable std::mutex mutex_;                    // inserts, growth, and `name`
  std::vector<std::unique_ptr<table>> tables_;  // every table ever published
  std::deque<entry> entries_;                   // stable addresses; entries_[id]
  std::size_t count_ = 0;
};

/// The interner of tags.
interner& tag_names();
/// The interner of node IDs.
interner& node_names();

}  // namespace coport::detail

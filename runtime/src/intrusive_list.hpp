#pragma once
/// \file
/// detail::reverse_list — turns an intrusive LIFO stack (what a lock-free push builds) into a
/// FIFO list, in place. Used for port inboxes (linked through `next`) and for the ports that
/// outside threads wake (linked through `next_ready`).
/// Threading: none; the caller owns the whole list.
/// May include: the standard library only.

namespace coport::detail {

/// Reverses the list starting at `head`, linked through `T::*Link`; returns the new head.
template <auto Link, class T>
T* reverse_list(T* head) noexcept {
  T* reversed = nullptr;
  while (head) {
    T* next = head->*Link;
    head->*Link = reversed;
    reversed = head;
    head = next;
  }
  return reversed;
}

}  // namespace coport::detail

// A set of audit-log ids for the source's per-event bookkeeping (ids in flight, ids of the window
// being read). Open addressing with linear probing over one flat array: no allocation per id and
// no copy of it, where a node-based std::unordered_set<std::string> costs both on every event.
//
// The set stores views: the caller owns the bytes and keeps them alive and unchanged while the id
// is in the set (erase it before moving or freeing the string it points into).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace siem {

class IdViewSet {
 public:
  // False when `id` was already present (the set then keeps the view it had).
  bool insert(std::string_view id);
  bool contains(std::string_view id) const;
  // False when `id` was not present.
  bool erase(std::string_view id);
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Removes every id; keeps the table unless it is much larger than `keep_slots`.
  void clear(std::size_t keep_slots = 1024);

 private:
  struct Slot {
    const char* data = nullptr;  // nullptr: empty slot
    std::size_t size = 0;
    std::size_t hash = 0;
  };
  static constexpr std::size_t kRetainedSlots = 1 << 16;

  static std::size_t hashOf(std::string_view id) { return std::hash<std::string_view>{}(id); }
  // The slot holding `id`, or the empty slot where it would go.
  std::size_t find(std::string_view id, std::size_t hash) const;
  void grow();

  std::vector<Slot> slots_;  // size is 0 or a power of two
  std::size_t size_ = 0;
};

}  // namespace siem

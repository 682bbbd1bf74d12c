#include "agent/sources/openai/id_set.h"

#include <algorithm>
#include <utility>

namespace siem {
namespace {

// Any non-null address marks a slot as used; an empty id may come with a null data pointer.
constexpr char kEmptyId[] = "";

}  // namespace

std::size_t IdViewSet::find(std::string_view id, std::size_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.data == nullptr) return i;
    if (slot.hash == hash && std::string_view(slot.data, slot.size) == id) return i;
  }
}

void IdViewSet::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.data == nullptr) continue;
    std::size_t i = slot.hash & mask;
    while (slots_[i].data != nullptr) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

bool IdViewSet::insert(std::string_view id) {
  // At most half full, so probes stay short and an empty slot always exists.
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::size_t hash = hashOf(id);
  Slot& slot = slots_[find(id, hash)];
  if (slot.data != nullptr) return false;
  slot = Slot{id.data() != nullptr ? id.data() : kEmptyId, id.size(), hash};
  ++size_;
  return true;
}

bool IdViewSet::contains(std::string_view id) const {
  if (size_ == 0) return false;
  return slots_[find(id, hashOf(id))].data != nullptr;
}

bool IdViewSet::erase(std::string_view id) {
  if (size_ == 0) return false;
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = find(id, hashOf(id));
  if (slots_[hole].data == nullptr) return false;
  // Backward-shift deletion: move later members of the probe run into the hole so that every
  // lookup still finds them without tombstones.
  for (std::size_t j = (hole + 1) & mask; slots_[j].data != nullptr; j = (j + 1) & mask) {
    const std::size_t home = slots_[j].hash & mask;
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
  --size_;
  // A burst (a large backlog in flight) must not pin its table once it has drained.
  if (size_ == 0 && slots_.size() > kRetainedSlots) {
    slots_.clear();
    slots_.shrink_to_fit();
  }
  return true;
}

void IdViewSet::clear(std::size_t keep_slots) {
  if (slots_.size() > keep_slots * 4) {
    slots_.clear();
    slots_.shrink_to_fit();
  } else {
    std::fill(slots_.begin(), slots_.end(), Slot{});
  }
  size_ = 0;
}

}  // namespace siem

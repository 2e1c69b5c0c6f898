// GET DATA and PUT DATA (SP 800-73-4 3.1.2, 3.3.1).
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/tags.hpp>

#include "piv_applet.hpp"

namespace certkey::agent::piv {
namespace tag = protocol::tag;

namespace {

// Discovery object: PIV AID, PIN usage policy "PIV Card Application PIN only".
constexpr std::uint8_t kDiscovery[] = {0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                       0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00};

// The tag list (5C) names one object by a 1-3 byte tag.
bool parse_object_id(Bytes tag_list, std::uint32_t& id) {
  Bytes value;
  if (!expect_single_tlv(tag_list, tag::kTagList, value) || value.empty() || value.size() > 3) {
    return false;
  }
  id = 0;
  for (std::uint8_t b : value) id = (id << 8) | b;
  return true;
}

}  // namespace

Sw PivApplet::get_data(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0x3F || c.p2 != 0xFF) return Sw::incorrect_p1p2;
  std::uint32_t id = 0;
  if (!parse_object_id(c.data, id)) return Sw::incorrect_data;
  if (id == protocol::object::kDiscovery) {
    out.put_raw(Bytes(kDiscovery, sizeof kDiscovery));
    return Sw::ok;
  }
  const std::uint16_t record_id = record::object(id);
  if (record_id == 0) return Sw::not_found;
  if (protocol::object_read_needs_pin(id) && !volatile_.pin_verified) {
    return Sw::security_status_not_satisfied;
  }
  std::size_t length = 0;
  StoreResult r = store_.read(record_id, MutableBytes(object_work_, sizeof object_work_), length);
  if (r == StoreResult::not_found) return Sw::not_found;
  if (r != StoreResult::ok) return Sw::memory_failure;
  out.put(tag::kData, Bytes(object_work_, length));
  return Sw::ok;
}

Sw PivApplet::put_data(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 != 0x3F || c.p2 != 0xFF) return Sw::incorrect_p1p2;
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  TlvReader reader(c.data);
  Tlv tag_list, content;
  if (!reader.next(tag_list) || !reader.next(content) || !reader.at_end() ||
      content.tag != tag::kData) {
    return Sw::incorrect_data;
  }
  std::uint32_t id = 0;
  if (!parse_object_id(tag_list.whole, id)) return Sw::incorrect_data;
  const std::uint16_t record_id = record::object(id);
  if (record_id == 0) return Sw::incorrect_data;  // the discovery object is fixed
  if (content.value.size() > protocol::kMaxDataObject) return Sw::not_enough_memory;

  RecordStore::Transaction tx = store_.begin();
  if (content.value.empty()) {
    if (!store_.contains(record_id)) return Sw::ok;
    tx.remove(record_id);  // "53 00" deletes the object
  } else {
    tx.put(record_id, content.value);
  }
  stage_content_change(tx);
  return commit(tx);
}

}  // namespace certkey::agent::piv

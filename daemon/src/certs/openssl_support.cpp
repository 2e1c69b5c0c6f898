#include "openssl_support.hpp"

#include <array>

namespace certkey::daemon::certs {

std::vector<X509Ptr> adopt_all(STACK_OF(X509) * stack) {
  std::vector<X509Ptr> out;
  if (!stack) return out;
  out.reserve(static_cast<std::size_t>(sk_X509_num(stack)));
  for (int i = 0; i < sk_X509_num(stack); ++i) out.push_back(adopt(sk_X509_value(stack, i)));
  sk_X509_free(stack);
  return out;
}

std::string name_text(const X509_NAME* name) {
  Bio out(BIO_new(BIO_s_mem()));
  if (!name || !out || X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string subject_text(const X509* certificate) {
  return certificate ? name_text(X509_get_subject_name(certificate)) : "?";
}

std::string time_text(std::time_t time) {
  std::tm parts{};
  if (!gmtime_r(&time, &parts)) return "?";
  std::array<char, 32> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text.data(), n);
}

std::optional<std::time_t> to_time(const ASN1_TIME* time) {
  std::tm parts{};
  if (!time || ASN1_TIME_to_tm(time, &parts) != 1) return std::nullopt;
  return timegm(&parts);
}

std::string time_text(const ASN1_TIME* time) {
  const std::optional<std::time_t> t = to_time(time);
  return t ? time_text(*t) : "?";
}

}  // namespace certkey::daemon::certs

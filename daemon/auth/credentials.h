// Secrets for the API: argon2id password hashes (libsodium), random
// session ids and tokens, and the hashes tokens are stored as.
#pragma once

#include <string>

namespace sluice::auth {

// An argon2id hash in libsodium's self-describing string form.
std::string hash_password(const std::string& password);
// Constant-time check of password against such a hash.
bool verify_password(const std::string& hash, const std::string& password);

// "slt_" + 64 hex digits: a read-only API token, shown once.
std::string new_token();
// What a token is stored and looked up as (BLAKE2b, hex).
std::string token_hash(const std::string& token);
// 64 hex digits from the system's CSPRNG: session ids, CSRF tokens.
std::string random_hex(std::size_t bytes = 32);
// Constant-time comparison for secrets of equal length.
bool same_secret(const std::string& a, const std::string& b);

}  // namespace sluice::auth

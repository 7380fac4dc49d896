// Buyer tokens for the load scripts: the seed writes one for each user it
// makes (`seed --tokens FILE`: [{user_id, token}, ...], signed with the
// service's FLASHBOOK_TOKEN_KEYS), so 10,000 buyers need no sign-in. Loaded
// once per k6 process into a SharedArray (not once per VU).
//
// Environment:
//   TOKENS_FILE   the seed's tokens file, an absolute path  (required)

import { SharedArray } from 'k6/data';

const TOKENS_FILE = __ENV.TOKENS_FILE || '';

// Index user_id - 1: the seed's users are 1..N.
const TOKENS = new SharedArray('buyer tokens', () => {
  if (!TOKENS_FILE) {
    throw new Error('TOKENS_FILE is needed: the file of seed --tokens');
  }
  const tokens = [];
  for (const entry of JSON.parse(open(TOKENS_FILE))) {
    tokens[entry.user_id - 1] = entry.token;
  }
  return tokens;
});

// `headers` with `Authorization: Bearer <token>` of user `userId`.
export function asBuyer(userId, headers = {}) {
  const token = TOKENS[userId - 1];
  if (!token) {
    throw new Error(`no token for user ${userId} in ${TOKENS_FILE}`);
  }
  return Object.assign({}, headers, { Authorization: `Bearer ${token}` });
}

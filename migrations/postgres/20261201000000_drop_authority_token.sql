-- Protocol v2 (protocol-spec/11-roles.md): there is no authority token any more; every
-- authority act is signed by its role's own key, which the server never holds. Drop the
-- token's hash. (The board signing key of an earlier version may stay in server_keys;
-- new deployments give the server the operator key from a key file and store no key.)
DELETE FROM server_keys WHERE name = 'authority_token_sha256';

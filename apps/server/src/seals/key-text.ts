/** Reading SORTIE_SEAL_PRIVATE_KEY: apart from keys.ts so that config.ts checks it without the database's modules. */
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** The Ed25519 private key in `text` (PKCS8 PEM, or a JWK with `d`); throws a sentence saying what is wrong. */
export function parsePrivateKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    const trimmed = text.trim();
    key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as never, format: 'jwk' })
      : createPrivateKey(trimmed);
  } catch {
    throw new Error('is neither a PEM private key nor a private JWK');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`is an ${key.asymmetricKeyType} key; seals need Ed25519`);
  return key;
}

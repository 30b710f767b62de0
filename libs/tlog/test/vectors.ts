// Published known answers, as plain data so that every implementation in this repository (the service's
// libs/tlog and the offline verifier in apps/verify) is tested against the same ones.

/**
 * RFC 6962 hashing: transparency-dev/merkle rfc6962/rfc6962_test.go (the empty tree, an empty leaf,
 * leaf "L123456", node of "N123" and "N456").
 */
export const HASHER_VECTORS = {
  emptyRoot: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  emptyLeaf: '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  leaf: { data: 'L123456', hash: '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56' },
  node: { left: 'N123', right: 'N456', hash: 'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb' },
};

/**
 * The eight-leaf tree of the RFC 6962 reference tests (certificate-transparency and
 * transparency-dev/merkle proof/verify_test.go): leaf data in hex, the root of every prefix, and the
 * published inclusion (leafIndex 0-based) and consistency proofs.
 */
export const TREE_VECTORS = {
  leaves: ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'],
  /** rootsBySize[n - 1] is the root of the first n leaves. */
  rootsBySize: [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ],
  inclusion: [
    { leafIndex: 0, size: 1, proof: [] as string[] },
    {
      leafIndex: 0,
      size: 8,
      proof: [
        '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
      ],
    },
    {
      leafIndex: 5,
      size: 8,
      proof: [
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
        'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      ],
    },
    { leafIndex: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
    {
      leafIndex: 1,
      size: 5,
      proof: [
        '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      ],
    },
  ],
  consistency: [
    { from: 1, to: 1, proof: [] as string[] },
    {
      from: 1,
      to: 8,
      proof: [
        '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
      ],
    },
    {
      from: 6,
      to: 8,
      proof: [
        '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
        'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      ],
    },
    {
      from: 2,
      to: 5,
      proof: [
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      ],
    },
    {
      from: 6,
      to: 7,
      proof: [
        '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
        'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      ],
    },
  ],
};

/**
 * The signed-note example of the Go reference implementation (golang.org/x/mod/sumdb/note): its key
 * PeterNeumann, its private key (0x01 ‖ the 32-byte Ed25519 seed, base64) and the note it signs.
 * Ed25519 is deterministic, so signing the text with the seed must give this note byte for byte.
 */
export const NOTE_VECTOR = {
  name: 'PeterNeumann',
  verifierKey: 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  privateKey: 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
  text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
  note:
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n" +
    '\n' +
    '\u2014 PeterNeumann ' +
    'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n',
};

/** The PKCS#8 PEM of an Ed25519 seed (RFC 8410: a fixed 16-byte DER prefix, then the 32-byte seed). */
export function ed25519SeedToPem(seed: Uint8Array): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
}

/** The seed inside a Go-style "PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>" key. */
export function seedOfGoPrivateKey(skey: string): Buffer {
  const material = Buffer.from(skey.split('+').slice(4).join('+'), 'base64');
  if (material.length !== 33 || material[0] !== 0x01) throw new Error('not an Ed25519 note private key');
  return material.subarray(1);
}

export const hex = (s: string) => Buffer.from(s, 'hex');

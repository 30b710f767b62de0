import { generateKeyPairSync } from 'node:crypto';
import { ed25519SeedToPem, NOTE_VECTOR, seedOfGoPrivateKey } from '../test/vectors';
import { NoteError } from './errors';
import { generateSigningKeyPem, parseVerifierKey, signerFromPem, verifierKeyOf } from './keys';
import { openNote, signNote } from './note';

const peter = () => signerFromPem(NOTE_VECTOR.name, ed25519SeedToPem(seedOfGoPrivateKey(NOTE_VECTOR.privateKey)));

describe('signed notes (C2SP signed-note)', () => {
  describe('the reference example (golang.org/x/mod/sumdb/note)', () => {
    it('derives the published verifier key from the private key', () => {
      const signer = peter();
      expect(signer.verifierKey).toBe(NOTE_VECTOR.verifierKey);
      expect(signer.keyHash.toString('hex')).toBe('c74f20a3');
      const v = parseVerifierKey(NOTE_VECTOR.verifierKey);
      expect(verifierKeyOf(v.name, v.publicKey)).toBe(NOTE_VECTOR.verifierKey);
    });

    it('signs the text into the published note byte for byte', () => {
      expect(signNote(NOTE_VECTOR.text, [peter()])).toBe(NOTE_VECTOR.note);
    });

    it('opens the published note with the published key', () => {
      const opened = openNote(NOTE_VECTOR.note, [parseVerifierKey(NOTE_VECTOR.verifierKey)]);
      expect(opened.text).toBe(NOTE_VECTOR.text);
      expect(opened.signatures).toEqual([
        { name: 'PeterNeumann', keyHash: Buffer.from('c74f20a3', 'hex'), verified: true },
      ]);
    });

    it('refuses the note with one character of its text changed', () => {
      const forged = NOTE_VECTOR.note.replace('cryptography', 'cryptographY');
      expect(() => openNote(forged, [parseVerifierKey(NOTE_VECTOR.verifierKey)])).toThrow(NoteError);
    });
  });

  it('refuses every mangling of the verifier key', () => {
    const vkey = NOTE_VECTOR.verifierKey;
    const bad: string[] = [];
    for (let i = 0; i < vkey.length; i++) {
      bad.push(vkey.slice(0, i), vkey.slice(i + 1));
      bad.push(vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1));
    }
    bad.push(vkey.replace('c74f20a3', 'C74F20A3'), `${vkey}=`, `x${vkey}`, vkey.replace('Peter', 'Peter Neu'));
    for (const k of bad) expect(() => parseVerifierKey(k)).toThrow(NoteError);
  });

  it('lists a signature of an unknown key unverified, and refuses a note no known key signed', () => {
    const mine = signerFromPem('example.com/log', generateSigningKeyPem());
    const note = signNote(NOTE_VECTOR.text, [mine, peter()]);
    const opened = openNote(note, [parseVerifierKey(mine.verifierKey)]);
    expect(opened.signatures.map((s) => [s.name, s.verified])).toEqual([
      ['example.com/log', true],
      ['PeterNeumann', false],
    ]);
    const stranger = signerFromPem('example.com/log', generateSigningKeyPem());
    expect(() => openNote(note, [parseVerifierKey(stranger.verifierKey)])).toThrow('no signature of a known key');
  });

  it('refuses a known key whose signature does not check, even beside a good one', () => {
    const mine = signerFromPem('a', generateSigningKeyPem());
    const note = signNote('hello\n', [mine]);
    const sigLine = note.split('\n')[2];
    const other = signNote('bye\n', [mine]).split('\n')[2];
    expect(() => openNote(`hello\n\n${sigLine}\n${other}\n`, [parseVerifierKey(mine.verifierKey)])).toThrow(
      'does not verify',
    );
  });

  it.each([
    ['no blank line', 'hello\n\u2014 a AAAAAAAA\n'],
    ['no final newline', `${NOTE_VECTOR.note.slice(0, -1)}`],
    ['no signature', `${NOTE_VECTOR.text}\n`],
    ['a bad signature line', `${NOTE_VECTOR.text}\n- PeterNeumann x08g=\n`],
    ['a short signature', `${NOTE_VECTOR.text}\n\u2014 PeterNeumann AAAA\n`],
    ['a control character', NOTE_VECTOR.note.replace('you think', 'you\tthink')],
    ['a carriage return', NOTE_VECTOR.note.replace('\n', '\r\n')],
  ])('refuses a malformed note: %s', (_, note) => {
    expect(() => openNote(note, [parseVerifierKey(NOTE_VECTOR.verifierKey)])).toThrow(NoteError);
  });

  it('signs only a text ending in a newline and free of control characters', () => {
    const s = peter();
    expect(() => signNote('no newline', [s])).toThrow(NoteError);
    expect(() => signNote('tab\there\n', [s])).toThrow(NoteError);
    expect(() => signNote('fine\n', [])).toThrow(NoteError);
  });

  it('keeps empty lines inside the text', () => {
    const s = signerFromPem('k', generateSigningKeyPem());
    const text = 'a\n\nb\n\n';
    expect(openNote(signNote(text, [s]), [parseVerifierKey(s.verifierKey)]).text).toBe(text);
  });

  it('refuses a key name with a space or a plus, and a key that is not Ed25519', () => {
    const pem = generateSigningKeyPem();
    expect(() => signerFromPem('a b', pem)).toThrow(NoteError);
    expect(() => signerFromPem('a+b', pem)).toThrow(NoteError);
    expect(() => signerFromPem('', pem)).toThrow(NoteError);
    expect(() => signerFromPem('a', 'not a pem')).toThrow(NoteError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    expect(() => signerFromPem('a', ec.toString())).toThrow('not an Ed25519 key');
  });
});

import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint';
import { NoteError } from './errors';
import { generateSigningKeyPem, parseVerifierKey, signerFromPem } from './keys';
import { EMPTY_ROOT } from './merkle';

// The example body of c2sp.org/tlog-checkpoint.
const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  it('parses the spec example and formats it back byte for byte', () => {
    const c = parseCheckpoint(SPEC_BODY);
    expect(c).toEqual({
      origin: 'example.com/behind-the-sofa',
      size: 20852163,
      rootHash: Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64'),
      extensions: [],
    });
    expect(formatCheckpoint(c)).toBe(SPEC_BODY);
  });

  it('keeps extension lines', () => {
    expect(parseCheckpoint(`${SPEC_BODY}ext one\next two\n`).extensions).toEqual(['ext one', 'ext two']);
  });

  it.each([
    ['no final newline', SPEC_BODY.slice(0, -1)],
    ['two lines', 'origin\n5\n'],
    ['an empty origin', '\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['a leading zero', 'o\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['a negative size', 'o\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['a size beyond 2^53', 'o\n9007199254740993\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['a short root', 'o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n'],
    ['a root in base64url', 'o\n5\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['an empty extension line', `${SPEC_BODY}\n`],
  ])('refuses %s', (_, body) => {
    expect(() => parseCheckpoint(body)).toThrow(NoteError);
  });

  it('signs and opens a checkpoint under its origin', () => {
    const signer = signerFromPem('log.example/test', generateSigningKeyPem());
    const note = signCheckpoint({ origin: 'log.example/test', size: 0, rootHash: EMPTY_ROOT }, signer);
    expect(note.startsWith(`log.example/test\n0\n${EMPTY_ROOT.toString('base64')}\n\n\u2014 log.example/test `)).toBe(
      true,
    );
    const opened = openCheckpoint(note, [parseVerifierKey(signer.verifierKey)], 'log.example/test');
    expect(opened.size).toBe(0);
    expect(opened.rootHash).toEqual(EMPTY_ROOT);
    expect(() => openCheckpoint(note, [parseVerifierKey(signer.verifierKey)], 'other.example')).toThrow(NoteError);
  });

  it('formats only a valid head', () => {
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, rootHash: EMPTY_ROOT })).toThrow(NoteError);
    expect(() => formatCheckpoint({ origin: 'a', size: 1.5, rootHash: EMPTY_ROOT })).toThrow(NoteError);
    expect(() => formatCheckpoint({ origin: 'a', size: 1, rootHash: Buffer.alloc(31) })).toThrow(NoteError);
  });
});
